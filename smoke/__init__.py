"""Smoke test for a running Process Task Manager: the local stack by default, or a deployment."""
