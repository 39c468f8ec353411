"""moto's server as the AWS emulator, with state-machine execution switched on, the fidelity
layer (local/fidelity.py) making it behave like AWS where this system depends on it, and the
speed-ups (local/speedups.py) that spare it work it need not do."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

from infra.names import LOCAL_CREDENTIALS
from local.fidelity import AwsFidelity
from local.speedups import EmulatorSpeedups

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

DEFAULT_REGION = "us-east-1"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Clients:
    dynamodb: DynamoDBClient
    sqs: SQSClient
    sfn: SFNClient
    lambda_: LambdaClient
    iam: IAMClient
    logs: CloudWatchLogsClient
    secretsmanager: SecretsManagerClient
    scheduler: EventBridgeSchedulerClient

    @classmethod
    def for_endpoint(cls, endpoint: str, region: str = DEFAULT_REGION) -> Clients:
        # One session: the clients share its loaded service models (a session each costs ~0.15 s).
        session = boto3.session.Session()

        def make(service: str) -> Any:
            return session.client(  # type: ignore[call-overload]
                service,
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )

        return cls(
            make("dynamodb"),
            make("sqs"),
            make("stepfunctions"),
            make("lambda"),
            make("iam"),
            make("logs"),
            make("secretsmanager"),
            make("scheduler"),
        )

    def execution_history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every event the emulator recorded for an execution, with its input and output."""
        pages = self.sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        return [dict(event) for page in pages for event in page["events"]]


class Emulator:
    """A moto server in this process (so the Lambda adapter and retry clock apply to it)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, region: str = DEFAULT_REGION) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.region = region
        self._server = ThreadedMotoServer(ip_address=host, port=self.port, verbose=False)
        self._clients: Clients | None = None
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """What our code needs to reach the emulator: the endpoint, a region, dummy credentials."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **LOCAL_CREDENTIALS,
        }

    def start(self) -> Emulator:
        # The interpreter's service integrations call back to localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        access_log = logging.getLogger("werkzeug")
        if access_log.level == logging.NOTSET:
            # One line per emulated API call drowns everything else (and costs time); a caller
            # that wants it (``ptm local --verbose``) sets the level before starting.
            access_log.setLevel(logging.WARNING)
        AwsFidelity.install()
        EmulatorSpeedups.install()
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        AwsFidelity.uninstall()
        EmulatorSpeedups.uninstall()

    def clients(self) -> Clients:
        """The emulator's clients, built once (boto3 clients are thread-safe; a reset keeps them)."""
        with self._lock:
            if self._clients is None:
                self._clients = Clients.for_endpoint(self.endpoint, self.region)
            return self._clients
