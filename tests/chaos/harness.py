"""Chaos for the whole pipeline: faults injected at real boundaries, then the ledger.

Faults (each drawn per occasion with its own rate, from one seeded random stream per kind):
- duplicate SQS deliveries: a task's message is sent twice;
- dispatcher crash after starting executions, before acknowledging its batch;
- duplicate executions with the dispatcher's own name, running concurrently (as AWS does);
- process crash before the work and after it, before the success write (a process exit:
  ``Runtime.ExitError``), and process timeouts (an overrun: ``Sandbox.Timedout``);
- executions killed right after the claim, and executions stopped while retrying (as the
  Express 5-minute limit would): their tasks are left RUNNING for reconcile to find;
- MarkFailed and SendToDlq failing for good for a task (a non-retried DynamoDB error; an SQS
  error through every retry);
- DynamoDB throttling on the process function's writes (at the SDK boundary);
- poison messages on the tasks queue;
- a recurring schedule's firings (eight, every other one delivered twice, as a Scheduler retry or
  an SQS duplicate would): each must make exactly one task, audited with the rest.

Every tenth task is scheduled a second or two ahead (``delaySeconds``: an SQS delay), so
duplicate deliveries reach the dispatcher before it is due (it sends them back delayed), and
reconcile's sweep runs over SCHEDULED tasks too. The audit checks that no scheduled task's work
finished before its ``runAt``.

A third of the tasks carry a ``concurrencyKey`` (``TENANTS`` tenants) under a ``key:*`` limit of
``KEY_LIMIT`` at once: the audit fails any moment when more of a key's tasks were working than
that (from the work's recorded start and end), and any slot that leaked would hold its key's
tasks back for the slot's whole lease, far past the run's timeout.

Between rounds, when nothing moves and tasks are still QUEUED or RUNNING, the harness runs
reconcile's sweep (as the schedule would), with the short lease the process function runs under.
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_dynamodb as dynamodb_task,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_sqs as sqs_task,
)

from functions.common.clock import utc_now
from functions.common.errors import TransitionRefusedError
from functions.common.limits_table import LimitsTable
from functions.common.models import Task, TaskStatus
from functions.common.recurring import firing_task_id, scheduled_time
from functions.common.task_schedules import FIRING_INPUT
from functions.common.workflow import execution_name
from functions.task_types.registry import TaskEnvironment
from functions.usecases.reconciliation import sweep
from infra.names import Function
from tests.fixtures.stack import WORD_COUNT_TIMEOUT_SECONDS, Stack
from tests.fixtures.task_types import runner


@dataclass(frozen=True)
class Rates:
    duplicate_delivery: float = 0.05
    dispatcher_crash: float = 0.2
    """Per dispatch batch (batches are ten times rarer than tasks)."""
    duplicate_execution: float = 0.05
    process_crash_before_work: float = 0.02
    process_crash_after_work: float = 0.05
    process_timeout: float = 0.02
    killed_after_claim: float = 0.02
    stopped_while_retrying: float = 0.05
    """Per retry attempt."""
    mark_failed_fails: float = 0.2
    """Per task that reaches MarkFailed."""
    send_to_dlq_fails: float = 0.2
    """Per task that reaches SendToDlq."""
    dynamodb_throttle: float = 0.05
    registered_crash: float = 0.05
    """Per invocation of the registered type's function (its localHandler)."""
    registered_timeout: float = 0.03
    poison_messages: int = 5


LEASE = timedelta(seconds=2)
"""The process function's claim lease under chaos: killed executions strand their tasks for this
long (the deployed 120 s would only make the run slower)."""
SWEEP_SLACK_SECONDS = 0.05
"""Past the moment a lease expires: the sweep compares with its own clock, read a moment later."""
TIMEOUT_SCALE = 0.1
"""Process timeouts at a tenth: 3 s, still far above a busy invocation here."""
FAULT_KINDS = 15


WAVE = 1000


