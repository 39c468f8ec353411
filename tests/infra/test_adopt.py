"""After ``make destroy``, a production stage's kept resources can join its stack again
(``make adopt``, then ``make deploy``): every resource the template retains has an import rule
and is found by the name the template gives it; kept schedules name a role a redeploy recreates."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from infra.adopt import AdoptError, Lookups, aws_lookups, resource_mapping, retained
from infra.names import StageNames
from tests.infra.conftest import OFFLINE, Synthesized, synthesize

NAMES = StageNames("prod")


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """A production stage with every option that adds a kept resource (the signing secret)."""
    return synthesize(tmp_path_factory.mktemp("cdk-adopt"), OFFLINE, stage="prod", webhooks="on")


def test_a_production_stage_keeps_exactly_its_data_and_what_its_receivers_and_schedules_need(
    kept: Synthesized,
) -> None:
    kinds = sorted(resource["Type"] for resource in retained(kept.document).values())
    assert kinds == [
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::Scheduler::ScheduleGroup",
        "AWS::SecretsManager::Secret",
    ]
    [role] = [
        r["Properties"]
        for r in kept.resources("AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == NAMES.scheduler_role
    ]
    assert "scheduler.amazonaws.com" in str(role["AssumeRolePolicyDocument"]), (
        "a kept schedule's role, by name"
    )


def test_the_mapping_imports_each_kept_resource_by_the_name_the_template_gives_it(kept: Synthesized) -> None:
    with mock_aws():
        queue = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName=NAMES.dead_letter_queue)
        secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=NAMES.signing_secret,
            SecretString="kept",  # pragma: allowlist secret (a test value)
        )
        mapping = resource_mapping(kept.document, aws_lookups(boto3.session.Session(region_name="us-east-1")))
    identifiers = sorted(next(iter(identifier.items())) for identifier in mapping.values())
    assert identifiers == sorted(
        [
            ("TableName", NAMES.table),
            ("TableName", NAMES.schedules_table),
            ("TableName", NAMES.limits_table),
            ("QueueUrl", queue["QueueUrl"]),
            ("Name", NAMES.schedule_group),
            ("Id", secret["ARN"]),
        ]
    )
    assert set(mapping) == set(retained(kept.document))


def test_a_kept_resource_without_an_import_rule_is_refused(tmp_path: Path) -> None:
    document = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}}}
    with pytest.raises(AdoptError, match=r"Bucket: a retained AWS::S3::Bucket has no import rule"):
        resource_mapping(document, Lookups(str, str))
