"""Flow control on the real handlers and the real ASL (moto runs it): limits set through the API,
slots taken by the dispatcher before StartExecution and given back by the execution's last
state (the process function's success, the monitor's dead letter), waiting tasks sent back
delayed with ``waitingFor``, the wait cap, and the paths that must not bypass the limiter."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from functions.common.clock import utc_now
from functions.common.dead_letter_queue import DeadLetterQueue
from functions.common.errors import DependencyUnavailableError, TransitionRefusedError
from functions.common.flow_control import SlotState
from functions.common.limits_table import LimitsTable
from functions.common.models import (
    CompleteRequest,
    ExecutionInput,
    ProcessOutcome,
    ProcessRequest,
    StrandedTask,
    Task,
    TaskStatus,
    message_body,
)
from functions.common.workflow import execution_input
from functions.usecases.dispatching import LIMIT_WAIT_ERROR
from functions.usecases.processing import complete_for_function, process_task
from functions.usecases.reconciliation import reenqueue_stale
from infra.limits import TIMINGS, limit_lease_seconds
from infra.names import Function
from tests.fixtures.stack import Stack
from tests.workflow.conftest import dead_letters


def _limits(stack: Stack) -> LimitsTable:
    return LimitsTable(stack.clients.dynamodb, stack.resources.names.limits_table)


def _put(stack: Stack, key: str, limit: dict[str, Any]) -> None:
    response = stack.api("PUT", f"/limits/{key}", limit)
    assert response.status in (200, 201), response.body


def _fresh_limits(stack: Stack) -> None:
    """The dispatcher reads the limits again now (its cache would, within LIMITS_CACHE_SECONDS)."""
    cache = stack.dependencies(Function.DISPATCH).dispatcher.limiter.cache
    cache._read_at = None


def _holders(stack: Stack, subject: str) -> dict[str, float]:
    return _limits(stack).states([subject])[subject].holders


def _slow(task: Task) -> dict[str, Any]:
    time.sleep(0.3)
    return {"ok": True}


def _attempt(
    stack: Stack,
    task_id: str,
    execution_arn: str,
    work: Callable[[Task], dict[str, Any]],
    *,
    lease_seconds: int,
) -> ProcessOutcome:
    """One attempt by the process function's use case, for an execution of run 1 that took the
    acme slot (its input's ``slots``)."""
    request = ProcessRequest(
        task_id=task_id, execution_arn=execution_arn, execution=ExecutionInput(slots=("key:acme",), run=1)
    )
    return process_task(
        request,
        table=stack.table,
        work=work,
        clock=utc_now,
        lease=timedelta(seconds=lease_seconds),
        limits=_limits(stack),
    )


def _dispatch(stack: Stack, task_id: str, run: int = 1, receive_count: int = 1) -> None:
    """The task's message delivered to the dispatcher now (a deferred one's delay not waited out)."""
    stack.invoke(
        Function.DISPATCH, stack.sqs_event(Function.DISPATCH, [message_body(task_id, run)], receive_count)
    )


def test_a_key_limit_of_one_holds_the_second_task_of_a_key_and_not_the_other_keys(stack: Stack) -> None:
    _put(stack, "key:*", {"maxConcurrency": 1})
    _fresh_limits(stack)
    stack.set_work(_slow)
    first = stack.submit({"concurrencyKey": "acme"})
    second = stack.submit({"concurrencyKey": "acme"})
    other = stack.submit({"concurrencyKey": "globex"})

    stack.event_source(Function.DISPATCH).drain()

    assert len(stack.executions()) == 2  # acme's first and globex's: acme's second waits
    waiting = stack.api("GET", f"/tasks/{second}").body
    assert waiting["status"] == "QUEUED"
    assert waiting["concurrencyKey"] == "acme"
    assert waiting["waitingFor"]["limit"] == "key:acme"
    assert set(_holders(stack, "key:acme")) == {f"{first}#1"}
    assert stack.queue_messages(stack.resources.tasks_queue_url) == []  # sent back delayed: not visible yet
    _dispatch(stack, second, receive_count=2)  # deferred again: its wait still counts from the first
    assert stack.api("GET", f"/tasks/{second}").body["waitingFor"] == waiting["waitingFor"]
    with pytest.raises(TransitionRefusedError):  # written once, even by racing deliveries
        stack.table.mark_waiting(second, "key:acme", utc_now())

    stack.wait_for_all_executions()
    assert stack.task(first).status is TaskStatus.SUCCEEDED
    assert stack.task(other).status is TaskStatus.SUCCEEDED
    assert _holders(stack, "key:acme") == {}  # the success gave the slot back

    _dispatch(stack, second)  # its delayed message, come back
    stack.wait_for_all_executions()
    done = stack.api("GET", f"/tasks/{second}").body
    assert done["status"] == "SUCCEEDED"
    assert "waitingFor" not in done  # the claim cleared it
    assert _holders(stack, "key:acme") == {}


def test_a_failed_execution_gives_its_slot_back_through_the_dead_letter(stack: Stack) -> None:
    _put(stack, "type:simulated", {"maxConcurrency": 2})
    _fresh_limits(stack)
    task_id = stack.submit({"simulate": {"permanent": True}})

    stack.event_source(Function.DISPATCH).drain()
    stack.wait_for_all_executions()

    assert stack.task(task_id).status is TaskStatus.FAILED
    [letter] = dead_letters(stack)
    assert letter["execution"]["slots"] == ["type:simulated"]
    assert set(_holders(stack, "type:simulated")) == {f"{task_id}#1"}  # until the monitor runs
    stack.event_source(Function.MONITOR).drain()
    assert _holders(stack, "type:simulated") == {}
    assert stack.task(task_id).dead_lettered_at is not None


def test_a_duplicate_start_of_the_same_run_holds_the_same_slot(stack: Stack) -> None:
    _put(stack, "key:acme", {"maxConcurrency": 1})
    _fresh_limits(stack)
    stack.set_work(_slow)
    task_id = stack.submit({"concurrencyKey": "acme"})
    stack.event_source(Function.DISPATCH).drain()
    _dispatch(stack, task_id, receive_count=2)  # SQS delivered it again meanwhile

    assert len(stack.executions()) == 2  # both started: the claim keeps the second out
    assert set(_holders(stack, "key:acme")) == {f"{task_id}#1"}
    stack.wait_for_all_executions()
    assert stack.task(task_id).attempts == 1
    assert _holders(stack, "key:acme") == {}


def test_a_killed_execution_s_slot_is_taken_back_by_the_next_acquire_once_its_lease_ends(
    stack: Stack,
) -> None:
    _put(stack, "key:acme", {"maxConcurrency": 1})
    _fresh_limits(stack)
    expired = utc_now().timestamp() - 1
    _limits(stack).write({"key:acme": SlotState({"dead-task#1": expired})})  # its execution died
    live = utc_now().timestamp() + limit_lease_seconds()
    stack.set_work(_slow)
    task_id = stack.submit({"concurrencyKey": "acme"})

    stack.event_source(Function.DISPATCH).drain()

    assert len(stack.executions()) == 1
    assert set(_holders(stack, "key:acme")) == {f"{task_id}#1"}
    [until] = _holders(stack, "key:acme").values()
    assert live - 5 <= until <= live + 5  # its lease: the dispatcher's timeout + the Express limit
    stack.wait_for_all_executions()


def test_a_redriven_task_passes_through_the_limiter(stack: Stack) -> None:
    task_id = stack.submit({"concurrencyKey": "acme", "simulate": {"permanent": True}})
    stack.event_source(Function.DISPATCH).drain()
    stack.wait_for_all_executions()
    _put(stack, "key:acme", {"maxConcurrency": 1})
    _fresh_limits(stack)
    _limits(stack).write({"key:acme": SlotState({"other#1": utc_now().timestamp() + 60})})

    assert stack.api("POST", f"/tasks/{task_id}/redrive").status == 202
    stack.event_source(Function.DISPATCH).drain()

    assert len(stack.executions()) == 1  # the first run's only
    assert stack.api("GET", f"/tasks/{task_id}").body["waitingFor"]["limit"] == "key:acme"


def test_a_task_waiting_longer_than_the_stage_allows_fails_and_is_dead_lettered(stack: Stack) -> None:
    _put(stack, "key:acme", {"maxConcurrency": 1})
    _fresh_limits(stack)
    _limits(stack).write({"key:acme": SlotState({"other#1": utc_now().timestamp() + 60})})
    task_id = stack.submit({"concurrencyKey": "acme"})
    long_ago = utc_now() - timedelta(seconds=TIMINGS.limit_wait_max_seconds + 1)
    stack.table.mark_waiting(task_id, "key:acme", long_ago)

    stack.event_source(Function.DISPATCH).drain()

    assert not stack.executions()
    task = stack.task(task_id)
    assert (task.status, task.error) == (TaskStatus.FAILED, LIMIT_WAIT_ERROR)
    assert "limitWaitMaxSeconds" in str(task.cause)
    [letter] = dead_letters(stack)
    assert (letter["kind"], letter["limit"], letter["taskId"]) == ("limit-wait-exceeded", "key:acme", task_id)
    stack.event_source(Function.MONITOR).drain()
    assert stack.task(task_id).dead_lettered_at is not None


def test_an_unlimited_task_costs_no_call_to_the_limits_table_but_the_cached_read(stack: Stack) -> None:
    _fresh_limits(stack)
    client = stack.dependencies(Function.DISPATCH).dispatcher.limiter.table.client
    table = stack.resources.names.limits_table
    calls: list[str] = []

    def seen(params: dict[str, Any], model: Any, **_: Any) -> None:
        if table in json.dumps(params):
            calls.append(model.name)

    client.meta.events.register("before-parameter-build.dynamodb", seen, unique_id="flow-control-test")
    try:
        for key in ("acme", "globex"):
            stack.submit({"concurrencyKey": key})
        stack.event_source(Function.DISPATCH).drain()
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="flow-control-test")

    assert calls == ["GetItem"]  # the limits, read once for the cache period; no slot read or write
    assert len(stack.wait_for_all_executions()) == 2


