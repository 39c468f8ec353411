"""The sizes the Makefile's help and the contributor guide give for what `make test` runs are
the tests' own defaults."""

from __future__ import annotations

import re

from infra.workflow_definition import REPO_ROOT


def _default(path: str, variable: str) -> int:
    found = re.search(rf'os\.environ\.get\("{variable}", "(\d+)"\)', (REPO_ROOT / path).read_text())
    assert found is not None, (path, variable)
    return int(found.group(1))


def test_make_test_s_chaos_and_fuzz_sizes_are_the_tests_defaults() -> None:
    chaos = _default("tests/chaos/test_chaos.py", "CHAOS_TASKS")
    fuzz = _default("tests/e2e/test_fuzz.py", "FUZZ_MAX_EXAMPLES")
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert f"(CHAOS_TASKS=10000; make test runs {chaos})" in makefile
    assert f"(make test runs {fuzz} examples per operation)" in makefile
    assert f"`make test` runs it with {fuzz}." in (REPO_ROOT / "CONTRIBUTING.md").read_text()


def test_the_task_type_guide_s_timeout_is_the_process_function_s() -> None:
    from infra.names import Function
    from infra.spec import FUNCTIONS

    timeout = FUNCTIONS[Function.PROCESS].timeout_seconds
    text = (REPO_ROOT / "docs" / "TASK_TYPES.md").read_text()
    assert f"The process function's timeout is {timeout} s" in text
