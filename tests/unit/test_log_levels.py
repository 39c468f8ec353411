"""The stage's function log level holds under Lambda's advanced logging controls: Lambda sets
AWS_LAMBDA_LOG_LEVEL=INFO (so EMF lines pass), and Powertools would let it override
POWERTOOLS_LOG_LEVEL; functions/common/observability.py sets the stage's level again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
from functions.common.observability import logger, metrics
from aws_lambda_powertools.metrics import MetricUnit
logger.info("an info line")
logger.warning("a warning line")
metrics.add_metric(name="Probe", unit=MetricUnit.Count, value=1)
metrics.flush_metrics()
"""


def _lines(**environment: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, "POWERTOOLS_SERVICE_NAME": "probe", **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_a_warning_stage_logs_warnings_and_metrics_under_lambdas_info_level() -> None:
    lines = _lines(AWS_LAMBDA_LOG_LEVEL="INFO", POWERTOOLS_LOG_LEVEL="WARNING")
    assert [line.get("message") for line in lines if "message" in line] == ["a warning line"]
    assert any("_aws" in line for line in lines), "the EMF line is printed"


def test_an_info_stage_logs_info() -> None:
    lines = _lines(AWS_LAMBDA_LOG_LEVEL="INFO", POWERTOOLS_LOG_LEVEL="INFO")
    assert [line.get("message") for line in lines if "message" in line] == ["an info line", "a warning line"]
