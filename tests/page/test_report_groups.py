"""Issue 22: ``report --html`` draws each process group's CPU and memory over time, from a real agent's spool
with a real CPU burner in its own group; and issue 24 item 9: the text table's units are scaled and its health
table says what its columns mean."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_report_page import report, run_agent

from tests.conftest import AgentProcess


@pytest.fixture
def burner() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.argv[0] = 'burner'\nwhile True: pass",
                             "otelmon-burn"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_group_cpu_and_memory_charts(start_agent: Callable[..., AgentProcess], tmp_path: Path,
                                     burner: subprocess.Popen[bytes]) -> None:
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("""
interval: 250ms
process_groups:
  - {name: burn, cmdline: "otelmon-burn"}
""")
    spool = tmp_path / "spool"
    run_agent(start_agent, cfg, spool, 4.0)
    out_file = tmp_path / "r.html"
    done = report("--data-dir", str(spool), "--since", "10m", "--html", str(out_file), "--bucket", "1s")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    cpu = next(line for line in lines if line.startswith("process group burn CPU"))
    memory = next(line for line in lines if line.startswith("process group burn memory"))
    avg = float(cpu.split()[5])
    assert 20 < avg <= 105, cpu  # one busy thread: about one core, on a shared machine at least a fifth
    assert re.search(r"\d MiB", memory), memory  # scaled: a Python process holds some MiB, not 9,437,184
    health = next(line for line in lines if line.startswith("health rule"))
    assert health.split()[2:7] == ["ok", "warning", "critical", "no", "data"]
    assert "avg and max: the state as a number, 0 ok, 1 warning, 2 critical" in done.stdout  # columns explained
    assert not [line for line in lines if "[" in line.split("  ")[0]]  # "filesystem /", never "filesystem[/]"
    page = html.unescape(out_file.read_text())
    assert "<h3>Group burn: CPU (% of one core)</h3>" in page and "<h3>Group burn: memory (RSS)</h3>" in page
    section = page[page.index("<h3>Group burn: CPU"):]
    section = section[:section.index("</section>")]
    tips = re.findall(r"UTC: avg ([\d.,]+) %", section)
    assert len(tips) >= 2 and max(float(t.replace(",", "")) for t in tips) > 20, tips
