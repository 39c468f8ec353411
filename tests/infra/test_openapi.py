"""docs/openapi.json is generated from the code, valid, and agrees with the deployed routes."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from functions.api.contract import TaskRecord
from functions.common.models import Task, TaskStatus
from infra.openapi import DOCUMENT, generate, render
from infra.spec import api_routes


def test_the_checked_in_document_matches_the_code() -> None:
    assert DOCUMENT.read_text() == render(generate()), "run `make openapi` and commit docs/openapi.json"


def test_the_document_is_valid_openapi() -> None:
    validate(json.loads(DOCUMENT.read_text()))


def test_documented_operations_are_exactly_the_routes_cdk_deploys() -> None:
    paths = json.loads(DOCUMENT.read_text())["paths"]
    documented = {(path, method.upper()) for path, operations in paths.items() for method in operations}
    deployed = {(path, method) for path, methods in api_routes().items() for method in methods}
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
        run_at="r",
        schedule="s",
        scheduled_time="st",
        request_hash="h",
        result={},
        error="E",
        cause="C",
        last_error="L",
        execution_arn="arn",
        dead_lettered_at="d",
        expires_at="e",
        concurrency_key="acme",
        waiting_for={"limit": "key:acme", "since": "w"},
    )
    documented = set(TaskRecord.model_json_schema(by_alias=True, mode="serialization")["properties"])
    assert set(task.to_api()) | {"consoleUrl"} == documented


def test_the_submit_body_is_one_of_the_task_types_each_told_apart_by_its_type() -> None:
    from functions.task_types import TASK_TYPES

    document = json.loads(DOCUMENT.read_text())
    body = document["paths"]["/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schemas = document["components"]["schemas"]
    alternatives = [schemas[entry["$ref"].rsplit("/", 1)[1]] for entry in body["oneOf"]]
    assert [schema["title"] for schema in alternatives] == [t.payload.__name__ for t in TASK_TYPES]
    types = [schema["properties"]["type"] for schema in alternatives]
    assert types[1:] == [{"const": t.name, "title": "Type", "type": "string"} for t in list(TASK_TYPES)[1:]]
    assert all("type" in schema["required"] for schema in alternatives[1:]), (
        "a non-default type needs its type"
    )
    assert "type" not in alternatives[0].get("required", []), "the default type needs no type"


def test_a_stage_s_contract_lists_its_registered_types_with_their_schemas() -> None:
    import fastjsonschema

    from infra.task_type_options import RegisteredTypes

    types = RegisteredTypes.parse(
        {"word-count": {"function": "f", "timeoutSeconds": 5, "schema": "examples/word_count/schema.json"}}
    )
    document = generate(types.registrations)
    validate(json.loads(render(document)))

    body = document["paths"]["/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/Registered_word_count"} in [
        {"$ref": alternative["$ref"]} for alternative in body["oneOf"]
    ]
    schema = document["components"]["schemas"]["Registered_word_count"]
    check = fastjsonschema.compile(schema)

    def valid(body: dict[str, object]) -> bool:
        try:
            check(body)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    assert valid({"type": "word-count", "text": "a b", "delaySeconds": 5})
    assert not valid({"type": "word-count", "text": 5})
    assert not valid({"type": "webhook", "text": "a"})
    assert generate() == json.loads(DOCUMENT.read_text()), "the built-in contract is unchanged"