@dataclass
class Ledger:
    tasks: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    successes_recorded: Counter[str] = field(default_factory=Counter)
    succeeded_at: dict[str, datetime] = field(default_factory=dict)
    scheduled: int = 0
    unrecognised_dead_letters: int = 0
    reconciled: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    work_spans: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)
    """Per concurrency key: (start, end, task id) of each attempt's work that ran."""
    most_at_once: dict[str, int] = field(default_factory=dict)

    def report(self) -> str:
        lines = [
            f"chaos: {self.tasks} tasks ({self.scheduled} scheduled) in {self.seconds:.1f} s; "
            f"final {dict(self.statuses)}",
            "  injected: " + ", ".join(f"{name} {count}" for name, count in sorted(self.injected.items())),
            f"  successes recorded once each: {sum(self.successes_recorded.values())}; "
            f"poison messages recorded by the monitor: {self.unrecognised_dead_letters}",
            "  reconcile: " + ", ".join(f"{name} {count}" for name, count in sorted(self.reconciled.items())),
            f"  limited keys (at most {KEY_LIMIT} at once each): most working at once "
            + ", ".join(f"{key} {count}" for key, count in sorted(self.most_at_once.items())),
            f"  violations: {len(self.violations)}",
            *(f"    {violation}" for violation in self.violations[:20]),
        ]
        return "\n".join(lines)


