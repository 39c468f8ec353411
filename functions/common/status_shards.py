"""Write sharding for the ``byStatus`` index.

A status has only five values, so an index keyed on ``status`` alone puts every new task on one
partition-key value (``QUEUED``), which DynamoDB serves at about 1,000 writes/s: two index
writes per task would cap the system near 500 tasks/s (docs/SCALING.md). The index is keyed on
``statusShard`` instead, ``<status>#<n>`` with ``n`` fixed per task, and readers query every
shard and merge.
"""

from __future__ import annotations

import zlib

SHARD_ATTRIBUTE = "statusShard"
SHARDS = 16
"""16 key values per status: room for about 8,000 status changes per second per status."""


def shard_of(task_id: str) -> int:
    """The task's shard, stable for its lifetime (the state machine gets it in its input)."""
    return zlib.crc32(task_id.encode()) % SHARDS


def status_shard(status: str, shard: int) -> str:
    return f"{status}#{shard}"
