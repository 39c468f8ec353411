"""CDK entry point: ``cdk synth --context stage=dev`` (see cdk.json for the defaults)."""

from __future__ import annotations

import os
import sys

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from infra.stack import ProcessTaskManagerStack
from infra.stage_config import StageConfig, StageConfigError


def build(app: App) -> ProcessTaskManagerStack:
    """Everything ``cdk synth`` builds, for the CLI and the infrastructure tests alike."""
    config = StageConfig.from_context(app.node)
    stack = ProcessTaskManagerStack(
        app,
        f"ProcessTaskManager-{config.stage}",
        config=config,
        description=f"Process Task Manager ({config.stage}): API, SQS, Express workflow, DynamoDB, DLQ",
        env=Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
    )
    Tags.of(stack).add("project", "process-task-manager")
    Tags.of(stack).add("stage", config.stage)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main() -> None:
    app = App()
    try:
        build(app)
    except StageConfigError as exc:
        # One line naming the setting and the rule, not a traceback from inside jsii.
        print(f"ptm synth: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's one line
        sys.exit(1)
    app.synth()


if __name__ == "__main__":
    main()
