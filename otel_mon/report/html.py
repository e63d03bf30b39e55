"""The ``report --html`` file: the text report's figures as one self-contained page with inline SVG charts.

No script at all (a ``Content-Security-Policy`` meta tag forbids any), no external file: the page opens
from a mail attachment or an air-gapped host the same way. Each chart shows, per bucket, the min..max band
and the average line of the same aggregation the text table uses; empty buckets are gaps (shaded), never
zeros. Pure: values in, a string out.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import datetime, timezone

from otel_mon import __version__
from otel_mon.report.analysis import COLUMNS, HealthTime, Report, Stat
from otel_mon.report.timeline import Timeline, TransitionRow
from otel_mon.report.units import fmt
from otel_mon.timefmt import short_duration as _duration

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
W, H = 440, 150  # chart viewBox
LEFT, RIGHT, TOP, BOTTOM = 72, 8, 10, 24

_STYLE = """
:root { --bg:#f4f6f9; --card:#fff; --text:#18202c; --muted:#5d6878; --line:#dde2ea; --grid:#e9edf2;
  --band:rgba(47,111,219,.18); --avg:#2f6fdb; --gap:rgba(93,104,120,.10); --nodata:#9aa3af;
  --ok:#1e8e4f; --warning:#d99a00; --critical:#c62828; color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :root { --bg:#0e1117; --card:#171b23; --text:#e5e9f0; --muted:#97a1b1;
  --line:#2a303b; --grid:#232833; --band:rgba(110,161,255,.22); --avg:#6ea1ff; --gap:rgba(151,161,177,.10);
  --nodata:#5d6878;
  --ok:#4fd08a; --warning:#ffc24d; --critical:#ff6b6b; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1240px; padding: 18px 20px 28px; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
h1 { font-size: 1.5rem; margin: 0 0 4px; } h2 { font-size: 1.05rem; margin: 22px 0 10px; }
h3 { font-size: .9rem; margin: 0 0 4px; font-weight: 600; }
.muted { color: var(--muted); } .small { font-size: .82rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; min-width: 0; }
svg { display: block; width: 100%; height: auto; }
svg text { fill: var(--muted); font-size: 12px; }
.band { fill: var(--band); } .avg { fill: none; stroke: var(--avg); stroke-width: 1.6; }
.dot { fill: var(--avg); } .gap { fill: var(--gap); } .gridline { stroke: var(--grid); stroke-width: 1; }
.hit { fill: transparent; }
.ok { fill: var(--ok); } .warning { fill: var(--warning); } .critical { fill: var(--critical); }
.no_data { fill: var(--nodata); } .legend .lnd { background: var(--nodata); }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th { text-align: left; color: var(--muted); font-weight: 600; font-size: .76rem; text-transform: uppercase;
  letter-spacing: .04em; }
th, td { padding: 5px 12px 5px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { overflow-x: auto; }
.state { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: .75rem; font-weight: 600;
  text-transform: uppercase; color: #fff; }
.state.s-ok { background: var(--ok); } .state.s-warning { background: var(--warning); color: #222; }
.state.s-critical { background: var(--critical); }
.legend { display: flex; gap: 14px; font-size: .8rem; color: var(--muted); margin: 4px 0 8px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px;
  vertical-align: -1px; }
.legend .lb { background: var(--band); } .legend .la { background: var(--avg); }
.legend .lg { background: var(--gap); } .legend .lok { background: var(--ok); }
.legend .lw { background: var(--warning); } .legend .lc { background: var(--critical); }
footer { margin-top: 22px; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _utc(t: float, with_date: bool) -> str:
    when = datetime.fromtimestamp(t, tz=timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M:%S" if t % 60 else "%H:%M")


def _ceiling(value: float, unit: str = "") -> float:
    """A round number at or above ``value`` for the y axis (1, 2, 2.5, 5 x 10^n, in KiB/MiB for bytes)."""
    if value <= 0:
        return 1.0
    scale = 1.0
    if unit in ("B", "B/s"):
        while value / scale >= 1024:
            scale *= 1024
    scaled = value / scale
    power = 10 ** math.floor(math.log10(scaled))
    return scale * float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= scaled))


def chart(title: str, unit: str, stats: Sequence[Stat | None], timeline: Timeline) -> str:
    """One SVG chart: the band and average line per bucket, shaded gaps, axes with UTC times."""
    top = 100.0 if unit == "%" else _ceiling(max((s.max for s in stats if s is not None), default=0.0), unit)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    n = len(stats)

    def x(i: float) -> float:
        return LEFT + plot_w * i / n

    def y(v: float) -> float:
        return TOP + plot_h * (1 - min(max(v / top, 0.0), 1.0))

    out = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{_e(title)}">']
    for frac in (0.0, 0.5, 1.0):
        gy = TOP + plot_h * (1 - frac)
        out.append(f'<line class="gridline" x1="{LEFT}" x2="{W - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>')
        out.append(f'<text x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">{_e(fmt(top * frac, unit))}</text>')
    runs: list[list[int]] = []
    for i, stat in enumerate(stats):
        if stat is None:
            out.append(f'<rect class="gap" x="{x(i):.1f}" y="{TOP}" width="{x(i + 1) - x(i):.2f}" '
                       f'height="{plot_h}"><title>no data</title></rect>')
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        present = [(i, s) for i in run if (s := stats[i]) is not None]
        if len(present) == 1:
            i, s = present[0]
            out.append(f'<rect class="band" x="{x(i):.1f}" y="{y(s.max):.1f}" width="{x(i + 1) - x(i):.2f}" '
                       f'height="{max(y(s.min) - y(s.max), 1):.1f}"/>')
            out.append(f'<circle class="dot" cx="{x(i + 0.5):.1f}" cy="{y(s.avg):.1f}" r="2"/>')
            continue
        upper = " ".join(f"{x(i + 0.5):.1f},{y(s.max):.1f}" for i, s in present)
        lower = " ".join(f"{x(i + 0.5):.1f},{y(s.min):.1f}" for i, s in reversed(present))
        out.append(f'<polygon class="band" points="{upper} {lower}"/>')
        line = " ".join(f"{x(i + 0.5):.1f},{y(s.avg):.1f}" for i, s in present)
        out.append(f'<polyline class="avg" points="{line}"/>')
    with_date = timeline.end - timeline.start > 86400
    for i, stat in enumerate(stats):  # hover: the bucket's figures (native tooltip, no script)
        if stat is not None:
            samples = f"{stat.samples} sample{'' if stat.samples == 1 else 's'}"
            label = (f"{_utc(timeline.bucket_start(i), True)} UTC: avg {fmt(stat.avg, unit)}, "
                     f"min {fmt(stat.min, unit)}, max {fmt(stat.max, unit)} ({samples})")
            out.append(f'<rect class="hit" x="{x(i):.1f}" y="{TOP}" width="{x(i + 1) - x(i):.2f}" '
                       f'height="{plot_h}"><title>{_e(label)}</title></rect>')
    for frac, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        t = timeline.start + (timeline.end - timeline.start) * frac
        out.append(f'<text x="{LEFT + plot_w * frac:.1f}" y="{H - 6}" text-anchor="{anchor}">'
                   f'{_e(_utc(t, with_date))}</text>')
    out.append("</svg>")
    return "".join(out)


def _health_bar(h: HealthTime) -> str:
    share = h.share()
    out = ['<svg viewBox="0 0 300 14" preserveAspectRatio="none" role="img" '
           f'aria-label="{_e(h.rule)} time per state">']
    left = 0.0
    for state in COLUMNS:
        width = 300 * share[state] / 100
        if width > 0:
            out.append(f'<rect class="{state}" x="{left:.2f}" y="0" width="{width:.2f}" height="14">'
                       f'<title>{state.replace("_", " ")}: {share[state]:.1f} %</title></rect>')
        left += width
    out.append("</svg>")
    return "".join(out)




def _title(label: str) -> str:
    names = {"cpu": "CPU", "memory": "Memory", "load 1m": "Load (1m)"}
    if label in names:
        return names[label]
    if label.startswith("process group "):
        group, _, what = label[len("process group "):].rpartition(" ")
        return f"Group {group}: {'CPU (% of one core)' if what == 'CPU' else 'memory (RSS)'}"
    kind, _, rest = label.partition(" ")
    if kind == "network":
        nic, _, direction = rest.rpartition(" ")
        return f"Network {nic} {'in' if direction == 'receive' else 'out' if direction == 'transmit' else direction}"
    return f"{kind.capitalize()} {rest}" if rest else label


def render(report: Report, timeline: Timeline, transitions: Sequence[TransitionRow], host: str = "") -> str:
    """The whole HTML document."""
    start, end = timeline.start, timeline.end
    with_date = True
    head = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="color-scheme" content="light dark">'
            f"<title>otel-mon report{' · ' + _e(host) if host else ''}</title><style>{_STYLE}</style></head><body>")
    parts = [head, f"<h1>otel-mon report{' · ' + _e(host) if host else ''}</h1>",
             f'<p class="muted">{_e(_utc(start, with_date))} to {_e(_utc(end, with_date))} UTC · '
             f"{report.records} records, {report.points} points · one bucket = {_duration(timeline.bucket)}</p>"]
    parts.append('<h2>Over time</h2><div class="legend"><span><i class="lb"></i>min..max per bucket</span>'
                 '<span><i class="la"></i>average</span><span><i class="lg"></i>no data</span></div>')
    parts.append('<div class="grid">')
    flat = [s for s in report.metrics if s.min == s.max == 0]
    for stat in report.metrics:
        if stat in flat:
            continue
        stats = timeline.series.get(stat.label, [None] * timeline.count)
        figures = " · ".join(f"{k} {fmt(v, stat.unit)}" for k, v in (("avg", stat.avg), ("max", stat.max),
                                                                       ("p95", stat.p95)))
        parts.append(f'<section class="card"><h3>{_e(_title(stat.label))}</h3>'
                     f'<div class="muted small">{_e(figures)}</div>'
                     f"{chart(stat.label, stat.unit, stats, timeline)}</section>")
    parts.append("</div>")
    if flat:
        names = ", ".join(_title(s.label) for s in flat)
        parts.append(f'<p class="muted small">Always 0 in this window (not drawn): {_e(names)}.</p>')
    if report.health:
        parts.append('<h2>Time in each health state</h2><div class="legend"><span><i class="lok"></i>ok</span>'
                     '<span><i class="lw"></i>warning</span><span><i class="lc"></i>critical</span>'
                     '<span><i class="lnd"></i>no data</span></div>')
        parts.append('<div class="card scroll"><table><thead><tr><th>rule</th><th style="width:40%">share</th>'
                     '<th class="num">ok</th><th class="num">warning</th><th class="num">critical</th>'
                     '<th class="num">no data</th></tr>'
                     "</thead><tbody>")
        for h in report.health:
            name = f"{h.rule} {h.instance}" if h.instance else h.rule
            share = h.share()
            parts.append(f"<tr><td>{_e(name)}</td><td>{_health_bar(h)}</td>"
                         + "".join(f'<td class="num">{share[s]:.1f} % ({_duration(h.seconds[s])})</td>'
                                   for s in COLUMNS)
                         + "</tr>")
        parts.append("</tbody></table></div>")
    parts.append("<h2>Transitions</h2>")
    if transitions:
        parts.append('<div class="card scroll"><table><thead><tr><th>at (UTC)</th><th>rule</th><th>change</th>'
                     '<th class="num">value</th><th class="num">threshold</th><th>why</th></tr></thead><tbody>')
        for t in reversed(transitions):
            name = f"{t.rule} {t.instance}" if t.instance else t.rule
            parts.append(
                f'<tr><td class="num">{_e(_utc(t.at, True))}</td><td>{_e(name)}</td>'
                f'<td><span class="state s-{_e(t.old)}">{_e(t.old)}</span> → '
                f'<span class="state s-{_e(t.new)}">{_e(t.new)}</span></td>'
                f'<td class="num">{_e(_maybe(t.value))}</td><td class="num">{_e(_maybe(t.threshold))}</td>'
                f"<td>{_e(t.why)}</td></tr>")
        parts.append("</tbody></table></div>")
    else:
        parts.append('<p class="muted">No health transitions were logged in this window.</p>')
    parts.append('<h2>Summary</h2><div class="card scroll"><table><thead><tr><th>figure</th><th class="num">avg</th>'
                 '<th class="num">min</th><th class="num">max</th><th class="num">p95</th><th class="num">samples</th>'
                 "</tr></thead><tbody>")
    for s in report.metrics:
        parts.append(f"<tr><td>{_e(_title(s.label))}</td>"
                     + "".join(f'<td class="num">{_e(fmt(v, s.unit))}</td>' for v in (s.avg, s.min, s.max, s.p95))
                     + f'<td class="num">{s.samples}</td></tr>')
    parts.append("</tbody></table></div>")
    parts.append(f'<footer class="muted small">Generated by otel-mon {_e(__version__)} from the local spool '
                 f"at {_e(_utc(datetime.now(tz=timezone.utc).timestamp(), True))} UTC.</footer></body></html>\n")
    return "".join(parts)


def _maybe(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.4g}"
    return "\u2013" if value in (None, "") else str(value)
