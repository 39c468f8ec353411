"""The process function's settings: its fields' aliases are exactly the variables it reads."""

from __future__ import annotations

from pydantic import Field

from functions.common.config import Env, NonEmpty, Settings


class ProcessSettings(Settings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    failure_rate: float = Field(ge=0.0, le=1.0, alias=Env.FAILURE_RATE)
    failure_seed: str | None = Field(default=None, alias=Env.FAILURE_SEED)
    lease_seconds: int = Field(gt=0, alias=Env.LEASE_SECONDS)
    """How long a claim keeps a duplicate execution out; longer than one process invocation."""
    webhook_allowed_hosts: str = Field(default="", alias=Env.WEBHOOK_ALLOWED_HOSTS)
    """Comma-separated hosts the webhook type may reach whatever their address or scheme."""
    webhooks_enabled: bool = Field(default=False, alias=Env.WEBHOOKS_ENABLED)
    webhook_allowed_hosts_only: bool = Field(default=False, alias=Env.WEBHOOK_ALLOWED_HOSTS_ONLY)
    """Deliver to the allowed hosts and nowhere else."""
    """Whether the webhook type may deliver; off unless the deployer turns it on."""
