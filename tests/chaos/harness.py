"""Chaos for the whole pipeline: faults injected at real boundaries, then the ledger.

Faults (each drawn per occasion with its own rate, from one seeded RNG):
- duplicate SQS deliveries: a task's message is sent twice;
- dispatcher crash after starting executions, before acknowledging its batch;
- duplicate executions of the same task;
- process crash after the work, before the success write (reported as ``Lambda.Unknown``);
- DynamoDB throttling on the process function's writes (at the SDK boundary);
- poison messages on the tasks queue.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from functions.common.models import Task, TaskStatus
from functions.common.work import SimulatedWork
from infra.spec import Function
from tests.fixtures.stack import Stack


@dataclass(frozen=True)
class Rates:
    duplicate_delivery: float = 0.05
    dispatcher_crash: float = 0.2
    """Per dispatch batch (batches are ten times rarer than tasks)."""
    duplicate_execution: float = 0.05
    process_crash_after_work: float = 0.05
    dynamodb_throttle: float = 0.05
    poison_messages: int = 5


WAVE = 1000


@dataclass
class Ledger:
    tasks: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    successes_recorded: Counter[str] = field(default_factory=Counter)
    unrecognised_dead_letters: int = 0
    violations: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def report(self) -> str:
        lines = [
            f"chaos: {self.tasks} tasks in {self.seconds:.1f} s; final {dict(self.statuses)}",
            "  injected: " + ", ".join(f"{name} {count}" for name, count in sorted(self.injected.items())),
            f"  successes recorded once each: {sum(self.successes_recorded.values())}; "
            f"poison messages recorded by the monitor: {self.unrecognised_dead_letters}",
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
        self._crash_after_work(SimulatedWork(failure_rate, seed))
        self._throttle_process_writes()
        self.stack.runtime.after_hooks.append(self._after)

    def _crash_after_work(self, work: SimulatedWork) -> None:

        class LambdaUnknown(Exception):  # noqa: N818 - the name Step Functions reports
            pass

        LambdaUnknown.__name__ = "Lambda.Unknown"

        def crashing_work(task: Task) -> dict[str, Any]:
            result = work(task)
            if self.chance(self.rates.process_crash_after_work, "process crash after work"):
                raise LambdaUnknown("the runtime exited after the work, before the success write")
            return result

        self.stack.set_work(crashing_work)

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

    def _after(self, function_name: str, event: Any, result: Any) -> None:
        if function_name.endswith("-dispatch") and self.chance(
            self.rates.dispatcher_crash, "dispatcher crash"
        ):
            raise RuntimeError("dispatcher crashed after starting executions")
        succeeded = isinstance(result, dict) and result.get("outcome") == "SUCCEEDED"
        if function_name.endswith("-process") and succeeded:
            with self.lock:
                self.ledger.successes_recorded[result["taskId"]] += 1
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
        started = time.monotonic()
        deadline = started + timeout
        ids: list[str] = []
        for first in range(0, tasks, wave):
            batch = [
                stack.submit({"chaos": index}, key=f"chaos-{index}")
                for index in range(first, min(first + wave, tasks))
            ]
            for task_id in batch:
                if self.chance(self.rates.duplicate_delivery, "duplicate delivery"):
                    stack.clients.sqs.send_message(
                        QueueUrl=stack.resources.tasks_queue_url, MessageBody=json.dumps({"taskId": task_id})
                    )
            if first == 0:
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

    def _drive(self, ids: list[str], timeout: float) -> None:
        stack = self.stack
        dispatch, monitor = stack.event_source(Function.DISPATCH), stack.event_source(Function.MONITOR)
        deadline = time.monotonic() + timeout
        first_round = True
        while time.monotonic() < deadline:
            moved = sum(poll.received for poll in dispatch.drain())
            if first_round:
                for task_id in ids:
                    if self.chance(self.rates.duplicate_execution, "duplicate execution"):
                        stack.start_execution(task_id, f"dup-{task_id}")
                first_round = False
            stack.wait_for_all_executions(timeout=max(1.0, deadline - time.monotonic()))
            moved += sum(poll.received for poll in monitor.drain())
            if moved == 0 and not self._queued(ids):
                return
        self.ledger.violations.append(f"not quiescent after {timeout} s")

    def _queued(self, ids: list[str]) -> list[str]:
        statuses = self.stack.table.statuses(ids)
        return [
            task_id for task_id in ids if statuses.get(task_id) in {TaskStatus.QUEUED, TaskStatus.RUNNING}
        ]

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
        if ledger.unrecognised_dead_letters != self.rates.poison_messages:
            ledger.violations.append(
                f"{self.rates.poison_messages} poison messages, {ledger.unrecognised_dead_letters} recorded"
            )


def _is_task_message(body: str) -> bool:
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        return False
    return isinstance(document, dict) and "taskId" in document
