from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from functions.common.observability import Metric
from infra.names import Function
from infra.spec import ScheduleTrigger, trigger_of
from tests.infra.conftest import Synthesized


def test_http_api_routes_access_logs_and_throttling(dev: Synthesized) -> None:
    routes = {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in dev.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {
        "POST /tasks",
        "GET /tasks",
        "GET /tasks/{taskId}",
        "DELETE /tasks/{taskId}",
        "POST /tasks/{taskId}/redrive",
        "GET /task-types",
        "GET /schedules",
        "PUT /schedules/{name}",
        "GET /schedules/{name}",
        "DELETE /schedules/{name}",
        "POST /schedules/{name}/pause",
        "POST /schedules/{name}/resume",
        "GET /limits",
        "PUT /limits/{key}",
        "GET /limits/{key}",
        "DELETE /limits/{key}",
    }
    assert all(route["AuthorizationType"] == "AWS_IAM" for route in routes.values())
    dev.template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "AutoDeploy": True,
            "AccessLogSettings": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp("requestId"),
            },
            "DefaultRouteSettings": {"ThrottlingRateLimit": 200, "ThrottlingBurstLimit": 400},
        },
    )
    [api] = dev.resources("AWS::ApiGatewayV2::Api").values()
    assert "CorsConfiguration" not in api["Properties"]


def test_alarms_cover_the_dlq_executions_errors_and_throttles(dev: Synthesized) -> None:
    names = {alarm["Properties"]["AlarmName"] for alarm in dev.resources("AWS::CloudWatch::Alarm").values()}
    expected = {
        "ptm-dev-DeadLetterQueueNotDrained",
        "ptm-dev-DeadLetterQueueAge",
        "ptm-dev-ExecutionFailureRate",
        "ptm-dev-StartExecutionThrottled",
        "ptm-dev-ProcessErrorRate",
        "ptm-dev-DependencyMisconfigured",
        "ptm-dev-EnqueueDeferred",
        *(f"ptm-dev-{name}Errors" for name in ("Api", "Dispatch", "Monitor", "Reconcile")),
        *(f"ptm-dev-{name}Throttles" for name in ("Api", "Dispatch", "Process", "Monitor", "Reconcile")),
    }
    assert names == expected
    for alarm in dev.resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"], alarm["Properties"]["AlarmName"]
    dev.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "ptm-dev-DeadLetterQueueNotDrained",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Threshold": 1,
        },
    )


@pytest.mark.parametrize("metric", ["DependencyMisconfigured", "EnqueueDeferred", "StartExecutionThrottled"])
def test_refused_aws_calls_and_deferred_enqueues_alarm_on_the_metric_the_functions_emit(
    dev: Synthesized, metric: str
) -> None:
    """The functions publish these under the service dimension Powertools sets (ptm-<stage>)."""
    [alarm] = [
        alarm["Properties"]
        for alarm in dev.resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["AlarmName"] == f"ptm-dev-{metric}"
    ]
    [watched] = [query["MetricStat"]["Metric"] for query in alarm["Metrics"]]
    assert watched == {
        "Namespace": "ProcessTaskManager",
        "MetricName": metric,
        "Dimensions": [{"Name": "service", "Value": "ptm-dev"}],
    }
    assert alarm["Threshold"] == 1
    assert alarm["AlarmActions"]


def test_dashboard_shows_the_pipeline_from_aws_metrics_where_they_say_the_same(dev: Synthesized) -> None:
    [dashboard] = dev.resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "TasksSubmitted",
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "DuplicatesSkipped",
        "ExecutionsFailed",
        "DeadLettersWorkflowFailure",
    ):
        assert metric in body
    assert "executionsSucceeded - FILL(duplicates, 0)" in body
    assert '\\"AWS/Lambda\\",\\"Errors\\"' in body


def test_no_custom_metric_repeats_an_aws_metric() -> None:
    """ExecutionsStarted is AWS/States', a failed attempt the process function's Errors, a
    success ExecutionsSucceeded less DuplicatesSkipped: none is published again (each custom
    metric is billed, and its EMF line written per invocation)."""
    published = {metric.value for metric in Metric}
    assert not published & {"ExecutionsStarted", "ExecutionsSucceeded", "AttemptsFailed", "TasksSucceeded"}


def test_reconcile_runs_on_the_schedule_the_spec_or_the_stage_sets(
    dev: Synthesized, prod: Synthesized
) -> None:
    every = trigger_of(Function.RECONCILE, ScheduleTrigger).every_minutes
    dev.template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": f"rate({every} minutes)", "State": "ENABLED"}
    )
    prod.template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(10 minutes)"})


def test_synth_warns_when_the_alarms_notify_no_one(dev: Synthesized, prod: Synthesized) -> None:
    dev.annotations.has_warning("*", Match.string_like_regexp("alarmEmail is not set"))
    # cdk synth's own report (cdk.out/validation-report.json) says so beside cdk-nag's findings.
    reported = {v["ruleName"] for v in dev.plugin_report("Construct Annotations")["violations"]}
    assert "Annotation::ptm:AlarmsNotifyNoOne" in reported
    assert not dev.resources("AWS::SNS::Subscription")
    prod.annotations.has_no_warning("*", Match.string_like_regexp("alarmEmail"))
    prod.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )


def test_access_logs_go_to_a_vended_log_group_named_by_its_arn_without_a_wildcard(dev: Synthesized) -> None:
    """API Gateway stores the destination without ':*' (else drift for ever); /aws/vendedlogs/
    keeps each stage from growing the account's Logs resource policy."""
    [stage] = dev.resources("AWS::ApiGatewayV2::Stage").values()
    destination = stage["Properties"]["AccessLogSettings"]["DestinationArn"]
    rendered = "".join(part if isinstance(part, str) else "X" for part in destination["Fn::Join"][1])
    assert rendered == "arn:X:logs:X:X:log-group:/aws/vendedlogs/apigateway/ptm-dev-access"
    dev.template.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "/aws/vendedlogs/apigateway/ptm-dev-access"}
    )
    [log_group_id] = [
        logical_id
        for logical_id, group in dev.resources("AWS::Logs::LogGroup").items()
        if group["Properties"]["LogGroupName"] == "/aws/vendedlogs/apigateway/ptm-dev-access"
    ]
    assert log_group_id in stage["DependsOn"]


def test_cloudwatch_may_publish_this_stacks_alarms_to_the_topic(dev: Synthesized) -> None:
    """enforce_ssl's policy holds only a Deny; alarms need an explicit Allow, scoped to them."""
    [policy] = dev.resources("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    [allow] = [statement for statement in statements if statement["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    source = allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    rendered = "".join(part if isinstance(part, str) else "X" for part in source)
    assert rendered == "arn:X:cloudwatch:X:X:alarm:ptm-dev-*"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    [deny] = [statement for statement in statements if statement["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