class Chaos:
    def __init__(self, stack: Stack, rates: Rates, seed: str) -> None:
        self.stack = stack
        self.rates = rates
        self.seed = seed
        self.streams: dict[str, random.Random] = {}
        self.lock = threading.Lock()
        self.ledger = Ledger()
        self.firing_ids: list[str] = []
        """The tasks the recurring schedule's firings name (one each)."""
        self.killed: set[str] = set()
        """Tasks one of whose executions chaos stopped: a slot such an execution took is the
        lease's to free (SLOT_LEASE_SECONDS), not a leak."""
        self.designated: dict[str, str] = {}
        """Permanent tasks whose MarkFailed or SendToDlq fails for good, whatever the rates."""

    def chance(self, rate: float, fault: str) -> bool:
        """One random stream per fault kind, so faults decided on the test's own thread (duplicate
        deliveries and executions) are reproducible whatever the executions' threads do."""
        with self.lock:
            stream = self.streams.setdefault(fault, random.Random(f"{self.seed}:{fault}"))
            hit = stream.random() < rate
            if hit:
                self.ledger.injected[fault] += 1
        return hit

    def install(self, failure_rate: float, seed: str) -> None:
        self._crash_after_work(runner(TaskEnvironment(failure_rate=failure_rate, failure_seed=seed)))
        self._throttle_process_writes()
        self.stack.dependencies(Function.PROCESS).lease = LEASE
        dispatch = self.stack.dependencies(Function.DISPATCH)
        self._dispatcher = dispatch.dispatcher
        limiter = replace(dispatch.dispatcher.limiter, lease_seconds=SLOT_LEASE_SECONDS)
        dispatch.dispatcher = replace(dispatch.dispatcher, limiter=limiter)
        self.stack.runtime.timeout_scale = TIMEOUT_SCALE
        self.stack.runtime.hooks.append(self._before)
        self.stack.runtime.after_hooks.append(self._after)
        self._fail_workflow_writes()

    def _crash_after_work(self, work: Callable[[Task], dict[str, Any]]) -> None:
        def crashing_work(task: Task) -> dict[str, Any]:
            started = time.monotonic()
            try:
                if task.concurrency_key is not None:
                    time.sleep(KEYED_WORK_SECONDS)  # long enough for a key's tasks to overlap
                result = work(task)
            finally:
                if task.concurrency_key is not None:
                    with self.lock:
                        spans = self.ledger.work_spans.setdefault(task.concurrency_key, [])
                        spans.append((started, time.monotonic(), task.task_id))
            if self.chance(self.rates.process_crash_after_work, "process crash after work"):
                sys.exit(1)  # the runtime exits after the work, before the success write
            return result

        self.stack.set_work(crashing_work)

    def _before(self, function_name: str, event: Any) -> None:
        """Faults of the process function's invocation, and of the registered type's function,
        before its handler runs."""
        if function_name.endswith(f"-type-{REGISTERED}"):
            self._registered_faults()
            return
        if not function_name.endswith("-process"):
            return
        if event.get("action") == "claim":
            # A registered type's claim, for the chaos lease (its deployed one is the branch's
            # worst case): a killed execution strands the task as long as a built-in one's.
            event["leaseSeconds"] = int(LEASE.total_seconds())
        execution_arn, task_id = str(event["executionArn"]), str(event["taskId"])
        if int(event.get("retryCount", 0)) > 0 and self.chance(
            self.rates.stopped_while_retrying, "execution stopped while retrying"
        ):
            self.stack.clients.sfn.stop_execution(executionArn=execution_arn, error="States.Timeout")
            self.killed.add(task_id)
            sys.exit(1)
        if self.chance(self.rates.killed_after_claim, "execution killed after the claim"):
            self.killed.add(task_id)
            self.stack.clients.sfn.stop_execution(executionArn=execution_arn, error="Killed")
            now = utc_now()
            with contextlib.suppress(TransitionRefusedError):
                self.stack.table.claim_for_processing(task_id, execution_arn, now, now + LEASE)
            sys.exit(1)
        if self.chance(self.rates.process_crash_before_work, "process crash before work"):
            sys.exit(1)
        if self.chance(self.rates.process_timeout, "process timeout"):
            time.sleep(30 * TIMEOUT_SCALE + 1)  # past the scaled timeout; then ends like a killed sandbox
            sys.exit(1)

    def _registered_faults(self) -> None:
        """The registered function crashes or runs past its timeout: an attempt of the type's
        policy, as a built-in attempt's crash is one of the transient retrier's."""
        if self.chance(self.rates.registered_crash, "registered function crash"):
            sys.exit(1)
        if self.chance(self.rates.registered_timeout, "registered function timeout"):
            time.sleep(WORD_COUNT_TIMEOUT_SECONDS * TIMEOUT_SCALE + 0.05)  # just past its scaled timeout
            sys.exit(1)

    def _fail_workflow_writes(self) -> None:
        """MarkFailed (DynamoDB updateItem) and SendToDlq (SQS sendMessage) failing for good for
        some tasks, inside moto's Step Functions interpreter."""
        doomed: dict[tuple[str, str], bool] = {}

        def fails_for(kind: str, task_id: str, rate: float) -> bool:
            """Decided once per task: the designated tasks (so every run has both kinds), then
            from the task's id, so the same tasks are doomed whatever order executions run in."""
            with self.lock:
                decided = doomed.get((kind, task_id))
                if decided is None:
                    designated = self.designated.get(task_id)
                    if designated is not None:
                        decided = designated == kind
                    else:
                        decided = random.Random(f"{self.seed}:{kind}:{task_id}").random() < rate
                    doomed[(kind, task_id)] = decided
                    if decided:
                        self.ledger.injected[kind] += 1
            return decided

        def refuse(code: str, operation: str) -> ClientError:
            return ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

        original_dynamodb = dynamodb_task.StateTaskServiceDynamoDB._eval_service_task
        original_sqs = sqs_task.StateTaskServiceSqs._eval_service_task

        def dynamodb(
            task: Any,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: Any,
            state_credentials: Any,
        ) -> None:
            parameters = normalised_parameters
            task_id = str(parameters.get("Key", {}).get("taskId", {}).get("S", ""))
            marks_failed = ":failed" in parameters.get("ExpressionAttributeValues", {}) and "#error" in (
                parameters.get("ExpressionAttributeNames") or {}
            )
            if marks_failed and fails_for(MARK_FAILED_FAILS, task_id, self.rates.mark_failed_fails):
                raise refuse("AccessDeniedException", "UpdateItem")
            original_dynamodb(task, env, resource_runtime_part, normalised_parameters, state_credentials)

        def sqs(
            task: Any,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: Any,
            state_credentials: Any,
        ) -> None:
            body = normalised_parameters.get("MessageBody")
            task_id = str(body.get("taskId", "")) if isinstance(body, dict) else ""
            if task_id and fails_for(SEND_TO_DLQ_FAILS, task_id, self.rates.send_to_dlq_fails):
                raise refuse("KmsThrottled", "SendMessage")
            original_sqs(task, env, resource_runtime_part, normalised_parameters, state_credentials)

        dynamodb_task.StateTaskServiceDynamoDB._eval_service_task = dynamodb  # type: ignore[method-assign, assignment]
        sqs_task.StateTaskServiceSqs._eval_service_task = sqs  # type: ignore[method-assign, assignment]
        self._restore_workflow_writes = (original_dynamodb, original_sqs)

    def _throttle_process_writes(self) -> None:
        def throttle(**kwargs: Any) -> None:
            if self.chance(self.rates.dynamodb_throttle, "DynamoDB throttle"):
                raise ClientError(
                    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}},
                    "UpdateItem",
                )

        self._throttle = throttle
        self.stack.dependencies(Function.PROCESS).table._client.meta.events.register(
            "before-call.dynamodb.UpdateItem", throttle
        )

    def uninstall(self) -> None:
        """The process module (and its client) outlive the test: take the throttle off it."""
        self.stack.dependencies(Function.PROCESS).table._client.meta.events.unregister(
            "before-call.dynamodb.UpdateItem", self._throttle
        )
        self.stack.runtime.after_hooks.clear()
        self.stack.runtime.hooks.clear()
        self.stack.dependencies(Function.DISPATCH).dispatcher = self._dispatcher
        original_dynamodb, original_sqs = self._restore_workflow_writes
        dynamodb_task.StateTaskServiceDynamoDB._eval_service_task = original_dynamodb  # type: ignore[method-assign]
        sqs_task.StateTaskServiceSqs._eval_service_task = original_sqs  # type: ignore[method-assign]

    def _after(self, function_name: str, event: Any, result: Any) -> None:
        if function_name.endswith("-dispatch") and self.chance(
            self.rates.dispatcher_crash, "dispatcher crash"
        ):
            raise RuntimeError("dispatcher crashed after starting executions")
        succeeded = isinstance(result, dict) and result.get("outcome") == "SUCCEEDED"
        if function_name.endswith("-process") and succeeded:
            with self.lock:
                self.ledger.successes_recorded[result["taskId"]] += 1
                self.ledger.succeeded_at.setdefault(result["taskId"], utc_now())
        if function_name.endswith("-monitor"):
            poison = sum(
                1 for record in event.get("Records", []) if not _is_task_message(record.get("body", ""))
            )
            with self.lock:
                self.ledger.unrecognised_dead_letters += poison

    def run(self, tasks: int, timeout: float, wave: int = WAVE) -> Ledger:
        """Submit and drive the tasks in waves of ``wave``: moto's SQS checks every message's
        retention against the whole queue, so one 10,000-message backlog takes quadratic time.
        Faults are injected in every wave; the poison messages go in with the first."""
        stack, ledger = self.stack, self.ledger
        limited = stack.api("PUT", "/limits/key:*", {"maxConcurrency": KEY_LIMIT})
        assert limited.status == 201, limited.body
        stack.dependencies(Function.DISPATCH).dispatcher.limiter.cache._read_at = None  # read it now
        started = time.monotonic()
        deadline = started + timeout
        ids: list[str] = []
        for first in range(0, tasks, wave):
            batch = [
                stack.submit(_payload(index), key=f"chaos-{index}")
                for index in range(first, min(first + wave, tasks))
            ]
            for index, task_id in zip(range(first, first + len(batch)), batch, strict=True):
                if index % DESIGNATED_EVERY == 0:
                    self.designated[task_id] = MARK_FAILED_FAILS
                elif index % DESIGNATED_EVERY == DESIGNATED_EVERY // 2:
                    self.designated[task_id] = SEND_TO_DLQ_FAILS
            for task_id in batch:
                if self.chance(self.rates.duplicate_delivery, "duplicate delivery"):
                    stack.clients.sqs.send_message(
                        QueueUrl=stack.resources.tasks_queue_url, MessageBody=json.dumps({"taskId": task_id})
                    )
            if first == 0:
                batch += self._fire_recurring()
                for index in range(self.rates.poison_messages):
                    stack.clients.sqs.send_message(
                        QueueUrl=stack.resources.tasks_queue_url, MessageBody=f"poison {index}"
                    )
                ledger.injected["poison message"] = self.rates.poison_messages
            self._drive(batch, max(1.0, deadline - time.monotonic()))
            ids += batch
        ledger.tasks = len(ids)
        ledger.seconds = time.monotonic() - started
        self._audit(ids)
        return ledger

    def _fire_recurring(self) -> list[str]:
        """A recurring schedule firing during the faults: each firing's message sent once, or more
        (Scheduler retrying it, SQS delivering it twice); each must make exactly one task. Returns
        the task ids the firings name."""
        stack = self.stack
        put = stack.api(
            "PUT",
            f"/schedules/{RECURRING}",
            {"expression": "rate(1 minute)", "task": {"chaos": "recurring"}, "overlap": "allow"},
        )
        assert put.status == 201, put.body
        ids = []
        for minute in range(FIRINGS):
            when = f"2027-01-01T00:{minute:02d}:00Z"
            copies = 1 + minute % 2  # every other firing delivered twice
            if copies > 1:
                with self.lock:
                    self.ledger.injected["duplicate firing"] += 1
            for _ in range(copies):
                body = (FIRING_INPUT % RECURRING).replace("<aws.scheduler.scheduled-time>", when)
                stack.clients.sqs.send_message(QueueUrl=stack.resources.tasks_queue_url, MessageBody=body)
            ids.append(firing_task_id(RECURRING, scheduled_time(when)))
        self.firing_ids = ids
        return ids

    def _drive(self, ids: list[str], timeout: float) -> None:
        stack = self.stack
        dispatch, monitor = stack.event_source(Function.DISPATCH), stack.event_source(Function.MONITOR)
        deadline = time.monotonic() + timeout
        first_round = True
        while time.monotonic() < deadline:
            moved = sum(poll.received for poll in dispatch.drain())
            if first_round:
                started = {execution["name"]: execution["executionArn"] for execution in stack.executions()}
                for task_id in ids:
                    if self.chance(self.rates.duplicate_execution, "same-name duplicate execution"):
                        self._duplicate(started, execution_name(task_id, 1, 1))
                first_round = False
            stack.wait_for_all_executions(timeout=max(1.0, deadline - time.monotonic()))
            moved += sum(poll.received for poll in monitor.drain())
            if moved:
                continue
            waiting = self._queued(ids)
            if not waiting:
                return
            self._reconcile(waiting)
        self.ledger.violations.append(f"not quiescent after {timeout} s")

    def _duplicate(self, started: dict[str, str], name: str) -> None:
        """Express's at-least-once start: a second execution of a start the dispatcher made, its
        name and input (the slots it took) the same. (A task a limit held back has no start yet.)"""
        arn = started.get(name)
        if arn is None:
            return
        sfn = self.stack.clients.sfn
        execution_input = sfn.describe_execution(executionArn=arn)["input"]
        sfn.start_execution(
            stateMachineArn=self.stack.resources.state_machine_arn, name=name, input=execution_input
        )

    def _reconcile(self, waiting: list[str]) -> None:
        """Reconcile's sweep, as its schedule would run it once there is something for it to do: a
        QUEUED task at once, else once the first RUNNING task's lease ran out (a killed execution's)
        or the first SCHEDULED task came due, and after LEASE at the latest."""
        time.sleep(self._until_sweepable(waiting))
        deps = self.stack.dependencies(Function.RECONCILE)
        result = sweep(
            table=deps.table,
            queue=deps.queue,
            dead_letters=deps.dead_letters,
            clock=utc_now,
            older_than=timedelta(0),
            lease=LEASE,
            max_rescues=deps.max_rescues,
        )
        with self.lock:
            self.ledger.reconciled["rescued"] += len(result.rescued)
            self.ledger.reconciled["dead-lettered"] += len(result.dead_lettered)
            self.ledger.reconciled["re-enqueued"] += len(result.reenqueued)
            self.ledger.reconciled["overdue scheduled"] += len(result.overdue)

    def _until_sweepable(self, waiting: list[str]) -> float:
        """Seconds until the sweep can act on one of the waiting tasks (its claim's ``updatedAt``
        is what the sweep reads a lease from), at most LEASE."""
        now, soonest = utc_now(), LEASE.total_seconds()
        for task_id in waiting:
            task = self.stack.table.get(task_id)
            if task is None or task.status is TaskStatus.QUEUED:
                return 0.0
            if task.status is TaskStatus.RUNNING:
                ready = datetime.fromisoformat(task.updated_at) + LEASE
            elif task.run_at is not None:
                ready = datetime.fromisoformat(task.run_at)
            else:
                continue
            soonest = min(soonest, (ready - now).total_seconds())
        return max(0.0, soonest) + SWEEP_SLACK_SECONDS

    def _queued(self, ids: list[str]) -> list[str]:
        statuses = {task_id: due.status for task_id, due in self.stack.table.index.due_states(ids).items()}
        waiting = {TaskStatus.SCHEDULED, TaskStatus.QUEUED, TaskStatus.RUNNING}
        return [task_id for task_id in ids if statuses.get(task_id) in waiting]

    def _audit_schedule(self, task: Task) -> None:
        """A scheduled task's work never finished before its runAt."""
        if task.run_at is None:
            return
        self.ledger.scheduled += 1
        finished = self.ledger.succeeded_at.get(task.task_id)
        if finished is not None and finished < datetime.fromisoformat(task.run_at):
            self.ledger.violations.append(f"{task.task_id}: its work finished before its runAt {task.run_at}")

    def _audit_firings(self) -> None:
        """Each firing of the recurring schedule made exactly its one task (those tasks are
        audited with the rest)."""
        listed = self.stack.api("GET", f"/tasks?schedule={RECURRING}&limit=100").body["items"]
        if sorted(item["taskId"] for item in listed) != sorted(self.firing_ids):
            self.ledger.violations.append(f"{FIRINGS} firings of {RECURRING}, their tasks: {listed}")

    def _audit_limits(self) -> None:
        """No moment had more of a key's tasks working than its limit (distinct tasks: a retry's
        overrun and its next attempt are one task, on one slot)."""
        for key, spans in self.ledger.work_spans.items():
            most = 0
            for start, _, _ in spans:
                working = {task for begun, ended, task in spans if begun <= start < ended}
                most = max(most, len(working))
            self.ledger.most_at_once[key] = most
            if most > KEY_LIMIT:
                self.ledger.violations.append(
                    f"{key}: {most} tasks working at once, over its limit {KEY_LIMIT}"
                )
        limits = LimitsTable(self.stack.clients.dynamodb, self.stack.resources.names.limits_table)
        now = time.time()
        for key, state in limits.states(f"key:{key}" for key in self.ledger.work_spans).items():
            held = sorted(state.live(now))
            for holder in held:  # every task has ended: a slot still held was never given back
                if holder.partition("#")[0] in self.killed:
                    continue  # its lease frees it (SLOT_LEASE_SECONDS): killed, nothing could give it back
                task = self.stack.table.get(holder.partition("#")[0])
                found = (task.status.value, task.error, task.attempts, task.runs) if task else None
                self.ledger.violations.append(f"{key}: a slot still held at the end by {holder}: {found}")

    def _audit(self, ids: list[str]) -> None:
        ledger = self.ledger
        for task_id in ids:
            task = self.stack.table.get(task_id)
            if task is None:
                ledger.violations.append(f"{task_id}: lost (no record)")
                continue
            ledger.statuses[task.status.value] += 1
            api = self.stack.api("GET", f"/tasks/{task_id}")
            if api.status != 200 or api.body["status"] != task.status.value:
                ledger.violations.append(f"{task_id}: API shows {api.status} {api.body}")
            recorded = ledger.successes_recorded[task_id]
            if task.status is TaskStatus.SUCCEEDED and recorded != 1:
                ledger.violations.append(f"{task_id}: SUCCEEDED with {recorded} recorded successes")
            elif task.status is TaskStatus.FAILED:
                if recorded:
                    ledger.violations.append(f"{task_id}: FAILED after a recorded success")
                if not task.dead_lettered_at:
                    ledger.violations.append(f"{task_id}: FAILED but not dead-lettered")
            elif not task.status.is_terminal:
                ledger.violations.append(f"{task_id}: stuck {task.status.value}")
            self._audit_schedule(task)
        self._audit_firings()
        self._audit_limits()
        if ledger.unrecognised_dead_letters != self.rates.poison_messages:
            ledger.violations.append(
                f"{self.rates.poison_messages} poison messages, {ledger.unrecognised_dead_letters} recorded"
            )


