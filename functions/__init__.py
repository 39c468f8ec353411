"""Process Task Manager's Lambda code: one asset, one handler package per function."""
