"""The api function's handler package (its init raises the GC threshold: cold_start.py)."""

from functions.common.cold_start import raise_gc_threshold

raise_gc_threshold()