def test_a_result_discarded_because_another_execution_took_the_task_gives_no_slot_back(stack: Stack) -> None:
    """The first execution's lease ran out mid-attempt and a second one claimed the task: the
    first's late success is discarded, and the slot stays with the run the second one holds."""
    _put(stack, "key:acme", {"maxConcurrency": 1})
    task_id = stack.submit({"concurrencyKey": "acme"})
    holder = f"{task_id}#1"
    _limits(stack).write({"key:acme": SlotState({holder: utc_now().timestamp() + 60})})

    def taken_over(task: Task) -> dict[str, Any]:
        later = utc_now() + timedelta(seconds=200)
        stack.table.claim_for_processing(task_id, "arn:second", later, later + timedelta(seconds=60))
        return {"ok": True}

    outcome = _attempt(stack, task_id, "arn:first", taken_over, lease_seconds=1)

    assert outcome.outcome == "SKIPPED"
    assert set(_holders(stack, "key:acme")) == {holder}


def test_reconcile_leaves_a_waiting_task_to_its_own_rechecks(stack: Stack) -> None:
    """A task waiting for a limit has its message sent again at every recheck: reconcile, which
    re-enqueues a QUEUED task it finds stale, must not add a copy (each would recheck as often)."""
    waiting, stale = stack.submit({"concurrencyKey": "acme"}), stack.submit({"orderId": 1})
    long_ago = utc_now() - timedelta(hours=1)
    stack.table.mark_waiting(waiting, "key:acme", long_ago)
    deps = stack.dependencies(Function.RECONCILE)

    later = utc_now() + timedelta(hours=1)
    sent, refused = reenqueue_stale(
        table=deps.table, queue=deps.queue, clock=lambda: later, older_than=timedelta(0)
    )

    assert (sent, refused) == ([stale], [])


