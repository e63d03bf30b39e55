"""The textfile directory: ``*.prom`` files that cron jobs, backups and package checks write (node_exporter's
textfile collector), read once per collection and turned into OpenTelemetry metrics.

Each file is parsed with prometheus_client's text parser, and parsed again only when its mtime, size or inode
changes (jobs replace files atomically, so a rename is a new inode). gauge and untyped samples become gauges,
counters cumulative sums (the observable counter, ``_total`` kept on /metrics); histograms become explicit-bucket
OpenTelemetry histograms (their cumulative ``_bucket`` counts turned into per-bucket counts, ``_sum`` and
``_count`` kept), handed on as pre-aggregated points (``native["histograms:textfile"]``: the SDK has no
observable histogram, so ``otel_mon/preaggregated.py`` adds them to the batch). Summaries are served on
/metrics/node_exporter as they are and refused for OpenTelemetry with the reason, once: quantiles cannot be
turned into buckets, and the SDK has no summary point. A histogram whose buckets do not add up is refused so.
A file that is malformed, larger than ``max_file_size``, unreadable, carries
sample timestamps (node_exporter refuses those too) or names one of the agent's own metrics is skipped whole,
counted, logged once per episode; the other files go on. A deleted file's series are gone at the next
collection.
"""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from otel_mon.host.base import Collected, frozen_attrs
from otel_mon.host.domain import Domain
from otel_mon.host.section import Section
from otel_mon.metric_spec import MetricSpec
from otel_mon.schema import ByteSize, Problem, check

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig
    from otel_mon.host.paths import HostPaths

log = logging.getLogger(__name__)

_FILE = ("otel_mon.textfile.file",)
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("otel_mon.textfile.mtime", "gauge", "s", _FILE,
      "Modification time of each textfile read successfully (node_exporter's node_textfile_mtime_seconds).",
      "textfile"),
    M("otel_mon.textfile.error", "gauge", "{error}", _FILE,
      "1 when the file was skipped (malformed, too large, unreadable, timestamps, a name of the agent's own), "
      "else 0; node_textfile_scrape_error is the largest of them.", "textfile"),
)
del M


@dataclass(frozen=True)
class TextfileConfig:
    """``textfile: {directory: DIR}``: the directory of ``*.prom`` files (empty: none is read)."""

    directory: str = ""
    max_file_size: ByteSize = ByteSize(1 << 20)  # a larger file is skipped: a runaway job must not flood the agent
    max_series: int = 10_000  # over all files; the file that goes past it is skipped

    def __post_init__(self) -> None:
        problems = []
        if self.directory and not os.path.isabs(self.directory):
            problems.append(Problem("directory", "must be an absolute path", self.directory))
        if self.max_file_size <= 0:
            problems.append(Problem("max_file_size", "must be above 0", self.max_file_size))
        if self.max_series <= 0:
            problems.append(Problem("max_series", "must be above 0", self.max_series))
        check(self, problems)


@dataclass(frozen=True)
class TextFamily:
    """One family of a textfile, as node_exporter would serve it."""

    name: str
    kind: str  # gauge | counter | untyped | histogram | summary | ...
    help: str
    samples: tuple[tuple[str, tuple[tuple[str, str], ...], float], ...]  # (sample name, labels, value)
    path: str


@dataclass(frozen=True)
class HistogramPoint:
    """One series of a histogram family: explicit bounds and the count in each bucket (the last: above all)."""

    labels: tuple[tuple[str, str], ...]
    bounds: tuple[float, ...]
    counts: tuple[int, ...]  # len(bounds) + 1, not cumulative
    count: int
    sum: float


@dataclass(frozen=True)
class HistogramFamily:
    name: str
    help: str
    points: tuple[HistogramPoint, ...]


_WHY_NOT = {"summary": "a summary's quantiles cannot become histogram buckets, and OpenTelemetry's SDK has no "
                       "summary point",
            "gaugehistogram": "a gauge histogram has no OpenTelemetry point (its buckets go up and down)"}


