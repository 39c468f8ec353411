"""docs/openapi.json, generated from the api function's Powertools resolver.

Powertools documents the routes, path parameters and responses it knows from the route
decorators; the parts our handler reads by hand (the body, the Idempotency-Key header and
the list query) are added here from the same constants and models the code validates with:
the body is ``oneOf`` the task types' payload models, each with the reserved ``delaySeconds``
and ``runAt`` keys.
Usage: python -m infra.openapi [--check]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from functions.common.config import MAX_IDEMPOTENCY_KEY_LENGTH, MAX_PAYLOAD_BYTES
from functions.common.flow_control import (
    CONCURRENCY_KEY_FIELD,
    CONCURRENCY_KEY_PATTERN,
    KEY_PATTERN,
    MAX_BURST,
    MAX_CONCURRENCY,
    MAX_PER_SECOND,
    MIN_PER_SECOND,
    RATE_CEILINGS,
)
from functions.common.models import TaskStatus
from functions.common.recurring import (
    ACCEPTED_FORMS,
    DEFAULT_TIMEZONE,
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    Overlap,
    ScheduleState,
)
from functions.common.scheduling import DELAY_FIELD, MAX_DELAY_SECONDS, RESERVED_FIELDS, RUN_AT_FIELD
from functions.task_types import TASK_TYPES
from functions.task_types.registered import RegisteredType, Registration
from functions.usecases.operations import DEFAULT_LIMIT, MAX_LIMIT
from infra.names import Function
from infra.spec import ROUTE_SCOPES
from infra.stage_options import load
from infra.workflow_definition import REPO_ROOT

DOCUMENT = REPO_ROOT / "docs" / "openapi.json"
VERSION = str(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"])
"""The package's version (pyproject.toml): the API document and CHANGELOG.md say the same."""

SECURITY_SCHEMES: dict[str, Any] = {
    "sigv4": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "apiAuth iam (the default on AWS): AWS Signature Version 4 for the service "
        "execute-api; the caller needs execute-api:Invoke on the stack's API and routes.",
        "x-amazon-apigateway-authtype": "awsSigv4",
    },
    "jwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "apiAuth jwt: a token from the stage's issuer for its audience, with the scope "
        "of the route's method: "
        + ", ".join(f"{method} {scope}" for method, scope in ROUTE_SCOPES.items())
        + ". A stage deployed with apiAuth none takes requests without either.",
    },
}
GATEWAY_ANSWERS: dict[str, str] = {
    "401": "API Gateway's own answer, before any function runs (apiAuth jwt): no token, or one that "
    "is forged, expired or for another issuer or audience; the www-authenticate header says which.",
    "403": "API Gateway's own answer, before any function runs: apiAuth iam, a request unsigned or "
    "wrongly signed, or a caller without execute-api:Invoke; apiAuth jwt, a valid token without "
    "the route's scope.",
    "429": "API Gateway's own answer, before any function runs: the stage's throttle "
    "(apiRateLimit, apiBurstLimit) or the account's; send again later, with the same Idempotency-Key.",
}
"""What API Gateway answers by itself, with its own body {"message": "..."}."""


