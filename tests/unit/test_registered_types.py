"""Registered task types: the stage option's checks, the generated definition and its worst case,
the schema's refusals."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from functions.task_types.registered import RegisteredType, Registration, Registrations
from infra.generated_workflow import ROUTE_STATE, generate, state_names, substitution, type_worst_case
from infra.limits import TIMINGS
from infra.task_type_options import RegisteredTypes, TaskTypeOptionError
from infra.workflow_definition import base_document, placeholders, state_worst_case, worst_case_seconds
from local.options import LOCAL_TASK_TYPES

INIT = TIMINGS.init_limit_seconds


def _types(**entry: Any) -> RegisteredTypes:
    return RegisteredTypes.parse({"x": {"function": "fn", "timeoutSeconds": 10, **entry}})


def _check(types: RegisteredTypes) -> None:
    types.check(generate(types.registrations, INIT), TIMINGS)


def test_no_registered_type_deploys_the_asl_file_itself() -> None:
    assert generate((), INIT) == base_document()


def test_the_example_type_s_worst_case_by_hand() -> None:
    local = RegisteredTypes.parse(json.loads(LOCAL_TASK_TYPES.read_text()))
    document = generate(local.registrations, INIT)
    worst = type_worst_case(document, "word-count")

    # Claim and Complete: two invocations of 10 + 5 s and a 1 s wait. Run: 1 + 2 service retries +
    # 3 of its own, each 10 + 10 s; waits 1 + 2 (service) and 2 + 4 + 8 (its policy). Then the
    # failure path: MarkFailed 19, SendToDlq 19, ReopenForDeadLetter 12.
    assert (worst.claim, worst.complete) == (31, 31)
    assert (worst.attempts, worst.state_timeout, worst.waits) == (6, 20, 17)
    assert worst.failure_path == 19 + 19 + 12
    assert worst.total == 31 + 6 * 20 + 17 + 31 + 50 == 249
    # The built-in path is untouched: the file's own worst case, from the Choice's default.
    assert worst_case_seconds(document, start="ProcessTask") == worst_case_seconds()


def test_the_claim_s_lease_covers_the_run_and_the_result_at_their_worst() -> None:
    document = generate(_types(retry={"maxAttempts": 2}).registrations, INIT)
    claim, run, complete = state_names("x")
    states = document["States"]

    lease = states[claim]["Parameters"]["Payload"]["leaseSeconds"]
    assert lease == math.ceil(state_worst_case(states[run]) + state_worst_case(states[complete]))


def test_the_definition_routes_only_a_present_and_equal_type_and_names_one_placeholder_per_type() -> None:
    types = RegisteredTypes.parse(
        {"a": {"function": "fa", "timeoutSeconds": 5}, "b-c": {"function": "fb", "timeoutSeconds": 5}}
    )
    document = generate(types.registrations, INIT)

    assert document["StartAt"] == ROUTE_STATE
    assert document["States"][ROUTE_STATE]["Default"] == "ProcessTask"
    rules = document["States"][ROUTE_STATE]["Choices"]
    assert [rule["And"][1]["StringEquals"] for rule in rules] == ["a", "b-c"]
    assert all(rule["And"][0] == {"Variable": "$.registeredType", "IsPresent": True} for rule in rules)
    wanted = placeholders(json.dumps(document)) - placeholders(json.dumps(base_document()))
    assert (
        wanted
        == {substitution("a"), substitution("b-c")}
        == {"RegisteredFunction_a", "RegisteredFunction_b_c"}
    )


def test_the_run_state_retries_permanent_errors_never_and_service_errors_apart() -> None:
    document = generate(_types(permanentErrors=["BadInput"], retry={"maxAttempts": 4}).registrations, INIT)
    run = document["States"][state_names("x")[1]]

    permanent, service, policy = run["Retry"]
    assert (permanent["ErrorEquals"], permanent["MaxAttempts"]) == (["PermanentTaskError", "BadInput"], 0)
    assert "Lambda.TooManyRequestsException" in service["ErrorEquals"]
    assert service["MaxAttempts"] == 2
    assert (policy["ErrorEquals"], policy["MaxAttempts"]) == (["States.ALL"], 4)
    assert run["TimeoutSeconds"] == 10 + INIT
    assert [catcher["ErrorEquals"] for catcher in run["Catch"]] == [
        ["States.DataLimitExceeded"],
        ["States.ALL"],
    ]


def test_a_type_at_the_bound_is_accepted_and_one_second_over_is_refused() -> None:
    # 31 + (T + 10) + 31 + 50 = 290 at T = 168, with no retries of either kind.
    no_retries = {"maxAttempts": 0, "serviceErrorRetries": 0}
    _check(_types(timeoutSeconds=168, retry=no_retries))
    with pytest.raises(TaskTypeOptionError, match=r"= 291 s > 290 s"):
        _check(_types(timeoutSeconds=169, retry=no_retries))
    # Attempts count too: 60 s fits twice, not three times.
    _check(_types(timeoutSeconds=60, retry={"maxAttempts": 1, "serviceErrorRetries": 0}))
    with pytest.raises(TaskTypeOptionError, match="lower timeoutSeconds"):
        _check(_types(timeoutSeconds=60, retry={"maxAttempts": 2, "serviceErrorRetries": 0}))
    with pytest.raises(TaskTypeOptionError, match="lower timeoutSeconds"):
        _check(_types(timeoutSeconds=60, retry={"maxAttempts": 1, "serviceErrorRetries": 1}))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"webhook": {"function": "f", "timeoutSeconds": 5}}, "taskTypes.webhook: is a built-in"),
        ({"Bad_Name": {"function": "f", "timeoutSeconds": 5}}, "taskTypes.Bad_Name: name:"),
        ({"x": {"function": "f", "timeoutSeconds": 5, "colour": 1}}, "taskTypes.x: colour: Extra inputs"),
        ({"x": {"function": "f"}}, "taskTypes.x: timeoutSeconds: Field required"),
        ({"x": {"function": "arn:aws:lambda:eu-west-1:1:function:f", "timeoutSeconds": 5}}, "function:"),
        ({"x": {"function": "f", "timeoutSeconds": 5, "permanentErrors": ["States.ALL"]}}, "permanentErrors"),
        ({"x": {"function": "f", "timeoutSeconds": 5, "localHandler": "nodot"}}, "localHandler"),
        ({"x": {"function": "f", "timeoutSeconds": 901}}, "timeoutSeconds: Input should be less"),
        ({"x": {"function": "f", "timeoutSeconds": 5, "retry": {"maxAttempts": 11}}}, "retry.maxAttempts"),
        ({"x": "f"}, "taskTypes.x: a JSON object"),
        ("[]", "taskTypes.*: a JSON object"),
        ("{", "taskTypes.*: not JSON"),
    ],
)
def test_a_registration_is_refused_in_one_line(entries: Any, message: str) -> None:
    with pytest.raises(TaskTypeOptionError) as refused:
        RegisteredTypes.parse(entries)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_schema_file_that_is_missing_not_json_or_not_a_schema_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "list.json").write_text("[]")
    (tmp_path / "wrong.json").write_text(json.dumps({"type": "no-such-type"}))
    for name, message in (
        ("none.json", "no file none.json"),
        ("bad.json", "is not JSON"),
        ("list.json", "must hold a JSON object"),
        ("wrong.json", "not a JSON Schema"),
    ):
        with pytest.raises(TaskTypeOptionError, match=message):
            RegisteredTypes.parse(
                {"x": {"function": "f", "timeoutSeconds": 5, "schema": name}}, base=tmp_path
            )


def test_the_file_the_asset_carries_reads_back_as_the_registrations() -> None:
    local = RegisteredTypes.parse(json.loads(LOCAL_TASK_TYPES.read_text()))

    read = Registrations.model_validate_json(local.file_text())
    assert read.types == local.registrations
    assert "localHandler" not in local.file_text()


def test_the_schema_names_each_refused_field() -> None:
    schema = json.loads((LOCAL_TASK_TYPES.parent / "word_count" / "schema.json").read_text())
    registration = RegisteredType(
        Registration.model_validate(
            {"name": "word-count", "function": "f", "timeoutSeconds": 5, "schema": schema}
        )
    )

    assert registration.payload_problems({"text": "ok"}) == {}
    assert registration.payload_problems({"text": 5}) == {"text": "text must be string"}
    assert list(registration.payload_problems({})) == [""]
    assert list(registration.payload_problems({"text": "a", "failUntilAttempt": 99})) == ["failUntilAttempt"]


def test_the_local_stack_refuses_a_type_without_a_local_handler_in_one_line_naming_what_to_add() -> None:
    from local.provision import check_local_handlers

    arn = "arn:aws:lambda:eu-west-1:123456789012:function:resize:live"
    with pytest.raises(TaskTypeOptionError) as refused:
        check_local_handlers(RegisteredTypes.parse({"resize": {"function": arn, "timeoutSeconds": 5}}))

    assert str(refused.value) == (
        "taskTypes.resize: the local stack runs a registered type from a Python handler: add "
        f'"localHandler": "<module>.<function>" beside "function": "{arn}"'
    )
    check_local_handlers(RegisteredTypes.parse(json.loads(LOCAL_TASK_TYPES.read_text())))
