"""``ptm info --capacity`` on an AWS deployment: the template CloudFormation holds, the account's
Lambda concurrency and the table's warm throughput in place of the documented defaults. moto
holds the table (its warm throughput included); CloudFormation's GetTemplate of a stack moto
cannot create, and Lambda's GetAccountSettings, which moto does not implement, answer through
botocore's Stubber with AWS's documented response shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from functions.common.config import PHASE_INDEX
from infra.names import StageNames
from ptm import capacity as ptm_capacity
from ptm.deployment import Deployment

STAGE, REGION = "prod", "eu-west-1"
TEMPLATE = {
    "Resources": {
        "Dispatch": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "ptm-prod-dispatch"}},
        "Process": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"FunctionName": "ptm-prod-process", "ReservedConcurrentExecutions": 100},
        },
        "Stage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {
                "DefaultRouteSettings": {"ThrottlingRateLimit": 900, "ThrottlingBurstLimit": 1800}
            },
        },
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"VisibilityTimeout": 180, "RedrivePolicy": {"maxReceiveCount": 5}},
        },
        "Mapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "FunctionName": {"Ref": "Dispatch"},
                "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                "BatchSize": 10,
                "MaximumBatchingWindowInSeconds": 1,
                "ScalingConfig": {"MaximumConcurrency": 40},
            },
        },
    }
}


class _Session:
    """Clients as a boto3 session gives them, CloudFormation's and Lambda's stubbed."""

    def __init__(self, stubbed: dict[str, Any]) -> None:
        self.stubbed = stubbed

    def client(self, service: str, endpoint_url: str | None = None, region_name: str | None = None) -> Any:
        if service in self.stubbed:
            return self.stubbed[service]
        session = boto3.session.Session()
        return session.client(service, endpoint_url=endpoint_url, region_name=region_name)  # type: ignore[call-overload]


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    names = StageNames(STAGE)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=names.table,
            KeySchema=[{"AttributeName": "taskId", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "taskId", "AttributeType": "S"},
                {"AttributeName": "phaseShard", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            WarmThroughput={"WriteUnitsPerSecond": 12000, "ReadUnitsPerSecond": 20000},
            GlobalSecondaryIndexes=[
                {
                    "IndexName": PHASE_INDEX,
                    "KeySchema": [{"AttributeName": "phaseShard", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                    "WarmThroughput": {"WriteUnitsPerSecond": 9000, "ReadUnitsPerSecond": 12000},
                }
            ],
        )
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        functions = boto3.client("lambda", region_name=REGION)
        with Stubber(cloudformation) as cfn, Stubber(functions) as lam:
            cfn.add_response(
                "get_template",
                {"TemplateBody": json.dumps(TEMPLATE)},
                {"StackName": names.stack, "TemplateStage": "Original"},
            )
            lam.add_response(
                "get_account_settings",
                {"AccountLimit": {"ConcurrentExecutions": 3000, "UnreservedConcurrentExecutions": 2900}},
            )
            session = _Session({"cloudformation": cloudformation, "lambda": functions})
            yield Deployment(STAGE, REGION, {}, local=False, session=session)


def test_the_account_s_figures_replace_the_documented_defaults(deployment: Deployment) -> None:
    report = ptm_capacity.lines(deployment, 500)
    text = "\n".join(report)
    assert (
        report[0]
        == f"stack ProcessTaskManager-{STAGE} as deployed in {REGION}, with this account's figures [given]"
    )
    assert "[given] lambda.concurrency = 3,000" in text, "unreserved 2,900 + the 100 this stack reserves"
    assert "2,900 unreserved" in text
    assert "[given] dynamodb.warm_write_units = 9,000" in text, "the lower of the table's and the index's"
    assert "[given] dynamodb.warm_read_units = 20,000" in text
    assert "900 req/s [template]" in text
    assert "40 [template] x 10 records" in text
    assert report[-1] == "ceiling: 891 tasks/s (binding: API stage throttle)"
