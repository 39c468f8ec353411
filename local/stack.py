"""The embedded local stack: the whole system in one process, on loopback.

moto's server is the AWS emulator (state machines executed for real), the resources come from
the same names and settings as the CDK stack, the state machine from the same ASL file, and
the handlers are the same modules. Around them: an HTTP front for the API, pollers that
behave like Lambda's SQS event-source mappings, a schedule for reconcile, and a log line per
task state change.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.common.config import Env
from functions.common.mapping_switch import MappingSwitch
from functions.common.scheduling import SCHEDULER_PRECISION_SECONDS
from functions.common.tasks_table import TasksTable
from infra.limits import TIMINGS
from infra.names import LOCAL_CREDENTIALS, Function, Output, Resource
from infra.spec import FUNCTIONS, QueueTrigger, ScheduleTrigger
from local.authorizers import Authorizer, IamAuthorizer, JwtAuthorizer
from local.emulator import Clients, Emulator
from local.event_source import SqsEventSource
from local.fidelity import delete_expired_items, fire_due_schedules
from local.http_api import LocalHttpApi
from local.lambda_runtime import (
    InvocationRecord,
    LocalLambdaContext,
    LocalLambdaRuntime,
    invocation_local_log_keys,
)
from local.logs import CloudWatchLogSink, ExecutionLogShipper
from local.options import LocalOptions, ensure_port_free, generate_secret
from local.pollers import QueuePoller, every, mapping_enabled
from local.provision import LocalResources, function_environments, provision
from local.recurring import RecurringFirer
from local.retry_clock import RetryClock
from local.task_log import TaskChangeLog, task_ids
from local.view import ExecutionView

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

log = logging.getLogger("ptm.local")
TIMEOUT_FLOOR_SECONDS = 10.0
TTL_SWEEP_SECONDS = 3600
INFO_PATH = "/ui/info.json"


@dataclass(frozen=True)
class Running:
    """A started local stack: what ``LocalStack.start()`` built, for the banner, ``ptm info`` and
    the benchmarks that drive it."""

    api_endpoint: str
    emulator_endpoint: str
    region: str
    clients: Clients
    resources: LocalResources

    def describe(self) -> dict[str, Any]:
        """The local deployment, keyed as the CDK stack's outputs are (``ptm info``)."""
        names = self.resources.names
        return {
            "Stage": names.stage,
            "Region": self.region,
            Output.TASKS_ENDPOINT: self.api_endpoint,
            "EmulatorEndpoint": self.emulator_endpoint,
            Output.TASKS_TABLE: self.resources.table,
            Output.TASKS_QUEUE_URL: self.resources.tasks_queue_url,
            Output.DEAD_LETTER_QUEUE_URL: self.resources.dead_letter_queue_url,
            Output.STATE_MACHINE_ARN: self.resources.state_machine_arn,
            Output.SCHEDULE_GROUP: names.schedule_group,
            Output.RECURRING_SCHEDULE_GROUP: names.recurring_schedule_group,
            Output.SCHEDULES_TABLE: names.schedules_table,
            Output.LIMITS_TABLE: names.limits_table,
            Output.DISPATCH_MAPPING_ID: self.resources.mapping_ids[Function.DISPATCH],
            Output.STATE_MACHINE_LOG_GROUP: names.state_machine_log_group,
            "FunctionLogGroups": {
                function.value: names.function_log_group(function) for function in Function
            },
            "ExecutionView": f"{self.api_endpoint}/ui",
            "WebhookSigningSecret": (
                f"Secrets Manager in the emulator: {self.resources.names.signing_secret} "
                "(make local reads WEBHOOK_SIGNING_SECRET, else generates one and prints it)"
            ),
        }


