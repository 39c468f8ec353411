"""One Logger and one Metrics object, imported by every handler, and the one place that
reports a misconfiguration.

Tracer is deliberately absent: it imports and patches the X-Ray SDK at init (about 170 ms
measured here, more than boto3 itself). Lambda's active tracing still records each
invocation, and the state machine's X-Ray tracing draws the workflow.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from functions.common.config import METRICS_NAMESPACE
from functions.common.errors import DependencyMisconfiguredError


class Metric(StrEnum):
    """Every custom metric the functions publish: the handlers count them, the stack's alarms and
    dashboard read them (infra/components/observability.py). Only what no AWS metric says: an
    execution started is ``AWS/States`` ExecutionsStarted, a failed attempt the process function's
    ``AWS/Lambda`` Errors, a task succeeded ExecutionsSucceeded less DuplicatesSkipped. Each custom
    metric is billed a month and its EMF line on every invocation that counts it."""

    TASKS_SUBMITTED = "TasksSubmitted"
    ENQUEUE_DEFERRED = "EnqueueDeferred"
    """A task accepted but not yet sent to the queue; the stack alarms on it."""
    TASKS_CANCELLED = "TasksCancelled"
    TASKS_REDRIVEN = "TasksRedriven"
    DISPATCHES_SKIPPED = "DispatchesSkipped"
    START_THROTTLED = "StartExecutionThrottled"
    """Per throttled StartExecution; the stack alarms on it (a throttled Express start is reported
    to the caller only, not by any Step Functions metric)."""
    DUPLICATES_SKIPPED = "DuplicatesSkipped"
    """A second execution of a task refused its claim: with ExecutionsSucceeded, the tasks that
    succeeded."""
    DEAD_LETTERS_WORKFLOW_FAILURE = "DeadLettersWorkflowFailure"
    DEAD_LETTERS_STRANDED = "DeadLettersStranded"
    TASKS_DEFERRED_BY_LIMIT = "TasksDeferredByLimit"
    LIMIT_WAITS_EXCEEDED = "LimitWaitsExceeded"
    DEAD_LETTERS_LIMIT_WAIT_EXCEEDED = "DeadLettersLimitWaitExceeded"
    DEAD_LETTERS_UNDELIVERABLE = "DeadLettersUndeliverable"
    DEAD_LETTERS_UNRECOGNISED = "DeadLettersUnrecognised"
    TASKS_REENQUEUED = "TasksReenqueued"
    TASKS_RESCUED = "TasksRescued"
    TASKS_STRANDED = "TasksStranded"
    SCHEDULE_FIRINGS_SKIPPED = "ScheduleFiringsSkipped"
    """A recurring schedule's firing that submitted nothing (overlap, disabled, its task refused)."""
    DEPENDENCY_MISCONFIGURED = "DependencyMisconfigured"
    """Whenever AWS refuses a call that no retry fixes; the stack alarms on it."""


logger = Logger()
if level := os.environ.get("POWERTOOLS_LOG_LEVEL"):
    # Lambda's advanced logging controls set AWS_LAMBDA_LOG_LEVEL (INFO, so the EMF lines pass),
    # and Powertools lets it override POWERTOOLS_LOG_LEVEL: the stage's level is set here again,
    # on the logger itself, so a WARNING stage logs WARNING and up.
    logging.getLogger(logger.service).setLevel(level.upper())
metrics = Metrics(namespace=METRICS_NAMESPACE)


def report_misconfiguration(exc: DependencyMisconfiguredError) -> None:
    metrics.add_metric(name=Metric.DEPENDENCY_MISCONFIGURED, unit=MetricUnit.Count, value=1)
    logger.error(
        "AWS refused a call that no retry can fix: check the function's permissions and resource names",
        extra={"reason": str(exc)},
    )


@contextmanager
def misconfiguration_reported() -> Iterator[None]:
    """Let a misconfiguration propagate (the invocation or the record fails), reported first."""
    try:
        yield
    except DependencyMisconfiguredError as exc:
        report_misconfiguration(exc)
        raise