def histogram_points(f: TextFamily) -> list[HistogramPoint]:
    """Prometheus cumulative ``le`` buckets, ``_count`` and ``_sum`` per label set -> per-bucket counts.

    ValueError (one line) when a series has no ``+Inf`` bucket, counts that go down, a count that is not a
    whole number, or a ``_count`` other than its ``+Inf`` bucket.
    """
    series: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for sample, labels, value in f.samples:
        key = tuple((k, v) for k, v in labels if k != "le")
        entry = series.setdefault(key, {"buckets": {}, "count": None, "sum": 0.0})
        if sample == f.name + "_bucket":
            le = dict(labels).get("le")
            if le is None:
                raise ValueError(f"{sample} without an le label")
            entry["buckets"][float(le)] = value
        elif sample == f.name + "_count":
            entry["count"] = value
        elif sample == f.name + "_sum":
            entry["sum"] = value
    out = []
    for labels, entry in series.items():
        buckets = sorted(entry["buckets"].items())
        if not buckets or buckets[-1][0] != float("inf"):
            raise ValueError(f"{f.name}{dict(labels)} has no le=\"+Inf\" bucket")
        cumulative = [v for _, v in buckets]
        if any(not float(v).is_integer() or v < 0 for v in cumulative):
            raise ValueError(f"{f.name}{dict(labels)}: bucket counts must be whole numbers")
        if any(b < a for a, b in itertools.pairwise(cumulative)):
            raise ValueError(f"{f.name}{dict(labels)}: cumulative bucket counts go down")
        total = int(cumulative[-1])
        if entry["count"] is not None and entry["count"] != total:
            raise ValueError(f"{f.name}{dict(labels)}: _count {entry['count']:g} is not the +Inf bucket {total}")
        counts = [int(cumulative[0])] + [int(b - a) for a, b in itertools.pairwise(cumulative)]
        out.append(HistogramPoint(labels, tuple(b for b, _ in buckets[:-1]), tuple(counts), total,
                                  float(entry["sum"])))
    return out


class Refused(Exception):
    """The whole file is skipped; the message says why (one line)."""


def parse_textfile(text: str, path: str, reserved: frozenset[str]) -> list[TextFamily]:
    """The families of one file; ``Refused`` when the file must be skipped whole."""
    from prometheus_client.parser import text_string_to_metric_families

    families = []
    try:
        for family in text_string_to_metric_families(text):
            samples = []
            for s in family.samples:
                if s.timestamp is not None:
                    raise Refused(f"sample {s.name} carries a timestamp (not supported, as in node_exporter)")
                if s.name in reserved:
                    raise Refused(f"{s.name} is one of the agent's own metric names")
                samples.append((s.name, tuple(sorted(s.labels.items())), float(s.value)))
            kind = "untyped" if family.type == "unknown" else family.type
            families.append(TextFamily(family.name, kind, family.documentation or f"Metric read from {path}",
                                       tuple(samples), path))
    except Refused:
        raise
    except Exception as exc:  # the parser raises ValueError, IndexError, ... on malformed text
        raise Refused(f"malformed: {type(exc).__name__}: {exc}") from None
    return families


def _reserved() -> frozenset[str]:
    """The agent's own metric names as /metrics shows them (and their OTel names): a textfile may not use them."""
    from otel_mon.host.table import METRICS as TABLE  # at run time: the table imports this module

    names = set()
    for spec in TABLE:
        names.add(spec.name)
        base = spec.name.replace(".", "_")
        names.update({base, base + "_total"})
        for suffix in ("seconds", "bytes", "hertz", "celsius"):
            names.update({f"{base}_{suffix}", f"{base}_{suffix}_total"})
    return frozenset(names)


