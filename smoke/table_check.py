"""Optional cross-check: with TASKS_TABLE set, each task's API view must match its DynamoDB item.

Against the local stack the table lives in its emulator, whatever AWS_REGION says; against a
deployment it is read with the caller's profile and region. Every way that can be misconfigured
is found before the run starts and named in one line (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from functions.common.task_status import TaskStatus
from ptm.deployment import DeploymentError, is_local, local_deployment
from smoke.config import SmokeConfig, SmokeConfigError
from smoke.run import Outcome


@dataclass(frozen=True)
class TasksTableReader:
    client: Any
    name: str
    where: str

    def status(self, task_id: str) -> str | None:
        key = {"taskId": {"S": task_id}}
        item = self.client.get_item(TableName=self.name, Key=key, ConsistentRead=True).get("Item")
        return None if item is None else str(item["status"]["S"])


def _client(config: SmokeConfig) -> tuple[Any, str]:
    """A DynamoDB client for where the table lives, and how to name that place."""
    if is_local(config.endpoint):
        try:
            deployment = local_deployment(config.endpoint)
        except DeploymentError as error:
            raise SmokeConfigError(f"TASKS_TABLE={config.table!r}: {error}") from error
        return deployment.client("dynamodb"), f"the local stack's emulator ({deployment.emulator})"
    try:
        session = boto3.session.Session(profile_name=config.profile, region_name=config.region)
    except ProfileNotFound as error:
        raise SmokeConfigError(
            f"AWS_PROFILE={config.profile!r} is not in your AWS config: add the profile or unset AWS_PROFILE"
        ) from error
    if session.region_name is None:
        raise SmokeConfigError(NO_REGION)
    return session.client("dynamodb"), f"region {session.region_name}"


NO_REGION = "TASKS_TABLE is set but there is no AWS region: set AWS_REGION"
NO_CREDENTIALS = (
    "TASKS_TABLE is set but no AWS credentials were found: set AWS_PROFILE or the AWS_* variables"
)


def open_table(config: SmokeConfig) -> TasksTableReader:
    """The TASKS_TABLE to read, checked to exist; SmokeConfigError names what to fix."""
    table = str(config.table)
    client, where = _client(config)
    try:
        client.describe_table(TableName=table)
    except NoCredentialsError as error:
        raise SmokeConfigError(NO_CREDENTIALS) from error
    except NoRegionError as error:
        raise SmokeConfigError(NO_REGION) from error
    except EndpointConnectionError as error:
        raise SmokeConfigError(f"TASKS_TABLE={table!r}: cannot reach DynamoDB in {where}: {error}") from error
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise SmokeConfigError(
                f"TASKS_TABLE={table!r} does not exist in {where}: use the stack's TasksTable output"
            ) from error
        raise SmokeConfigError(f"TASKS_TABLE={table!r} in {where}: {code}: {error}") from error
    except BotoCoreError as error:
        raise SmokeConfigError(f"TASKS_TABLE={table!r} in {where}: {error}") from error
    return TasksTableReader(client, table, where)


def cross_check(reader: TasksTableReader, outcome: Outcome) -> None:
    for tracked in outcome.tracked:
        if tracked.record is None:
            continue
        status = reader.status(tracked.task_id)
        if status is None:
            where = f"no item in table {reader.name} ({reader.where})"
            outcome.violation(tracked.scenario, tracked.task_id, where)
            continue
        said = tracked.record["status"]
        if status != said and not _moved_on(TaskStatus(said), TaskStatus(status)):
            outcome.violation(tracked.scenario, tracked.task_id, f"table says {status}, API said {said}")


def _moved_on(said: TaskStatus, found: TaskStatus) -> bool:
    """The table may be ahead of what the API said earlier, never behind it, and a terminal
    status the API reported never changes (only a redrive reopens a task, and the smoke run
    redrives none after reading it)."""
    return not said.is_terminal and found.is_terminal
