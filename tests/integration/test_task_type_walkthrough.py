"""docs/TASK_TYPES.md as a user follows it: on a copy of the tree, its new type's file, its
registration and its test template are written as the page shows them, then the template's tests
run (they must pass) and the type answers at submit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.documented import fences
from tests.mutants import REPO, copy_tree


def _blocks() -> dict[str, str]:
    """The page's Python blocks that name their file on their first line, by that file."""
    blocks = fences((REPO / "docs" / "TASK_TYPES.md").read_text(), "python")
    return {
        block[2:].split("\n", 1)[0]: block.split("\n", 1)[1] for block in blocks if block.startswith("# ")
    }


def test_the_walkthrough_adds_a_type_whose_template_tests_pass(tmp_path: Path) -> None:
    blocks = _blocks()
    assert set(blocks) == {
        "functions/task_types/checksum.py",
        "functions/task_types/__init__.py",
        "tests/unit/test_checksum_type.py",
    }
    tree = tmp_path / "tree"
    copy_tree(tree)
    init = tree / "functions/task_types/__init__.py"
    docstring = init.read_text().split('"""')[1]
    for path, body in blocks.items():
        kept = (
            f'"""{docstring}"""\n\nfrom __future__ import annotations\n\n'
            if path.endswith("__init__.py")
            else ""
        )
        (tree / path).write_text(kept + body)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            "tests/unit/test_checksum_type.py",
        ],
        cwd=tree,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert re.search(r"\b6 passed\b", result.stdout), result.stdout[-500:]
