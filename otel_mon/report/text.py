"""The ``report`` command's text table: aligned columns from a :class:`~otel_mon.report.analysis.Report`."""

from __future__ import annotations

import math
from collections.abc import Sequence

from otel_mon.report.analysis import COLUMNS, Report, iso_or_none
from otel_mon.textsafe import printable
from otel_mon.timefmt import short_duration


def _num(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}"


def format_table(report: Report) -> str:
    """Aligned text: a header line, the metric table, then the health table when there are rules."""
    lines = [f"otel-mon report  {iso_or_none(report.start)} .. {iso_or_none(report.end)}  "
             f"({report.records} records, {report.points} points)", ""]
    table: list[tuple[str, ...]] = [("metric", "unit", "avg", "min", "max", "p95", "samples")]
    table += [(s.label, s.unit, _num(s.avg), _num(s.min), _num(s.max), _num(s.p95), str(s.samples))
              for s in report.metrics]
    lines += _align(table, right_from=2)
    if report.health:
        lines.append("")
        health: list[tuple[str, ...]] = [("health rule", "ok", "warning", "critical", "no data", "avg", "max",
                                          "samples")]
        for h in report.health:
            share = h.share()
            name = f"{h.rule}[{h.instance}]" if h.instance else h.rule
            health.append((name, *(f"{share[s]:.1f}% {_duration(h.seconds[s])}" for s in COLUMNS),
                           f"{h.avg:.2f}", f"{h.max:.0f}", str(h.samples)))
        lines += _align(health, right_from=1)
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
