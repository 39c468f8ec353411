"""``ptm info --capacity``: bench/capacity.py's table for what is deployed. On AWS: the stack's
template as CloudFormation holds it, the account's Lambda concurrency as Lambda reports it, and
the table's and the byPhase index's warm throughput as DynamoDB describes them (each a [given]
figure in place of the documented default). Locally: the local stack is one process on this
machine (its own throughput is ``make bench-local``'s); the table is the stage's template as
``make synth`` writes it, what ``make deploy`` would deploy."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from bench import capacity, cost, measure
from functions.common.config import PHASE_INDEX
from infra.stage_options import HYPOTHETICAL
from infra.synth import synthesized_template
from ptm.deployment import Deployment


def deployed_template(deployment: Deployment) -> dict[str, Any]:
    body = deployment.client("cloudformation").get_template(
        StackName=deployment.names.stack, TemplateStage="Original"
    )["TemplateBody"]
    return body if isinstance(body, dict) else json.loads(body)


def account_figures(deployment: Deployment, deployed: capacity.Deployed) -> dict[str, float]:
    """What the account says in place of the documented defaults: its Lambda concurrency (the
    unreserved pool plus what this stack reserves, which the model takes off again) and the warm
    throughput its table and byPhase index have now (the lower of the two for writes)."""
    figures: dict[str, float] = {}
    limit = deployment.client("lambda").get_account_settings()["AccountLimit"]
    reserved = sum(deployed.reserved.values())
    if "UnreservedConcurrentExecutions" in limit:
        figures["lambda.concurrency"] = float(limit["UnreservedConcurrentExecutions"] + reserved)
    table = deployment.client("dynamodb").describe_table(TableName=deployment.names.table)["Table"]
    warm = [table.get("WarmThroughput", {})] + [
        index.get("WarmThroughput", {})
        for index in table.get("GlobalSecondaryIndexes", [])
        if index["IndexName"] == PHASE_INDEX
    ]
    writes = [w["WriteUnitsPerSecond"] for w in warm if "WriteUnitsPerSecond" in w]
    if len(writes) == len(warm):
        figures["dynamodb.warm_write_units"] = float(min(writes))
    if "ReadUnitsPerSecond" in warm[0]:
        figures["dynamodb.warm_read_units"] = float(warm[0]["ReadUnitsPerSecond"])
    return figures


def lines(deployment: Deployment, rate: float) -> list[str]:
    """The capacity report for ``deployment`` at ``rate`` tasks/s."""
    if deployment.local:
        with tempfile.TemporaryDirectory(prefix="ptm-capacity-") as scratch:
            # the local stack's stage has no file of saved options: its defaults, hypothetically
            document = synthesized_template(deployment.stage, Path(scratch), {HYPOTHETICAL: "true"})
        region = capacity.DEFAULT_REGION
        where = (
            f"the local stack runs stage {deployment.stage} in one process (its throughput: make "
            f"bench-local); below, that stage as make deploy would deploy it, in {region}"
        )
    else:
        document = deployed_template(deployment)
        region = deployment.region
        where = f"stack {deployment.names.stack} as deployed in {region}, with this account's figures [given]"
    deployed = capacity.Deployed.from_template(document)
    given = {} if deployment.local else account_figures(deployment, deployed)
    quotas = capacity.Quotas(capacity.QUOTAS_FILE, region, given)
    load = cost.Load(tasks_per_second=rate)
    return [where, *capacity.report(deployed, measure.load(measure.MEASURED_FILE), load, quotas, rate)]