class LocalStack:
    """The whole system on this machine. ``start()`` brings every piece up in order, each
    registering how it stops; ``stop()`` stops them in reverse (also after a failed start)."""

    def __init__(self, options: LocalOptions, emit: Callable[[str], None] | None = None) -> None:
        self.options = options
        self.config = options.config
        self.names = self.config.names
        self.emit = emit or log.info
        self.emulator = Emulator(host=options.host, port=options.emulator_port)
        self.runtime = LocalLambdaRuntime(isolate_concurrent_invocations=True)
        self.retry_clock = RetryClock(scale=options.time_scale)
        self.functions = {self.names.function(function): function for function in Function}
        """Our functions by their deployed names: how the runtime's callbacks know which it ran."""
        self.signing_secret = options.webhook_signing_secret or generate_secret()
        self._function_arns: dict[Function, str] = {}
        self._stop = threading.Event()
        self._started = ExitStack()

    @property
    def api_endpoint(self) -> str:
        return f"http://{self.options.host}:{self.options.api_port}"

    @cached_property
    def authorizer(self) -> Authorizer | None:
        if self.options.api_auth == "iam":
            return IamAuthorizer(
                {LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]: LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
            )
        if self.options.api_auth == "jwt":
            return JwtAuthorizer(issuer=f"{self.api_endpoint}/local-idp")
        return None

    def start(self) -> Running:
        """Refuse taken ports before anything starts, so a failure leaves nothing running."""
        ensure_port_free(self.options.host, self.options.api_port, "--api-port")
        ensure_port_free(self.options.host, self.options.emulator_port, "--emulator-port")
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Running:
        options, started = self.options, self._started
        self.emulator.start()
        started.callback(self.emulator.stop)
        clients = self.emulator.clients()
        resources = provision(
            clients,
            self.names,
            max_receive_count=self.config.max_receive_count,
            time_scale=options.time_scale,
            signing_secret=self.signing_secret,
            stage=self.config,
        )
        for name, function_name in resources.registered_functions.items():
            self.runtime.register(function_name, self.config.task_types.local_handlers[name])
        self._function_arns = resources.function_arns
        running = Running(self.api_endpoint, self.emulator.endpoint, self.emulator.region, clients, resources)
        # Process-wide, as the Lambda runtime's own variables are: the emulator's endpoint and
        # credentials, and the Powertools settings every function shares.
        os.environ.update(
            {
                **self.emulator.environment(),
                # The functions log at INFO (into the emulator's CloudWatch Logs); the console shows
                # their lines only with --verbose.
                **self.config.powertools_environment(
                    "INFO" if options.verbose or options.function_logs else "CRITICAL"
                ),
                "POWERTOOLS_METRICS_DISABLED": "false" if options.verbose else "true",
            }
        )
        values = {
            **self.config.environment_values(),
            **resources.values(),
            Env.CONSOLE_URL_TEMPLATE: f"{self.api_endpoint}/ui/tasks/{{taskId}}",
            Env.TASK_RETENTION_SECONDS: str(options.retention_seconds),
            # The dispatchers' limits cache on the scaled clock: a PUT /limits takes effect here
            # as much sooner as the rest of local time runs faster.
            Env.LIMITS_CACHE_SECONDS: str(options.scaled(TIMINGS.limits_cache_seconds, minimum=0.05)),
        }
        if options.failure_seed is not None:
            values[Env.FAILURE_SEED] = options.failure_seed
        # Each invocation its own Logger keys, as each Lambda process has its own Logger (imported
        # now: the Logger reads POWERTOOLS_SERVICE_NAME when first imported).
        functions_logger = importlib.import_module("functions.common.observability").logger
        started.callback(invocation_local_log_keys(functions_logger.registered_formatter))
        for function, variables in function_environments(values).items():
            self.runtime.register(self.names.function(function), function.handler, variables)
        self.runtime.keep_invocations = False
        if options.function_logs:
            self._start_function_logs(functions_logger, running)
        # Function timeouts run on local time too, with a floor: here dozens of concurrent
        # invocations share one interpreter and two cores, which no Lambda function ever does, so
        # a scaled-down timeout would fire on a busy machine rather than on an overrun.
        self.runtime.timeout_scale = options.time_scale
        self.runtime.timeout_floor = TIMEOUT_FLOOR_SECONDS
        self._listen(self._log_failed_invocation)
        self.runtime.install()
        started.callback(self.runtime.uninstall)
        self.retry_clock.install()
        started.callback(self.retry_clock.uninstall)
        if not options.quiet_tasks:
            task_log = TaskChangeLog(TasksTable(clients.dynamodb, resources.table), self.emit)
            self._listen(lambda function, event, outcome, _: task_log.notice(function, event, outcome))
        self._start_pollers(running)
        self._start_schedules()
        # Last: once the API answers, everything behind it is running.
        http = LocalHttpApi(
            options.host,
            options.api_port,
            self._invoke_api,
            self._warn,
            view=self._local_pages(running),
            authorizer=self.authorizer,
        )
        http.start()
        started.callback(http.stop)
        return running

    def _listen(self, listener: Callable[[Function | None, Any, Any, InvocationRecord], None]) -> None:
        """Call ``listener`` after each invocation with the function it ran (by enum, not name)."""

        def by_function(function_name: str, event: Any, outcome: Any, invocation: InvocationRecord) -> None:
            listener(self.functions.get(function_name), event, outcome, invocation)

        self.runtime.listeners.append(by_function)
        self._started.callback(self.runtime.listeners.remove, by_function)

    def _start_function_logs(self, functions_logger: Logger, running: Running) -> None:
        """Each function's log lines to its log group in the emulator, as Lambda writes them."""
        service = logging.getLogger(functions_logger.name)
        groups = {
            self.names.function(function): self.names.function_log_group(function) for function in Function
        }
        sink = CloudWatchLogSink(running.clients.logs, groups).start()
        sink.setFormatter(functions_logger.registered_formatter)
        service.addHandler(sink)
        if not self.options.verbose:
            service.propagate = False
            for handler in service.handlers:
                if handler is not sink:
                    handler.setLevel(logging.CRITICAL)
        self.runtime.log_sink = sink

        def stop_sink() -> None:
            self.runtime.log_sink = None
            sink.stop()

        self._started.callback(stop_sink)
        shipper = ExecutionLogShipper(
            running.clients.sfn,
            running.resources.state_machine_arn,
            self.names.state_machine_log_group,
            sink,
            lookback_seconds=TIMINGS.express_limit_seconds,
            include_execution_data=self.config.include_execution_data,
        ).start()
        self._started.callback(shipper.stop)

    def _start_pollers(self, running: Running) -> None:
        """One event-source mapping per queue trigger in the spec, as the stage deploys it."""
        resources = running.resources
        queues = {
            Resource.TASKS_QUEUE: (resources.tasks_queue_url, resources.tasks_queue_arn),
            Resource.DEAD_LETTER_QUEUE: (resources.dead_letter_queue_url, resources.dead_letter_queue_arn),
        }
        for function in FUNCTIONS:
            trigger = self.config.trigger(function)
            if not isinstance(trigger, QueueTrigger):
                continue
            url, arn = queues[trigger.queue]
            poller = QueuePoller(
                SqsEventSource(
                    sqs=running.clients.sqs,
                    invoke=self._call,
                    queue_url=url,
                    queue_arn=arn,
                    function_name=self.names.function(function),
                    region=running.region,
                    batch_size=trigger.batch_size,
                ),
                self._stop,
                self._warn,
                partial(
                    mapping_enabled, MappingSwitch(running.clients.lambda_, resources.mapping_ids[function])
                ),
            )
            count = self.options.dispatch_pollers if function is Function.DISPATCH else 1
            poller.start(min(count, trigger.max_concurrency), f"poller-{function.value}")
            self._started.callback(poller.join)

    def _call(self, function_name: str, event: dict[str, Any]) -> tuple[Any, str | None]:
        """Invoke a function the way its event source would, straight into the local runtime
        (API Gateway and event-source mappings do not go through the public Invoke API)."""
        function = self.functions[function_name]
        spec = FUNCTIONS[function]
        context = LocalLambdaContext(
            function_name=function_name,
            memory_limit_in_mb=spec.memory_mb,
            timeout_seconds=spec.timeout_seconds,
            invoked_function_arn=self._function_arns[function],
        )
        outcome, errored = self.runtime.call(event, context)
        if errored:
            return outcome, outcome.get("errorType", "Unknown") if isinstance(outcome, dict) else "Unknown"
        return outcome, None

    def _local_pages(self, running: Running) -> Callable[[str, str], tuple[int, dict[str, str], bytes]]:
        """``/ui``: the execution view, and ``/ui/info.json``: this deployment (``ptm info``)."""
        view = self._execution_view(running)

        def serve(path: str, query: str) -> tuple[int, dict[str, str], bytes]:
            if path == INFO_PATH:
                return 200, {"Content-Type": "application/json"}, json.dumps(running.describe()).encode()
            return view.handle(path, query)

        return serve

    def _execution_view(self, running: Running) -> ExecutionView:
        clients = running.clients
        table = TasksTable(clients.dynamodb, running.resources.table)

        def history(execution_arn: str) -> list[dict[str, Any]]:
            try:
                return clients.execution_history(execution_arn)
            except ClientError:
                return []

        return ExecutionView(
            get_task=table.get,
            list_tasks=lambda status: table.index.list_by_status(status, 50)[0],
            history=history,
            definition=self.config.definition(),
        )

    def _invoke_api(self, event: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        outcome, error = self._call(self.names.function(Function.API), event)
        return (None, error) if error is not None else (outcome, None)

    def _start_schedules(self) -> None:
        """What AWS runs on a schedule: reconcile's EventBridge rule; DynamoDB's TTL, which moto
        lacks (expired items deleted every scaled hour; AWS: typically within days, and until then
        every read treats them as gone); EventBridge Scheduler's one-time schedules, which moto
        stores but never fires (due ones fire every scaled minute, as AWS fires them within the
        minute). Both stand-ins: local/fidelity.py."""
        schedule = self.config.trigger(Function.RECONCILE)
        assert isinstance(schedule, ScheduleTrigger)
        reconcile = self.names.function(Function.RECONCILE)
        scaled, tick = self.options.scaled, partial(every, stop=self._stop, warn=self._warn)
        tick(scaled(schedule.every_minutes * 60), "reconcile", lambda: self._call(reconcile, {}))
        tick(scaled(TTL_SWEEP_SECONDS), "expiring items", delete_expired_items)

        recurring = self.recurring = RecurringFirer(self.options.time_scale)

        def fire() -> None:
            for problem in fire_due_schedules().problems + recurring.fire().problems:
                self._warn(f"scheduler: {problem}")

        tick(scaled(SCHEDULER_PRECISION_SECONDS, minimum=0.5), "firing schedules", fire)

    def _log_failed_invocation(
        self, function: Function | None, event: Any, outcome: Any, invocation: InvocationRecord
    ) -> None:
        # A failed process attempt is the workflow's to retry: the task log shows it.
        if not invocation.errored or function is Function.PROCESS:
            return
        ids = ", ".join(task_ids(function, event, None)) or "-"
        message = outcome.get("errorMessage", "") if isinstance(outcome, dict) else ""
        self._warn(f"{invocation.function_name} raised {invocation.error_type} (tasks: {ids}): {message}")

    def _warn(self, message: str) -> None:
        self.emit(f"warning: {message}")

    def stop(self) -> None:
        """Stop everything that started, in reverse order; safe to call more than once."""
        self._stop.set()
        self._started.close()

    def wait(self) -> None:
        while not self._stop.wait(0.5):
            pass

    def request_stop(self) -> None:
        self._stop.set()
