"""What ``ptm info`` and ``ptm logs`` know of a deployment: its outputs and its names.

The local stack describes itself at ``/ui/info.json`` (keyed as the CDK stack's outputs); a
deployment on AWS through CloudFormation's ``DescribeStacks`` of ``ProcessTaskManager-<stage>``
(or the outputs ``make deploy`` saved). Log group names come from the system spec either way.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from infra.names import LOCAL_CREDENTIALS, LOCAL_STAGE, Function, StageNames

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
INFO_PATH = "/ui/info.json"


class DeploymentError(RuntimeError):
    """The deployment cannot be described; the message says what to set or do."""


@dataclass(frozen=True)
class Deployment:
    stage: str
    region: str
    outputs: dict[str, Any]
    local: bool
    session: Any = field(repr=False)
    emulator: str | None = None

    @property
    def names(self) -> StageNames:
        return StageNames(self.stage)

    def log_groups(self) -> dict[str, str]:
        """Every log group the stack creates, by what writes to it."""
        groups = {function.value: self.names.function_log_group(function) for function in Function}
        groups["workflow"] = self.names.state_machine_log_group
        return groups

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.emulator, region_name=self.region)


def is_local(endpoint: str) -> bool:
    return (urlsplit(endpoint).hostname or "") in LOOPBACK


def local_deployment(endpoint: str) -> Deployment:
    try:
        with urllib.request.urlopen(endpoint.rstrip("/") + INFO_PATH, timeout=5) as response:
            info: dict[str, Any] = json.loads(response.read())
    except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as error:
        raise DeploymentError(
            f"no local stack answers at {endpoint} ({getattr(error, 'reason', error)}): start it with "
            "`make local`, or point TASKS_ENDPOINT / --endpoint at a deployment"
        ) from error
    # The emulator's own credentials and region, whatever AWS_PROFILE / AWS_REGION say (they
    # name the user's AWS setup, which may not even exist on this machine).
    detached = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    session = boto3.session.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=str(info["Region"]),
        botocore_session=detached,
    )
    return Deployment(
        stage=str(info.get("Stage", LOCAL_STAGE)),
        region=str(info["Region"]),
        outputs=info,
        local=True,
        session=session,
        emulator=str(info["EmulatorEndpoint"]),
    )


def aws_deployment(stage: str, region: str | None, profile: str | None) -> Deployment:
    """The stage's outputs as ``make deploy`` saved them, or else as CloudFormation describes
    ``ProcessTaskManager-<stage>`` (a stack deployed from another machine)."""
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as error:
        raise DeploymentError(
            f"AWS_PROFILE={profile!r} is not a profile in your AWS config: {error}"
        ) from error
    if session.region_name is None:
        raise DeploymentError("no AWS region: set AWS_REGION (or a region in your AWS profile)")
    outputs = saved_outputs(stage)
    if outputs is None:
        outputs = _described_outputs(session, stage)
    return Deployment(
        stage=stage,
        region=str(session.region_name),
        outputs={"Stage": stage, "Region": session.region_name, **outputs},
        local=False,
        session=session,
    )


def _described_outputs(session: boto3.session.Session, stage: str) -> dict[str, Any]:
    stack = StageNames(stage).stack
    try:
        described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except NoCredentialsError as error:
        raise DeploymentError("no AWS credentials: set AWS_PROFILE or the AWS_* variables") from error
    except NoRegionError as error:
        raise DeploymentError("no AWS region: set AWS_REGION") from error
    except (BotoCoreError, ClientError) as error:
        raise DeploymentError(
            f"stack {stack} in {session.region_name}: {error} (and no {saved_outputs_path(stage)})"
        ) from error
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def saved_outputs_path(stage: str) -> Path:
    """Where ``make deploy STAGE=<stage>`` saves the stack's outputs (cdk deploy --outputs-file)."""
    return Path("cdk.out") / f"outputs-{stage}.json"


def saved_outputs(stage: str) -> dict[str, Any] | None:
    """The stack's outputs as ``make deploy`` saved them (``{"<stack>": {"<key>": "<value>"}}``), or
    None."""
    try:
        stacks = json.loads(saved_outputs_path(stage).read_text())
        return dict(stacks[StageNames(stage).stack])
    except (OSError, ValueError, KeyError, TypeError):
        return None
