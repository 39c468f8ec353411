"""The one synthesis path for tools: ``make synth``, as users run it (the CDK CLI, cdk-nag,
cfn-lint), into a directory of the caller's. What reads a template (the cost model) reads one that
``make synth`` wrote, never a second in-process app that the CLI might refuse."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from infra.names import Function, StageNames
from infra.stage_options import STAGES_DIR_VARIABLE
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


CACHE = REPO_ROOT / "cdk.out" / "synth-cache"
"""Templates ``make synth`` wrote, by the digest of everything that went into them."""
INPUTS = (
    "infra",
    "functions",
    "statemachine",
    "stages",
    "cdk.json",
    "package.json",
    "package-lock.json",
    "pyproject.toml",
    "uv.lock",
    "Makefile",
)
"""What a synthesis reads from the checkout: the app, the asset, the ASL, the saved options, and
the locked versions of the CDK CLI, aws-cdk-lib, cdk-nag and cfn-lint."""
ENVIRONMENT = (
    "CDK_DEFAULT_ACCOUNT",
    "CDK_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    STAGES_DIR_VARIABLE,
)
"""What a synthesis reads from the environment (the CLI's account and region, the options' directory)."""


def inputs_digest(stage: str, context: Mapping[str, str] | None) -> str | None:
    """The digest of a synthesis's inputs: every file of ``INPUTS`` git sees (tracked or new, as
    they are on disk), the saved options' directory, the variables of ``ENVIRONMENT``, the stage
    and the context. None where git cannot list the files (then nothing is cached)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *INPUTS],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    paths = sorted({REPO_ROOT / name.decode() for name in listed.split(b"\0") if name})
    stages_dir = os.environ.get(STAGES_DIR_VARIABLE)
    if stages_dir:
        paths += sorted(Path(stages_dir).glob("*.json"))
    digest = hashlib.sha256()
    for path in paths:
        if path.is_file():
            digest.update(f"{path}\0".encode() + path.read_bytes() + b"\0")
    settings = {
        "stage": stage,
        "context": dict(context or {}),
        "environment": {name: os.environ.get(name) for name in ENVIRONMENT},
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def synthesized_template(
    stage: str, outdir: Path, context: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The stage's template as ``make synth`` writes it into ``outdir`` (with ``context``, a
    hypothetical synthesis). A template ``make synth`` already wrote from the very same inputs
    (``inputs_digest``) is read from ``CACHE`` instead: the same checkout, options and
    environment synthesize the same template, and it passed cdk-nag and cfn-lint then."""
    key = inputs_digest(stage, context)
    cached = CACHE / f"{key}.template.json" if key else None
    if cached is not None and cached.is_file():
        document: dict[str, Any] = json.loads(cached.read_text())
        return document
    result = make_synth(stage, outdir, context=context)
    if result.returncode != 0:
        raise SynthError(f"make synth STAGE={stage} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    written = (outdir / f"{StageNames(stage).stack}.template.json").read_text()
    if cached is not None:
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(written)
        partial.replace(cached)  # atomic: a concurrent reader sees a whole template or none
    template: dict[str, Any] = json.loads(written)
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
