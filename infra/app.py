"""CDK entry point: ``cdk synth --context stage=dev`` (see cdk.json for the defaults)."""

from __future__ import annotations

import os
import sys

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from infra.stack import ProcessTaskManagerStack
from infra.stage_config import StageConfigError
from infra.stage_options import load
from infra.task_type_options import TaskTypeOptionError


def build(app: App, *, account: str | None, region: str | None) -> ProcessTaskManagerStack:
    """Everything ``cdk synth`` builds, for the CLI and the infrastructure tests alike.

    ``account`` and ``region`` are what the CDK CLI hands the app (``CDK_DEFAULT_ACCOUNT``,
    ``CDK_DEFAULT_REGION``): a profile's account and region when credentials exist, otherwise no
    account and the region of ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / the profile, us-east-1
    when none is set. None of either leaves it a CloudFormation pseudo parameter."""
    loaded = load(app.node)
    config = loaded.config
    stack = ProcessTaskManagerStack(
        app,
        config.names.stack,
        config=config,
        description=f"Process Task Manager ({config.stage}): API, SQS, Express workflow, DynamoDB, DLQ"
        + loaded.label,
        env=Environment(account=account, region=region),
    )
    Tags.of(stack).add("project", "process-task-manager")
    Tags.of(stack).add("stage", config.stage)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main() -> None:
    app = App()
    try:
        build(app, account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
    except (StageConfigError, TaskTypeOptionError) as exc:
        # One line naming the setting and the rule, not a traceback from inside jsii.
        print(f"ptm synth: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's one line
        sys.exit(1)
    app.synth()


if __name__ == "__main__":
    main()
