"""``ptm``: the operator's command line for Process Task Manager (local stack or AWS)."""
