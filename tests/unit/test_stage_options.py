"""A stage's options are saved, production is declared (infra/stage_options.py): each rule on a
stages directory of the test's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.stage_config import ApiAuth, Toggle
from infra.stage_options import StageOptionsError, load, looks_like_production, saved_options


class Context:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def try_get_context(self, key: str) -> Any:
        return self.values.get(key)


def _stages(tmp_path: Path, **files: Any) -> Path:
    for stage, options in files.items():
        (tmp_path / f"{stage}.json").write_text(options if isinstance(options, str) else json.dumps(options))
    return tmp_path


def test_synthesis_deploys_what_the_stage_file_saves(tmp_path: Path) -> None:
    stages = _stages(tmp_path, prod={"production": True, "webhooks": "on", "apiRateLimit": 500})
    loaded = load(Context({"stage": "prod"}), stages)
    assert (loaded.config.production, loaded.config.webhooks, loaded.config.api_rate_limit) == (
        True,
        Toggle.ON,
        500,
    )
    assert loaded.config.is_production
    assert loaded.config.retention_days == 30
    assert (loaded.hypothetical, loaded.label) == ({}, "")


def test_an_override_that_differs_from_the_saved_value_is_refused_in_one_line(tmp_path: Path) -> None:
    stages = _stages(tmp_path, prod={"production": True, "apiRateLimit": 500})
    with pytest.raises(StageOptionsError) as refusal:
        load(Context({"stage": "prod", "apiRateLimit": "1200"}), stages)
    message = str(refusal.value)
    assert message.startswith("--context apiRateLimit=1200 differs from stages/prod.json: save it there")
    assert "\n" not in message
    with pytest.raises(StageOptionsError, match="webhooks=on differs"):
        load(Context({"stage": "prod", "webhooks": "on"}), stages)  # the default (off) is what is saved
    assert load(Context({"stage": "prod", "apiRateLimit": "500"}), stages).hypothetical == {}, (
        "the same value"
    )


def test_a_hypothetical_synthesis_takes_overrides_and_says_which(tmp_path: Path) -> None:
    stages = _stages(tmp_path, prod={"production": True})
    context = {"stage": "prod", "hypothetical": "true", "apiAuth": "jwt", "jwtIssuer": "https://i.example"}
    loaded = load(Context({**context, "jwtAudience": "a"}), stages)
    assert loaded.config.api_auth is ApiAuth.JWT
    assert set(loaded.hypothetical) == {"apiAuth", "jwtIssuer", "jwtAudience"}
    assert loaded.label == " [hypothetical, not the saved options: apiAuth, jwtAudience, jwtIssuer]"
    scratch = load(Context({"stage": "qa", "hypothetical": "true"}), stages)
    assert scratch.config.production is False, "a stage without a file, hypothetically: not production"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ({"webhooks": "on"}, 'must state "production": true or false'),
        ({"production": "yes"}, 'must state "production": true or false'),
        ([1, 2], "must be a JSON object"),
        ("{not json", "not JSON"),
        ({"production": False, "apiRateLimt": 5}, "apiRateLimt is not a stage option"),
    ],
)
def test_a_stage_file_that_breaks_a_rule_is_refused(tmp_path: Path, content: Any, says: str) -> None:
    stages = _stages(tmp_path, qa=content)
    with pytest.raises(StageOptionsError, match=says):
        saved_options("qa", stages)
    with pytest.raises(StageOptionsError, match=says):
        load(Context({"stage": "qa"}), stages)


def test_a_stage_without_a_file_is_refused_unless_hypothetical(tmp_path: Path) -> None:
    with pytest.raises(
        StageOptionsError, match=r'no stages/qa\.json; create it with \{"production": false\}'
    ):
        load(Context({"stage": "qa"}), tmp_path)
    with pytest.raises(
        StageOptionsError, match=r'no stages/prd\.json; create it with \{"production": true\}'
    ):
        load(Context({"stage": "prd"}), tmp_path)  # the declaration its name will need


@pytest.mark.parametrize(
    "stage", ["prod", "prd", "live", "production", "prod-eu", "eu_production", "prod2", "PRD"]
)
def test_a_stage_named_like_production_must_declare_it(tmp_path: Path, stage: str) -> None:
    assert looks_like_production(stage)
    stages = _stages(tmp_path, **{stage: {"production": False}})
    with pytest.raises(
        StageOptionsError,
        match=f'stage {stage} is named like production but is not declared so: set "production": true',
    ):
        load(Context({"stage": stage}), stages)
    with pytest.raises(StageOptionsError, match="named like production"):
        load(Context({"stage": stage, "hypothetical": "true"}), tmp_path / "none")
    _stages(tmp_path, **{stage: {"production": True}})
    assert load(Context({"stage": stage}), stages).config.is_production


@pytest.mark.parametrize("stage", ["dev", "product-demo", "staging", "qa-eu", "reprod", "lively"])
def test_other_names_are_not_production_unless_declared(tmp_path: Path, stage: str) -> None:
    assert not looks_like_production(stage)
    stages = _stages(tmp_path, **{stage: {"production": False}})
    assert not load(Context({"stage": stage}), stages).config.is_production
    _stages(tmp_path, **{stage: {"production": True}})
    config = load(Context({"stage": stage}), stages).config
    assert config.is_production, "declared, whatever the name"
    assert (config.retention_days, config.simulation_allowed) == (30, False)


def test_the_repository_s_stage_files_declare_dev_and_prod() -> None:
    assert saved_options("dev") == {"production": False}
    assert (saved_options("prod") or {})["production"] is True
