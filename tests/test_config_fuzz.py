"""Property tests over the config loader (issue 11): whatever the YAML document or environment, the answer is
Settings or a ConfigError of one-line problems; never a traceback, never unbounded memory.

The strategies use the real key tree of ``Settings`` so values reach the coercers, not only the YAML parser.
"""

from __future__ import annotations

import dataclasses
import tracemalloc
import typing
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_mon import config, schema
from otel_mon.schema import ConfigError


def _key_paths(cls: type, prefix: tuple[str, ...] = (), depth: int = 0) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, (_attrs, tp) in schema.keys(cls).items():
        out.append((*prefix, key))
        inner = [a for a in typing.get_args(tp) if isinstance(a, type)] or [tp]
        for candidate in inner:
            if isinstance(candidate, type) and dataclasses.is_dataclass(candidate) and depth < 2:
                out.extend(_key_paths(candidate, (*prefix, key), depth + 1))
    return out


KEYS = _key_paths(config.Settings)
SECTIONS = sorted({p[0] for p in KEYS if len(p) > 1})

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["10s", "0", "-1", "1e999", "nan", "5GiB", "batch", "grpc", "http://x:1/?k=v", "", " ", "~",
                     "0x10", "1_000", "yes", "off", "9" * 400]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for path in draw(st.lists(st.sampled_from(KEYS), max_size=6)):
        node = doc
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[path[-1]] = draw(values)
    return doc


TAGGED = st.sampled_from([
    "!!int abc", "!!float x", "!!timestamp x", "!!int", "!!bool maybe", "!!binary zz", "!!null x", "!!str",
    "!!map [1]", "!!seq {a: 1}", "!!set {a}", "!!omap [a]", "&a [*a]", "*nope", "!custom x", "!!python/name:os.system",
    "9" * 5000, "[" * 200 + "]" * 200, "'unterminated", "\t- tab", "{a: 1, a: 2}", "? [a]\n: b",
])


def _check(tmp_path: Path, text: str | None = None, env: dict[str, str] | None = None) -> None:
    path = None
    if text is not None:
        path = tmp_path / "config.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    tracemalloc.start()
    try:
        config.load(path, env=env or {})
    except ConfigError as exc:
        assert exc.problems, "a ConfigError names its problems"
        for line in exc.problems:
            assert isinstance(line, str) and "\n" not in line and len(line) < 2000, line
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"loading took {peak / 2**20:.0f} MiB"


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(doc=documents())
def test_documents_over_the_real_keys(tmp_path: Path, doc: dict[str, Any]) -> None:
    _check(tmp_path, yaml.safe_dump(doc, allow_unicode=True))


@FUZZ
@given(key=st.sampled_from(KEYS), tagged=TAGGED, nested=st.integers(0, 3))
def test_tagged_and_hostile_scalars(tmp_path: Path, key: tuple[str, ...], tagged: str, nested: int) -> None:
    text = "".join(f"{'  ' * i}{part}:\n" for i, part in enumerate(key[:-1])) + f"{'  ' * (len(key) - 1)}{key[-1]}: "
    _check(tmp_path, text + ("[" * nested) + tagged + ("]" * nested) + "\n")


@FUZZ
@given(pieces=st.lists(st.sampled_from([*"ab:-[]{},!&*#?|>'\"% \n\t1.0~@`", "!!int ", "http:", "port: ", "  "]),
                      max_size=40))
def test_arbitrary_yaml_text(tmp_path: Path, pieces: list[str]) -> None:
    _check(tmp_path, "".join(pieces))


ENV_NAMES = sorted({"OTEL_MON_" + "__".join(p).upper() for p in KEYS} | {
    "OTEL_MON_HTTP", "OTEL_MON_SPOOL", "OTEL_MON_HTTP__TOKEN_FILE", "OTEL_MON_NOPE", "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES", "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_COMPRESSION"})


@FUZZ
@given(env=st.dictionaries(st.sampled_from(ENV_NAMES), st.one_of(
    st.text(max_size=40), st.sampled_from(["true", "1", "/dev/zero", "/nonexistent", "a=b,c", "http://h:1/?k=v",
                                           "9" * 5000, "\x00", "1e999"])), max_size=6))
def test_environment_maps(tmp_path: Path, env: dict[str, str]) -> None:
    _check(tmp_path, env=env)


def test_the_listed_cases_are_one_line_each(tmp_path: Path) -> None:
    cases = ["interval: !!int abc\n", "interval: !!float x\n", "interval: !!timestamp x\n", "http: {port: !!int }\n",
             f"http: {{port: {'9' * 5000}}}\n", "a: " + "[" * 3000 + "]" * 3000 + "\n"]
    for text in cases:
        (tmp_path / "c.yaml").write_text(text)
        try:
            config.load(tmp_path / "c.yaml", env={})
        except ConfigError as exc:
            assert len(exc.problems) == 1 and "\n" not in exc.problems[0], exc.problems
        else:
            raise AssertionError(f"accepted {text[:40]!r}")
    for env in ({"OTEL_MON_HTTP": "true", "OTEL_MON_HTTP__PORT": "1"},
                {"OTEL_MON_HTTP__PORT": "1", "OTEL_MON_HTTP": "true"},
                {"OTEL_MON_HTTP__TOKEN_FILE": "/dev/zero"}):
        try:
            config.load(env=env)
        except ConfigError as exc:
            assert len(exc.problems) == 1, exc.problems
        else:
            raise AssertionError(f"accepted {env}")
