"""What the functions that validate or run tasks (api, process) read for the task types: the
webhook type's switches. One model, so both functions read the same variables the same way."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from functions.common.config import Env, Settings
from functions.task_types.destinations import DestinationPolicy
from functions.task_types.registry import TaskEnvironment


class TaskTypeSettings(Settings):
    webhooks_enabled: bool = Field(default=False, alias=Env.WEBHOOKS_ENABLED)
    """Whether the webhook type may deliver; off unless the deployer turns it on."""
    webhook_allowed_hosts: str = Field(default="", alias=Env.WEBHOOK_ALLOWED_HOSTS)
    """Comma-separated hosts the webhook type may reach whatever their address or scheme."""
    webhook_allowed_hosts_only: bool = Field(default=False, alias=Env.WEBHOOK_ALLOWED_HOSTS_ONLY)
    """Deliver to the allowed hosts and nowhere else."""
    simulation_allowed: bool = Field(default=False, alias=Env.ALLOW_SIMULATION)
    """Whether a simulated task may carry ``simulate`` (test controls); off unless the stage says."""
    registered_types_file: str | None = Field(default=None, alias=Env.REGISTERED_TYPES_FILE)
    """Read per call by ``functions/task_types/registered.py`` (declared here so the stack gives it)."""

    def task_environment(self, **more: Any) -> TaskEnvironment:
        """The environment the task types see, with ``more`` of its fields (the process
        function's failure rate and seed)."""
        return TaskEnvironment(
            destinations=DestinationPolicy.from_setting(
                self.webhook_allowed_hosts, self.webhook_allowed_hosts_only
            ),
            webhooks_enabled=self.webhooks_enabled,
            simulation_allowed=self.simulation_allowed,
            **more,
        )
