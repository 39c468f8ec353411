"""The HTTP API: every route of the contract to the api function, access logs, throttling,
optional IAM auth."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components.compute import log_retention
from infra.spec import ROUTE_SCOPES
from infra.stage_config import ApiAuth, StageConfig

ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "latency": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
}


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        handler: lambda_.IFunction,
        routes: Mapping[str, tuple[str, ...]],
    ) -> None:
        super().__init__(scope, construct_id)
        cors = (
            apigwv2.CorsPreflightOptions(
                allow_origins=list(config.cors_origins),
                allow_methods=[
                    apigwv2.CorsHttpMethod.GET,
                    apigwv2.CorsHttpMethod.POST,
                    apigwv2.CorsHttpMethod.DELETE,
                ],
                allow_headers=["content-type", "idempotency-key", "authorization"],
                max_age=Duration.hours(1),
            )
            if config.cors_origins
            else None
        )
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=config.service_name,
            description="Process Task Manager: submit, get, list, cancel and redrive tasks",
            cors_preflight=cors,
            create_default_stage=False,
        )
        self.stage = self.http_api.add_stage(
            "DefaultStage",
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.api_rate_limit, burst_limit=config.api_burst_limit
            ),
        )
        # /aws/vendedlogs/...: other names grow the account's Logs resource policy (aws-cdk#28900).
        access_log_group_name = f"/aws/vendedlogs/apigateway/{config.service_name}-access"
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=access_log_group_name,
            retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        # The log group's ARN without the ":*" that LogGroup.log_group_arn ends with: API Gateway
        # stores it that way, and a template that says otherwise drifts for ever.
        destination = Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=access_log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=destination, format=json.dumps(ACCESS_LOG_FORMAT)
        )
        cfn_stage.node.add_dependency(self.access_logs)
        authorizer = _authorizer(config)
        integration = integrations.HttpLambdaIntegration("ApiFunction", handler)
        for path, methods in routes.items():
            for method in methods:
                self.http_api.add_routes(
                    path=path,
                    methods=[apigwv2.HttpMethod(method)],
                    integration=integration,
                    authorizer=authorizer,
                    authorization_scopes=[ROUTE_SCOPES[method]] if config.api_auth is ApiAuth.JWT else None,
                )
        if config.api_auth is ApiAuth.NONE:
            Annotations.of(self.http_api).add_warning_v2(
                "ptm:OpenApi",
                "apiAuth=none: every route of this API is open to anyone who finds its URL "
                "(submit, list, cancel, redrive). Deploy with the default apiAuth=iam, or apiAuth=jwt.",
            )

    @property
    def url(self) -> str:
        """The stage URL (ends with ``/``)."""
        return self.stage.url


def _authorizer(config: StageConfig) -> apigwv2.IHttpRouteAuthorizer | None:
    if config.api_auth is ApiAuth.IAM:
        return authorizers.HttpIamAuthorizer()
    if config.api_auth is ApiAuth.JWT:
        assert config.jwt_issuer is not None
        return authorizers.HttpJwtAuthorizer("Jwt", config.jwt_issuer, jwt_audience=list(config.jwt_audience))
    return None
