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
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

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
