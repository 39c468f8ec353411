"""The api function's settings: its fields' aliases are exactly the variables it reads."""

from __future__ import annotations

from pydantic import Field

from functions.common.config import Env, NonEmpty, Settings


class ApiSettings(Settings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    tasks_queue_url: NonEmpty = Field(alias=Env.TASKS_QUEUE_URL)
    console_url_template: str | None = Field(default=None, alias=Env.CONSOLE_URL_TEMPLATE)
    """Where a person sees a task's execution: ``{taskId}``, ``{executionArn}`` are filled in."""
    webhook_allowed_hosts: str = Field(default="", alias=Env.WEBHOOK_ALLOWED_HOSTS)
    """Comma-separated hosts the webhook type may reach whatever their address or scheme."""
    webhooks_enabled: bool = Field(default=False, alias=Env.WEBHOOKS_ENABLED)
    webhook_allowed_hosts_only: bool = Field(default=False, alias=Env.WEBHOOK_ALLOWED_HOSTS_ONLY)
    """Deliver to the allowed hosts and nowhere else."""
    """Whether the webhook type may deliver; off unless the deployer turns it on."""