class TextfileCollector:
    name = "textfile"

    def __init__(self, cfg: TextfileConfig) -> None:
        self.cfg = cfg
        self._cache: dict[str, tuple[tuple[int, int, int], list[TextFamily] | str]] = {}
        self._failing: set[str] = set()
        self._reserved: frozenset[str] | None = None
        self._refused: set[tuple[str, str]] = set()

    def collect(self, now: float) -> Collected:
        out = Collected()
        directory = self.cfg.directory
        if not directory:
            return out
        if self._reserved is None:
            self._reserved = _reserved()
        try:
            names = sorted(n for n in os.listdir(directory) if n.endswith(".prom"))
        except OSError as exc:
            out.errors.append((type(exc).__name__, f"textfile directory {directory}: {exc.strerror}"))
            return out
        families: list[TextFamily] = []
        series = 0
        cache: dict[str, tuple[tuple[int, int, int], list[TextFamily] | str]] = {}
        for name in names:
            path = os.path.join(directory, name)
            got = self._read(path, cache)
            if isinstance(got, list):
                count = sum(len(f.samples) for f in got)
                if series + count > self.cfg.max_series:
                    got = f"over textfile.max_series ({self.cfg.max_series}) with the files before it"
                else:
                    series += count
            attrs = frozen_attrs(("otel_mon.textfile.file", path))
            if isinstance(got, str):
                self._fail(path, got, out)
                out.add("otel_mon.textfile.error", 1, attrs)
                continue
            if path in self._failing:
                self._failing.discard(path)
                log.info(f"textfile read again: {os.path.basename(path)}", extra={"file": path})
            out.add("otel_mon.textfile.error", 0, attrs)
            out.add("otel_mon.textfile.mtime", cache[path][0][0] / 1e9, attrs)
            families.extend(got)
        for gone in set(self._failing) - set(cache):
            self._failing.discard(gone)
        self._cache = cache
        out.native["textfile"] = families
        out.native["dynamic:textfile"] = self._as_otel(families)
        out.native["histograms:textfile"] = self._histograms(families)
        return out

    def _refuse(self, f: TextFamily, why: str) -> None:
        if (f.path, f.name) not in self._refused:
            self._refused.add((f.path, f.name))
            log.warning("textfile family not converted to OpenTelemetry (served on /metrics/node_exporter only): "
                        "%s", why, extra={"file": f.path, "family": f.name})

    def _histograms(self, families: list[TextFamily]) -> list[HistogramFamily]:
        """The histogram families as OpenTelemetry explicit-bucket points; a malformed one refused with why."""
        out: list[HistogramFamily] = []
        seen: set[str] = set()
        for f in families:
            if f.kind != "histogram" or f.name in seen:
                continue
            try:
                points = histogram_points(f)
            except ValueError as why:
                self._refuse(f, str(why))
                continue
            seen.add(f.name)
            out.append(HistogramFamily(f.name, f.help, tuple(points)))
        return out

    def _as_otel(self, families: list[TextFamily]) -> dict[str, tuple[str, str, list[tuple[float, Any]]]]:
        """OTel metrics by name: (instrument, description, points); histograms and summaries refused."""
        metrics: dict[str, tuple[str, str, list[tuple[float, Any]]]] = {}
        for f in families:
            if f.kind == "histogram":
                continue  # pre-aggregated points: _histograms
            if f.kind not in ("gauge", "counter", "untyped"):
                self._refuse(f, _WHY_NOT.get(f.kind, f"no OpenTelemetry point for a {f.kind}"))
                continue
            instrument = "counter" if f.kind == "counter" else "gauge"
            entry = metrics.setdefault(f.name, (instrument, f.help, []))
            if entry[0] != instrument:
                continue  # two files disagree on the type: the first one's stands
            entry[2].extend((value, frozen_attrs(*labels)) for _, labels, value in f.samples)
        return metrics

    def _read(self, path: str, cache: dict[str, tuple[tuple[int, int, int], list[TextFamily] | str]]
              ) -> list[TextFamily] | str:
        try:
            st = os.stat(path)
        except OSError as exc:
            return f"unreadable: {exc.strerror}"
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        old = self._cache.get(path)
        if old is not None and old[0] == key:
            cache[path] = old
            return old[1]
        result: list[TextFamily] | str
        if st.st_size > self.cfg.max_file_size:
            result = f"{st.st_size} bytes, over textfile.max_file_size ({int(self.cfg.max_file_size)})"
        else:
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read(int(self.cfg.max_file_size) + 1)
                result = parse_textfile(text, path, self._reserved or frozenset())
            except Refused as why:
                result = str(why)
            except (OSError, UnicodeDecodeError) as exc:
                result = f"unreadable: {exc}"
        cache[path] = (key, result)
        return result

    def _fail(self, path: str, why: str, out: Collected) -> None:
        out.errors.append(("textfile", f"{path}: {why}"))
        if path not in self._failing:
            self._failing.add(path)
            # The file in the message: the logging filter folds repeats of one message into a count.
            log.warning(f"textfile skipped: {os.path.basename(path)}", extra={"file": path, "reason": why})


def build(host: HostConfig, paths: HostPaths) -> TextfileCollector:
    """This domain's registration: its collector, given only its options."""
    return TextfileCollector(host.section(TextfileConfig))


DOMAIN = Domain("textfile", position=175, metrics=METRICS, section=Section("textfile", TextfileConfig), build=build)
