"""The code's rooms stay small, and importing the spec does nothing but define it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 450
"""A module longer than this is two modules: the renovation of issue 33 split the last three."""
ROOMS = ("functions", "infra", "local")


def _modules() -> list[Path]:
    return sorted(path for room in ROOMS for path in (REPO / room).rglob("*.py"))


def test_no_module_in_the_product_is_longer_than_the_limit() -> None:
    long = {
        str(path.relative_to(REPO)): lines
        for path in _modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"split these modules (at most {MAX_MODULE_LINES} lines each): {long}"


def test_the_walk_sees_the_product_modules() -> None:
    found = {str(path.relative_to(REPO)) for path in _modules()}
    assert {"infra/spec.py", "local/stack.py", "functions/api/handler.py"} <= found


_NO_ASL = """
import pathlib, sys
real = pathlib.Path.read_text
def guarded(self, *args, **kwargs):
    if self.name.endswith(".asl.json"):
        raise FileNotFoundError(self)
    return real(self, *args, **kwargs)
pathlib.Path.read_text = guarded
import infra.names
heavy = sorted(name for name in sys.modules if name.split(".")[0] in {"pydantic", "boto3", "functions"})
assert not heavy, f"infra.names imported {heavy}"
import infra.spec, infra.limits
print("imported")
"""


@pytest.mark.parametrize("script", [_NO_ASL], ids=["without the ASL file"])
def test_the_spec_imports_without_reading_the_asl_and_names_import_nothing_heavy(script: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"
