"""The local execution view in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from infra.workflow_definition import retry_policy
from local.process import REPO
from tests.e2e.conftest import RunningStack

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = REPO / "build" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
POLICY = retry_policy()


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def _settled(stack: RunningStack, payload: dict[str, Any]) -> dict[str, Any]:
    task_id = _http("POST", f"{stack.api}/tasks", payload)["taskId"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        record = _http("GET", f"{stack.api}/tasks/{task_id}")
        if record["status"] == "SUCCEEDED" or record.get("deadLetteredAt"):
            return record
        time.sleep(0.2)
    raise TimeoutError(f"task {task_id} did not settle")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium (make test does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _node_classes(page: Any, state: str) -> str:
    classes: str = page.eval_on_selector(
        f'#graph svg g.node[id*="s_{state}-"]', "node => node.getAttribute('class')"
    )
    return classes


def test_a_failed_task_shows_the_catch_path_and_its_history(
    local_stack: RunningStack, browser: Browser
) -> None:
    record = _settled(local_stack, {"simulate": {"failures": POLICY.total_attempts}})
    page = browser.new_page(viewport={"width": 1400, "height": 1000})

    page.goto(record["consoleUrl"])
    page.wait_for_selector("#graph svg g.node", timeout=15_000)

    assert "retried" in _node_classes(page, "ProcessTask")
    assert "entered" in _node_classes(page, "MarkFailed")
    assert "entered" in _node_classes(page, "SendToDlq")
    assert "failed" in _node_classes(page, "Failed")
    assert "entered" not in _node_classes(page, "AlreadyFinished")
    assert f"{POLICY.total_attempts} attempts" in page.inner_text("#graph")
    history = page.inner_text("#history")
    assert "TaskFailed" in history
    assert "ExecutionFailed" in history
    assert page.inner_text("#status") == "FAILED"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "execution-failed.png"), full_page=True)
    assert (SCREENSHOTS / "execution-failed.png").stat().st_size > 10_000


def test_a_succeeded_task_shows_the_straight_path(local_stack: RunningStack, browser: Browser) -> None:
    record = _settled(local_stack, {"simulate": {"failures": 0}})
    page = browser.new_page()

    page.goto(record["consoleUrl"])
    page.wait_for_selector("#graph svg g.node", timeout=15_000)

    assert "entered" in _node_classes(page, "ProcessTask")
    assert "entered" not in _node_classes(page, "MarkFailed")
    assert page.inner_text("#status") == "SUCCEEDED"


def test_the_task_list_filters_by_status(local_stack: RunningStack, browser: Browser) -> None:
    failed = _settled(local_stack, {"simulate": {"permanent": True}})
    page = browser.new_page()

    page.goto(f"{local_stack.api}/ui?status=FAILED")

    rows = page.inner_text("#tasks")
    assert failed["taskId"] in rows
    assert "SUCCEEDED" not in rows
    page.click(f"text={failed['taskId']}")
    page.wait_for_selector("#graph svg g.node", timeout=15_000)
    assert page.inner_text("#status") == "FAILED"
