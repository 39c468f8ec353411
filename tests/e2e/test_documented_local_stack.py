"""The documented commands that start the local stack and run until Ctrl-C: each is started as the
README has it (free ports added, as a user with something on 8000 would), checked while it serves,
and stopped with Ctrl-C. The webhook examples deliver to a receiver on this machine, the way the
README's ``WEBHOOK_ALLOWED_HOSTS=127.0.0.1 make local`` allows (hooks.example.com resolves
nowhere: it stands for the user's own receiver)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from local.emulator import free_port
from local.options import ensure_port_free
from local.process import REPO, wait_until_serving
from tests.e2e.documented import LONG_RUNNING, bash, shell_environment
from tests.fixtures.receiver import Receiver, running_receiver

EXAMPLE_URL = re.compile(r"https://hooks\.example\.com/[^\"]*")
WITH_RECEIVER = "WEBHOOK_ALLOWED_HOSTS=127.0.0.1 make local"


def _rehearsed_by(test: str) -> list[str]:
    return [command for command, rehearsal in LONG_RUNNING.items() if (rehearsal.test or "").endswith(test)]


def _start(command: str, log: Path) -> tuple[subprocess.Popen[str], str, int]:
    """``command`` on free ports (make local at the e2e time scale; ptm local at its own)."""
    api_port, emulator_port = free_port(), free_port()
    ports = f"--api-port {api_port} --emulator-port {emulator_port}"
    typed = (
        f'{command} LOCAL_ARGS="{ports} --time-scale 0.01"'
        if "make local" in command
        else f"{command} {ports}"
    )
    with log.open("w") as output:
        process = subprocess.Popen(
            ["bash", "-c", typed],
            cwd=REPO,
            env=shell_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a terminal's process group: Ctrl-C reaches make and python alike
        )
    return process, f"http://127.0.0.1:{api_port}", api_port


def _ctrl_c(process: subprocess.Popen[str], log: Path, port: int) -> None:
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)
    assert "local stack stopped" in log.read_text()
    ensure_port_free("127.0.0.1", port, "--api-port")


def _delivered(receiver: Receiver, path: str) -> Any:
    deadline = time.monotonic() + 30
    while not receiver.to(path):
        assert time.monotonic() < deadline, f"nothing delivered to {path}"
        time.sleep(0.1)
    return receiver.to(path)[0].json()


def test_make_local_serves_the_webhook_examples_then_stops_on_ctrl_c(tmp_path: Path) -> None:
    """``make local`` is this very target, without the variable."""
    commands = _rehearsed_by("test_make_local_serves_the_webhook_examples_then_stops_on_ctrl_c")
    examples = [command for command in commands if EXAMPLE_URL.search(command)]
    assert {"make local", WITH_RECEIVER} <= set(commands)
    assert len(examples) == 2
    log = tmp_path / "local.log"

    with running_receiver() as receiver:
        process, api, port = _start(WITH_RECEIVER, log)
        try:
            wait_until_serving(api, process, log)
            for index, example in enumerate(examples):
                path = f"/example-{index}"
                receiver.answer(path, 200)
                typed = EXAMPLE_URL.sub(f"{receiver.base}{path}", example)
                result = bash(typed, shell_environment(TASKS_ENDPOINT=api))
                assert result.returncode == 0, result.stdout + result.stderr
                sent = json.loads(re.findall(r"'(\{.*\})'", typed, re.DOTALL)[0])
                assert _delivered(receiver, path) == sent["body"]
        finally:
            if process.poll() is None:
                _ctrl_c(process, log, port)


def test_ptm_local_serves_then_stops_on_ctrl_c(tmp_path: Path) -> None:
    [command] = [
        command for command in _rehearsed_by("test_ptm_local_serves_then_stops_on_ctrl_c") if "ptm" in command
    ]
    log = tmp_path / "local.log"

    process, api, port = _start(command, log)
    try:
        wait_until_serving(api, process, log)
        result = bash("ptm types", shell_environment(TASKS_ENDPOINT=api))
        assert result.returncode == 0, result.stderr
    finally:
        if process.poll() is None:
            _ctrl_c(process, log, port)
