"""The secret scan of `make test` (gitleaks, built from its Go module) reads the whole git history: a token
committed and deleted later is still found, and reported redacted. (`make secrets`, run by `make test`, scans
this repository's history the same way.)"""

from __future__ import annotations

import json
import random
import string
import subprocess
from pathlib import Path

from tests.conftest import ROOT

GITLEAKS = ROOT / "build" / "tools" / "bin" / "gitleaks"  # `make secrets` builds it (make test runs that first)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60)


def _scan(repo: Path, report: Path) -> subprocess.CompletedProcess[str]:
    assert GITLEAKS.is_file(), f"{GITLEAKS} is missing: run `make secrets` (builds gitleaks from its Go module)"
    return subprocess.run([str(GITLEAKS), "git", "--no-banner", "--redact", "--report-format", "json",
                           "--report-path", str(report), str(repo)], capture_output=True, text=True, timeout=300)


def test_a_token_deleted_in_a_later_commit_is_still_found_and_redacted(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.invalid")
    _git(repo, "config", "user.name", "dev")
    # Made at run time, so the scan of this repository never sees a token in this file.
    rng = random.Random(25)
    token = "ghp_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))
    (repo / "settings.py").write_text(f'TOKEN = "{token}"\n', encoding="utf-8")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "add settings")
    (repo / "settings.py").write_text('TOKEN = ""  # from the environment now\n', encoding="utf-8")
    _git(repo, "commit", "-qam", "drop the token")
    report = tmp_path / "report.json"
    scan = _scan(repo, report)
    assert scan.returncode == 1, scan.stderr
    findings = json.loads(report.read_text(encoding="utf-8"))
    assert [(f["RuleID"], f["File"], f["Message"]) for f in findings] == [("github-pat", "settings.py",
                                                                          "add settings")]
    assert token not in report.read_text(encoding="utf-8") + scan.stdout + scan.stderr  # --redact

