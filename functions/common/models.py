"""The task record and the messages that travel between the pieces of the pipeline."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from functions.common.task_status import TaskStatus

__all__ = ["TaskStatus"]  # re-exported: the models and their statuses, from one module


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, defer_build=True)


class Task(CamelModel):
    """A task record as stored in DynamoDB and returned by ``GET /tasks/{taskId}``."""

    task_id: str
    status: TaskStatus
    payload: dict[str, Any]
    attempts: int = Field(default=0, description="Process invocations that ran, over every run")
    runs: int = Field(default=1, description="1, plus one per redrive")
    created_at: str
    updated_at: str
    idempotency_key: str | None = None
    run_at: str | None = Field(
        default=None, description="When a task submitted with delaySeconds or runAt runs (RFC 3339, UTC)"
    )
    schedule: str | None = Field(default=None, description="The recurring schedule that submitted the task")
    scheduled_time: str | None = Field(
        default=None, description="The firing of that schedule that submitted it (RFC 3339, UTC)"
    )
    concurrency_key: str | None = Field(
        default=None, description="The caller's key: limits on key:<it> or key:* apply to the task"
    )
    waiting_for: dict[str, str] | None = Field(
        default=None,
        description="While a limit holds the task back: the limit (its subject) and since when",
    )
    request_hash: str = Field(exclude=True)
    limit_subjects: tuple[str, ...] = Field(default=(), exclude=True)
    """What the task is subject to (its type, its webhook host, its key): the dispatcher reads
    them with its status and asks each one's limit, if any, before starting it."""
    registered_type: str | None = Field(default=None, exclude=True)
    """A registered type's name (its attempts run in the user's function): the dispatcher starts
    the execution with it, and the generated state machine routes on it."""
    result: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    last_error: str | None = Field(default=None, description="The latest failed attempt, while retrying")
    execution_arn: str | None = None
    dead_lettered_at: str | None = None
    expires_at: str | None = Field(
        default=None,
        description="A finished task's deletion time (RFC 3339): taskRetentionDays after it finished. "
        "DynamoDB deletes it within about two days of this; from this moment it reads as gone (404)",
    )

    def to_api(self) -> dict[str, Any]:
        """The public JSON view: camelCase, without internal or empty fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Simulation(CamelModel):
    """Test-only control of the simulated work, carried in the payload's ``simulate`` field."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
        strict=True,
        defer_build=True,
    )

    # Descriptions, not attribute docstrings: reading them costs every cold start ~5 ms.
    failures: int = Field(
        default=0, ge=0, le=100, description="Fail the first N attempts with the retryable error."
    )
    permanent: bool = Field(default=False, description="Raise the non-retryable error on every attempt.")
    crashes: int = Field(
        default=0,
        ge=0,
        le=100,
        description="End the first N attempts with a process exit (Lambda: Runtime.ExitError).",
    )
    timeouts: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Make the first N attempts overrun the function's timeout (Lambda: Sandbox.Timedout).",
    )


class TaskMessage(CamelModel):
    """The body of a message on the tasks queue: only the id; the record holds the payload."""

    task_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    run: int = Field(default=1, ge=1)
    """Which run of the task this message starts (a redrive sends run n+1)."""


def message_body(task_id: str, run: int) -> str:
    """A task's message as sent: what the dispatcher reads (also a schedule's input)."""
    return TaskMessage(task_id=task_id, run=run).model_dump_json(by_alias=True)


class TaskSummary(CamelModel):
    """A task as listed: the record's attributes, without the payload."""

    task_id: str
    status: TaskStatus
    created_at: str
    updated_at: str | None = None
    attempts: int = 0
    error: str | None = None
    execution_arn: str | None = None
    dead_lettered_at: str | None = None
    idempotency_key: str | None = None
    run_at: str | None = None
    schedule: str | None = None
    scheduled_time: str | None = None
    expires_at: str | None = None

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ExecutionInput(CamelModel):
    """The parts of an execution's input (``$$.Execution.Input``) the end of the execution
    reads: the limit slots the dispatcher took for it, and the run they are held by."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")

    slots: tuple[str, ...] = ()
    run: int = Field(default=1, ge=1)


class ProcessRequest(CamelModel):
    """What the state machine passes to the process function."""

    task_id: str = Field(min_length=1)
    execution_arn: str = Field(min_length=1)
    retry_count: int = Field(default=0, ge=0)
    execution: ExecutionInput = ExecutionInput()


class ClaimRequest(CamelModel):
    """A registered type's execution claims its task before the first invocation of the user's
    function (the generated definition's ``Claim`` state): the same claim as a built-in attempt's."""

    action: Literal["claim"]
    task_id: str = Field(min_length=1)
    execution_arn: str = Field(min_length=1)
    lease_seconds: int = Field(ge=1, le=300)
    """The type's lease: its Run and Complete states at their worst (the generator computes it)."""
    execution: ExecutionInput = ExecutionInput()


class CompleteRequest(CamelModel):
    """The user's function returned: its result is recorded by the execution holding the claim."""

    action: Literal["complete"]
    task_id: str = Field(min_length=1)
    execution_arn: str = Field(min_length=1)
    result: Any = None
    retries: int = Field(default=0, ge=0)
    execution: ExecutionInput = ExecutionInput()
    """Invocations of the function before the one that returned (its state's RetryCount)."""


class ProcessOutcome(CamelModel):
    task_id: str
    outcome: Literal["SUCCEEDED", "SKIPPED"]
    status: TaskStatus | None
    attempts: int | None = None


class StrandedTask(CamelModel):
    """The message reconcile sends to the DLQ for a run whose executions keep dying (or whose
    workflow could not dead-letter it): the monitor fails and dead-letters that run."""

    kind: Literal["stranded"]
    task_id: str = Field(min_length=1)
    run: int = Field(ge=1)
    error: str
    cause: str
    rescues: int = Field(ge=0)


class WorkflowFailure(CamelModel):
    """The message the state machine's Catch path sends to the DLQ."""

    kind: Literal["workflow-failure"]
    task_id: str
    error: str | None = None
    cause: str | None = None
    execution_arn: str | None = None
    failed_at: str | None = None
    attempts: int | None = None
    execution: ExecutionInput = ExecutionInput()


class LimitWaitExceeded(CamelModel):
    """The message the dispatcher sends to the DLQ for a task that waited for a limit longer
    than the stage allows (it has failed it already): the monitor records it."""

    kind: Literal["limit-wait-exceeded"]
    task_id: str = Field(min_length=1)
    run: int = Field(ge=1)
    limit: str
    waited_seconds: int = Field(ge=0)
