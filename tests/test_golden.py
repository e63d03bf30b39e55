"""End to end: ``otel-mon snapshot --root-path tests/fixtures/host1`` against a checked-in golden file.

The shape of node_exporter's e2e test: every metric, attribute set and value the fixture host yields, one
sorted line each, so a change to any domain shows up as a diff a reviewer reads. Values that come from the
machine running the test rather than from the fixture tree (statvfs of the fixture's directories, the agent's
own process, the kernel clock) are shown as ``*``; their names and attributes are still compared.

Regenerate after an intended change: ``pytest tests/test_golden.py --update-golden`` (or ``UPDATE_GOLDEN=1``),
then review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from otel_mon import cli

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "host1-snapshot.txt"
LIVE_PREFIXES = ("system.filesystem.", "process.", "otel_mon.host.clock.")  # values from the test machine
LIVE_READINGS = ("filesystem", "inodes", "clock.offset", "clock.unsynchronized", "clock.max_error")


def _value(v: float) -> str:
    return repr(round(v, 6)) if isinstance(v, float) and not v.is_integer() else str(int(v))


def render(doc: dict[str, Any]) -> str:
    lines = []
    for name, metric in doc["metrics"].items():
        for point in metric["points"]:
            attrs = ",".join(f'{k}="{v}"' for k, v in sorted(point["attributes"].items()))
            value = "*" if name.startswith(LIVE_PREFIXES) else _value(point["value"])
            lines.append(f"{name}{{{attrs}}} {metric['unit']} {value}")
    for reading, instances in doc["readings"].items():
        for instance, v in instances.items():
            lines.append(f"reading {reading}[{instance}] {'*' if reading in LIVE_READINGS else _value(v)}")
    return "\n".join(sorted(lines)) + "\n"


def test_snapshot_of_host1_matches_the_golden_file(
    fake_root: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    for key in list(os.environ):
        if key.startswith("OTEL_"):
            monkeypatch.delenv(key)
    root = fake_root("host1")  # restores psutil's PROCFS_PATH afterwards
    assert cli.main(["snapshot", "--root-path", str(root), "--wait", "0"]) == 0
    got = render(json.loads(capsys.readouterr().out))
    if request.config.getoption("--update-golden") or os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(got)
    assert got == GOLDEN.read_text(), "snapshot changed: pytest tests/test_golden.py --update-golden, review the diff"
