"""INIT in a Lambda execution environment: importing a handler module builds its dependencies
(settings and clients), with the GC paused until they exist; elsewhere importing builds nothing
and leaves the GC alone (each case in a fresh interpreter: the GC state is process-wide)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.init_time import ENVIRONMENT
from functions.common.cold_start import INITIALIZATION_TYPE
from infra.names import Function

PROBE = """
import gc
import {package}
collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info["generation"]))
import {module} as handler
print(handler.dependencies.cache_info().currsize, not collections, gc.isenabled(), gc.get_freeze_count() > 0)
"""


def _probe(function: Function, lambda_environment: bool) -> str:
    environment = {**os.environ, **ENVIRONMENT}
    if not lambda_environment:
        environment.pop("AWS_LAMBDA_FUNCTION_NAME")
        environment.pop(INITIALIZATION_TYPE)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE.format(package=function.module.rpartition(".")[0], module=function.module),
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.parametrize("function", list(Function))
def test_in_lambda_init_builds_the_dependencies_with_the_gc_paused_then_frozen(function: Function) -> None:
    """Built (1 cached), no collection ran while the handler module was imported after its
    package paused the collector, collection resumed, init frozen."""
    assert _probe(function, lambda_environment=True) == "1 True True True"


def test_elsewhere_importing_a_handler_builds_nothing_and_leaves_the_gc_alone() -> None:
    assert _probe(Function.PROCESS, lambda_environment=False) == "0 False True False"


def test_the_local_stack_and_the_benchmarks_import_without_creating_the_functions_logger() -> None:
    """The functions' Logger reads POWERTOOLS_SERVICE_NAME and the log level when first imported;
    the local stack sets them after its own imports, so none of them may import it first (else
    every function line says ``service_undefined`` and the benchmarks print them all)."""
    code = (
        "import sys, local.cli, local.stack, bench.cost, bench.measure; "
        "print('functions.common.observability' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
