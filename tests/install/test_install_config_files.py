"""Config files as a user meets them: where they are found, several merged, --print read back as is, the
sample config equal to the defaults, and every YAML block of the README and docs valid."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_mon import config, schema
from otel_mon.commands.common import config_files
from otel_mon.config_file import UniqueKeyLoader
from tests.conftest import ROOT, agent_env

EXAMPLE = ROOT / "examples" / "config.yaml"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def otel_mon(*args: str, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "otel_mon", *args], capture_output=True, text=True, timeout=60,
                          env=env or agent_env(PYTHONPATH=str(ROOT)), cwd=cwd)


def test_config_location_precedence(tmp_path: Path) -> None:
    default = tmp_path / "etc" / "config.yaml"
    ns = argparse.Namespace
    assert config_files(ns(config=[]), env={}, default=str(default)) == []  # absent default: built-ins
    default.parent.mkdir()
    default.write_text("interval: 20s\n", encoding="utf-8")
    assert config_files(ns(config=[]), env={}, default=str(default)) == [str(default)]
    assert config_files(ns(config=[]), env={"OTEL_MON_CONFIG": "/x.yaml"}, default=str(default)) == ["/x.yaml"]
    assert config_files(ns(config=["a.yaml", "b.yaml"]), env={"OTEL_MON_CONFIG": "/x.yaml"},
                        default=str(default)) == ["a.yaml", "b.yaml"]


def test_the_default_location_is_etc_otel_mon() -> None:
    from otel_mon.commands import common

    assert common.DEFAULT_CONFIG == "/etc/otel-mon/config.yaml"


def test_several_config_files_merge_in_order(tmp_path: Path) -> None:
    probes = tmp_path / "probes.yaml"
    probes.write_text("interval: 30s\nhttp: {port: 9100}\nprobes:\n  - {name: ssh, kind: tcp, host: 127.0.0.1, "
                      "port: 22}\n", encoding="utf-8")
    health = tmp_path / "health.yaml"
    health.write_text("interval: 15s\nhttp: {host: 0.0.0.0}\nhealth: {default_for: 1m}\n", encoding="utf-8")
    settings = config.load([probes, health], env={})
    assert settings.interval == 15  # the later file wins
    assert (settings.http.host, settings.http.port) == ("0.0.0.0", 9100)  # mappings merge key by key
    assert [p.name for p in settings.probes] == ["ssh"] and settings.health.default_for == 60
    out = otel_mon("check-config", "--config", str(probes), "--config", str(health), "--print")
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load(out.stdout)["interval"] == "15s"


def _roundtrip(tmp_path: Path, *args: str) -> tuple[config.Settings, config.Settings]:
    out = otel_mon("check-config", *args, "--print", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    printed = tmp_path / "printed.yaml"
    printed.write_text(out.stdout, encoding="utf-8")
    again = otel_mon("check-config", str(printed), "--print", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == out.stdout
    return config.load(printed, env={}), config.load([ROOT / a for a in args if a.endswith(".yaml")], env={})


@pytest.mark.parametrize("files", [[], ["examples/config.yaml"], ["examples/probes.yaml"]])
def test_check_config_print_is_accepted_back_as_is(files: list[str], tmp_path: Path) -> None:
    printed, original = _roundtrip(tmp_path, *[str(ROOT / f) for f in files])
    assert printed == original


def test_print_uses_units(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("interval: 500ms\nspool: {max_file_size: 500kB, max_bytes: 8MiB, max_age: 36h}\n",
                   encoding="utf-8")
    doc = yaml.safe_load(otel_mon("check-config", str(cfg), "--print").stdout)
    assert doc["interval"] == "500ms" and doc["connections"]["interval"] == "1m"
    assert doc["spool"] == {**doc["spool"], "max_file_size": "500kB", "max_bytes": "8MiB", "max_age": "36h",
                            "max_file_age": "1h"}
    printed, original = _roundtrip(tmp_path, str(cfg))
    assert printed == original


def _leaves(tree: Any, prefix: str = "") -> set[str]:
    if isinstance(tree, dict) and tree:
        return set().union(*(_leaves(v, f"{prefix}{k}.") for k, v in tree.items()))
    return {prefix.rstrip(".")}


def test_sample_config_is_every_default() -> None:
    assert config.load(EXAMPLE, env={}) == config.load(None, env={}), \
        "examples/config.yaml drifted from the defaults: compare with `otel-mon check-config --print`"
    shipped = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    printed = yaml.safe_load(otel_mon("check-config", "--print", env={"PATH": "/usr/bin:/bin",
                                                                       "PYTHONPATH": str(ROOT)}).stdout)
    # Every setting is in the sample (per-signal OTLP overrides and rule fields are written compactly).
    compact = re.compile(r"^(otlp\.(metrics|logs)|health\.rules)\b")
    missing = {k for k in _leaves(printed) - _leaves(shipped) if not compact.match(k)}
    assert not missing, f"settings missing from examples/config.yaml: {sorted(missing)}"


def _yaml_blocks() -> list[tuple[str, str]]:
    blocks = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for i, match in enumerate(re.finditer(r"^```ya?ml\n(.*?)^```", text, re.S | re.M)):
            blocks.append((f"{doc.relative_to(ROOT)}#{i + 1}", match.group(1)))
    return blocks


@pytest.mark.parametrize(("where", "block"), _yaml_blocks(), ids=[w for w, _ in _yaml_blocks()])
def test_every_yaml_block_in_readme_and_docs_is_a_valid_config(where: str, block: str) -> None:
    data = UniqueKeyLoader(block).get_single_data()  # valid YAML, no key twice
    assert isinstance(data, dict), where
    # Keys, types and values as the loader checks them (secrets named by env/files are not looked up here).
    settings = schema.build(config.Settings, data)
    assert not config.validate_health(settings.health, settings.probes), where
