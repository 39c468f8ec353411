"""Per-stage settings, read from CDK context (``cdk.json`` defaults, ``--context key=value``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from constructs import Node

from infra.naming import MAX_RECEIVE_COUNT, StageNames

PRODUCTION_STAGES = frozenset({"prod", "production"})


class ApiAuth(StrEnum):
    NONE = "none"
    IAM = "iam"


class WorkflowLogLevel(StrEnum):
    ALL = "ALL"
    ERROR = "ERROR"
    FATAL = "FATAL"
    OFF = "OFF"


@dataclass(frozen=True)
class StageConfig:
    stage: str = "dev"
    api_auth: ApiAuth = ApiAuth.NONE
    """IAM (SigV4) authorization on every route; off by default so the smoke test can POST."""
    cors_origins: tuple[str, ...] = ()
    """CORS stays off unless origins are given."""
    api_rate_limit: int = 200
    api_burst_limit: int = 400
    max_receive_count: int = MAX_RECEIVE_COUNT
    dispatch_max_concurrency: int = 10
    """Caps concurrent dispatchers: protects the Express StartExecution quota."""
    dispatch_batching_window_seconds: int = 1
    workflow_log_level: WorkflowLogLevel = WorkflowLogLevel.ALL
    """ALL + execution data is what the console needs to draw Express execution graphs; it
    also dominates log cost, so production stages may lower it."""
    log_retention_days: int = 30
    failure_rate: float = 0.3
    powertools_version: str = "3.37.0"
    reconcile_every_minutes: int = 5
    alarm_email: str | None = None
    execution_failure_alarm_percent: int = 10
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> StageNames:
        return StageNames(self.stage)

    @property
    def is_production(self) -> bool:
        return self.stage in PRODUCTION_STAGES

    @classmethod
    def from_context(cls, node: Node) -> StageConfig:
        def get(key: str, default: Any) -> Any:
            value = node.try_get_context(key)
            return default if value is None else value

        defaults = cls()
        origins = get("corsOrigins", "")
        return cls(
            stage=str(get("stage", defaults.stage)),
            api_auth=ApiAuth(str(get("apiAuth", defaults.api_auth.value))),
            cors_origins=tuple(origin for origin in str(origins).split(",") if origin),
            api_rate_limit=int(get("apiRateLimit", defaults.api_rate_limit)),
            api_burst_limit=int(get("apiBurstLimit", defaults.api_burst_limit)),
            max_receive_count=int(get("maxReceiveCount", defaults.max_receive_count)),
            dispatch_max_concurrency=int(get("dispatchMaxConcurrency", defaults.dispatch_max_concurrency)),
            workflow_log_level=WorkflowLogLevel(
                str(get("workflowLogLevel", defaults.workflow_log_level.value))
            ),
            log_retention_days=int(get("logRetentionDays", defaults.log_retention_days)),
            failure_rate=float(get("failureRate", defaults.failure_rate)),
            powertools_version=str(get("powertoolsVersion", defaults.powertools_version)),
            alarm_email=get("alarmEmail", None),
        )