PERMANENT_EVERY = 25
DESIGNATED_EVERY = 4 * PERMANENT_EVERY
"""Of the permanent tasks, index 0 mod 100 has MarkFailed fail for good, 50 mod 100 SendToDlq."""
MARK_FAILED_FAILS = "MarkFailed fails for good"
SEND_TO_DLQ_FAILS = "SendToDlq fails for good"
"""One task in 25 fails for good, so every run reaches MarkFailed and SendToDlq (and their faults)."""


RECURRING = "chaos-recurring"
FIRINGS = 8
"""Firings of a recurring schedule (overlap allow) sent during the first wave."""

SCHEDULED_EVERY = 10
"""One task in ten is scheduled 1 or 2 s ahead (never a permanent one: those keep their faults)."""


REGISTERED = "word-count"
REGISTERED_EVERY = 4
"""One task in four (neither permanent nor scheduled) is of the stage's registered type; of those,
every other one fails its first attempt on purpose."""


KEY_LIMIT = 1
"""``key:*``'s limit under chaos."""
KEYED_WORK_SECONDS = 0.3
"""A limited task's work lasts this long, so that its key's tasks would overlap without the limit."""
LIMITED_EVERY = 3
"""One task in three carries a concurrencyKey, one of ``TENANTS``."""
TENANTS = 6
"""Enough that no tenant's queue of tasks, one at a time and rechecked with growing delays,
outlasts the run's timeout on a loaded machine (three did once in a full run, 12 tasks each)."""
SLOT_LEASE_SECONDS = 30
"""A limit slot's lease under chaos, shortened as the claim's is (LEASE): a late start that chaos
kills before its claim keeps its slot for its lease, by design (nothing else runs in it to give
it back); the deployed 330 s would stall its tenant past the run's timeout. Still far above a
chaos execution's longest run (attempts at a tenth of their timeouts, waits not slept)."""


def _payload(index: int) -> dict[str, Any]:
    body = _body(index)
    if index % LIMITED_EVERY == 1:
        body["concurrencyKey"] = f"tenant-{index // LIMITED_EVERY % TENANTS}"
    return body


def _body(index: int) -> dict[str, Any]:
    if index % PERMANENT_EVERY == 0:
        return {"chaos": index, "simulate": {"permanent": True}}
    if index % SCHEDULED_EVERY == SCHEDULED_EVERY // 2:
        return {"chaos": index, "delaySeconds": 1 + index % 2}
    if index % REGISTERED_EVERY == REGISTERED_EVERY - 1:
        retried = {"failUntilAttempt": 2} if index % (2 * REGISTERED_EVERY) == REGISTERED_EVERY - 1 else {}
        return {"type": REGISTERED, "text": f"chaos {index}", **retried}
    return {"chaos": index}


def _is_task_message(body: str) -> bool:
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        return False
    return isinstance(document, dict) and "taskId" in document
