"""The five functions, as the system spec declares them: one asset (``functions/`` only),
Powertools from its public layer, one role each, and exactly the variables each settings
model reads."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from functions.task_types.registry import REGISTRATIONS_FILE
from infra.names import Function
from infra.spec import FUNCTIONS, FunctionSpec
from infra.stage_config import StageConfig
from infra.workflow_definition import REPO_ROOT

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
ASSET_EXCLUDES = ["*", ".*", "!functions", "!functions/**", "**/.*", "**/__pycache__", "**/*.pyc"]
"""The asset is the repository root filtered to ``functions/``: import paths are the same in
Lambda, the local stack and the tests (``functions.api.handler.lambda_handler``)."""
BUNDLED_PACKAGES = ("aws_croniter", "fastjsonschema")
"""What the functions import that neither the Lambda runtime (boto3, botocore, python-dateutil)
nor the Powertools layer (Powertools, pydantic) brings: copied into the asset beside
``functions/`` from the environment that synthesizes, whose versions are uv.lock's."""
_IGNORED = shutil.ignore_patterns(".*", "__pycache__", "*.pyc")


def package_directory(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{package} is not installed here; run `make dev` (it is in pyproject.toml)")
    return Path(spec.origin).parent


@jsii.implements(ILocalBundling)
class FunctionsBundle:
    """The functions' asset, built on this machine (no Docker): ``functions/`` and
    ``BUNDLED_PACKAGES``. Its hash is the output's, so a new version of a package is a new asset."""

    def __init__(self, registrations: str | None = None) -> None:
        self.registrations = registrations
        """The stage's registered task types (``REGISTRATIONS_FILE``'s text), if it has any."""

    def try_bundle(self, output_dir: str, options: Any) -> bool:
        shutil.copytree(
            REPO_ROOT / "functions", Path(output_dir) / "functions", ignore=_IGNORED, dirs_exist_ok=True
        )
        if self.registrations is not None:
            target = Path(output_dir) / REGISTRATIONS_FILE.relative_to(REPO_ROOT)
            target.write_text(self.registrations, encoding="utf-8")
        for package in BUNDLED_PACKAGES:
            shutil.copytree(
                package_directory(package), Path(output_dir) / package, ignore=_IGNORED, dirs_exist_ok=True
            )
        return True


def functions_code(registrations: str | None = None) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(REPO_ROOT),
        exclude=ASSET_EXCLUDES,
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: the local bundle always succeeds.
            image=DockerImage.from_registry("local-bundling-only"),
            # jsii hands the options over as one struct, not as the keywords its stub declares.
            local=cast(ILocalBundling, FunctionsBundle(registrations)),
        ),
    )


def powertools_layer_parameter(version: str) -> str:
    return f"/aws/service/powertools/python/arm64/{RUNTIME.name}/{version}"


class Compute(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        code = functions_code(config.task_types.file_text() if config.task_types else None)
        layer_arn = config.powertools_layer_arn or ssm.StringParameter.value_for_string_parameter(
            self, powertools_layer_parameter(config.powertools_version)
        )
        powertools = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", layer_arn)
        self.functions: dict[Function, lambda_.Function] = {
            function: self._function(config.function_spec(function), code, powertools)
            for function in FUNCTIONS
        }

    def _function(
        self, spec: FunctionSpec, code: lambda_.Code, powertools: lambda_.ILayerVersion
    ) -> lambda_.Function:
        config, function = self._config, spec.function
        name = config.names.function(function)
        log_group = logs.LogGroup(
            self,
            f"{function.value.title()}Logs",
            log_group_name=config.names.function_log_group(function),
            retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{function.value.title()}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{name}: logs to its own log group; data access is granted by the stack",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        return lambda_.Function(
            self,
            function.value.title(),
            function_name=name,
            description=f"Process Task Manager ({config.stage}): {spec.description}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=function.handler,
            code=code,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            layers=[powertools],
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.PASS_THROUGH if spec.tracing == "PassThrough" else lambda_.Tracing.ACTIVE,
            environment=config.powertools_environment(),
            # JSON format for Lambda's advanced logging controls. Application logs stay at INFO
            # at Lambda so the EMF metric lines (which carry no level) pass; the functions'
            # own level is POWERTOOLS_LOG_LEVEL (functions/common/observability.py).
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel[config.system_log_level.value],
        )

    def set_environment(self, values: Mapping[str, str]) -> None:
        """Give each function exactly the variables its settings model reads (the spec refuses
        a required one that ``values`` lacks)."""
        for function, fn in self.functions.items():
            for variable, value in FUNCTIONS[function].environment(values).items():
                fn.add_environment(variable, value)


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def log_retention(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch Logs retention that keeps at least ``days`` days (a year at most)."""
    return _RETENTION[min((limit for limit in _RETENTION if limit >= days), default=365)]
