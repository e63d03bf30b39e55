"""`make stack-bin`: the pin file, the cache across clones, and the binaries it built for this checkout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, STACK_BIN, stack_binary

SCRIPT = ROOT / "deploy" / "stack" / "stack_bin.py"
sys.path.insert(0, str(SCRIPT.parent))
import stack_bin  # noqa: E402

HELLO = "hello  example.invalid/hello  v1.0.0  .  wrapper=tests/fixtures/stack/hello  x=main.Version=v1.0.0\n"
# What each binary prints for its version, and the version its pin line names.
VERSION_ARGS = {
    "otelcol-otel-mon": (["--version"], r"otelcol-otel-mon version (\S+)"),
    "prometheus": (["--version"], r"prometheus, version (\S+)"),
    "promtool": (["--version"], r"promtool, version (\S+)"),
    "alertmanager": (["--version"], r"alertmanager, version (\S+)"),
    "amtool": (["--version"], r"amtool, version (\S+)"),
    "node_exporter": (["--version"], r"node_exporter, version (\S+)"),
    "process-exporter": (["--version"], r"process-exporter, version (\S+)"),
    "gitleaks": (["version"], r"(v\S+)"),
}


def run_script(
    tmp_path: Path, pins: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    pin_file = tmp_path / "pins.txt"
    pin_file.write_text(pins)
    base = {**os.environ, "OTEL_MON_STACK_CACHE": str(tmp_path / "cache"), "GOFLAGS": "-mod=mod",
            "GOPROXY": "off"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--pins", str(pin_file), "--out", str(tmp_path / "bin"), *extra],
        capture_output=True, text=True, timeout=600, env={**base, **(env or {})},
    )


def test_no_go_toolchain_is_one_clear_line(tmp_path: Path) -> None:
    result = run_script(tmp_path, HELLO, env={"PATH": str(tmp_path / "empty")})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Go toolchain" in lines[0] and "go" in lines[0], result.stderr


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("x example.invalid/x 1.2.3 .", "version '1.2.3' is not a module version"),
        ("x example.invalid/x v1.2.3", "expected NAME MODULE VERSION PACKAGE"),
        ("x example.invalid/x v1.2.3 . colour=blue", "unknown option 'colour=blue'"),
        ("x example.invalid/x v1.2.3 . stub", "option 'stub' is not KEY=VALUE"),
        ("x example.invalid/x v1.2.3 . wrapper=deploy/nowhere", "deploy/nowhere does not exist"),
    ],
)
def test_bad_pin_line_names_line_and_value(tmp_path: Path, line: str, message: str) -> None:
    result = run_script(tmp_path, "# comment\n\n" + line + "\n")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and ":3: " in result.stderr and message in result.stderr, result.stderr


def test_second_run_is_served_from_the_cache_and_an_edit_rebuilds(tmp_path: Path) -> None:
    first = run_script(tmp_path, HELLO)
    assert first.returncode == 0, first.stderr + first.stdout
    assert "hello v1.0.0: built in" in first.stdout
    binary = tmp_path / "bin" / "hello"
    assert subprocess.run([binary], capture_output=True, text=True).stdout == "hello v1.0.0\n"

    # A fresh clone on the same machine: another output directory, the same cache.
    second = run_script(tmp_path, HELLO, "--out", str(tmp_path / "clone-bin"))
    assert second.returncode == 0 and "hello v1.0.0: cached" in second.stdout, second.stdout
    assert (tmp_path / "clone-bin" / "hello").read_bytes() == binary.read_bytes()

    # A changed pin line is another binary.
    third = run_script(tmp_path, HELLO.replace("x=main.Version=v1.0.0", "x=main.Version=v1.0.1"))
    assert third.returncode == 0 and "built in" in third.stdout, third.stdout
    assert subprocess.run([binary], capture_output=True, text=True).stdout == "hello v1.0.1\n"
    assert len(list((tmp_path / "cache").glob("hello-*"))) == 2


def test_shipped_pins_parse_and_name_their_files() -> None:
    pins = stack_bin.parse_pins(stack_bin.PINS.read_text())
    names = [p.name for p in pins]
    for required in ("otelcol-otel-mon", "prometheus", "promtool", "alertmanager", "amtool", "node_exporter",
                     "process-exporter", "gitleaks", "victoria-logs"):
        assert required in names
    ocb = next(p for p in pins if p.name == "otelcol-otel-mon")
    manifest = (ROOT / str(ocb.ocb)).read_text()
    # One release for every component: contrib/core v0.N with core v1.(N-94), ocb itself at v0.N.
    minor = int(ocb.version.split(".")[1])
    versions = set(re.findall(r"^\s+- gomod: \S+ (v\d+\.\d+\.\d+)", manifest, flags=re.M))
    assert versions == {f"v0.{minor}.0", f"v1.{minor - 94}.0"}, versions


@pytest.mark.parametrize("name", sorted(VERSION_ARGS))
def test_built_binary_reports_its_pinned_version(name: str) -> None:
    pin = next(p for p in stack_bin.parse_pins(stack_bin.PINS.read_text()) if p.name == name)
    args, pattern = VERSION_ARGS[name]
    result = subprocess.run([stack_binary(name), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    found = re.search(pattern, result.stdout + result.stderr)
    assert found, result.stdout + result.stderr
    # The version the pin line stamps in (x=...Version=), or for ocb the release of the manifest.
    stamped = [x.rsplit("=", 1)[1] for x in pin.xflags if ".Version=" in x or ".version=" in x]
    assert found.group(1) == (stamped[0] if stamped else pin.version.lstrip("v"))


def test_every_pinned_binary_is_built() -> None:
    for pin in stack_bin.parse_pins(stack_bin.PINS.read_text()):
        assert Path(stack_binary(pin.name)).parent == STACK_BIN


def test_the_bench_collector_is_pinned_at_the_shipped_collectors_release() -> None:
    # `make bench-bin` builds it (not `make stack-bin`: the suite never runs it); one release for both manifests.
    bench = stack_bin.parse_pins((ROOT / "benchmarks" / "bench-pins.txt").read_text(), "bench-pins.txt")
    shipped = next(p for p in stack_bin.parse_pins(stack_bin.PINS.read_text()) if p.name == "otelcol-otel-mon")
    assert [p.name for p in bench] == ["otelcol-hostmetrics"]
    assert (bench[0].module, bench[0].version) == (shipped.module, shipped.version)
    manifest = (ROOT / str(bench[0].ocb)).read_text()
    minor = int(shipped.version.split(".")[1])
    versions = set(re.findall(r"^\s+- gomod: \S+ (v\d+\.\d+\.\d+)", manifest, flags=re.M))
    assert versions == {f"v0.{minor}.0", f"v1.{minor - 94}.0"}, versions
    assert "hostmetricsreceiver" in manifest and "prometheusexporter" in manifest
