"""The JSON body each notifier kind posts for one transition. Pure: tested on values, not on servers.

Discord (execute webhook): ``{"content", "embeds": [{title, description, color, fields, timestamp}],
"allowed_mentions"}``; Slack (incoming webhook): ``{"text", "blocks": [header, section, fields, context]}``
with ``text`` as the notification fallback; generic: the flat document in docs/health.md.
"""

from __future__ import annotations

import json
from typing import Any

from otel_mon import timefmt
from otel_mon.health.context import describe
from otel_mon.health.reading_specs import READINGS
from otel_mon.health.rules import State, Transition, fmt_value

GENERIC_VERSION = 1
_COLOURS = {State.OK: 0x2ECC71, State.WARNING: 0xF1C40F, State.CRITICAL: 0xE74C3C}
_SLACK_EMOJI = {State.OK: ":large_green_circle:", State.WARNING: ":large_yellow_circle:",
                State.CRITICAL: ":red_circle:"}


def iso(ts: float) -> str:
    return timefmt.iso(ts, "seconds")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def subject(t: Transition) -> str:
    return f"{t.rule} {t.instance}" if t.instance else t.rule


def title(t: Transition, host: str) -> str:
    if t.new == State.OK:
        return f"RESOLVED: {subject(t)} on {host} is ok (was {t.old.label})"
    if t.new < t.old:
        return f"{t.new.name}: {subject(t)} on {host} (down from {t.old.label})"
    return f"{t.new.name}: {subject(t)} on {host}"


def summary(t: Transition, host: str) -> str:
    return f"{title(t, host)}: {t.why}"


def _facts(t: Transition, host: str, host_status: State) -> list[tuple[str, str]]:
    unit = READINGS[t.reading].unit
    return [("Host", host), ("State", f"{t.new.label} (was {t.old.label})"), ("Value", fmt_value(t.value, unit)),
            ("Threshold", fmt_value(t.threshold, unit)), ("Host status", host_status.label)]


def _context_lines(t: Transition) -> tuple[str, list[str]]:
    """(heading, one line per item) for a transition's context; ("", []) without one."""
    c = t.context
    if not c:
        return "", []
    if "processes" in c:
        cpu = c["by"] == "cpu"
        lines = [f"{p['pid']} {p['name']} ({p['user']}): "
                 + (f"{p['cpu_percent']:g} % CPU" if cpu else f"{p['rss_bytes'] / 2**20:,.0f} MiB RSS")
                 for p in c["processes"]]
        if not lines:
            lines = ["no process used any in the measured window"]
        return ("Top processes by CPU (% of one core: 200 % is two)" if cpu else "Top processes by memory"), lines
    if "matched" in c:
        return "Matched by", [describe(c)]
    return f"Filesystem {c.get('mountpoint', '')}".strip(), [describe(c)]


def discord(t: Transition, host: str, host_status: State) -> dict[str, Any]:
    embed = {
        "title": _cut(title(t, host), 256),
        "description": _cut(t.why, 4096),
        "color": _COLOURS[t.new],
        "fields": [{"name": k, "value": _cut(v, 1024), "inline": True} for k, v in _facts(t, host, host_status)]
        + [{"name": heading, "value": _cut("\n".join(lines), 1024), "inline": False}
           for heading, lines in [_context_lines(t)] if lines],
        "timestamp": iso(t.at),
        "footer": {"text": "otel-mon"},
    }
    # allowed_mentions: a rule or host name containing @everyone must not ping anybody
    return {"content": _cut(summary(t, host), 2000), "embeds": [embed], "allowed_mentions": {"parse": []}}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(t: Transition, host: str, host_status: State) -> dict[str, Any]:
    fields = [{"type": "mrkdwn", "text": _cut(f"*{k}*\n{_slack_escape(v)}", 2000)}
              for k, v in _facts(t, host, host_status)]
    return {
        "text": _cut(_slack_escape(summary(t, host)), 3000),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": _cut(title(t, host), 150)}},
            {"type": "section",
             "text": {"type": "mrkdwn", "text": _cut(f"{_SLACK_EMOJI[t.new]} {_slack_escape(t.why)}", 3000)}},
            {"type": "section", "fields": fields},
            *[{"type": "section", "text": {"type": "mrkdwn", "text": _cut(
                f"*{heading}*\n" + "\n".join(_slack_escape(line) for line in lines), 3000)}}
              for heading, lines in [_context_lines(t)] if lines],
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"otel-mon · {iso(t.at)}"}]},
        ],
    }


def generic(t: Transition, host: str, host_status: State) -> dict[str, Any]:
    return {
        "version": GENERIC_VERSION,
        "source": "otel-mon",
        "event": "health.transition",
        "host": host,
        "rule": t.rule,
        "instance": t.instance,
        "reading": t.reading,
        "unit": READINGS[t.reading].unit,
        "old_state": t.old.label,
        "new_state": t.new.label,
        "recovered": t.new == State.OK,
        "value": t.value,
        "threshold": t.threshold,
        "why": t.why,
        "host_status": host_status.label,
        "at": iso(t.at),
        "summary": summary(t, host),
        **({"context": dict(t.context)} if t.context else {}),
    }


FORMATS = {"discord": discord, "slack": slack, "webhook": generic}


def body(kind: str, t: Transition, host: str, host_status: State) -> bytes:
    return json.dumps(FORMATS[kind](t, host, host_status), ensure_ascii=False).encode("utf-8")