def test_a_stranded_run_that_reconcile_dead_letters_gives_its_slot_back(stack: Stack) -> None:
    """Its executions kept dying, so no last state gave the slot back: the monitor does, when it
    records the run reconcile sent to the DLQ (not when the slot's lease ends)."""
    _put(stack, "key:acme", {"maxConcurrency": 1})
    task_id = stack.submit({"concurrencyKey": "acme"})
    _limits(stack).write(
        {"key:acme": SlotState({f"{task_id}#1": utc_now().timestamp() + 300, "other#1": 1e12})}
    )
    now = utc_now()
    stack.table.claim_for_processing(task_id, "arn:dead", now, now + timedelta(seconds=1))
    stranded = StrandedTask(
        kind="stranded", task_id=task_id, run=1, error="Stranded", cause="died", rescues=2
    )
    DeadLetterQueue(stack.clients.sqs, stack.resources.dead_letter_queue_url).send_stranded(stranded)

    stack.event_source(Function.MONITOR).drain()

    assert stack.task(task_id).status is TaskStatus.FAILED
    assert set(_holders(stack, "key:acme")) == {"other#1"}


def test_a_late_duplicate_that_took_the_slot_again_for_a_finished_run_gives_it_back(stack: Stack) -> None:
    """The dispatcher read the task RUNNING, another execution then finished it and gave its slot
    back, and this late start took the slot again: its refused claim gives it back (not its lease)."""
    _put(stack, "key:acme", {"maxConcurrency": 1})
    _fresh_limits(stack)
    task_id = stack.submit({"concurrencyKey": "acme"})
    stack.event_source(Function.DISPATCH).drain()
    stack.wait_for_all_executions()
    assert stack.task(task_id).status is TaskStatus.SUCCEEDED
    read = _limits(stack).states(["key:acme"])["key:acme"]
    late_acquire = SlotState({f"{task_id}#1": utc_now().timestamp() + 300}, version=read.version)
    _limits(stack).write({"key:acme": late_acquire})

    late = stack.clients.sfn.start_execution(
        stateMachineArn=stack.resources.state_machine_arn,
        name="late",
        input=execution_input(task_id, slots=("key:acme",), run=1),
    )["executionArn"]
    stack.wait_for_execution(late)

    assert _holders(stack, "key:acme") == {}


