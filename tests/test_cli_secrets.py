"""Silently unsafe configurations are refused or warned about (issue 11): real ``check-config`` processes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, agent_env
from tests.test_cli import otel_mon


def _check(**env: str) -> tuple[int, list[str], str]:
    out = otel_mon("check-config", env=agent_env(PYTHONPATH=str(ROOT), **env))
    return out.returncode, out.stderr.strip().splitlines(), out.stdout


@pytest.mark.parametrize(("content", "why"), [
    (b"", "is empty"), (b"\n", "is empty"), (b"  \t\n", "holds only whitespace"),
    (b" tok\n", "has whitespace around the secret"), (b"to\x01k", "holds control characters"),
    (b"tok\n\n", "has whitespace around the secret"),
])
def test_unusable_token_files_exit_2_in_one_line(tmp_path: Path, content: bytes, why: str) -> None:
    token = tmp_path / "token"
    token.write_bytes(content)
    token.chmod(0o600)
    code, lines, _ = _check(OTEL_MON_HTTP__TOKEN_FILE=str(token))
    assert code == 2 and len(lines) == 1, lines
    assert why in lines[0] and "tok" not in lines[0].replace(str(token), "")


@pytest.mark.parametrize("token", ["", " ", "tok ", "to\rk", "to\x7fk"])
def test_unusable_tokens_exit_2(token: str) -> None:
    code, lines, _ = _check(OTEL_MON_HTTP__TOKEN=token)
    assert code == 2 and len(lines) == 1 and "http.token" in lines[0], lines


def test_dev_zero_and_huge_secret_files_are_refused(tmp_path: Path) -> None:
    code, lines, _ = _check(OTEL_MON_HTTP__TOKEN_FILE="/dev/zero")
    assert code == 2
    assert lines == ["otel-mon: config error: OTEL_MON_HTTP__TOKEN_FILE: '/dev/zero' is not a regular file"]
    huge = tmp_path / "huge"
    huge.write_bytes(b"a" * 200_000)
    code, lines, _ = _check(OTEL_MON_HTTP__TOKEN_FILE=str(huge))
    assert code == 2 and len(lines) == 1 and "larger than 64 KiB" in lines[0]


def test_a_world_readable_secret_file_is_one_warning(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    token.chmod(0o644)
    code, lines, out = _check(OTEL_MON_HTTP__TOKEN_FILE=str(token))
    assert code == 0
    assert out == "(defaults): ok\n"
    warnings = lines
    assert len(warnings) == 1 and "readable by every user" in warnings[0] and "s3cret" not in warnings[0]
    token.chmod(0o640)
    assert _check(OTEL_MON_HTTP__TOKEN_FILE=str(token)) == (0, [], "(defaults): ok\n")


def test_check_config_print_redacts_query_strings(tmp_path: Path) -> None:
    env = agent_env(PYTHONPATH=str(ROOT), OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318/?api_key=SECRETKEY")
    out = otel_mon("check-config", "--print", env=env)
    assert out.returncode == 0, out.stderr
    assert "SECRETKEY" not in out.stdout + out.stderr
    assert yaml.safe_load(out.stdout)["otlp"]["endpoint"] == "http://collector:4318/?..."


def test_redaction_of_urls_in_text() -> None:
    from otel_mon.urls import redact_text, redact_url

    assert redact_url("https://user:pw@host:1/p?k=v#f") == "https://host:1/p?..."
    text = "GET https://u:p@h/x?token=1 failed; see http://h/ok"
    assert redact_text(text) == "GET https://h/x?... failed; see http://h/ok"
