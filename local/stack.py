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
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.common.config import Env
from functions.common.models import Task
from functions.common.tasks_table import TasksTable
from infra.spec import (
    FUNCTIONS,
    LOCAL_API_PORT,
    LOCAL_CREDENTIALS,
    LOCAL_STAGE,
    TIMINGS,
    Function,
    QueueTrigger,
    Resource,
    ScheduleTrigger,
)
from infra.stage_config import StageConfig, Toggle
from infra.workflow_definition import read_definition
from local.authorizers import Authorizer, IamAuthorizer, JwtAuthorizer
from local.emulator import Clients, Emulator
from local.event_source import SqsEventSource
from local.http_api import LocalHttpApi
from local.lambda_runtime import Invocation, LambdaContext, LocalLambdaRuntime, invocation_local_log_keys
from local.logs import CloudWatchLogSink, ExecutionLogShipper
from local.provision import LocalResources, function_environments, provision
from local.retry_clock import RetryClock
from local.view import ExecutionView

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

log = logging.getLogger("ptm.local")
TIMEOUT_FLOOR_SECONDS = 10.0
INFO_PATH = "/ui/info.json"


class PortInUseError(RuntimeError):
    def __init__(self, host: str, port: int, option: str) -> None:
        super().__init__(f"port {port} on {host} is already in use; choose another with {option}")


@dataclass(frozen=True)
class LocalOptions:
    host: str = "127.0.0.1"
    api_port: int = LOCAL_API_PORT
    emulator_port: int = 5000
    time_scale: float = 1.0
    """Multiplies retry waits, the queue's visibility timeout and the reconcile period."""
    failure_rate: float = StageConfig.failure_rate
    failure_seed: str | None = None
    api_auth: str = "none"
    """API Gateway's route authorization to emulate: none, iam (SigV4 with the local
    credentials) or jwt (tokens from the local stack's own ``/local-idp/token``)."""
    webhook_allowed_hosts: str = ""
    """WEBHOOK_ALLOWED_HOSTS for the functions (``make local`` passes its environment's)."""
    dispatch_pollers: int = 2
    max_receive_count: int = TIMINGS.max_receive_count
    verbose: bool = False
    quiet_tasks: bool = False
    function_logs: bool = True
    """Write the functions' logs and the executions' events to the emulator's CloudWatch Logs
    (``ptm logs``); benchmarks turn it off."""
    """Skip the per-task state-change lines (benchmarks)."""

    def scaled(self, seconds: float, minimum: float = 1.0) -> float:
        return max(minimum, seconds * self.time_scale)

    @property
    def config(self) -> StageConfig:
        """The stage the local stack runs: the spec's defaults, with this machine's overrides."""
        return StageConfig(
            stage=LOCAL_STAGE,
            failure_rate=self.failure_rate,
            max_receive_count=self.max_receive_count,
            webhook_allowed_hosts=self.webhook_allowed_hosts,
            # The local stack is a developer's own machine: webhooks on (opt-in on AWS).
            webhooks=Toggle.ON,
        )


