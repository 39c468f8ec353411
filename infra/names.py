"""The project's names: its stages, functions, resources and stack outputs, and every AWS name
built from a stage.

Imported by the clients (``ptm``), the local stack and the CDK app alike; it imports nothing of
the functions' code, so a client that needs one name does not pay for the settings models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PROJECT = "ptm"
STAGE_NAME_MAX_LENGTH = 16
"""Long enough for ``prod-eu-central1``, short enough that every name built from it fits its
service's limit (the synthesis tests build the longest stage and cfn-lint checks the names)."""
_STAGE = re.compile(rf"^[a-z][a-z0-9-]{{0,{STAGE_NAME_MAX_LENGTH - 1}}}$")
LOCAL_STAGE = "local"
LOCAL_API_PORT = 8000
LOCAL_ENDPOINT = f"http://127.0.0.1:{LOCAL_API_PORT}"
"""Where ``make local`` serves the API: the clients' default endpoint."""
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
"""What the emulator accepts (any value would do): never a real account's."""
LOCAL_SIGNING_SECRET_VARIABLE = "WEBHOOK_SIGNING_SECRET"  # pragma: allowlist secret (a variable name)
"""``make local`` signs webhook deliveries with this variable's secret, else generates one (on
AWS the secret lives in Secrets Manager only)."""


class Function(StrEnum):
    API = "api"
    DISPATCH = "dispatch"
    PROCESS = "process"
    MONITOR = "monitor"
    RECONCILE = "reconcile"

    @property
    def handler(self) -> str:
        """The handler string: identical in Lambda, in the local stack and in the tests."""
        return f"functions.{self.value}.handler.lambda_handler"

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]


class Resource(StrEnum):
    """What a permission is granted on; each deployment (CDK, local) maps it to an ARN."""

    TABLE = "table"
    PHASE_INDEX = "phase-index"
    DUE_INDEX = "due-index"
    """The sparse byRunAt index: SCHEDULED tasks by when they are due."""
    TASKS_QUEUE = "tasks-queue"
    DEAD_LETTER_QUEUE = "dead-letter-queue"
    STATE_MACHINE = "state-machine"
    PROCESS_FUNCTION = "process-function"
    DISPATCH_MAPPING = "dispatch-mapping"
    """The dispatcher's event-source mapping on the tasks queue: the dispatch switch."""
    SCHEDULES = "schedules"
    """The schedules in the stage's EventBridge Scheduler group (one per far-ahead task)."""
    SCHEDULES_TABLE = "schedules-table"
    """The recurring schedules' items."""
    LIMITS_TABLE = "limits-table"
    """Flow control's items: every limit, and each limited subject's slots and token bucket."""
    SCHEDULE_INDEX = "schedule-index"
    """The sparse bySchedule index: the tasks a recurring schedule submitted."""
    RECURRING_SCHEDULES = "recurring-schedules"
    """The schedules in the stage's recurring group (one per recurring schedule)."""
    SCHEDULER_ROLE = "scheduler-role"
    """The role Scheduler assumes to send a due task's message; the api passes it to Scheduler."""
    SIGNING_SECRET = "signing-secret"  # pragma: allowlist secret (a resource kind)
    """The webhook signing secret: deployed only where webhooks deliver (``webhooks=on``)."""


class Output(StrEnum):
    """The stack's outputs, by their keys: the CDK stack declares them, ``make deploy`` saves them
    (``cdk.out/outputs-<stage>.json``), ``ptm --stage`` reads them, and the local stack describes
    itself with the same keys (``/ui/info.json``)."""

    TASKS_ENDPOINT = "TasksEndpoint"
    API_ID = "ApiId"
    """The HTTP API's id: the resource of a caller's execute-api:Invoke policy (README, Deploy)."""
    TASKS_TABLE = "TasksTable"
    TASKS_QUEUE_URL = "TasksQueueUrl"
    DEAD_LETTER_QUEUE_URL = "DeadLetterQueueUrl"
    STATE_MACHINE_ARN = "StateMachineArn"
    SCHEDULE_GROUP = "ScheduleGroup"
    RECURRING_SCHEDULE_GROUP = "RecurringScheduleGroup"
    SCHEDULES_TABLE = "SchedulesTable"
    LIMITS_TABLE = "LimitsTable"
    DISPATCH_MAPPING_ID = "DispatchMappingId"
    STATE_MACHINE_LOG_GROUP = "StateMachineLogGroup"
    DASHBOARD_NAME = "DashboardName"
    ALARM_TOPIC_ARN = "AlarmTopicArn"
    WEBHOOK_SIGNING_SECRET_ARN = "WebhookSigningSecretArn"  # pragma: allowlist secret (a name)
    """Only where webhooks deliver (``webhooks=on``)."""


def service_name(stage: str) -> str:
    """POWERTOOLS_SERVICE_NAME, and the ``service`` dimension of every custom metric."""
    return f"{PROJECT}-{stage}"


@dataclass(frozen=True)
class StageNames:
    """Every resource is named by stage, so two stages coexist in one account (the local stack
    is the stage ``local``)."""

    stage: str

    def __post_init__(self) -> None:
        if not _STAGE.match(self.stage):
            raise ValueError(f"stage {self.stage!r} must match {_STAGE.pattern}")

    def _name(self, suffix: str) -> str:
        return f"{PROJECT}-{self.stage}-{suffix}"

    @property
    def stack(self) -> str:
        """The CloudFormation stack: ``cdk deploy`` creates it, its outputs are saved under it."""
        return f"ProcessTaskManager-{self.stage}"

    @property
    def table(self) -> str:
        return self._name("tasks")

    @property
    def tasks_queue(self) -> str:
        return self._name("tasks")

    @property
    def dead_letter_queue(self) -> str:
        return self._name("tasks-dlq")

    @property
    def state_machine(self) -> str:
        return self._name("process-task")

    @property
    def state_machine_log_group(self) -> str:
        return f"/aws/vendedlogs/states/{self._name('process-task')}"

    @property
    def schedule_group(self) -> str:
        """The stage's EventBridge Scheduler group: the delayed tasks' schedules."""
        return f"{PROJECT}-{self.stage}"

    @property
    def recurring_schedule_group(self) -> str:
        """The stage's Scheduler group for recurring schedules: never kept past ``make destroy``
        (deleting a group deletes its schedules, so none fires at a deleted queue)."""
        return self._name("recurring")

    @property
    def schedules_table(self) -> str:
        return self._name("schedules")

    @property
    def limits_table(self) -> str:
        return self._name("limits")

    @property
    def scheduler_role(self) -> str:
        """The role Scheduler assumes: named, so a schedule kept across ``make destroy`` (a
        production stage keeps its group) still names a role that exists once redeployed."""
        return self._name("scheduler")

    @property
    def signing_secret(self) -> str:
        """The webhook signing secret's name in Secrets Manager."""
        return f"{PROJECT}-{self.stage}/webhook-signing-secret"

    def function(self, function: Function) -> str:
        return self._name(function.value)

    def registered_function(self, type_name: str) -> str:
        """The local stack's function for a registered type (on AWS, the user deploys their own)."""
        return self._name(f"type-{type_name}")

    def function_log_group(self, function: Function) -> str:
        return f"/aws/lambda/{self.function(function)}"
