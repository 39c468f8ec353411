"""Make the emulator behave like AWS where moto is kinder and this system depends on the difference:
Express starts never de-duplicated by name, a DynamoDB condition and its write one atomic step,
eventually consistent reads that may miss a fresh item, expired items deleted, SQS event-source
mappings only stored (the local pollers are their Lambda), one-time and recurring schedules fired, and the
context object's times in AWS's form. docs/contributing/FIDELITY.md gives each one AWS's documented behaviour,
moto's, and the test that fails with it switched off. The Lambda-side divergences live in the
local runtime (``local/lambda_runtime.py``). Verified against moto 5.2.5 (pinned in
pyproject.toml; the local runtime refuses other versions).
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import threading
import time
import types
import uuid
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import EventSourceMapping, LambdaBackend
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.responses import DynamoHandler
from moto.scheduler.models import scheduler_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.exceptions import InvalidExecutionInput
from moto.stepfunctions.models import StepFunctionBackend
from moto.stepfunctions.parser.asl.component.state import state as asl_state
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

_EXECUTION_ARN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):states:[-0-9a-zA-Z]+:(?P<account_id>[0-9]{12})"
    r":(execution|express):.+"
)


def _start_express_like_aws(
    backend: StepFunctionsParserBackend,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> Execution:
    """moto's StepFunctionsParserBackend.start_execution for an EXPRESS machine, without its
    name idempotency and with a unique Express ARN (the rest as moto does it)."""
    state_machine: Any = backend.describe_state_machine(state_machine_arn)
    snapshot = copy.deepcopy(
        state_machine, {id(state_machine.executions): [], id(state_machine.backend): state_machine.backend}
    )
    name = name or str(uuid.uuid4())  # AWS names an unnamed execution with a UUID; moto says "None"
    input_data = "{}" if execution_input is None else execution_input
    try:
        json.loads(input_data)
    except ValueError as exc:
        raise InvalidExecutionInput(str(exc)) from exc
    execution_arn = (
        f"arn:{backend.partition}:states:{backend.region_name}:{backend.account_id}:express:"
        f"{state_machine.name}:{name}:{uuid.uuid4()}"
    )
    execution = Execution(
        name=name,
        sm_type=snapshot.sm_type,
        role_arn=snapshot.roleArn,
        exec_arn=execution_arn,
        account_id=backend.account_id,
        region_name=backend.region_name,
        state_machine=snapshot,
        start_date=datetime.datetime.now(tz=datetime.UTC),
        cloud_watch_logging_session=None,
        input_data=input_data,
        trace_header=trace_header,
        activity_store={},
    )
    state_machine.executions.append(execution)
    execution.start()
    return execution


SERIALIZED_DYNAMODB_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "batch_get_item",
    "batch_write_item",
    "transact_write_items",
    "transact_get_items",
)
_dynamodb_items = threading.RLock()


def _serialized(operation: Any) -> Any:
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_items:
            return operation(*args, **kwargs)

    locked.__wrapped__ = operation  # type: ignore[attr-defined]
    return locked


_reads = threading.local()
"""The tables the current GetItem/BatchGetItem request reads eventually consistently."""
_written: dict[tuple[str, str], float] = {}
"""(table, key) → when a PutItem last wrote it (monotonic seconds)."""
_FORGET_AFTER = 10_000
"""Entries kept before the ones older than the window are dropped."""


def _key_of(backend: DynamoDBBackend, table_name: str, attributes: dict[str, Any]) -> str:
    table = backend.get_table(table_name)
    names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
    return json.dumps({name: attributes.get(name) for name in names}, sort_keys=True)


def _remember_puts(put_item: Any) -> Any:
    def put(
        backend: DynamoDBBackend, table_name: str, item_attrs: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        item = put_item(backend, table_name, item_attrs, *args, **kwargs)
        if AwsFidelity.eventual_read_window > 0:
            now = time.monotonic()
            if len(_written) > _FORGET_AFTER:
                for written, at in list(_written.items()):
                    if now - at >= AwsFidelity.eventual_read_window:
                        _written.pop(written, None)
            _written[(table_name, _key_of(backend, table_name, item_attrs))] = now
        return item

    put.__wrapped__ = put_item  # type: ignore[attr-defined]
    return put


def _hide_fresh_items(get_item: Any) -> Any:
    def get(
        backend: DynamoDBBackend, table_name: str, keys: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        if AwsFidelity.eventual_read_window > 0 and table_name in getattr(_reads, "eventual", ()):
            written = _written.get((table_name, _key_of(backend, table_name, keys)))
            if written is not None and time.monotonic() - written < AwsFidelity.eventual_read_window:
                return None
        return get_item(backend, table_name, keys, *args, **kwargs)

    get.__wrapped__ = get_item  # type: ignore[attr-defined]
    return get


def _reading(handler_method: Any, eventual_tables: Any) -> Any:
    """Runs a GetItem/BatchGetItem handler with the tables it reads eventually consistently noted
    for ``_hide_fresh_items``."""

    def read(handler: DynamoHandler) -> Any:
        _reads.eventual = frozenset(eventual_tables(handler.body))
        try:
            return handler_method(handler)
        finally:
            _reads.eventual = frozenset()

    read.__wrapped__ = handler_method  # type: ignore[attr-defined]
    return read


def _get_item_tables(body: dict[str, Any]) -> list[str]:
    return [] if body.get("ConsistentRead") else [body["TableName"]]


def _batch_get_item_tables(body: dict[str, Any]) -> list[str]:
    return [
        name for name, request in body.get("RequestItems", {}).items() if not request.get("ConsistentRead")
    ]


def _mapping_only_stored(create: Any) -> Any:
    """``create_event_source_mapping`` without moto's delivery from inside SendMessage."""

    def create_event_source_mapping(backend: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
        mapping: EventSourceMapping = create(backend, spec)
        mapping.last_modified = time.time()
        for queue in sqs_backends[backend.account_id][backend.region_name].queues.values():
            if queue.lambda_event_source_mappings.get(mapping.function_arn) is mapping:
                del queue.lambda_event_source_mappings[mapping.function_arn]
        return mapping

    create_event_source_mapping.__wrapped__ = create  # type: ignore[attr-defined]
    return create_event_source_mapping


def _stamped_on_update(update: Any) -> Any:
    def update_event_source_mapping(
        backend: LambdaBackend, uuid: str, spec: dict[str, Any]
    ) -> EventSourceMapping | None:
        mapping: EventSourceMapping | None = update(backend, uuid, spec)
        if mapping is not None:
            mapping.last_modified = time.time()
        return mapping

    update_event_source_mapping.__wrapped__ = update  # type: ignore[attr-defined]
    return update_event_source_mapping


TTL_IGNORED_AFTER_SECONDS = 5 * 365 * 86_400
"""DynamoDB's TTL leaves an item whose expiry lies more than five years in the past."""


def delete_expired_items(now: float | None = None) -> int:
    """Delete, as DynamoDB's TTL does, every item of a TTL-enabled table of this process's moto
    whose TTL attribute (a Number, epoch seconds) is at or before ``now``; returns how many."""
    now = time.time() if now is None else now
    deleted = 0
    with _dynamodb_items:
        for regions in list(dynamodb_backends.values()):
            for backend in list(regions.values()):
                for table in list(backend.tables.values()):
                    ttl = getattr(table, "ttl", {}) or {}
                    if ttl.get("TimeToLiveStatus") != "ENABLED":
                        continue
                    attribute = ttl["AttributeName"]
                    for item in table.all_items():
                        value = item.attrs.get(attribute)
                        if value is None or value.type != "N":
                            continue
                        expiry = float(value.value)
                        if now - TTL_IGNORED_AFTER_SECONDS <= expiry <= now:
                            table.delete_item(item.hash_key, item.range_key)
                            deleted += 1
    return deleted


AT_EXPRESSION = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
"""A one-time schedule's expression: ``at(yyyy-mm-ddThh:mm:ss)``, in its ScheduleExpressionTimezone."""

_spent: set[tuple[str, float]] = set()
"""Fired schedules kept after completion (``ActionAfterCompletion`` NONE): (ARN, last change)."""


def schedule_time(expression: str, timezone: str | None) -> datetime.datetime | None:
    """When a one-time schedule is due (None for a rate or cron expression)."""
    match = AT_EXPRESSION.match(expression)
    if match is None:
        return None
    local = datetime.datetime.fromisoformat(match.group(1))
    return local.replace(tzinfo=zoneinfo.ZoneInfo(timezone or "UTC"))


@dataclass(frozen=True)
class FiredSchedules:
    fired: list[str]
    """The ARNs of the schedules whose target got its message."""
    problems: list[str]
    """What could not be fired, and why (kept for the next call, or dropped when too old)."""


def moto_schedules() -> Iterator[tuple[str, str, Any, Any]]:
    """Every schedule of this process's moto, in every account, Region and group: (account,
    Region, its backend, the schedule)."""
    for account, regions in list(scheduler_backends.items()):
        for region, backend in list(regions.items()):
            for group in list(backend.schedule_groups.values()):
                for schedule in list(group.schedules.values()):
                    yield account, region, backend, schedule


def fire_due_schedules(now: float | None = None) -> FiredSchedules:
    """Fire, as EventBridge Scheduler does, every enabled one-time schedule of this process's moto
    that is due at ``now`` (epoch seconds): send its ``Input`` to its SQS target, then delete it
    if ``ActionAfterCompletion`` is ``DELETE``."""
    now = time.time() if now is None else now
    fired: list[str] = []
    problems: list[str] = []
    for account, region, backend, schedule in list(moto_schedules()):
        due = schedule_time(schedule.schedule_expression, schedule.schedule_expression_timezone)
        spent = (schedule.arn, schedule.last_modified_date)
        if due is None or schedule.state != "ENABLED" or spent in _spent or due.timestamp() > now:
            continue
        target = schedule.target
        problem = send_to_queue(account, region, target)
        if problem is not None:
            age = now - due.timestamp()
            max_age = int(target.get("RetryPolicy", {}).get("MaximumEventAgeInSeconds", 86_400))
            problems.append(f"{schedule.arn}: {problem}" + (" (dropped)" if age > max_age else ""))
            if age <= max_age:
                continue
        else:
            fired.append(schedule.arn)
        if schedule.action_after_completion == "DELETE":
            backend.delete_schedule(schedule.group_name, schedule.name)
        else:
            _spent.add(spent)
    return FiredSchedules(fired, problems)


def send_to_queue(account: str, region: str, target: dict[str, Any]) -> str | None:
    """Send the target's input to its queue; the reason it could not, or None."""
    arn = str(target.get("Arn", ""))
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return f"target {arn} is not an SQS queue (only SQS targets fire locally)"
    queue_region, queue_account, queue_name = parts[3], parts[4], parts[5]
    try:
        sqs_backends[queue_account or account][queue_region or region].send_message(
            queue_name,
            str(target.get("Input", "")),
            group_id=target.get("SqsParameters", {}).get("MessageGroupId"),
        )
    except Exception as exc:  # moto's own errors (no such queue) are the target failing
        return f"sending to {queue_name} failed: {exc}"
    return None


class _ContextTime(datetime.datetime):
    """``$$.State.EnteredTime`` as Step Functions renders it, ``2026-12-07T05:28:38.152Z``
    (milliseconds, ``Z``: the context object's times in the Step Functions Developer Guide);
    moto writes ``isoformat()``, ``…38.152441+00:00``, which records then store beside the
    millisecond times the functions write, and which compares wrongly with them as text."""

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        del sep, timespec
        moment = self.astimezone(datetime.UTC)
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


_AWS_CONTEXT_CLOCK = types.SimpleNamespace(datetime=_ContextTime, timezone=datetime.timezone)
"""What the interpreter's state module reads as ``datetime`` (it uses only these two names)."""


class AwsFidelity:
    """Installs the patches into this process's moto (idempotent, reversible)."""

    eventual_read_window = 0.0
    """Seconds during which an eventually consistent read misses an item just put (0: off)."""

    _lock = threading.Lock()
    _installed = 0
    _original_start: Any = None
    _original_arn_format: Any = None
    _original_dynamodb: dict[str, Any] = {}  # noqa: RUF012 - class-level registry, guarded by _lock
    _original_handlers: dict[str, Any] = {}  # noqa: RUF012 - class-level registry, guarded by _lock
    _original_lambda: dict[str, Any] = {}  # noqa: RUF012 - class-level registry, guarded by _lock

    @classmethod
    def install(cls) -> None:
        with cls._lock:
            cls._installed += 1
            if cls._installed > 1:
                return
            cls._original_start = StepFunctionsParserBackend.start_execution
            cls._original_arn_format = StepFunctionBackend.accepted_exec_arn_format
            original = cls._original_start

            def start_execution(
                backend: StepFunctionsParserBackend,
                state_machine_arn: str,
                name: str | None = None,
                execution_input: str | None = None,
                trace_header: str | None = None,
            ) -> Execution:
                if backend.describe_state_machine(state_machine_arn).type == "EXPRESS":
                    return _start_express_like_aws(
                        backend, state_machine_arn, name, execution_input, trace_header
                    )
                return original(backend, state_machine_arn, name, execution_input, trace_header)  # type: ignore[no-any-return]

            StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign, assignment]
            setattr(asl_state, "datetime", _AWS_CONTEXT_CLOCK)  # noqa: B010 - the module's own name
            for name in SERIALIZED_DYNAMODB_OPERATIONS:
                cls._original_dynamodb[name] = getattr(DynamoDBBackend, name)
                setattr(DynamoDBBackend, name, _serialized(cls._original_dynamodb[name]))
            DynamoDBBackend.put_item = _remember_puts(DynamoDBBackend.put_item)  # type: ignore[method-assign]
            DynamoDBBackend.get_item = _hide_fresh_items(DynamoDBBackend.get_item)  # type: ignore[method-assign]
            for name, tables in (("get_item", _get_item_tables), ("batch_get_item", _batch_get_item_tables)):
                cls._original_handlers[name] = getattr(DynamoHandler, name)
                setattr(DynamoHandler, name, _reading(cls._original_handlers[name], tables))
            # describe/history accept the Express ARN form; the machine's name is still field 6.
            StepFunctionBackend.accepted_exec_arn_format = _EXECUTION_ARN
            for name, patch in (
                ("create_event_source_mapping", _mapping_only_stored),
                ("update_event_source_mapping", _stamped_on_update),
            ):
                cls._original_lambda[name] = getattr(LambdaBackend, name)
                setattr(LambdaBackend, name, patch(cls._original_lambda[name]))

    @classmethod
    def uninstall(cls) -> None:
        with cls._lock:
            cls._installed = max(0, cls._installed - 1)
            if cls._installed or cls._original_start is None:
                return
            StepFunctionsParserBackend.start_execution = cls._original_start  # type: ignore[method-assign]
            setattr(asl_state, "datetime", datetime)  # noqa: B010 - the module's own name
            StepFunctionBackend.accepted_exec_arn_format = cls._original_arn_format
            cls._original_start = None
            for name, operation in cls._original_dynamodb.items():
                setattr(DynamoDBBackend, name, operation)
            cls._original_dynamodb.clear()
            for name, method in cls._original_handlers.items():
                setattr(DynamoHandler, name, method)
            cls._original_handlers.clear()
            for name, method in cls._original_lambda.items():
                setattr(LambdaBackend, name, method)
            cls._original_lambda.clear()
            _written.clear()
