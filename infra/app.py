"""CDK entry point: ``cdk synth --context stage=dev`` (see cdk.json for the defaults)."""

from __future__ import annotations

import os

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from infra.stack import ProcessTaskManagerStack
from infra.stage_config import StageConfig


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
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
