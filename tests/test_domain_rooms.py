"""A host domain is one room: one typed registration in its module and nowhere else (issues 9 and 25).

Each ``otel_mon/host/<domain>.py`` declares ``DOMAIN = Domain(...)``; ``host/table.py`` finds those modules by
that line, the host part of the settings is assembled from the registrations' sections, and no other module of
the package names a domain's config class. A new domain is its file alone: the first test drops one into a copy
of the package and touches nothing else.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import otel_mon.host
from otel_mon.host import table
from otel_mon.host.config import HOST_CONFIG, assemble
from otel_mon.host.domain import Domain
from otel_mon.host.section import Section
from otel_mon.metric_spec import MetricSpec

PACKAGE = Path(__file__).resolve().parents[1] / "otel_mon"

FAKE_DOMAIN = '''
"""A throwaway domain with an option section: nothing outside this file knows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from otel_mon.host.base import Collected
from otel_mon.host.domain import Domain
from otel_mon.host.section import Section
from otel_mon.schema import Duration, Problem, check
from otel_mon.metric_spec import MetricSpec

if TYPE_CHECKING:
    from otel_mon.host.config import HostConfig
    from otel_mon.host.paths import HostPaths

METRICS = (MetricSpec("otel_mon.fake.depth", "gauge", "{level}", (), "The configured depth.", "fake"),)


@dataclass(frozen=True)
class FakeConfig:
    depth: int = 3
    names: tuple[str, ...] = ()
    every: Duration = Duration(5.0)

    def __post_init__(self) -> None:
        check(self, [Problem("depth", "must be above 0", self.depth)] if self.depth <= 0 else [])


class FakeCollector:
    name = "fake"

    def __init__(self, cfg: FakeConfig) -> None:
        self.cfg = cfg

    def collect(self, now: float) -> Collected:
        out = Collected()
        out.add("otel_mon.fake.depth", self.cfg.depth)
        return out


def build(host: HostConfig, paths: HostPaths) -> FakeCollector:
    return FakeCollector(host.section(FakeConfig))


DOMAIN = Domain("fake", position=10_000, metrics=METRICS, section=Section("fake", FakeConfig), build=build)
'''

SCRIPT = '''
import json, sys
from otel_mon import cli, config
from otel_mon.host import registry
from otel_mon.host.fake import FakeConfig
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler
from otel_mon.host.table import HOST_DOMAINS

assert config.__file__.startswith(sys.argv[1]), config.__file__  # the copy, not the checkout
good, bad = sys.argv[2], sys.argv[3]
settings = config.load(good, env={"OTEL_MON_FAKE__NAMES": "a,b"}, flags={"fake.every": "2m"})
collectors = [c for c in registry.build(settings.host, HostPaths("/")) if c.name == "fake"]
snap = HostSampler(collectors).refresh()
cfg = settings.host.section(FakeConfig)
print(json.dumps({"last": HOST_DOMAINS[-1], "depth": cfg.depth, "names": cfg.names, "every": cfg.every,
                  "point": snap.points["otel_mon.fake.depth"][0][0], "ok": snap.domains["fake"].ok,
                  "rc_bad": cli.main(["check-config", bad]), "rc_good": cli.main(["check-config", good])}))
