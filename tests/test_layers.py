"""Imports point down the layers (docs/architecture.md): read from the source with ``ast``, no import needed.

Function-level imports count (a cycle hidden in a function is still a cycle); imports under
``if TYPE_CHECKING:`` do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "otel_mon"

# Checks the code's shape, not its behaviour (the `shape` marker in pyproject.toml).
pytestmark = pytest.mark.shape

# Only the wiring may know the whole Settings, the agent, or the commands.
WIRING = ("otel_mon.config", "otel_mon.agent", "otel_mon.where_to_look", "otel_mon.commands", "otel_mon.cli",
          "otel_mon.__main__")
# The bottom layer: pure parsers, formats and specs. They import nothing of ours outside this list.
BOTTOM = ("otel_mon.schema", "otel_mon.metric_spec", "otel_mon.agent_metrics", "otel_mon.config_units",
          "otel_mon.config_problems", "otel_mon.config_fields",
          "otel_mon.config_tree", "otel_mon.semconv", "otel_mon.instruments", "otel_mon.lazy", "otel_mon.host.filters",
          "otel_mon.host.procfs", "otel_mon.spool.lines", "otel_mon.spool.format", "otel_mon.timefmt",
          "otel_mon.retry_after", "otel_mon.deadline", "otel_mon.secretfile",
          "otel_mon.urls", "otel_mon.readings", "otel_mon.http.open_connections", "otel_mon.netutil",
          "otel_mon.bounded_response", "otel_mon.promnames", "otel_mon.exposition_text",
          "otel_mon.textsafe")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path) -> set[str]:
    """Our modules imported by ``path`` (``from otel_mon.x import y`` counts as x, and x.y when that is a module)."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("otel_mon"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("otel_mon"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return out


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}
    for name in modules:  # importing a.b.c runs a/b/__init__.py: an edge to each package root on the way
        parts = name.split(".")
        edges[name].update(pkg for i in range(2, len(parts)) if (pkg := ".".join(parts[:i])) in modules)
    return edges


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_only_the_wiring_imports_the_settings_agent_or_commands() -> None:
    wrong = sorted(f"{a} -> {b}" for a, deps in graph().items() if not _within(a, WIRING)
                   for b in deps if _within(b, WIRING))
    assert wrong == []


def test_the_bottom_layer_imports_only_the_bottom_layer() -> None:
    # package roots: lazy, import nothing at run time
    roots = {"otel_mon", "otel_mon.host", "otel_mon.spool", "otel_mon.http"}
    wrong = sorted(f"{a} -> {b}" for a, deps in graph().items() if _within(a, BOTTOM)
                   for b in deps if not _within(b, BOTTOM) and b not in roots)
    assert wrong == []


def test_no_import_cycles() -> None:
    edges = graph()
    roots = {m for m in edges if (PACKAGE.parent / m.replace(".", "/") / "__init__.py").exists()}
    # A package root's own lazy re-exports are not edges (they run on first attribute access, not on import).
    edges = {a: {b for b in deps if a not in roots or not b.startswith(a + ".")} for a, deps in edges.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            walk(node)
    assert cycles == []


def test_the_layer_test_sees_imports() -> None:
    """Guard against a silently empty graph (a moved package, a parse change)."""
    edges = graph()
    assert "otel_mon.schema" in edges["otel_mon.config"]
    assert "otel_mon.host.base" in edges["otel_mon.host.cpu"]


# Component packages, and the only places one imports another's (non-bottom) module, each with its reason.
COMPONENTS = ("host", "spool", "forward", "health", "probes", "http", "web", "report", "compat")
SEAMS = {
    ("forward", "otel_mon.spool.segments"): "a forwarder follows the spool's on-disk contract (segments)",
    ("forward", "otel_mon.spool.cursor_files"): "a forwarder keeps its position in the spool's cursor file",
    ("forward", "otel_mon.spool.segment_reader"): "a forwarder reads the segments' lines as the spool defines them",
    ("health", "otel_mon.probes.config"): "health rules name probes: the two sections are checked together",
    ("health", "otel_mon.host.table"): "the readings the host domains declare are what host rules may name",
    ("web", "otel_mon.http.render"): "the status page's routes answer with the HTTP server's Response",
    ("web", "otel_mon.host.sampler"): "the page's history records each Snapshot the sampler takes",
    ("compat", "otel_mon.host.sampler"): "the node_exporter view renders the sampler's Snapshot, read no more",
    ("compat", "otel_mon.host.paths"): "uname's domain name and os-release are read under root_path",
    ("compat", "otel_mon.http.render"): "the node_exporter route answers with the HTTP server's Response",
}


def _component(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in COMPONENTS else None


def test_components_meet_only_at_declared_seams() -> None:
    """A helper two components need lives in the bottom layer, not in one of them (docs/architecture.md)."""
    found = set()
    for a, deps in graph().items():
        for b in deps:
            mine, theirs = _component(a), _component(b)
            if mine and theirs and mine != theirs and not _within(b, BOTTOM):
                found.add((mine, b))
    assert found - set(SEAMS) == set(), "a new import across components: move the helper down, or declare it"
    assert set(SEAMS) - found == set(), "a declared seam is gone: remove it from SEAMS"


def test_every_lazy_re_export_of_a_package_root_resolves() -> None:
    """A package root's ``__all__`` names are served by ``lazy.exports``: a renamed module must not leave a
    name that fails only when someone first touches it."""
    import importlib

    roots = sorted(p.parent for p in PACKAGE.rglob("__init__.py"))
    checked = 0
    for root in roots:
        name = ".".join(root.relative_to(PACKAGE.parent).parts)
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            assert getattr(module, attr) is not None, f"{name}.{attr}"
            checked += 1
    assert checked > 10
