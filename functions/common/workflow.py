"""The only module that starts executions of the process-task state machine."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.common.aws import THROTTLING_CODES, error_code, translate
from functions.common.clock import moment
from functions.common.errors import StartExecutionThrottledError
from functions.common.status_shards import shard_of

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_EXECUTION_NAME = 80
TRACE_HEADER = "X-Amzn-Trace-Id"
_TRACE_CONTEXT_KEY = "ptm_trace_header"


EXPRESS_MAX_DURATION = timedelta(minutes=5)
"""An Express execution's maximum duration (docs.aws.amazon.com/step-functions/latest/dg/
service-quotas.html): the spec's Express bound derives from it."""


def console_start_ms(created_at: str, updated_at: str) -> int:
    """When the record's latest execution started, at the earliest (epoch milliseconds): the
    console's Express execution page searches the execution's logs from this moment. An
    Express execution lasts at most 5 minutes and the record's last write belongs to it."""
    created, updated = (moment(value) for value in (created_at, updated_at))
    return int(max(created, updated - EXPRESS_MAX_DURATION).timestamp() * 1000)


REGISTERED_TYPE_KEY = "registeredType"
"""The input's key naming a registered type: the generated definition's first Choice routes on it."""


def execution_input(
    task_id: str, registered_type: str | None = None, slots: Sequence[str] = (), run: int = 1
) -> str:
    """The state machine's input: the task, its index shard for the MarkFailed write, for a
    registered type's task the type and, for a task holding limit slots, those and its run (the
    process function's success and the monitor's dead letter give them back)."""
    document: dict[str, Any] = {"taskId": task_id, "shard": str(shard_of(task_id))}
    if registered_type is not None:
        document[REGISTERED_TYPE_KEY] = registered_type
    if slots:
        document.update(slots=list(slots), run=run)
    return json.dumps(document)


def execution_name(task_id: str, run: int, delivery: int) -> str:
    """One name per (task, run, SQS delivery): it tells the executions apart in the console and
    the logs. It de-duplicates nothing: Express starts with a repeated name run concurrently."""
    suffix = f"-r{run}-d{delivery}"
    safe = _NAME_UNSAFE.sub("_", task_id)[: MAX_EXECUTION_NAME - len(suffix)]
    return f"{safe}{suffix}"


def _remember_trace_header(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if "traceHeader" in params:
        context[_TRACE_CONTEXT_KEY] = params["traceHeader"]


def _send_trace_header(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Step Functions prefers the ``X-Amzn-Trace-Id`` header to the body's ``traceHeader``, and
    botocore sets that header inside Lambda to the invocation's own trace (its recursion
    detection, from ``_X_AMZN_TRACE_ID``): the message's trace must be the header too."""
    if _TRACE_CONTEXT_KEY in context:
        params["headers"][TRACE_HEADER] = context[_TRACE_CONTEXT_KEY]


class Workflow:
    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self.state_machine_arn = state_machine_arn
        events = client.meta.events
        # unique_id: a client shared by several Workflows carries each hook once.
        events.register(
            "before-parameter-build.sfn.StartExecution", _remember_trace_header, unique_id=_TRACE_CONTEXT_KEY
        )
        events.register("before-call.sfn.StartExecution", _send_trace_header, unique_id=TRACE_HEADER)

    def start(
        self,
        name: str,
        task_id: str,
        trace_header: str | None = None,
        registered_type: str | None = None,
        *,
        slots: Sequence[str] = (),
        run: int = 1,
    ) -> str:
        """Start an execution and return its ARN. ``trace_header`` (the message's
        ``AWSTraceHeader``: the API request that submitted the task) makes the execution part of
        that request's X-Ray trace, with its sampling decision, instead of the dispatcher's.

        Express executions are not de-duplicated by name: a repeated name starts a second,
        concurrent execution (AWS, express-at-least-once-execution.html). The process function's
        claim keeps the duplicate from working the task; a dedup write here would cost a write
        unit on every dispatch to save one Express start in the rare duplicate case.
        """
        traced = {"traceHeader": trace_header} if trace_header else {}
        try:
            response = self._client.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=name,
                input=execution_input(task_id, registered_type, slots, run),
                **traced,
            )
        except ClientError as exc:
            if error_code(exc) in THROTTLING_CODES:
                raise StartExecutionThrottledError(f"start execution {name}: {exc}") from exc
            raise translate(exc, f"start execution {name}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"start execution {name}") from exc
        return response["executionArn"]
