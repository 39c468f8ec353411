"""The process function's handler package (its import pauses the GC during init: cold_start.py)."""

from functions.common.cold_start import pause_collection_during_init

pause_collection_during_init()
