"""A stage's options, saved: ``stages/<stage>.json`` holds every option a stage deploys with, under
its context key (``apiRateLimit``, ``webhooks``, ...), and states ``"production": true`` or
``false``. Synthesis reads it through ``load`` (``make synth``, ``make deploy``, ``make diff``,
``make cost``, ``make capacity``): what is deployed is what is saved.

A ``--context`` value that differs from the saved one is refused, unless the synthesis says it is
hypothetical (``--context hypothetical=true``: ``make synth CONTEXT=...`` into a scratch
directory, ``make capacity``), whose template is labelled so. Production is declared, never
guessed from the name: a stage named like production (``prod``, ``prd``, ``live``,
``production``, ``prod-eu``, ...) that does not declare ``"production": true`` is refused.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from infra.stage_config import Context, StageConfig, StageConfigError
from infra.workflow_definition import REPO_ROOT

STAGES_DIR_VARIABLE = "PTM_STAGES_DIR"


def stages_dir() -> Path:
    """``stages/`` in the repository, or where ``PTM_STAGES_DIR`` says (a private config repo)."""
    return Path(os.environ.get(STAGES_DIR_VARIABLE) or REPO_ROOT / "stages")


DEFAULT_STAGE = "dev"
HYPOTHETICAL = "hypothetical"
PRODUCTION = "production"
_PRODUCTION_WORD = re.compile(r"(prod|prd)\d*|production|live")


class StageOptionsError(StageConfigError):
    """A stage file or an override the rules refuse: one line saying what to do."""

    def __init__(self, message: str) -> None:
        ValueError.__init__(self, message)


def looks_like_production(stage: str) -> bool:
    """``prod``, ``prd2``, ``live``, ``prod-eu``, ``eu_production``: a word of the name says so."""
    return any(_PRODUCTION_WORD.fullmatch(word) for word in re.split(r"[-_.]", stage.lower()))


def stage_file(stage: str, directory: Path | None = None) -> Path:
    return (directory or stages_dir()) / f"{stage}.json"


def saved_options(stage: str, directory: Path | None = None) -> dict[str, Any] | None:
    """The stage file's options, checked: a JSON object whose keys are stage settings and which
    states ``production``; None when the stage has no file."""
    path = stage_file(stage, directory)
    if not path.exists():
        return None
    where = f"stages/{path.name}"
    try:
        options = json.loads(path.read_text())
    except ValueError as error:
        raise StageOptionsError(f"{where}: not JSON ({error})") from error
    if not isinstance(options, dict):
        raise StageOptionsError(f"{where}: must be a JSON object of options")
    if not isinstance(options.get(PRODUCTION), bool):
        raise StageOptionsError(f'{where}: must state "production": true or false')
    known = {StageConfig.context_key(field.name) for field in fields(StageConfig)} - {"stage"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise StageOptionsError(
            f"{where}: {', '.join(unknown)} is not a stage option (README, Configuration)"
        )
    return options


class _Layered:
    """Context keys looked up in ``layers`` in turn (the first that has the key wins)."""

    def __init__(self, *layers: Mapping[str, Any]) -> None:
        self.layers = layers

    def try_get_context(self, key: str) -> Any:
        for layer in self.layers:
            if key in layer and layer[key] is not None:
                return layer[key]
        return None


@dataclass(frozen=True)
class Loaded:
    config: StageConfig
    hypothetical: dict[str, Any]
    """The overrides a hypothetical synthesis applied (empty: what is saved)."""

    @property
    def label(self) -> str:
        """Appended to the stack's description of a hypothetical template."""
        if not self.hypothetical:
            return ""
        return f" [hypothetical, not the saved options: {', '.join(sorted(self.hypothetical))}]"


def load(node: Context, directory: Path | None = None) -> Loaded:
    """The stage's saved options, with the context's overrides where the synthesis is
    hypothetical; refused otherwise when they differ from what is saved."""
    stage = str(node.try_get_context("stage") or DEFAULT_STAGE)
    hypothetical = str(node.try_get_context(HYPOTHETICAL)).lower() == "true"
    saved = saved_options(stage, directory)
    if saved is None and not hypothetical:
        declared = "true" if looks_like_production(stage) else "false"
        raise StageOptionsError(
            f'stage {stage}: no stages/{stage}.json; create it with {{"{PRODUCTION}": {declared}}} '
            "(or the other), and the options it deploys with"
        )
    base = {"stage": stage, **(saved or {PRODUCTION: False})}
    names = {StageConfig.context_key(field.name): field.name for field in fields(StageConfig)}
    names.pop("stage")
    given = {key: node.try_get_context(key) for key in names if node.try_get_context(key) is not None}
    saved_config = StageConfig.from_context(_Layered(base))
    config = StageConfig.from_context(_Layered(given, base))
    differing = {
        key: value
        for key, value in given.items()
        if getattr(config, names[key]) != getattr(saved_config, names[key])
    }
    if differing and not hypothetical:
        key, value = next(iter(differing.items()))
        raise StageOptionsError(
            f"--context {key}={value} differs from stages/{stage}.json: save it there (what is "
            "deployed is what is saved), or synthesize it as hypothetical into a scratch directory "
            '(make synth CONTEXT="..." CDK_OUT=<dir>)'
        )
    if looks_like_production(stage) and not config.production:
        raise StageOptionsError(
            f'stage {stage} is named like production but is not declared so: set "{PRODUCTION}": true '
            f"in stages/{stage}.json (retained table and DLQ, production logging), or give the stage a "
            "name that does not read as production"
        )
    return Loaded(config, differing)
