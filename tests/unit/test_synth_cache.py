"""The tools' synthesis cache (infra/synth.py): a template ``make synth`` wrote is reused only for
the very same inputs — every file it reads, tracked or new, the saved options' directory, the
environment the CLI reads, the stage and the context."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra import synth
from infra.stage_options import STAGES_DIR_VARIABLE


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "functions").mkdir(parents=True)
    (root / "functions" / "handler.py").write_text("x = 1\n")
    (root / "cdk.json").write_text("{}\n")
    (root / "README.md").write_text("not an input\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    monkeypatch.setattr(synth, "REPO_ROOT", root)
    monkeypatch.setattr(synth, "CACHE", tmp_path / "cache")
    for name in synth.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    return root


def test_the_digest_follows_every_input_and_nothing_else(
    checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = synth.inputs_digest("dev", None)
    assert first is not None
    assert synth.inputs_digest("dev", None) == first, "the same inputs, the same digest"

    (checkout / "README.md").write_text("changed, and not an input\n")
    assert synth.inputs_digest("dev", None) == first

    changed: dict[str, Callable[[], object]] = {
        "a tracked file changed": lambda: (checkout / "functions" / "handler.py").write_text("x = 2\n"),
        "a new file not yet added": lambda: (checkout / "functions" / "new.py").write_text("y = 1\n"),
        "the CLI's region": lambda: monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-west-1"),
    }
    seen: set[str | None] = {first}
    for what, change in changed.items():
        change()
        digest = synth.inputs_digest("dev", None)
        assert digest not in seen, what
        seen.add(digest)
    assert synth.inputs_digest("prod", None) not in seen, "the stage"
    assert synth.inputs_digest("dev", {"apiRateLimit": "5000"}) not in seen, "the context"
    options = checkout / "private-stages"
    options.mkdir()
    (options / "dev.json").write_text("{}")
    monkeypatch.setenv(STAGES_DIR_VARIABLE, str(options))
    with_directory = synth.inputs_digest("dev", None)
    assert with_directory not in seen, "the saved options' directory"
    (options / "dev.json").write_text('{"production": false}')
    assert synth.inputs_digest("dev", None) != with_directory, "a saved option in that directory"


def test_a_template_make_synth_wrote_is_read_again_without_synthesizing(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def make_synth(stage: str, outdir: Path, **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(stage)
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir / f"ProcessTaskManager-{stage}.template.json").write_text(json.dumps({"Resources": {"n": 1}}))
        return subprocess.CompletedProcess([], 0, "", "")

    monkeypatch.setattr(synth, "make_synth", make_synth)
    first = synth.synthesized_template("dev", tmp_path / "a")
    again = synth.synthesized_template("dev", tmp_path / "b")
    other = synth.synthesized_template("dev", tmp_path / "c", {"apiRateLimit": "5000"})

    assert first == again == other == {"Resources": {"n": 1}}
    assert calls == ["dev", "dev"], "the second read came from the cache; another context synthesized"
    (checkout / "functions" / "handler.py").write_text("x = 3\n")
    synth.synthesized_template("dev", tmp_path / "d")
    assert calls == ["dev", "dev", "dev"], "a changed input synthesizes again"


def test_a_failed_synthesis_is_never_cached(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        synth,
        "make_synth",
        lambda stage, outdir, **_: subprocess.CompletedProcess([], 2, "", "cdk-nag: error"),
    )
    with pytest.raises(synth.SynthError, match="cdk-nag: error"):
        synth.synthesized_template("dev", tmp_path / "a")
    assert not synth.CACHE.exists() or list(synth.CACHE.iterdir()) == []
