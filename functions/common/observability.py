"""One Logger and one Metrics object, imported by every handler.

Tracer is deliberately absent: it imports and patches the X-Ray SDK at init (about 170 ms
measured here, more than boto3 itself). Lambda's active tracing still records each
invocation, and the state machine's X-Ray tracing draws the workflow.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

from functions.common.config import METRICS_NAMESPACE

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
