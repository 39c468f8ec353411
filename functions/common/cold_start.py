"""Init-time tuning that pays only in a Lambda execution environment.

A handler's init (pydantic models, Powertools, botocore's service models) allocates hundreds of
thousands of objects that all live as long as the execution environment, and the cyclic
garbage collector walks them again and again while they are being created: about 15-45 ms of
every cold start (``make bench-init``). So in Lambda the collector is paused from the moment a
handler package is imported until its dependencies are built; then everything init created is
frozen (``gc.freeze``: moved out of the collector's generations, so warm invocations never
rescan it) and collection resumes. Reference counting frees garbage all along; only cycles wait.

Elsewhere (the tests, the local stack, the tools) the collector keeps Python's defaults: nothing
guarantees there that ``init_complete`` follows.

Lambda runs a handler module's import as the INIT phase (outside the invocation's timeout, at full
CPU on a cold start), so each handler module ends with ``build_during_init(dependencies)``: in an
execution environment (``AWS_LAMBDA_INITIALIZATION_TYPE`` is set, by Lambda and by the local
runtime alike) its clients and settings are built there, not during the first invocation.
Anywhere else importing a handler module builds nothing.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
INITIALIZATION_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"
"""Set by Lambda in every execution environment (on-demand, provisioned-concurrency, snap-start):
docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime."""

_paused = False


def pause_collection_during_init() -> None:
    """Called first by each handler package."""
    global _paused  # noqa: PLW0603 - one flag per execution environment, by design
    if "AWS_LAMBDA_FUNCTION_NAME" in os.environ and not _paused:
        gc.disable()
        _paused = True


def init_complete() -> None:
    """Called by each handler's dependencies factory once init's long-lived objects exist."""
    global _paused  # noqa: PLW0603
    if _paused:
        gc.freeze()
        gc.enable()
        _paused = False


def dependencies_factory(build: Callable[[], T]) -> functools._lru_cache_wrapper[T]:
    """A handler's ``dependencies()``: built once per execution environment, on first use
    (importing a handler builds nothing), and the end of init for the collector."""

    @functools.cache
    @functools.wraps(build)
    def dependencies() -> T:
        built = build()
        init_complete()
        return built

    return dependencies


def in_execution_environment() -> bool:
    # Imported here: this module runs first in each handler package, before the pause.
    from functions.common.config import current_environment  # noqa: PLC0415

    return bool(current_environment().get(INITIALIZATION_TYPE))


def build_during_init(dependencies: Callable[[], object]) -> None:
    """Called last by each handler module: in an execution environment, its import is INIT, and
    INIT builds the dependencies."""
    if in_execution_environment():
        dependencies()
