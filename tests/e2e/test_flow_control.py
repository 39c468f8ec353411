"""Flow control through the whole local stack, measured where it matters: a receiver on
127.0.0.1 that holds each request 0.2 s and counts how many it serves at once. Limits are set
over HTTP (``PUT /limits/{key}``) on a stack of this module's own, with the limits cache on the
scaled clock."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from local.options import generate_secret
from tests.e2e.conftest import RunningStack, running_local_stack
from tests.fixtures.ptm_cli import ptm, ptm_json
from tests.fixtures.receiver import Receiver, running_receiver

HOLD_SECONDS = 0.2


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from running_local_stack(
        tmp_path_factory,
        "flow-control-stack",
        "--time-scale",
        "0.01",
        "--failure-rate",
        "0",
        environment={"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "WEBHOOK_SIGNING_SECRET": generate_secret()},
    )


@pytest.fixture
def limits(limited_stack: RunningStack) -> Iterator[list[str]]:
    """The keys a test sets, deleted after it (and waited out: the cache's scaled period)."""
    keys: list[str] = []
    yield keys
    for key in keys:
        request = urllib.request.Request(f"{limited_stack.api}/limits/{key}", method="DELETE")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 204
    time.sleep(0.2)


def _set(stack: RunningStack, keys: list[str], key: str, limit: dict[str, Any]) -> None:
    status, _, body = stack.request("PUT", f"/limits/{key}", limit)
    assert status in (200, 201), body
    keys.append(key)
    time.sleep(0.2)  # every dispatcher's cache (0.1 s on this clock) has read it


def _submit_all(stack: RunningStack, bodies: list[dict[str, Any]]) -> list[str]:
    ids = []
    for body in bodies:
        status, _, answer = stack.request("POST", "/tasks", body)
        assert status == 202, answer
        ids.append(str(answer["taskId"]))
    return ids


def _all_finish(stack: RunningStack, ids: list[str], within: float = 90.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    records: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline and len(records) < len(ids):
        for task_id in ids:
            if task_id not in records:
                _, _, record = stack.request("GET", f"/tasks/{task_id}")
                if record["status"] in {"SUCCEEDED", "FAILED"}:
                    records[task_id] = record
        time.sleep(0.2)
    assert len(records) == len(ids), f"{len(ids) - len(records)} tasks unfinished"
    return [records[task_id] for task_id in ids]


def test_a_host_limit_of_three_never_lets_more_than_three_deliveries_reach_it(
    limited_stack: RunningStack, receiver: Receiver, limits: list[str]
) -> None:
    url = receiver.answer("/host/hook", (200, b"{}", {}, HOLD_SECONDS))
    _set(limited_stack, limits, "host:127.0.0.1", {"maxConcurrency": 3})

    ids = _submit_all(limited_stack, [{"type": "webhook", "url": url} for _ in range(30)])
    records = _all_finish(limited_stack, ids)

    assert {record["status"] for record in records} == {"SUCCEEDED"}
    assert len(receiver.to("/host/hook")) == 30
    assert receiver.most_open["host"] == 3  # the limit, and used
    assert any("waitingFor" not in record for record in records)
    _, _, listed = limited_stack.request("GET", "/limits")
    assert listed["items"] == [{"key": "host:127.0.0.1", "maxConcurrency": 3, "inFlight": 0}]


def test_a_rate_of_two_per_second_starts_no_more_than_two_plus_the_burst_in_any_second(
    limited_stack: RunningStack, receiver: Receiver, limits: list[str]
) -> None:
    url = receiver.answer("/rate/hook", (200, b"{}", {}, 0.0))
    _set(limited_stack, limits, "key:rate", {"maxPerSecond": 2, "burst": 2})

    ids = _submit_all(
        limited_stack, [{"type": "webhook", "url": url, "concurrencyKey": "rate"} for _ in range(10)]
    )
    _all_finish(limited_stack, ids)

    arrivals = sorted(at for at, path in receiver.arrivals if path == "/rate/hook")
    assert len(arrivals) == 10
    busiest = max(sum(1 for other in arrivals if start <= other < start + 1.0) for start in arrivals)
    assert busiest <= 2 + 2


def test_each_key_at_most_one_at_once_and_the_keys_progress_together(
    limited_stack: RunningStack, receiver: Receiver, limits: list[str]
) -> None:
    _set(limited_stack, limits, "key:*", {"maxConcurrency": 1})
    bodies = []
    for key in ("tenant-a", "tenant-b", "tenant-c"):
        url = receiver.answer(f"/{key}/hook", (200, b"{}", {}, HOLD_SECONDS))
        bodies += [{"type": "webhook", "url": url, "concurrencyKey": key} for _ in range(3)]

    ids = _submit_all(limited_stack, bodies)
    records = _all_finish(limited_stack, ids)

    assert {record["status"] for record in records} == {"SUCCEEDED"}
    assert [receiver.most_open[key] for key in ("tenant-a", "tenant-b", "tenant-c")] == [1, 1, 1]
    first = {
        key: min(at for at, path in receiver.arrivals if path.startswith(f"/{key}/"))
        for key in ("tenant-a", "tenant-b", "tenant-c")
    }
    assert max(first.values()) - min(first.values()) < 1.0  # none waited for another key


def test_limits_over_http_refuse_bad_keys_and_bodies_in_one_clear_line(
    limited_stack: RunningStack, limits: list[str]
) -> None:
    status, _, body = limited_stack.request("PUT", "/limits/tenant:acme", {"maxConcurrency": 1})
    assert (status, body["error"]["code"]) == (400, "INVALID_LIMIT")
    status, _, body = limited_stack.request("PUT", "/limits/key%3Aacme", {"maxConcurrency": 0})
    assert (status, list(body["error"]["fields"])) == (400, ["maxConcurrency"])
    status, _, body = limited_stack.request("GET", "/limits/key%3Aacme")  # percent-encoded, as on AWS
    assert (status, body["error"]["code"]) == (404, "LIMIT_NOT_FOUND")
    _set(limited_stack, limits, "key:*", {"maxConcurrency": 2})
    status, _, body = limited_stack.request("GET", "/limits/key:acme")
    assert (status, body) == (
        200,
        {"key": "key:acme", "maxConcurrency": 2, "governedBy": "key:*", "inFlight": 0},
    )
    status, _, body = limited_stack.request("POST", "/tasks", {"concurrencyKey": "a/b"})
    assert (status, list(body["error"]["fields"])) == (400, ["concurrencyKey"])


def test_ptm_limits_set_get_list_and_clear_and_ptm_info_shows_them(limited_stack: RunningStack) -> None:
    set_ = ptm_json(limited_stack, "limits", "set", "type:simulated", "--concurrency", "4")
    assert set_ == {"key": "type:simulated", "maxConcurrency": 4}
    assert ptm_json(limited_stack, "limits", "get", "type:simulated")["inFlight"] == 0
    assert [item["key"] for item in ptm_json(limited_stack, "limits", "list")["items"]] == ["type:simulated"]
    assert ptm_json(limited_stack, "info")["Limits"] == {
        "type:simulated": {"maxConcurrency": 4, "inFlight": 0}
    }
    code, text = ptm(limited_stack, "info")
    assert code == 0
    assert "Limits type:simulated" in text
    assert ptm_json(limited_stack, "limits", "clear", "type:simulated") == {
        "key": "type:simulated",
        "deleted": True,
    }
    assert ptm_json(limited_stack, "info")["Limits"].startswith("none")
    code, output = ptm(limited_stack, "limits", "set", "key:acme", "--per-second", "0")
    assert code != 0
    assert "maxPerSecond" in output
    assert ptm_json(limited_stack, "limits", "list") == {"items": []}