'''


def test_a_new_domain_with_options_needs_only_its_own_module(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    shutil.copytree(PACKAGE, root / "otel_mon", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "otel_mon" / "host" / "fake.py").write_text(FAKE_DOMAIN, encoding="utf-8")  # and nothing else
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("fake:\n  depth: 7\n", encoding="utf-8")
    bad.write_text("fake:\n  depth: 0\n", encoding="utf-8")
    # -S: site-packages without their .pth files, so the checkout's editable install cannot shadow the copy
    path = os.pathsep.join([str(root), *site.getsitepackages()])
    proc = subprocess.run([sys.executable, "-S", "-c", SCRIPT, str(root), str(good), str(bad)], env={
        "PYTHONPATH": path, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    # found, placed by its position; YAML, environment and --set reach the section; the collector gets it; bad
    # values exit 2 with one line
    assert got == {"last": "fake", "depth": 7, "names": ["a", "b"], "every": 120.0, "point": 7, "ok": True,
                   "rc_bad": 2, "rc_good": 0}
    assert "otel-mon: config error: fake.depth: invalid value 0: must be above 0" in proc.stderr.splitlines()


def _config_classes() -> dict[str, str]:
    """Each registered section's class name -> the module that owns it."""
    return {d.section.cls.__name__: d.section.cls.__module__ for d in table.DOMAINS if d.section is not None}


@pytest.mark.shape
def test_no_module_outside_its_domain_names_a_domains_config_class() -> None:
    owners = _config_classes()
    assert {"CpuConfig", "FilesystemConfig", "DisksConfig", "InterfacesConfig"} <= set(owners)  # the test sees
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, owners)) + r")\b")
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for name in set(pattern.findall(path.read_text(encoding="utf-8"))):
            if owners[name] != module:
                wrong.append(f"{module} names {name} (declared in {owners[name]})")
    assert wrong == []


def test_each_registered_section_is_a_field_of_the_host_config_under_its_key() -> None:
    from dataclasses import fields

    names = [f.name for f in fields(HOST_CONFIG)]
    registered = [d.section for d in table.DOMAINS if d.section is not None]
    assert names == ["collectors", *(s.key for s in registered)]
    host = HOST_CONFIG()
    for section in registered:
        assert host.section(section.cls) == section.cls()  # the class's defaults apply


def _domain(key: str, position: int = 1, section: Section[object] | None = None) -> Domain:
    row = MetricSpec(f"otel_mon.{key}.x", "gauge", "1", (), "A row.", key)
    return Domain(key, position=position, metrics=(row,), section=section, build=lambda host, paths: NotImplemented)


@dataclass(frozen=True)
class _One:
    x: int = 1


@dataclass(frozen=True)
class _Two:
    y: int = 2


@pytest.mark.parametrize("sections", [
    (Section("same", _One), Section("same", _Two)),  # one key twice
    (Section("a", _One), Section("b", _One)),  # one class twice: host.section(cls) would be ambiguous
    (Section("collectors", _One),),  # the host section's own key
])
def test_clashing_sections_are_refused_at_assembly(sections: tuple[Section[object], ...]) -> None:
    with pytest.raises(TypeError, match="clashing sections"):
        assemble([_domain(f"d{i}", i, s) for i, s in enumerate(sections)])


def test_asking_for_a_class_no_domain_registers_fails() -> None:
    with pytest.raises(LookupError, match="_One"):
        HOST_CONFIG().section(_One)


def test_every_declared_reading_is_in_the_generated_table_of_docs_health() -> None:
    from otel_mon.docgen import HEALTH_DOC, render_readings, with_readings
    from otel_mon.health.reading_specs import READINGS

    page = HEALTH_DOC.read_text(encoding="utf-8")
    assert page == with_readings(page), "docs/health.md is stale: run `python -m otel_mon.docgen`"
    for name in {*READINGS, *(r.name for r in table.HOST_READINGS)}:
        assert f"| `{name}` |" in render_readings(), name


def test_every_registered_section_is_a_top_level_key_an_env_variable_and_a_flag() -> None:
    from dataclasses import fields

    from otel_mon import config, schema

    top = schema.keys(config.Settings)
    env = set(config.env_names(config.Settings))
    for section in (d.section for d in table.DOMAINS if d.section is not None):
        key, cls = section.key, section.cls
        if section.inline:  # its own keys sit at the top level (process_groups: a list)
            for f in fields(cls):
                assert top[f.name][0] == ("host", key, f.name), f.name
            continue
        assert top[key][0] == ("host", key), key  # the YAML key sits at the top level
        first = fields(cls)[0].name
        assert any(n.startswith(f"{key.upper()}__{first.upper()}") for n in env), key  # OTEL_MON_<KEY>__<FIELD>
        with pytest.raises(config.ConfigError) as err:
            config.load(env={}, flags={f"{key}.no_such_option": "1"})
        assert err.value.problems == [f"{key}.no_such_option: unknown key"], err.value.problems


@pytest.mark.shape
def test_the_discovery_rule_finds_exactly_the_modules_that_register_a_domain() -> None:
    declared = {}
    for info in pkgutil.iter_modules(otel_mon.host.__path__):
        module = importlib.import_module(f"otel_mon.host.{info.name}")
        if hasattr(module, "DOMAIN"):
            declared[info.name] = module.DOMAIN
    assert sorted(table.domain_modules()) == sorted(declared)
    assert set(table.DOMAINS) == set(declared.values())
    assert [d.position for d in table.DOMAINS] == sorted(d.position for d in table.DOMAINS)
    assert {"cpu", "selfproc"} <= set(declared) and not {"config", "sampler", "table"} & set(declared)


def test_a_module_whose_domain_line_holds_something_else_is_refused(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "roomtest"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "odd.py").write_text("Domain = dict\nDOMAIN = Domain(key='odd')\n", encoding="utf-8")
    (pkg / "plain.py").write_text("X = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert table.domain_modules(pkg) == ["odd"]
    with pytest.raises(TypeError, match=re.escape("roomtest.odd: DOMAIN is dict, not a Domain")):
        table.discover("roomtest", pkg)


@pytest.mark.parametrize(("key_b", "position_b", "message"), [
    ("a", 2, "share a key: a"),
    ("b", 1, "share a position: 1"),
])
def test_two_domains_with_one_key_or_one_position_are_refused(key_b: str, position_b: int, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        table.ordered([_domain("a", 1), _domain(key_b, position_b)])


def test_a_domain_declaring_another_domains_rows_is_refused() -> None:
    row = MetricSpec("system.cpu.time", "counter", "s", (), "Not ours.", "cpu")
    with pytest.raises(TypeError, match=re.escape("'memory' declares rows of another domain: system.cpu.time")):
        Domain("memory", position=1, metrics=(row,), build=lambda host, paths: NotImplemented)