def test_a_duplicate_whose_claim_a_live_execution_of_its_run_refuses_keeps_the_slot(stack: Stack) -> None:
    _put(stack, "key:acme", {"maxConcurrency": 1})
    task_id = stack.submit({"concurrencyKey": "acme"})
    holder = f"{task_id}#1"
    _limits(stack).write({"key:acme": SlotState({holder: utc_now().timestamp() + 60})})
    now = utc_now()
    stack.table.claim_for_processing(task_id, "arn:live", now, now + timedelta(seconds=60))

    outcome = _attempt(stack, task_id, "arn:duplicate", _slow, lease_seconds=60)

    assert outcome.outcome == "SKIPPED"
    assert set(_holders(stack, "key:acme")) == {holder}


def test_a_late_start_of_an_earlier_run_gives_its_slot_back_and_not_the_new_run_s(stack: Stack) -> None:
    task_id = stack.submit({"concurrencyKey": "acme", "simulate": {"permanent": True}})
    stack.event_source(Function.DISPATCH).drain()
    stack.wait_for_all_executions()
    assert stack.api("POST", f"/tasks/{task_id}/redrive").status == 202  # run 2
    now = utc_now()
    stack.table.claim_for_processing(task_id, "arn:run-2", now, now + timedelta(seconds=60))
    _put(stack, "key:acme", {"maxConcurrency": 2})
    until = utc_now().timestamp() + 60
    _limits(stack).write({"key:acme": SlotState({f"{task_id}#1": until, f"{task_id}#2": until})})

    _attempt(stack, task_id, "arn:run-1-late", _slow, lease_seconds=60)

    assert set(_holders(stack, "key:acme")) == {f"{task_id}#2"}


def test_a_scheduled_task_coming_due_and_an_idempotent_replay_pass_through_the_limiter(stack: Stack) -> None:
    _put(stack, "key:acme", {"maxConcurrency": 1})
    _fresh_limits(stack)
    _limits(stack).write({"key:acme": SlotState({"other#1": utc_now().timestamp() + 60})})
    scheduled = stack.submit({"concurrencyKey": "acme", "delaySeconds": 1})
    replayed = stack.submit({"concurrencyKey": "acme", "orderId": 7}, key="order-7")
    stack.event_source(Function.DISPATCH).drain()  # the replayed one is held back

    time.sleep(1.1)
    _dispatch(stack, scheduled)  # its delayed message, due: promoted, then held back too
    again = stack.api(
        "POST", "/tasks", {"concurrencyKey": "acme", "orderId": 7}, {"Idempotency-Key": "order-7"}
    )
    assert again.headers["idempotent-replayed"] == "true"
    stack.event_source(Function.DISPATCH).drain()  # the replay's message: held back as well

    assert stack.executions() == []
    for task_id in (scheduled, replayed):
        record = stack.api("GET", f"/tasks/{task_id}").body
        assert (record["status"], record["waitingFor"]["limit"]) == ("QUEUED", "key:acme")


def test_a_release_that_fails_after_the_success_is_retried_and_gives_the_slot_back(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB busy when the success gives its slot back: the invocation fails (transient) and
    the state machine retries it; the retry finds the task finished, and gives the slot back."""
    task_id = stack.submit({"concurrencyKey": "acme"})
    holder = f"{task_id}#1"
    _limits(stack).write({"key:acme": SlotState({holder: utc_now().timestamp() + 60})})
    now = utc_now()
    stack.table.claim_for_processing(task_id, "arn:one", now, now + timedelta(seconds=60))
    busy = DependencyUnavailableError("release a slot of key:acme: throttled")
    real_release = LimitsTable.release

    def throttled(self: LimitsTable, subjects: object, holder: str) -> None:
        raise busy

    complete = CompleteRequest(
        action="complete",
        task_id=task_id,
        execution_arn="arn:one",
        result={"ok": True},
        execution=ExecutionInput(slots=("key:acme",), run=1),
    )
    monkeypatch.setattr(LimitsTable, "release", throttled)
    with pytest.raises(DependencyUnavailableError):
        complete_for_function(complete, table=stack.table, clock=utc_now, limits=_limits(stack))
    assert stack.task(task_id).status is TaskStatus.SUCCEEDED
    assert set(_holders(stack, "key:acme")) == {holder}

    monkeypatch.setattr(LimitsTable, "release", real_release)
    retried = complete_for_function(complete, table=stack.table, clock=utc_now, limits=_limits(stack))

    assert retried.outcome == "SKIPPED"
    assert _holders(stack, "key:acme") == {}
