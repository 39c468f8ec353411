"""Init-time tuning that pays only in a handler's execution environment.

A handler's init (pydantic models, Powertools, botocore's service models) allocates hundreds of
thousands of objects that all live for the whole execution environment, and the default
young-generation threshold (700 allocations) walks them dozens of times: about 45 ms of every
cold start (``make bench-init``). Reference counting still frees everything at once; only
cycles wait a little longer. Each handler package calls this first, so the tools, the CDK app
and the tests that import ``functions.common`` keep Python's defaults.
"""

import gc

GC_THRESHOLDS = (20_000, 20, 20)


def raise_gc_threshold() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
