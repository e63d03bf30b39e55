"""The container image: the root Dockerfile is non-root, keeps the spool on a volume, runs in host mode and its
HEALTHCHECK command really answers from /ready (run here against a real agent; no container engine needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.conftest import ROOT, AgentProcess, agent_env, free_port, wait_until

DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined; comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            keyword, _, rest = pending.strip().partition(" ")
            out.append((keyword.upper(), rest.strip()))
            pending = ""
    return out


def _healthcheck_argv() -> list[str]:
    (check,) = [args for kw, args in _instructions() if kw == "HEALTHCHECK"]
    argv = json.loads(check[check.index("CMD") + 3:].strip())
    assert isinstance(argv, list)
    return [str(a) for a in argv]


def test_dockerfile_is_non_root_with_spool_volume_and_host_mode() -> None:
    ins = _instructions()
    final = ins[max(i for i, (kw, _) in enumerate(ins) if kw == "FROM"):]
    users = [args for kw, args in final if kw == "USER"]
    assert users and users[-1] not in ("root", "0"), "the final stage must not run as root"
    assert ("VOLUME", '["/var/lib/otel-mon"]') in final
    assert ("ENV", "OTEL_MON_SPOOL__DIR=/var/lib/otel-mon") in final
    (cmd,) = [json.loads(args) for kw, args in final if kw == "CMD"]
    assert cmd[:3] == ["run", "--root-path", "/hostfs"]
    assert "/ready" in " ".join(_healthcheck_argv())
    for kw, args in ins:  # every file the build copies from the context exists
        if kw == "COPY" and "--from" not in args:
            for src in args.split()[:-1]:
                assert (ROOT / src).exists(), src
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "--pid host --network host -v /:/hostfs:ro" in text


def test_compose_builds_the_root_dockerfile() -> None:
    compose = yaml.safe_load((ROOT / "compose" / "docker-compose.yaml").read_text(encoding="utf-8"))
    build = compose["services"]["agent"]["build"]
    assert (ROOT / "compose" / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_healthcheck_command_passes_on_a_ready_agent_and_fails_without_one(
    start_agent: Callable[..., AgentProcess], tmp_path: Path,
) -> None:
    argv = _healthcheck_argv()
    assert argv[0] == "python"
    argv[0] = sys.executable
    down = subprocess.run(argv, env={**os.environ, "OTEL_MON_HTTP__PORT": str(free_port())},
                          capture_output=True, timeout=30)
    assert down.returncode != 0
    agent = start_agent("--data-dir", str(tmp_path / "spool"), "--interval", "1s",
                        env=agent_env(PYTHONPATH=str(ROOT), OTEL_MON_HTTP__TOKEN="s3cret"), ready=False)
    env = {**os.environ, "OTEL_MON_HTTP__PORT": str(agent.port), "OTEL_MON_HTTP__TOKEN": "s3cret"}

    def healthy() -> bool:
        assert agent.proc.poll() is None, agent.stderr()
        return subprocess.run(argv, env=env, capture_output=True, timeout=30).returncode == 0

    wait_until(healthy, what="HEALTHCHECK command exits 0")
    assert agent.get("/ready")[0] == 401  # the token is really required, and the check really sent it
