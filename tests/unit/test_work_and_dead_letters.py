from __future__ import annotations

import json

import pytest

from functions.common.errors import PermanentTaskError, TaskFailedError
from functions.common.observability import Metric
from functions.task_types.registry import TaskEnvironment
from functions.usecases.dead_letters import DeadLetterKind, classify
from tests.fixtures.task_types import runner
from tests.fixtures.tasks import make_task


def test_simulated_failures_fail_exactly_the_first_n_attempts() -> None:
    work = runner(TaskEnvironment(failure_rate=1.0))
    for attempt in (1, 2):
        with pytest.raises(TaskFailedError):
            work(make_task(payload={"simulate": {"failures": 2}}, attempts=attempt))
    assert work(make_task(payload={"simulate": {"failures": 2}}, attempts=3))["attempt"] == 3


def test_permanent_simulation_raises_the_non_retryable_error() -> None:
    with pytest.raises(PermanentTaskError):
        runner(TaskEnvironment())(make_task(payload={"simulate": {"permanent": True}}))


def test_seeded_random_failures_are_reproducible_and_near_the_rate() -> None:
    def outcomes(seed: str) -> list[bool]:
        work = runner(TaskEnvironment(failure_rate=0.3, failure_seed=seed))
        results = []
        for index in range(2000):
            try:
                work(make_task(task_id=f"t-{index}"))
                results.append(True)
            except TaskFailedError:
                results.append(False)
        return results

    first = outcomes("s")
    assert first == outcomes("s")
    assert first != outcomes("other")
    assert 0.27 <= first.count(False) / len(first) <= 0.33


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            json.dumps(
                {"kind": "workflow-failure", "taskId": "t", "error": "E", "cause": "C", "attempts": 3}
            ),
            DeadLetterKind.WORKFLOW_FAILURE,
        ),
        (json.dumps({"taskId": "t"}), DeadLetterKind.UNDELIVERABLE),
        (json.dumps({"kind": "workflow-failure"}), DeadLetterKind.UNRECOGNISED),
        (json.dumps({"taskId": "../x"}), DeadLetterKind.UNRECOGNISED),
        ("[1]", DeadLetterKind.UNRECOGNISED),
        ("", DeadLetterKind.UNRECOGNISED),
        ("\udcff", DeadLetterKind.UNRECOGNISED),
    ],
)
def test_dead_letters_are_classified_by_shape(body: str, kind: DeadLetterKind) -> None:
    assert classify(body)[0] is kind


def test_every_dead_letter_kind_is_counted_by_a_metric_of_the_one_enum() -> None:
    assert {Metric(f"DeadLetters{kind.value}") for kind in DeadLetterKind} <= set(Metric)
