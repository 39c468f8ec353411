"""``make adopt``: after ``make destroy`` of a production stage, the resources it kept join the
stage's stack again, so ``make deploy`` can recreate the rest around them.

A production stage keeps its table (the tasks), its dead-letter queue (the dead letters), its
schedule group (the pending schedules) and, with webhooks on, its signing secret (the receivers
verify with it): each has a fixed name, so a plain redeploy would clash with it. This writes the
``cdk import`` resource mapping for every resource the template retains (``DeletionPolicy:
Retain``), each by the identifier CloudFormation imports it by.

Usage: python -m infra.adopt --template cdk.out/ProcessTaskManager-prod.template.json --out FILE
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError


class Lookups(NamedTuple):
    """What the template cannot say: a queue's URL and a secret's ARN, from their names."""

    queue_url: Callable[[str], str]
    secret_arn: Callable[[str], str]


class AdoptError(RuntimeError):
    """A kept resource that cannot be adopted: the message says which and why."""


def retained(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: r for key, r in document["Resources"].items() if r.get("DeletionPolicy") == "Retain"}


def resource_mapping(document: dict[str, Any], lookups: Lookups) -> dict[str, dict[str, str]]:
    """``cdk import``'s mapping: each retained resource's logical id → its import identifier."""
    mapping: dict[str, dict[str, str]] = {}
    for key, resource in retained(document).items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::DynamoDB::Table":
            mapping[key] = {"TableName": properties["TableName"]}
        elif kind == "AWS::SQS::Queue":
            mapping[key] = {"QueueUrl": lookups.queue_url(properties["QueueName"])}
        elif kind == "AWS::Scheduler::ScheduleGroup":
            mapping[key] = {"Name": properties["Name"]}
        elif kind == "AWS::SecretsManager::Secret":
            mapping[key] = {"Id": lookups.secret_arn(properties["Name"])}
        else:
            raise AdoptError(f"{key}: a retained {kind} has no import rule here (infra/adopt.py)")
    return mapping


def aws_lookups(session: Any = None) -> Lookups:
    """Through the credentials' account and Region (a boto3 session's), as ``cdk import`` runs."""
    import boto3  # noqa: PLC0415 - only the command itself reaches AWS

    session = session or boto3.session.Session()

    def queue_url(name: str) -> str:
        return str(session.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def secret_arn(name: str) -> str:
        return str(session.client("secretsmanager").describe_secret(SecretId=name)["ARN"])

    return Lookups(queue_url, secret_arn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    document = json.loads(args.template.read_text())
    try:
        mapping = resource_mapping(document, aws_lookups())
    except (AdoptError, BotoCoreError, ClientError) as error:
        raise SystemExit(
            f"make adopt: {error} (run it after make destroy, in the account and Region the stage was in)"
        ) from error
    args.out.write_text(json.dumps(mapping, indent=2))
    print(f"{args.out}: {', '.join(sorted(mapping))} will be imported")  # noqa: T201


if __name__ == "__main__":
    main()
