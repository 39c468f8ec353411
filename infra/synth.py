"""The one synthesis path for tools: ``make synth``, as users run it (the CDK CLI, cdk-nag,
cfn-lint), into a directory of the caller's. What reads a template (the cost model) reads one that
``make synth`` wrote, never a second in-process app that the CLI might refuse."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from infra.names import Function, StageNames
from infra.workflow_definition import REPO_ROOT


class SynthError(RuntimeError):
    """``make synth`` failed; the message holds the end of what it printed."""


def make_synth(
    stage: str,
    outdir: Path,
    environment: Mapping[str, str] | None = None,
    context: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``make synth STAGE=<stage> CDK_OUT=<outdir> [CONTEXT="key=value ..."]``; ``environment``
    replaces the process's own."""
    extra = [f"CONTEXT={' '.join(f'{key}={value}' for key, value in context.items())}"] if context else []
    return subprocess.run(
        ["make", "--no-print-directory", "synth", f"STAGE={stage}", f"CDK_OUT={outdir}", *extra],
        cwd=REPO_ROOT,
        env=dict(os.environ if environment is None else environment),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def synthesized_template(
    stage: str, outdir: Path, context: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The stage's template as ``make synth`` writes it into ``outdir`` (with ``context``, a
    hypothetical synthesis)."""
    result = make_synth(stage, outdir, context=context)
    if result.returncode != 0:
        raise SynthError(f"make synth STAGE={stage} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    template: dict[str, Any] = json.loads((outdir / f"{StageNames(stage).stack}.template.json").read_text())
    return template


def synthesized_templates(stages: list[str], outdir: Path) -> dict[str, dict[str, Any]]:
    """Each stage's template as ``make synth`` writes it (one directory a stage, run side by side)."""
    with ThreadPoolExecutor(max_workers=len(stages)) as pool:
        documents = pool.map(lambda stage: synthesized_template(stage, outdir / stage), stages)
        return dict(zip(stages, documents, strict=True))


def resources(document: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """A template's resources of one type: logical id → properties."""
    return {key: r.get("Properties", {}) for key, r in document["Resources"].items() if r["Type"] == kind}


def functions(document: Mapping[str, Any]) -> dict[str, Function]:
    """A template's Lambda functions: logical id → which function (its name ends in it)."""
    return {
        key: Function(properties["FunctionName"].rsplit("-", 1)[-1])
        for key, properties in resources(document, "AWS::Lambda::Function").items()
    }
