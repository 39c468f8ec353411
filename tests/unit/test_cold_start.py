"""The GC pause during init: only in a Lambda execution environment, always ended by the
dependencies factory (each case in a fresh interpreter: the GC state is process-wide)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.init_time import ENVIRONMENT
from infra.spec import Function

pytestmark = pytest.mark.unit

PROBE = """
import gc
import {module} as handler
paused = not gc.isenabled()
handler.dependencies()
print(paused, gc.isenabled(), gc.get_freeze_count() > 0)
"""


def _probe(function: Function, lambda_environment: bool) -> str:
    environment = {**os.environ, **ENVIRONMENT}
    if not lambda_environment:
        environment.pop("AWS_LAMBDA_FUNCTION_NAME")
    return subprocess.run(
        [sys.executable, "-c", PROBE.format(module=function.module)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.parametrize("function", list(Function))
def test_in_lambda_the_gc_pauses_for_init_and_resumes_with_init_frozen(function: Function) -> None:
    assert _probe(function, lambda_environment=True) == "True True True"


def test_elsewhere_the_gc_is_left_alone() -> None:
    assert _probe(Function.PROCESS, lambda_environment=False) == "False True False"