def generate(registered: Sequence[Registration] = ()) -> dict[str, Any]:
    """The API's contract: the built-in task types (docs/openapi.json), and a stage's
    ``registered`` types with their schemas (``--stage``)."""
    # Importing a handler builds nothing (no settings, no clients): the resolver's routes are all
    # the generator reads.
    handler = importlib.import_module(Function.API.module)
    document: dict[str, Any] = json.loads(
        handler.app.get_openapi_json_schema(
            title="Process Task Manager",
            version=VERSION,
            description="Submit tasks, follow them, and operate on them (list, cancel, redrive); "
            "recurring schedules that submit tasks. "
            "Every error body is {'error': {'code', 'message'}}.",
        )
    )
    submit = document["paths"]["/tasks"]["post"]
    submit["parameters"] = [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "The same key and body return the same task; another body is a 409.",
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH,
                "pattern": "^[ -~]+$",
            },
        }
    ]
    alternatives, definitions = task_type_schemas(registered)
    document.setdefault("components", {}).setdefault("schemas", {}).update(definitions)
    submit["requestBody"] = {
        "required": True,
        "description": f"The task payload: a JSON object of at most {MAX_PAYLOAD_BYTES} bytes, "
        f"valid for its task type (the 'type' field; without it, {TASK_TYPES.default.name}). "
        f"The top-level keys {DELAY_FIELD} and {RUN_AT_FIELD} are reserved: they say when the task "
        f"runs (one or the other) and are not part of the payload; so is {CONCURRENCY_KEY_FIELD}, "
        "the key flow-control limits know the caller by.",
        "content": {"application/json": {"schema": {"oneOf": alternatives}}},
    }
    _add_gateway_security(document)
    document["paths"]["/tasks"]["get"]["parameters"] = [
        {
            "name": "status",
            "in": "query",
            "required": False,
            "description": "List the tasks with this status (status or schedule, one of them).",
            "schema": {"type": "string", "enum": [status.value for status in TaskStatus]},
        },
        {
            "name": "schedule",
            "in": "query",
            "required": False,
            "description": "List the tasks this recurring schedule's firings submitted, newest firing first.",
            "schema": NAME_SCHEMA,
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        },
        {"name": "nextToken", "in": "query", "required": False, "schema": {"type": "string"}},
    ]
    _document_schedules(document, alternatives)
    _document_limits(document)
    for operations in document["paths"].values():
        for operation in operations.values():
            if "204" in operation.get("responses", {}):  # no content, whatever the resolver says
                operation["responses"]["204"].pop("content", None)
    return document


NAME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": NAME_MAX_LENGTH,
    "pattern": NAME_PATTERN.pattern,
}
"""A recurring schedule's name: EventBridge Scheduler's."""


def _document_schedules(document: dict[str, Any], alternatives: list[dict[str, Any]]) -> None:
    """The schedule routes' path parameter, query and body, from the constants the code checks."""
    for path, operations in document["paths"].items():
        for operation in operations.values() if path.startswith("/schedules/{name}") else ():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "name":
                    parameter["schema"] = NAME_SCHEMA
    document["paths"]["/schedules"]["get"]["parameters"] = [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        },
        {"name": "nextToken", "in": "query", "required": False, "schema": {"type": "string"}},
    ]
    timed = {"anyOf": [{"required": [field]} for field in RESERVED_FIELDS]}
    document["paths"]["/schedules/{name}"]["put"]["requestBody"] = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["expression", "task"],
                    "additionalProperties": False,
                    "properties": {
                        "expression": {
                            "type": "string",
                            "pattern": r"^(rate|cron)\(.+\)$",
                            "description": ACCEPTED_FORMS,
                        },
                        "timezone": {
                            "type": "string",
                            "default": DEFAULT_TIMEZONE,
                            "description": "An IANA time zone name (cron only)",
                        },
                        "task": {
                            "oneOf": alternatives,
                            "not": timed,
                            "description": "The body each firing submits, as to POST /tasks, "
                            "without delaySeconds or runAt",
                        },
                        "startAt": {"type": "string", "format": "date-time"},
                        "endAt": {"type": "string", "format": "date-time"},
                        "overlap": {"type": "string", "enum": [mode.value for mode in Overlap]},
                        "state": {"type": "string", "enum": [state.value for state in ScheduleState]},
                    },
                }
            }
        },
    }


def _document_limits(document: dict[str, Any]) -> None:
    """The limit routes' path parameter and body, from the constants the code checks."""
    for operation in document["paths"]["/limits/{key}"].values():
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "key":
                parameter["schema"] = {"type": "string", "pattern": KEY_PATTERN}
    both = [
        {
            "required": ["maxConcurrency", "maxPerSecond"],
            "properties": {
                "maxConcurrency": {"minimum": low + 1, "maximum": slots},
                "maxPerSecond": {"maximum": rate},
            },
        }
        for (low, _), (slots, rate) in zip(((0, 0.0), *RATE_CEILINGS), RATE_CEILINGS, strict=False)
    ]
    alone = [
        {"required": [one], "not": {"required": [other]}}
        for one, other in (("maxConcurrency", "maxPerSecond"), ("maxPerSecond", "maxConcurrency"))
    ]
    document["paths"]["/limits/{key}"]["put"]["requestBody"] = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "maxConcurrency": {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY},
                        "maxPerSecond": {
                            "type": "number",
                            "minimum": MIN_PER_SECOND,
                            "maximum": MAX_PER_SECOND,
                        },
                        "burst": {"type": "integer", "minimum": 1, "maximum": MAX_BURST},
                    },
                    "dependentRequired": {"burst": ["maxPerSecond"]},
                    "oneOf": [*alone, *both],
                    "description": "With both, maxPerSecond's ceiling falls as maxConcurrency grows: "
                    "the key's item stays within one DynamoDB partition's write units",
                }
            }
        },
    }


