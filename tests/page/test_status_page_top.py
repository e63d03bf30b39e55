"""The status page's "Top" section in headless Chromium against a real agent: a CPU burner the test starts
is the first row of the processes table and its group the first of the groups, as /api/status says."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pagekit import Page

from tests.conftest import AgentProcess, wait_until
from tests.workload.workers import BURN, running, spawn

FIRST = ("(() => { const r = document.querySelector('#{table} tbody tr');"
         " return r ? [...r.cells].map((c) => c.textContent) : null; })()")


def test_the_burner_tops_the_table_as_api_status_says(
        page: Page, start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    cfg = tmp_path / "agent.yaml"
    cfg.write_text('interval: 1s\ntop_processes: {enabled: true, count: 5}\n'
                   'process_groups:\n  - {name: burner, comm: "^wl-page-burn$"}\n')
    with running(spawn(BURN, "wl-page-burn")) as (burn,):
        agent = start_agent("--config", str(cfg), "--data-dir", str(tmp_path / "spool"))
        page.navigate(agent.base + "/")
        page.wait_for("document.body.dataset.rendered === 'true'")

        def shown() -> list[str] | None:
            row = page.evaluate(FIRST.replace("{table}", "top-processes"))
            return row if row and row[1] == "wl-page-burn" else None

        row = wait_until(shown, 60, what="the burner at the top of the page's table")
        top = json.loads(agent.get("/api/status")[1])["top"]
        assert top["processes"][0]["pid"] == burn.pid and row[0] == str(burn.pid)
        assert top["processes"][0]["cpu_percent"] > 30 and row[3].endswith("%")
        assert len(top["processes"]) <= 2 * 5  # the 5 busiest by CPU and the 5 largest by RSS
        group = wait_until(lambda: (r := page.evaluate(FIRST.replace("{table}", "top-groups"))) and
                           r[0] == "burner" and r, 30, what="the burner's group first")
        assert group[1] == "1"
        assert top["groups"][0]["name"] == "burner" and top["groups"][0]["processes"] == 1
        assert page.evaluate("document.getElementById('top-services').hidden") is True  # cgroups off
    assert page.problems() == []
