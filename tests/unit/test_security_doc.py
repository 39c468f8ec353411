"""docs/SECURITY.md names, for each threat, the tests that show its mitigation holds: each one
must exist. And the two mitigations that live in the build rather than in a test run there."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCUMENT = REPO / "docs" / "SECURITY.md"
TEST_ID = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_test_the_threat_model_names_exists() -> None:
    rows = [line for line in DOCUMENT.read_text().splitlines() if re.match(r"^\| [STRIDE]\d+ \|", line)]
    assert len(rows) >= 12
    for row in rows:
        ids = TEST_ID.findall(row)
        assert ids, f"no test for: {row[:60]}"
        for file, name in ids:
            path = REPO / file
            assert path.exists(), f"{file} (named in docs/SECURITY.md) does not exist"
            assert name in _test_names(path), f"{file}::{name} (named in docs/SECURITY.md) does not exist"


def test_each_stride_category_is_covered() -> None:
    ids = set(re.findall(r"^\| ([STRIDE])\d+ \|", DOCUMENT.read_text(), flags=re.MULTILINE))
    assert ids == set("STRIDE")


def _planned(target: str) -> list[str]:
    """The commands make would run for ``target`` from scratch (``make -n -B``: planned, not run)."""
    result = subprocess.run(
        ["make", "-n", "-B", target], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.splitlines()


def test_the_secret_scan_and_the_locked_install_are_wired_into_make_test() -> None:
    """I4 and E4: make test runs lint, which scans every tracked file; every install of the
    Python environment is from the lock, refusing a stale one (as make plans them)."""
    test = _planned("test")
    assert any("git ls-files" in line and "detect-secrets-hook" in line for line in test)
    installs = [line for line in _planned(".venv/.installed") if " sync " in line or "pip install" in line]
    assert installs, "the environment is installed by a command make plans"
    assert all("sync --locked" in line for line in installs if "uv==" not in line)
    assert (REPO / "uv.lock").exists()
