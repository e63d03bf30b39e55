"""The ``report`` command's text table: aligned columns from a :class:`~otel_mon.report.analysis.Report`."""

from __future__ import annotations

import math
from collections.abc import Sequence

from otel_mon.report.analysis import COLUMNS, Report, iso_or_none
from otel_mon.report.units import fmt
from otel_mon.textsafe import printable
from otel_mon.timefmt import short_duration


def _num(v: float, unit: str = "") -> str:
    """A cell: bytes in binary units (``1.5 MiB``, ``771 B/s``), other figures with two decimals (thousands
    separated), so no column mixes ``4,249`` with an unscaled ``771.78``."""
    if not math.isfinite(v):
        return str(v)
    if unit in ("B", "B/s"):
        return fmt(v, unit)
    return f"{v:,.2f}"


def format_table(report: Report) -> str:
    """Aligned text: a header line, the metric table, then the health table when there are rules."""
    lines = [f"otel-mon report  {iso_or_none(report.start)} .. {iso_or_none(report.end)}  "
             f"({report.records} records, {report.points} points)", ""]
    table: list[tuple[str, ...]] = [("metric", "unit", "avg", "min", "max", "p95", "samples")]
    table += [(s.label, "" if s.unit in ("B", "B/s") else s.unit, _num(s.avg, s.unit), _num(s.min, s.unit),
               _num(s.max, s.unit), _num(s.p95, s.unit), str(s.samples)) for s in report.metrics]
    lines += _align(table, right_from=2)
    if report.health:
        lines.append("")
        health: list[tuple[str, ...]] = [("health rule", "ok", "warning", "critical", "no data", "avg", "max",
                                          "samples")]
        for h in report.health:
            share = h.share()
            name = f"{h.rule} {h.instance}" if h.instance else h.rule  # as the metric rows: "filesystem /"
            health.append((name, *(f"{share[s]:.1f}% {_duration(h.seconds[s])}" for s in COLUMNS),
                           f"{h.avg:.2f}", f"{h.max:.0f}", str(h.samples)))
        lines += _align(health, right_from=1)
        lines.append("(share of the window in each state, and for how long; no data: no sample of the rule; "
                     "avg and max: the state as a number, 0 ok, 1 warning, 2 critical; samples: collections)")
    return "\n".join(printable(line) for line in lines)  # metric labels hold host values


def _align(rows: Sequence[tuple[str, ...]], right_from: int) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [c.rjust(w) if i >= right_from else c.ljust(w) for i, (c, w) in pairs]
        out.append("  ".join(cells).rstrip())
    return out


def _duration(seconds: float) -> str:
    return f"({short_duration(seconds)})"
