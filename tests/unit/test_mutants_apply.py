"""The mutation sweep stays runnable: every mutant's text occurs exactly once in today's files
(a refactor that moves a rule must move its mutant with it)."""

from __future__ import annotations

from tests.mutants import REPO, mutants


def test_every_mutant_applies_to_todays_files() -> None:
    for mutant in mutants():
        mutant.apply((REPO / mutant.path).read_text())
