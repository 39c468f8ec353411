"""How ``make local`` runs the stack: its ports, its time scale and the stage it emulates."""

from __future__ import annotations

import base64
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from functions.common.signing import SECRET_PREFIX
from infra.limits import TIMINGS
from infra.names import LOCAL_API_PORT, LOCAL_STAGE
from infra.stage_config import DAY_SECONDS, StageConfig, Toggle
from infra.task_type_options import RegisteredTypes
from infra.workflow_definition import REPO_ROOT

LOCAL_TASK_TYPES = REPO_ROOT / "examples" / "local_types.json"
"""The types the local stage registers: the example, run from its Python handler."""


class PortInUseError(RuntimeError):
    def __init__(self, host: str, port: int, option: str) -> None:
        super().__init__(f"port {port} on {host} is already in use; choose another with {option}")


@dataclass(frozen=True)
class LocalOptions:
    host: str = "127.0.0.1"
    api_port: int = LOCAL_API_PORT
    emulator_port: int = 5000
    time_scale: float = 1.0
    """Multiplies retry waits, the queue's visibility timeout, the reconcile period and the tasks'
    retention."""
    failure_rate: float = StageConfig.failure_rate
    failure_seed: str | None = None
    api_auth: str = "none"
    """API Gateway's route authorization to emulate: none, iam (SigV4 with the local
    credentials) or jwt (tokens from the local stack's own ``/local-idp/token``)."""
    webhook_allowed_hosts: str = ""
    """WEBHOOK_ALLOWED_HOSTS for the functions (``make local`` passes its environment's)."""
    webhook_signing_secret: str | None = None
    """The secret that signs webhook deliveries (``make local`` passes WEBHOOK_SIGNING_SECRET);
    None: one is generated at start and shown in the banner."""
    dispatch_pollers: int = 2
    max_receive_count: int = TIMINGS.max_receive_count
    task_retention_days: int | None = None
    """The stage's ``taskRetentionDays`` (default 7), on the scaled clock."""
    allow_simulation: Toggle = Toggle.ON
    """The stage's ``allowSimulation``: whether the API takes ``simulate`` (a production stage's is
    off; try that here with ``--allow-simulation off``)."""
    task_types_file: Path = LOCAL_TASK_TYPES
    """The local stage's ``taskTypes`` (each with its ``localHandler``): the example type."""
    verbose: bool = False
    quiet_tasks: bool = False
    """Skip the per-task state-change lines (benchmarks)."""
    function_logs: bool = True
    """Write the functions' logs and the executions' events to the emulator's CloudWatch Logs
    (``ptm logs``); benchmarks turn it off."""

    def scaled(self, seconds: float, minimum: float = 1.0) -> float:
        return max(minimum, seconds * self.time_scale)

    @property
    def retention_seconds(self) -> int:
        """TASK_RETENTION_SECONDS here: the stage's retention on the scaled clock (0: for ever)."""
        days = self.config.retention_days
        return round(self.scaled(days * DAY_SECONDS)) if days else 0

    @property
    def config(self) -> StageConfig:
        """The stage the local stack runs: the spec's defaults, with this machine's overrides."""
        return StageConfig(
            stage=LOCAL_STAGE,
            failure_rate=self.failure_rate,
            max_receive_count=self.max_receive_count,
            webhook_allowed_hosts=self.webhook_allowed_hosts,
            task_retention_days=self.task_retention_days,
            allow_simulation=self.allow_simulation,
            # The local stack is a developer's own machine: webhooks on (opt-in on AWS).
            webhooks=Toggle.ON,
            task_types=RegisteredTypes.parse(json.loads(self.task_types_file.read_text(encoding="utf-8"))),
        )


def ensure_port_free(host: str, port: int, option: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers bind: a port left in TIME_WAIT by a previous run is free, a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUseError(host, port, option) from exc


def generate_secret(size: int = 32) -> str:
    """A new webhook signing secret, as Secrets Manager generates the deployed one:
    ``whsec_`` + base64 of ``size`` random bytes."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(size)).decode()
