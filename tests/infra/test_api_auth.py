"""Authorization by default: every route of every stage requires it unless the deployer says
``--context apiAuth=none``, which synth then flags (and only then is cdk-nag's APIG4 waived)."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from infra.spec import ROUTE_SCOPES
from infra.stage_config import StageConfig
from tests.fixtures.cdk_context import Context
from tests.infra.conftest import Synthesized


def _routes(synth: Synthesized) -> dict[str, dict[str, object]]:
    return {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in synth.resources("AWS::ApiGatewayV2::Route").values()
    }


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_route_of_the_default_stages_requires_sigv4(stage: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(stage)
    routes = _routes(synth)
    assert len(routes) == 16
    assert {key: route["AuthorizationType"] for key, route in routes.items()} == dict.fromkeys(
        routes, "AWS_IAM"
    )
    synth.annotations.has_no_warning("*", Match.string_like_regexp("apiAuth=none"))
    report = synth.plugin_report("AwsSolutions")
    assert "AwsSolutions-APIG4" not in {v["ruleName"] for v in report["suppressedViolations"]}


def test_jwt_routes_require_the_scope_of_their_method(jwt: Synthesized) -> None:
    routes = _routes(jwt)
    assert len(routes) == 16
    for key, route in routes.items():
        method = key.split(" ")[0]
        assert route["AuthorizationType"] == "JWT", key
        assert route["AuthorizationScopes"] == [ROUTE_SCOPES[method]], key
    assert {key for key, route in routes.items() if route["AuthorizationScopes"] == ["tasks/write"]} == {
        "POST /tasks",
        "DELETE /tasks/{taskId}",
        "POST /tasks/{taskId}/redrive",
        "PUT /schedules/{name}",
        "DELETE /schedules/{name}",
        "POST /schedules/{name}/pause",
        "POST /schedules/{name}/resume",
        "PUT /limits/{key}",
        "DELETE /limits/{key}",
    }
    jwt.template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "JWT",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {
                "Issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
                "Audience": ["client-a", "client-b"],
            },
        },
    )


def test_an_open_api_is_the_deployers_explicit_choice_and_synth_says_so(open_api: Synthesized) -> None:
    routes = _routes(open_api)
    assert {route["AuthorizationType"] for route in routes.values()} == {"NONE"}
    open_api.annotations.has_warning("*", Match.string_like_regexp("apiAuth=none: every route"))
    reports = {report["pluginName"]: report for report in open_api.validation_report()["pluginReports"]}
    nag = reports["AwsSolutions"]
    assert nag["violations"] == []
    assert "AwsSolutions-APIG4" in {v["ruleName"] for v in nag["suppressedViolations"]}
    # cdk synth's own report shows the warning beside cdk-nag's.
    annotations = {violation["ruleName"] for violation in reports["Construct Annotations"]["violations"]}
    assert "Annotation::ptm:OpenApi" in annotations


@pytest.mark.parametrize(
    ("context", "complaint"),
    [
        ({"api_auth": "jwt"}, "jwtIssuer"),
        ({"api_auth": "jwt", "jwt_issuer": "https://i.example"}, "jwtAudience"),
        ({"jwt_issuer": "http://i.example"}, "https URL"),
    ],
)
def test_jwt_without_its_issuer_and_audience_is_refused(context: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        StageConfig.from_context(
            Context({StageConfig.context_key(key): value for key, value in context.items()})
        )
