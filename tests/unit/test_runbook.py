"""docs/RUNBOOK.md's numbers are the code's: how long a finished task and a dead letter stay."""

from __future__ import annotations

import re

from infra.limits import TIMINGS
from infra.stage_config import PRODUCTION_TASK_RETENTION_DAYS, TASK_RETENTION_DAYS
from infra.workflow_definition import REPO_ROOT


def test_the_retention_the_runbook_states_is_the_stack_s() -> None:
    text = (REPO_ROOT / "docs" / "RUNBOOK.md").read_text()
    section = re.search(r"<!-- runbook:retention -->(.*?)<!-- /runbook:retention -->", text, re.S)
    assert section is not None
    days = [int(n) for n in re.findall(r"\*\*(\d+)(?: days)?\*\*", section.group(1))]
    assert days == [PRODUCTION_TASK_RETENTION_DAYS, TASK_RETENTION_DAYS, TIMINGS.dead_letter_retention_days]