def ensure_port_free(host: str, port: int, option: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers bind: a port left in TIME_WAIT by a previous run is free, a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUseError(host, port, option) from exc


@dataclass
class _Poller:
    source: SqsEventSource
    stop: threading.Event
    on_error: Callable[[str], None]
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, count: int, name: str) -> None:
        for index in range(count):
            thread = threading.Thread(target=self._run, name=f"{name}-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                result = self.source.poll_once(wait_seconds=1)
            except Exception as exc:
                if not self.stop.is_set():
                    self.on_error(f"poller for {self.source.function_name}: {type(exc).__name__}: {exc}")
                    self.stop.wait(1)
                continue
            if result.function_error:
                self.on_error(
                    f"{self.source.function_name} failed its whole batch of {result.received} "
                    f"({result.function_error}); the messages will be redelivered"
                )
            elif result.failed:
                self.on_error(
                    f"{self.source.function_name} reported {result.failed} of {result.received} "
                    "message(s) failed; they will be redelivered"
                )


class TaskChangeLog:
    """Prints one line per task state change, read from the table as each invocation returns.

    The read happens in the invoking thread, before the caller (a poller, the HTTP API or the
    state machine) moves on, so no intermediate state is skipped however fast retries run.
    """

    def __init__(self, table: TasksTable, emit: Callable[[str], None]) -> None:
        self._table = table
        self._emit = emit
        self._seen: dict[str, tuple[str, tuple[str, int, bool, bool]]] = {}
        self._lock = threading.Lock()

    def notice(self, function_name: str, event: Any, outcome: Any, invocation: Invocation) -> None:
        for task_id in _task_ids(function_name, event, outcome):
            try:
                task = self._table.get(task_id)
            except Exception:
                continue
            if task is not None:
                self._report(task)

    def _report(self, task: Task) -> None:
        state = (
            task.status.value,
            task.attempts,
            task.last_error is not None,
            task.dead_lettered_at is not None,
        )
        detail = ""
        if task.status.value == "RUNNING" and task.last_error:
            detail = f"  retrying after: {task.last_error}"
        elif task.status.value == "FAILED":
            detail = f"  {task.error}" + ("  → dead-lettered" if task.dead_lettered_at else "")
        with self._lock:
            seen = self._seen.get(task.task_id)
            # Concurrent invocations read in any order: never step back to an older write.
            if seen is not None and (seen[1] == state or seen[0] > task.updated_at):
                return
            self._seen[task.task_id] = (task.updated_at, state)
            self._emit(f"task {task.task_id}  {task.status.value:<9}  attempt {task.attempts}{detail}")


def _task_ids(function_name: str, event: Any, outcome: Any) -> list[str]:
    """Which tasks an invocation touched, from its event or its response."""
    ids: list[str] = []
    if function_name.endswith(f"-{Function.API.value}") and isinstance(outcome, dict):
        try:
            body = json.loads(outcome.get("body") or "{}")
        except json.JSONDecodeError:
            return ids
        if isinstance(body, dict) and isinstance(body.get("taskId"), str):
            ids.append(body["taskId"])
    elif isinstance(event, dict) and isinstance(event.get("taskId"), str):
        ids.append(event["taskId"])
    elif isinstance(event, dict):
        for record in event.get("Records", []):
            try:
                body = json.loads(record.get("body", ""))
            except json.JSONDecodeError:
                continue
            if isinstance(body, dict) and isinstance(body.get("taskId"), str):
                ids.append(body["taskId"])
    return ids


class LocalStack:
    def __init__(self, options: LocalOptions, emit: Callable[[str], None] | None = None) -> None:
        self.options = options
        self.config = options.config
        self.names = self.config.names
        self.emit = emit or log.info
        self.emulator = Emulator(host=options.host, port=options.emulator_port)
        self.runtime = LocalLambdaRuntime(isolate_concurrent_invocations=True)
        self.retry_clock = RetryClock(scale=options.time_scale)
        self._stop = threading.Event()
        self._pollers: list[_Poller] = []
        self._http: LocalHttpApi | None = None
        self._task_log: TaskChangeLog | None = None
        self._reconciler: threading.Thread | None = None
        self._log_sink: CloudWatchLogSink | None = None
        self._execution_logs: ExecutionLogShipper | None = None
        self._restore_log_keys: Callable[[], None] | None = None
        self.resources: LocalResources | None = None
        self.clients: Clients | None = None

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

    def start(self) -> None:
        """Refuse taken ports before anything starts, so a failure leaves nothing running."""
        ensure_port_free(self.options.host, self.options.api_port, "--api-port")
        ensure_port_free(self.options.host, self.options.emulator_port, "--emulator-port")
        self.emulator.start()
        try:
            self._start_after_emulator()
        except BaseException:
            self.stop()
            raise

    def _start_after_emulator(self) -> None:
        options = self.options
        self.clients = self.emulator.clients()
        self.resources = provision(
            self.clients,
            self.names,
            max_receive_count=self.config.max_receive_count,
            time_scale=options.time_scale,
        )
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
            **self.resources.values(),
            Env.CONSOLE_URL_TEMPLATE: f"{self.api_endpoint}/ui/tasks/{{taskId}}",
        }
        if options.failure_seed is not None:
            values[Env.FAILURE_SEED] = options.failure_seed
        # Each invocation its own Logger keys, as each Lambda process has its own Logger (imported
        # now: the Logger reads POWERTOOLS_SERVICE_NAME when first imported).
        functions_logger = importlib.import_module("functions.common.observability").logger
        self._restore_log_keys = invocation_local_log_keys(functions_logger.registered_formatter)
        for function, variables in function_environments(values).items():
            self.runtime.register(self.names.function(function), function.handler, variables)
        self.runtime.keep_invocations = False
        if options.function_logs:
            self._start_function_logs(functions_logger)
        # Function timeouts run on local time too, with a floor: here dozens of concurrent
        # invocations share one interpreter and two cores, which no Lambda function ever does, so
        # a scaled-down timeout would fire on a busy machine rather than on an overrun.
        self.runtime.timeout_scale = options.time_scale
        self.runtime.timeout_floor = TIMEOUT_FLOOR_SECONDS
        self.runtime.listeners.append(self._log_failed_invocation)
        self.runtime.install()
        self.retry_clock.install()

        if not options.quiet_tasks:
            self._task_log = TaskChangeLog(TasksTable(self.clients.dynamodb, self.resources.table), self.emit)
            self.runtime.listeners.append(self._task_log.notice)

        self._start_pollers()
        self._reconciler = threading.Thread(
            target=self._reconcile_periodically, name="reconcile", daemon=True
        )
        self._reconciler.start()
        # Last: once the API answers, everything behind it is running.
        self._http = LocalHttpApi(
            options.host,
            options.api_port,
            self._invoke_api,
            self._warn,
            view=self._local_pages(self._execution_view()),
            authorizer=self.authorizer,
        )
        self._http.start()

    def _start_function_logs(self, functions_logger: Logger) -> None:
        """Each function's log lines to its log group in the emulator, as Lambda writes them."""
        assert self.clients is not None
        assert self.resources is not None
        service = logging.getLogger(functions_logger.name)
        formatter = functions_logger.registered_formatter
        groups = {
            self.names.function(function): self.names.function_log_group(function) for function in Function
        }
        self._log_sink = CloudWatchLogSink(self.clients.logs, groups).start()
        self._log_sink.setFormatter(formatter)
        service.addHandler(self._log_sink)
        if not self.options.verbose:
            service.propagate = False
            for handler in service.handlers:
                if handler is not self._log_sink:
                    handler.setLevel(logging.CRITICAL)
        self.runtime.log_sink = self._log_sink
        self._execution_logs = ExecutionLogShipper(
            self.clients.sfn,
            self.resources.state_machine_arn,
            self.names.state_machine_log_group,
            self._log_sink,
            lookback_seconds=TIMINGS.express_limit_seconds,
        ).start()

    def describe(self) -> dict[str, Any]:
        """The local deployment, keyed as the CDK stack's outputs are (``ptm info``)."""
        assert self.resources is not None
        return {
            "Stage": self.names.stage,
            "Region": self.emulator.region,
            "TasksEndpoint": self.api_endpoint,
            "EmulatorEndpoint": self.emulator.endpoint,
            "TasksTable": self.resources.table,
            "TasksQueueUrl": self.resources.tasks_queue_url,
            "DeadLetterQueueUrl": self.resources.dead_letter_queue_url,
            "StateMachineArn": self.resources.state_machine_arn,
            "StateMachineLogGroup": self.names.state_machine_log_group,
            "FunctionLogGroups": {
                function.value: self.names.function_log_group(function) for function in Function
            },
            "ExecutionView": f"{self.api_endpoint}/ui",
        }

    def _start_pollers(self) -> None:
        """One event-source mapping per queue trigger in the spec."""
        assert self.clients is not None
        assert self.resources is not None
        queues = {
            Resource.TASKS_QUEUE: (self.resources.tasks_queue_url, self.resources.tasks_queue_arn),
            Resource.DEAD_LETTER_QUEUE: (
                self.resources.dead_letter_queue_url,
                self.resources.dead_letter_queue_arn,
            ),
        }
        for function in FUNCTIONS:
            trigger = self.config.trigger(function)
            if not isinstance(trigger, QueueTrigger):
                continue
            url, arn = queues[trigger.queue]
            poller = _Poller(
                SqsEventSource(
                    sqs=self.clients.sqs,
                    invoke=self._call,
                    queue_url=url,
                    queue_arn=arn,
                    function_name=self.names.function(function),
                    region=self.emulator.region,
                    batch_size=trigger.batch_size,
                ),
                self._stop,
                self._warn,
            )
            count = self.options.dispatch_pollers if function is Function.DISPATCH else 1
            poller.start(min(count, trigger.max_concurrency), f"poller-{function.value}")
            self._pollers.append(poller)

    def _call(self, function_name: str, event: dict[str, Any]) -> tuple[Any, str | None]:
        """Invoke a function the way its event source would, straight into the local runtime
        (API Gateway and event-source mappings do not go through the public Invoke API)."""
        assert self.resources is not None
        function = Function(function_name.rsplit("-", 1)[-1])
        spec = FUNCTIONS[function]
        context = LambdaContext(
            function_name=function_name,
            memory_limit_in_mb=spec.memory_mb,
            timeout_seconds=spec.timeout_seconds,
            invoked_function_arn=self.resources.function_arns[function],
        )
        outcome, errored = self.runtime.call(event, context)
        if errored:
            return outcome, outcome.get("errorType", "Unknown") if isinstance(outcome, dict) else "Unknown"
        return outcome, None

    def _local_pages(self, view: ExecutionView) -> Callable[[str, str], tuple[int, dict[str, str], bytes]]:
        """``/ui``: the execution view, and ``/ui/info.json``: this deployment (``ptm info``)."""

        def serve(path: str, query: str) -> tuple[int, dict[str, str], bytes]:
            if path == INFO_PATH:
                return 200, {"Content-Type": "application/json"}, json.dumps(self.describe()).encode()
            return view.handle(path, query)

        return serve

    def _execution_view(self) -> ExecutionView:
        assert self.clients is not None
        assert self.resources is not None
        clients = self.clients
        table = TasksTable(clients.dynamodb, self.resources.table)

        def history(execution_arn: str) -> list[dict[str, Any]]:
            try:
                return clients.execution_history(execution_arn)
            except ClientError:
                return []

        return ExecutionView(
            get_task=table.get,
            list_tasks=lambda status: table.list_by_status(status, 50)[0],
            history=history,
            definition=json.loads(read_definition()),
        )

    def _invoke_api(self, event: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        outcome, error = self._call(self.names.function(Function.API), event)
        return (None, error) if error is not None else (outcome, None)

    def _reconcile_periodically(self) -> None:
        schedule = self.config.trigger(Function.RECONCILE)
        assert isinstance(schedule, ScheduleTrigger)
        interval = self.options.scaled(schedule.every_minutes * 60)
        while not self._stop.wait(interval):
            try:
                self._call(self.names.function(Function.RECONCILE), {})
            except Exception as exc:
                self._warn(f"reconcile: {exc}")

    def _log_failed_invocation(
        self, function_name: str, event: Any, outcome: Any, invocation: Invocation
    ) -> None:
        if not invocation.errored or function_name.endswith(f"-{Function.PROCESS.value}"):
            return
        ids = ", ".join(_task_ids(function_name, event, None)) or "-"
        message = outcome.get("errorMessage", "") if isinstance(outcome, dict) else ""
        self._warn(f"{function_name} raised {invocation.error_type} (tasks: {ids}): {message}")

    def _warn(self, message: str) -> None:
        self.emit(f"warning: {message}")

    def stop(self) -> None:
        self._stop.set()
        if self._http is not None:
            self._http.stop()
        for poller in self._pollers:
            for thread in poller.threads:
                thread.join(timeout=5)
        if self._task_log is not None and self._task_log.notice in self.runtime.listeners:
            self.runtime.listeners.remove(self._task_log.notice)
        if self._execution_logs is not None:
            self._execution_logs.stop()
        if self._log_sink is not None:
            self.runtime.log_sink = None
            self._log_sink.stop()
        if self._restore_log_keys is not None:
            self._restore_log_keys()
            self._restore_log_keys = None
        self.retry_clock.uninstall()
        self.runtime.uninstall()
        self.emulator.stop()

    def wait(self) -> None:
        while not self._stop.wait(0.5):
            pass

    def request_stop(self) -> None:
        self._stop.set()


def banner(stack: LocalStack) -> str:
    assert stack.resources is not None
    api, emulator, resources = stack.api_endpoint, stack.emulator.endpoint, stack.resources
    options = stack.options
    allowed = (
        f"public https targets, and {options.webhook_allowed_hosts} (WEBHOOK_ALLOWED_HOSTS)"
        if options.webhook_allowed_hosts
        else "public https targets only (WEBHOOK_ALLOWED_HOSTS=127.0.0.1 make local: a receiver here)"
    )
    auth = {
        "none": "none (--api-auth iam|jwt emulates API Gateway's authorization)",
        "iam": "iam: sign with AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local (ptm --auth iam)",
        "jwt": f"jwt: export TASKS_API_TOKEN=$(curl -s -X POST {api}/local-idp/token "
        "-d 'scope=tasks/read tasks/write' | jq -r .access_token)",
    }[options.api_auth]
    return f"""
Process Task Manager — local stack (stage "{LOCAL_STAGE}")
  API        {api}
  emulator   {emulator}   (moto; any AWS SDK or CLI with --endpoint-url)
  failure rate {options.failure_rate}, time scale {options.time_scale}
  webhooks   {allowed}
  auth       {auth}

Try it:
  curl -s -X POST {api}/tasks -H 'Content-Type: application/json' -d '{{"hello": "world"}}'
  curl -s {api}/tasks/<taskId>
  curl -s -X POST {api}/tasks -d '{{"simulate": {{"failures": 5}}}}'    # exhausts retries → DLQ
  curl -s -X POST {api}/tasks -d '{{"type": "webhook", "url": "https://…", "body": {{"event": 1}}}}'
  curl -s {api}/task-types                                        # or: ptm types
  TASKS_ENDPOINT={api} python -m smoke                          # or: make smoke
  open {api}/ui                                                  # tasks and their execution graphs

Inspect the emulator:
  aws --endpoint-url {emulator} dynamodb scan --table-name {resources.table}
  aws --endpoint-url {emulator} sqs get-queue-attributes --attribute-names ApproximateNumberOfMessages \\
      --queue-url {resources.dead_letter_queue_url}
  aws --endpoint-url {emulator} stepfunctions list-executions \\
      --state-machine-arn {resources.state_machine_arn}
  (any credentials work, e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local)

Ctrl-C stops everything.
"""
