"""The ``byPhase`` index's key: which list a task is in, sharded for write throughput.

The index is keyed on ``phaseShard`` = ``<phase>#<n>`` and sorted by ``createdAt``, and carries
only keys (KEYS_ONLY): listing reads the records it points to with BatchGetItem.

- **Phase.** QUEUED and RUNNING share one phase, ``ACTIVE``; each terminal status is its own.
  A claim (QUEUED → RUNNING), a retry's claim and a recorded attempt error therefore leave the
  index untouched: DynamoDB writes a global secondary index only when an item's index key or a
  projected attribute changes. Only entering the system, finishing, failing, cancelling and
  redriving move an index entry (a delete and a put).
- **SCHEDULED** is its own phase too, so ``GET /tasks?status=SCHEDULED`` lists it as any other.
  A scheduled task also has an entry in the sparse ``byRunAt`` index while it is SCHEDULED:
  keyed on ``dueShard`` = ``DUE#<n>`` (only SCHEDULED records carry it) and sorted by ``runAt``,
  so reconcile finds overdue ones however long ago they were created.
- **Shard.** One key value per phase would put every new task on one index partition, which
  DynamoDB serves at about 1,000 writes/s (docs/SCALING.md); ``n`` is fixed per task, and
  readers query every shard and merge.
"""

from __future__ import annotations

import zlib

SHARD_ATTRIBUTE = "phaseShard"
SHARDS = 16
"""16 key values per phase: room for about 8,000 index writes per second per phase."""

ACTIVE = "ACTIVE"
"""The phase of QUEUED and RUNNING tasks."""


def shard_of(task_id: str) -> int:
    """The task's shard, stable for its lifetime (the state machine gets it in its input)."""
    return zlib.crc32(task_id.encode()) % SHARDS


DUE_SHARD_ATTRIBUTE = "dueShard"
"""The ``byRunAt`` index's key: set when a task is created SCHEDULED, removed when it leaves."""


def due_shard(shard: int) -> str:
    return f"DUE#{shard}"


def phase_of(status: str) -> str:
    return ACTIVE if status in ("QUEUED", "RUNNING") else status


def phase_shard(status: str, shard: int) -> str:
    return f"{phase_of(status)}#{shard}"
