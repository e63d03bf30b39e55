"""The GitHub workflow for forks runs the README's test command and builds the image from the root Dockerfile."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import ROOT

# Checks the code's shape, not its behaviour (the `shape` marker in pyproject.toml).
pytestmark = pytest.mark.shape


def test_workflow_runs_make_test_and_builds_the_image() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    runs = {name: " ".join(step.get("run", "") for step in job["steps"]) for name, job in workflow["jobs"].items()}
    assert "make test" in runs["test"] and "OTEL_MON_REQUIRE_INTEGRATION=1" in runs["test"]
    assert "docker build -t otel-mon:ci ." in runs["image"]
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")
    # PyYAML reads the bare key `on` as True: the triggers are there all the same.
    assert {"push", "pull_request"} <= set(workflow[True])
