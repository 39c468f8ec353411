"""The release's files agree: the package's version is the API document's, the client
library's and the changelog's newest entry; the LICENSE file is the license pyproject.toml declares."""

from __future__ import annotations

import json
import re
import tomllib

from infra.workflow_definition import REPO_ROOT

PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
LICENSE_TITLES = {"MIT-0": "MIT No Attribution"}


def test_the_package_the_api_document_and_the_changelog_carry_one_version() -> None:
    document = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
    newest = re.search(r"^## (\S+) — \d{4}-\d{2}-\d{2}$", (REPO_ROOT / "CHANGELOG.md").read_text(), re.M)
    assert newest is not None, "CHANGELOG.md: no '## <version> — <date>' entry"
    client = tomllib.loads((REPO_ROOT / "client" / "pyproject.toml").read_text())["project"]
    assert document["info"]["version"] == PROJECT["version"] == newest.group(1) == client["version"]
    assert client["license"] == PROJECT["license"]


def test_the_license_file_is_the_declared_license() -> None:
    assert (REPO_ROOT / "LICENSE").read_text().splitlines()[0] == LICENSE_TITLES[PROJECT["license"]]


def test_every_operation_declares_the_gateway_s_schemes_and_its_own_answers() -> None:
    document = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
    assert set(document["components"]["securitySchemes"]) == {"sigv4", "jwt"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"sigv4": []}, {"jwt": []}], (path, method)
            assert {"401", "403", "429"} <= set(operation["responses"]), (path, method)


def test_the_user_docs_cite_no_issue_numbers_and_speak_in_no_first_person() -> None:
    """The README and docs/ are for users: what the project's own issues said, or what a session
    did or did not do, belongs in the issues and in docs/contributing/."""
    pattern = re.compile(r"\b[Ii]ssues? \d+\b|\bI (have|did|could|will|am|was)\b|\bwe (have|did) not\b")
    for path in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        found = [line for line in path.read_text().splitlines() if pattern.search(line)]
        assert found == [], (path.name, found)