def _add_gateway_security(document: dict[str, Any]) -> None:
    """The schemes API Gateway enforces (one of them, by the stage's apiAuth) and the answers it
    gives by itself, on every operation."""
    components = document.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    components.setdefault("schemas", {})["GatewayMessage"] = {
        "type": "object",
        "properties": {"message": {"type": "string"}},
        "required": ["message"],
    }
    message = {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}}
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["security"] = [{"sigv4": []}, {"jwt": []}]
            for status, description in GATEWAY_ANSWERS.items():
                operation.setdefault("responses", {})[status] = {
                    "description": description,
                    "content": message,
                }


def task_type_schemas(
    registered: Sequence[Registration] = (),
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each task type's body schema: a built-in type's from its payload model, a registered
    type's from its schema (references into components)."""
    built_in = TASK_TYPES.built_in()
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (task_type.payload, "validation") for task_type in built_in
    ]
    refs, definitions = models_json_schema(models, by_alias=True, ref_template="#/components/schemas/{model}")
    alternatives = [
        {**refs[(task_type.payload, "validation")], "description": task_type.description}
        for task_type in built_in
    ]
    schemas: dict[str, Any] = definitions.get("$defs", {})
    bodies = [schemas[task_type.payload.__name__] for task_type in built_in]
    for registration in registered:
        task_type = RegisteredType(registration)
        name = "Registered_" + registration.name.replace("-", "_")
        schemas[name] = {**task_type.json_schema, "title": registration.name}
        alternatives.append({"$ref": f"#/components/schemas/{name}", "description": task_type.description})
        bodies.append(schemas[name])
    for body in bodies:
        body.setdefault("properties", {}).update(SCHEDULE_PROPERTIES)
        body["not"] = {"required": [DELAY_FIELD, RUN_AT_FIELD]}
    return alternatives, schemas


SCHEDULE_PROPERTIES: dict[str, Any] = {
    DELAY_FIELD: {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_DELAY_SECONDS,
        "description": "Reserved, not part of the payload: run the task this many seconds from now "
        "(0: now). The task is SCHEDULED until then. Not with runAt.",
    },
    RUN_AT_FIELD: {
        "type": "string",
        "format": "date-time",
        "description": "Reserved, not part of the payload: run the task at this RFC 3339 time (with an "
        "offset; in the future, at most 365 days ahead). The task is SCHEDULED until then, and starts "
        "no earlier. Not with delaySeconds.",
    },
    CONCURRENCY_KEY_FIELD: {
        "type": "string",
        "pattern": f"^{CONCURRENCY_KEY_PATTERN}$",
        "description": "Reserved, not part of the payload: the caller's key (a tenant, say). The limits "
        "on key:<it> or key:* (PUT /limits/{key}) apply to the task.",
    },
}
"""The reserved keys each task type's body may carry (functions/common/scheduling.py and
functions/common/flow_control.py)."""


class _Stage:
    """The context a stage's options are loaded with (``infra.stage_options.load``)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def try_get_context(self, key: str) -> Any:
        return self.stage if key == "stage" else None


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json is out of date")
    parser.add_argument(
        "--stage", help="with the stage's registered task types (stages/<stage>.json), into cdk.out/"
    )
    args = parser.parse_args()
    if args.stage is not None:
        loaded = load(_Stage(args.stage))
        path = REPO_ROOT / "cdk.out" / f"openapi-{args.stage}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(render(generate(loaded.config.task_types.registrations)))
        print(f"wrote {path.relative_to(REPO_ROOT)}")  # noqa: T201
        return
    text = render(generate())
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
            print("docs/openapi.json is out of date: run `make openapi`", file=sys.stderr)  # noqa: T201
            sys.exit(1)
        return
    Path(DOCUMENT).write_text(text)
    print(f"wrote {DOCUMENT.relative_to(REPO_ROOT)}")  # noqa: T201


if __name__ == "__main__":
    main()
