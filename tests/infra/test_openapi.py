"""docs/openapi.json is generated from the code, valid, and agrees with the deployed routes."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from functions.api.contract import TaskRecord
from functions.common.models import Task, TaskStatus
from infra.openapi import DOCUMENT, generate, render
from infra.spec import ROUTES


def test_the_checked_in_document_matches_the_code() -> None:
    assert DOCUMENT.read_text() == render(generate()), "run `make openapi` and commit docs/openapi.json"


def test_the_document_is_valid_openapi() -> None:
    validate(json.loads(DOCUMENT.read_text()))


def test_documented_operations_are_exactly_the_routes_cdk_deploys() -> None:
    paths = json.loads(DOCUMENT.read_text())["paths"]
    documented = {(path, method.upper()) for path, operations in paths.items() for method in operations}
    deployed = {(path, method) for path, methods in ROUTES.items() for method in methods}
    assert documented == deployed


def test_the_documented_record_has_every_field_the_api_returns() -> None:
    task = Task(
        task_id="t",
        status=TaskStatus.FAILED,
        payload={},
        attempts=3,
        runs=1,
        created_at="c",
        updated_at="u",
        idempotency_key="k",
        request_hash="h",
        result={},
        error="E",
        cause="C",
        last_error="L",
        execution_arn="arn",
        dead_lettered_at="d",
    )
    documented = set(TaskRecord.model_json_schema(by_alias=True)["properties"])
    assert set(task.to_api()) | {"consoleUrl"} == documented
