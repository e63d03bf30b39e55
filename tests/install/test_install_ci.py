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
    checkout = next(step for step in workflow["jobs"]["test"]["steps"] if "checkout" in step.get("uses", ""))
    assert checkout["with"]["fetch-depth"] == 0  # the secret scan reads the whole history
    # PyYAML reads the bare key `on` as True: the triggers are there all the same.
    assert {"push", "pull_request"} <= set(workflow[True])


def test_make_test_runs_the_security_lint_and_coverage_with_a_floor() -> None:
    import tomllib

    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    lint = make.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    test = make.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "bandit -q -r otel_mon" in lint and {"lint", "secrets"} <= set(test.splitlines()[0].split())
    assert "$(GITLEAKS) git --no-banner --no-color --redact ." in make
    assert "$(COVERAGE)" in test and "COVERAGE ?= --cov --cov-report=" in make and "--durations=15" in test
    floor = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["coverage"]["report"]
    assert floor["fail_under"] >= 85
