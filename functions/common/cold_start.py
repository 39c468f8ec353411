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

import gc
import os

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
