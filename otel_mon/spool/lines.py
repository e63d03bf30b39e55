"""Turn an encoded OTLP-JSON payload into spool lines, none longer than the contract's 1 MiB.

The payload comes from the official encoder (``opentelemetry-exporter-otlp-json-common``) as a plain dict, for
the batches ``spool/encoder.py`` leaves to it (every log batch; a metrics batch it does not cover, or one
with a single metric over the limit); this module only serialises it the way the official file exporter does (compact
``json.dumps``) and, when that is too long, regroups the same leaves (data points or log records) under copies
of their resource, scope and metric so that every line is a valid object on its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from otel_mon.spool.format import metric_kinds

MAX_LINE_BYTES = 1024 * 1024  # including the newline

Node = dict[str, Any]
ChildPath = Callable[[Node], "tuple[str, ...] | None"]



def _keys(*keys: str) -> ChildPath:
    return lambda _node: keys


def _metric_points(node: Node) -> tuple[str, ...] | None:
    kind = next((k for k, _body in metric_kinds(node)), None)
    return (kind, "dataPoints") if kind else None


# Where each level keeps its children: payload -> resource -> scope -> (metric ->) leaves.
METRICS_SHAPE: tuple[ChildPath, ...] = (
    _keys("resourceMetrics"), _keys("scopeMetrics"), _keys("metrics"), _metric_points,
)
LOGS_SHAPE: tuple[ChildPath, ...] = (_keys("resourceLogs"), _keys("scopeLogs"), _keys("logRecords"))


def dumps(payload: Node) -> bytes:
    """One line, serialised as the official OTLP JSON file exporter does (compact, ASCII)."""
    return (json.dumps(payload, separators=(",", ":")) + "\n").encode("ascii")


def to_lines(payload: Node, shape: tuple[ChildPath, ...], limit: int = MAX_LINE_BYTES) -> tuple[list[bytes], int]:
    """Lines for ``payload``; the count of leaves too large for any line (left out) is returned alongside."""
    line = dumps(payload)
    if len(line) <= limit:
        return [line], 0
    units = list(_units(payload, shape, ()))
    return _pack(units, shape, limit)


Unit = tuple[tuple[Node, ...], Any]  # (ancestors from the payload down, leaf)


def _children(node: Node, path: tuple[str, ...] | None) -> list[Any] | None:
    cur: Any = node
    for key in path or ():
        cur = cur.get(key) if isinstance(cur, dict) else None
    return cur if path and isinstance(cur, list) else None


def _units(node: Node, shape: tuple[ChildPath, ...], ancestors: tuple[Node, ...]) -> Iterator[Unit]:
    depth = len(ancestors)
    children = _children(node, shape[depth](node)) if depth < len(shape) else None
    if children is None:
        if ancestors:  # cannot go deeper (e.g. a metric kind we do not know): move it whole
            yield ancestors, node
        return
    for child in children:
        if depth + 1 < len(shape) and isinstance(child, dict):
            yield from _units(child, shape, (*ancestors, node))
        else:
            yield (*ancestors, node), child


def _shell(node: Node, path: tuple[str, ...]) -> tuple[Node, list[Any]]:
    """A copy of ``node`` whose child list (at ``path``) is a new empty list, returned too."""
    shell = dict(node)
    cur = shell
    for key in path[:-1]:
        cur[key] = dict(cur[key])
        cur = cur[key]
    fresh: list[Any] = []
    cur[path[-1]] = fresh
    return shell, fresh


def _size(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":")))


def _pack(units: list[Unit], shape: tuple[ChildPath, ...], limit: int) -> tuple[list[bytes], int]:
    """Greedy: fill a line until the next leaf would not fit.

    Sizes are summed, never re-serialised: a container costs its serialisation with an empty child list,
    every child one more byte for a comma. That sum is never below the real length, so no line overshoots.
    """
    budget = limit - 1  # the newline
    lines: list[bytes] = []
    oversize = 0
    root: Node | None = None
    chain: list[tuple[int, list[Any]]] = []  # per depth: (id of the source node, child list of its copy)
    used = 0

    def shells(ancestors: tuple[Node, ...], depth: int) -> list[tuple[Node, list[Any]]]:
        return [_shell(node, shape[depth + i](node) or ()) for i, node in enumerate(ancestors[depth:])]

    for ancestors, leaf in units:
        depth = 0
        while depth < min(len(chain), len(ancestors)) and chain[depth][0] == id(ancestors[depth]):
            depth += 1
        new = shells(ancestors, depth)
        cost = _size(leaf) + 1 + sum(_size(shell) + 1 for shell, _ in new)
        if root is not None and used + cost > budget:
            lines.append(dumps(root))
            root, used, depth = None, 0, 0
            chain.clear()
            new = shells(ancestors, 0)
            cost = _size(leaf) + 1 + sum(_size(shell) + 1 for shell, _ in new)
        if cost > budget:  # one leaf too large for any line
            oversize += 1
            continue
        del chain[depth:]
        for node, (shell, fresh) in zip(ancestors[depth:], new, strict=True):
            if chain:
                chain[-1][1].append(shell)
            else:
                root = shell
            chain.append((id(node), fresh))
        chain[-1][1].append(leaf)
        used += cost
    if root is not None:
        lines.append(dumps(root))
    return lines, oversize
