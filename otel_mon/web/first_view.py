"""The status page's first view, rendered on the server: the host's state in the HTML served at ``/``.

Without it the page said only "connecting…" until its script had fetched ``/api/status``: a screenshot, a text
browser, ``curl`` or a browser with scripts off saw nothing. This module writes the state from the same
document ``/api/status`` answers into the shell: the badge, the host name, the title and a list of the key
figures (health, CPU, memory, load, swap, filesystems, iowait, pressure, clock, failed units, problems). The
script draws its own view over it and hides this list. Every value goes through ``html.escape``.

It is rendered only when the agent needs no token: the shell is public (a navigation cannot send the token),
so with ``http.token`` set the host's state stays behind ``/api/status``.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

_MARK = b"<!--first-view-->"
DASH = "\u2013"  # the page's "no value", as app.js writes it


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def pct(value: Any) -> str:
    v = _num(value)
    return DASH if v is None else f"{v:.1f} %"


def seconds(value: Any) -> str:
    """``16 s``, ``250 ms``, ``3.2 µs``: a clock error or offset in the unit that reads best."""
    v = _num(value)
    if v is None:
        return DASH
    a = abs(v)
    if a >= 1 or a == 0:
        return f"{v:.3g} s"
    if a >= 1e-3:
        return f"{v * 1e3:.3g} ms"
    return f"{v * 1e6:.3g} µs"


def state_text(state: str) -> str:
    return "no data" if state == "no_data" else state


def figures(doc: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(id, label, text) of each key figure of the ``/api/status`` document, in the page's order."""
    health = doc.get("health") or {}
    host = health.get("host") or {}
    rules = (health.get("health") or {})
    out: list[tuple[str, str, str]] = []
    out.append(("health", "health", state_text(str(rules.get("status") or health.get("status") or "unknown"))))
    out.append(("cpu", "CPU", pct(host.get("cpu_percent"))))
    out.append(("memory", "memory", pct(host.get("memory_percent"))))
    history = doc.get("history") or {}
    per_cpu = ((history.get("series") or {}).get("load") or [None])[-1]
    load = host.get("load") or []
    raw = " · ".join(f"{k} {v:.2f}" for k, v in zip(("1m", "5m", "15m"), load, strict=False) if _num(v) is not None)
    if _num(per_cpu) is not None:
        out.append(("load", "load per CPU (1m)", f"{per_cpu:.2f}"))
    if raw:
        out.append(("load-raw", "load (all CPUs)", raw))
    if _num(host.get("swap_percent")) is not None:
        out.append(("swap", "swap", pct(host.get("swap_percent"))))
    if _num(host.get("cpu_iowait_percent")) is not None:
        out.append(("iowait", "CPU iowait", pct(host.get("cpu_iowait_percent"))))
    inodes = host.get("inodes_percent") or {}
    for mount, used in (host.get("filesystems_percent") or {}).items():
        extra = f", inodes {pct(inodes[mount])}" if mount in inodes else ""
        out.append((f"fs-{mount}", f"filesystem {mount}", f"{pct(used)} used{extra}"))
    pressure = host.get("pressure_percent") or {}
    if pressure:
        out.append(("pressure", "pressure (PSI avg60)", " · ".join(f"{k} {pct(v)}" for k, v in pressure.items())))
    clock = host.get("clock")
    if isinstance(clock, Mapping):
        sync = "synchronised" if clock.get("synchronized") else "NOT synchronised"
        out.append(("clock", "clock", f"{sync}, max error {seconds(clock.get('max_error_seconds'))}, "
                                      f"offset {seconds(clock.get('offset_seconds'))}"))
    if "failed_units" in host:
        units = host.get("failed_units") or []
        out.append(("failed-units", "failed units", ", ".join(map(str, units)) if units else "none"))
    for i, problem in enumerate(health.get("problems") or []):
        out.append((f"problem-{i}", "problem", str(problem)))
    return out


def render_into(shell: bytes, doc: Mapping[str, Any]) -> bytes:
    """``shell`` (index.html) with the state written in: badge, host, title, about line and the figures."""
    about = doc.get("about") or {}
    health = doc.get("health") or {}
    state = str((health.get("health") or {}).get("status") or health.get("status") or "unknown")
    host = str(about.get("host") or "otel-mon")
    shown = state if state in ("ok", "warning", "critical", "no_data") else "unknown"
    items = "".join(f'<dt>{escape(label)}</dt><dd id="fv-{escape(key)}">{escape(text)}</dd>'
                    for key, label, text in figures(doc))
    view = (f'<section id="first-view" class="panel" aria-label="host state"><h2>Host state</h2>'
            f'<dl class="facts">{items}</dl></section>').encode()
    badge = (f'<span id="state" class="badge" data-state="{escape(shown)}" data-value="{escape(state)}">'
             f'{escape(state_text(state))}</span>').encode()
    parts = [str(about.get("os") or ""), f"otel-mon {about.get('version') or ''}".strip()]
    out = shell.replace(b'<span id="state" class="badge" data-state="unknown">\xe2\x80\xa6</span>', badge, 1)
    out = out.replace(b'<h1 id="host">otel-mon</h1>', f'<h1 id="host">{escape(host)}</h1>'.encode(), 1)
    out = out.replace(b"<title>otel-mon</title>",
                      f"<title>{escape(state_text(state).upper())} · {escape(host)}</title>".encode(), 1)
    out = out.replace(b'<p id="about" class="muted">connecting\xe2\x80\xa6</p>',
                      f'<p id="about" class="muted">{escape(" · ".join(p for p in parts if p))}</p>'.encode(), 1)
    return out.replace(_MARK, view, 1)
