"""Process Task Manager's Lambda code: one asset, one handler module per function.

Importing the package raises the garbage collector's young-generation threshold from 700 to
20,000 allocations. A handler's init (pydantic models, Powertools, botocore's service models)
allocates hundreds of thousands of objects that all live for the whole execution environment,
and the default threshold walks them dozens of times: about 45 ms of every cold start
(`make bench-init`). Reference counting still frees everything at once; only cycles wait a
little longer.
"""

import gc

gc.set_threshold(20_000, 20, 20)
