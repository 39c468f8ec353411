"""``ptm redrive --all-failed`` against an API whose redriven tasks fail again at once."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

import ptm.main
from ptm.main import app


class FailingAgainApi:
    """Lists FAILED tasks in pages of two; every redrive leaves the task FAILED (it failed again
    before the next listing), as a task whose work can never succeed does."""

    endpoint = "http://fake"

    def __init__(self, task_ids: list[str]) -> None:
        self.failed = list(task_ids)
        self.redrives: list[str] = []

    def list(self, status: str, limit: int | None = None, next_token: str | None = None) -> tuple[int, Any]:
        assert status == "FAILED"
        start = int(next_token or 0)
        page = self.failed[start : start + 2]
        more = start + 2 < len(self.failed)
        return 200, {
            "items": [{"taskId": task_id} for task_id in page],
            "nextToken": str(start + 2) if more else None,
        }

    def redrive(self, task_id: str) -> tuple[int, Any]:
        self.redrives.append(task_id)
        if len(self.redrives) > 50:
            raise RuntimeError("redriven for ever")
        return 202, {"taskId": task_id, "status": "QUEUED", "runs": self.redrives.count(task_id) + 1}


def test_all_failed_redrives_each_task_once_and_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FailingAgainApi(["a", "b", "c", "d", "e"])
    monkeypatch.setattr(ptm.main, "tasks_api", lambda *_, **__: api)

    result = CliRunner().invoke(
        app, ["--endpoint", "http://fake", "redrive", "--all-failed", "--rate", "1000"]
    )

    assert result.exit_code == 0, result.output
    assert api.redrives == ["a", "b", "c", "d", "e"]
    assert "redrove 5 failed task(s)" in result.output
