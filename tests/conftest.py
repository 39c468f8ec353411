"""Fixtures shared by every tier: the emulator, the local Lambda runtime and the retry clock.

Integration and workflow tests run our real handlers against moto's real services, through
the same ``local`` pieces that ``make local`` uses. Nothing reaches AWS: the emulator's
endpoint and dummy credentials are set before any handler is imported.
"""

from __future__ import annotations

import os

import pytest

from infra.names import LOCAL_CREDENTIALS
from local.emulator import DEFAULT_REGION

# Before anything creates a boto3 client: never talk to a real account from the tests.
os.environ.update({"AWS_REGION": DEFAULT_REGION, "AWS_DEFAULT_REGION": DEFAULT_REGION, **LOCAL_CREDENTIALS})
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ProcessTaskManager")

pytest_plugins = ["tests.fixtures.stack"]

TIER_MARKERS = {
    "unit": pytest.mark.unit,
    "integration": pytest.mark.integration,
    "workflow": pytest.mark.workflow,
    "chaos": pytest.mark.workflow,
    "infra": pytest.mark.infra,
    "e2e": pytest.mark.e2e,
}
"""Every test is marked with its tier, by its directory (``pytest -m`` selects tiers)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = TIER_MARKERS.get(item.path.parent.name)
        if marker is not None:
            item.add_marker(marker)
