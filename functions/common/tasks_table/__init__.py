"""The only package that talks to the tasks table (docs/contributing/DATA_MODEL.md): ``transitions`` (one
conditional write per state transition), ``index`` (the sharded indexes read in order),
``payloads`` (bodies too large to live inline), ``retention`` (a finished task's expiry) and
``codec`` (items to and from models)."""

from functions.common.tasks_table.codec import (
    COMPRESS_FROM_BYTES,
    COMPRESSED_PAYLOAD_ATTRIBUTE,
    EXPIRY_ATTRIBUTE,
    INLINE_RESERVE_BYTES,
    PAYLOAD_ATTRIBUTE,
    item_size,
    new_record,
    payload_attributes,
    payload_key,
    payload_of,
    summary_from_item,
)
from functions.common.tasks_table.index import ShardCursors, TaskIndex, TaskReadiness
from functions.common.tasks_table.transitions import Rescue, TasksTable

__all__ = [
    "COMPRESSED_PAYLOAD_ATTRIBUTE",
    "COMPRESS_FROM_BYTES",
    "EXPIRY_ATTRIBUTE",
    "INLINE_RESERVE_BYTES",
    "PAYLOAD_ATTRIBUTE",
    "Rescue",
    "ShardCursors",
    "TaskIndex",
    "TaskReadiness",
    "TasksTable",
    "item_size",
    "new_record",
    "payload_attributes",
    "payload_key",
    "payload_of",
    "summary_from_item",
]
