"""Optional cross-check: with TASKS_TABLE set, each task's API view must match its DynamoDB item."""

from __future__ import annotations

import boto3

from smoke.config import SmokeConfig
from smoke.run import Outcome


def cross_check(config: SmokeConfig, outcome: Outcome) -> None:
    session = boto3.session.Session(profile_name=config.profile, region_name=config.region)
    dynamodb = session.client("dynamodb")
    for tracked in outcome.tracked:
        if tracked.record is None:
            continue
        item = dynamodb.get_item(
            TableName=str(config.table), Key={"taskId": {"S": tracked.task_id}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            outcome.violation(tracked.scenario, tracked.task_id, f"no item in table {config.table}")
        elif item["status"]["S"] != tracked.record["status"] and item["status"]["S"] not in {
            "FAILED",
            "SUCCEEDED",
        }:
            outcome.violation(
                tracked.scenario,
                tracked.task_id,
                f"table says {item['status']['S']}, API said {tracked.record['status']}",
            )
