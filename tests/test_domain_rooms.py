"""A host domain is one room: its config section is declared in its module and nowhere else (issue 9).

The host part of the settings is assembled from the domains' registrations (``SECTION`` in
``otel_mon/host/<domain>.py``); no other module of the package names a domain's config class, and a new
domain with options needs only its module (and its line in ``host/table.py``, the one list of domains).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from otel_mon.host import table
from otel_mon.host.config import HOST_CONFIG, assemble
from otel_mon.host.section import Section

PACKAGE = Path(__file__).resolve().parents[1] / "otel_mon"

FAKE_DOMAIN = '''
"""A throwaway domain with an option section: nothing outside this file knows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from otel_mon.host.base import Collected
from otel_mon.host.section import Section
from otel_mon.schema import Duration, Problem, check
from otel_mon.semconv import MetricSpec

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


SECTION = Section("fake", FakeConfig)


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
'''

SCRIPT = '''
import json, sys
from otel_mon import cli, config
from otel_mon.host import registry
from otel_mon.host.fake import FakeConfig
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler

assert config.__file__.startswith(sys.argv[1]), config.__file__  # the copy, not the checkout
good, bad = sys.argv[2], sys.argv[3]
settings = config.load(good, env={"OTEL_MON_FAKE__NAMES": "a,b"}, flags={"fake.every": "2m"})
collectors = [c for c in registry.build(settings.host, HostPaths("/")) if c.name == "fake"]
snap = HostSampler(collectors).refresh()
cfg = settings.host.section(FakeConfig)
print(json.dumps({"depth": cfg.depth, "names": cfg.names, "every": cfg.every,
                  "point": snap.points["otel_mon.fake.depth"][0][0], "ok": snap.domains["fake"].ok,
                  "rc_bad": cli.main(["check-config", bad]), "rc_good": cli.main(["check-config", good])}))
'''


def _add_fake_domain(root: Path) -> None:
    """The copied package plus the fake domain's module and its one line in the list of domains."""
    host = root / "otel_mon" / "host"
    (host / "fake.py").write_text(FAKE_DOMAIN, encoding="utf-8")
    source = (host / "table.py").read_text(encoding="utf-8")
    head, listing = "from __future__ import annotations\n", "MODULES: dict[str, ModuleType] = {\n"
    assert head in source and listing in source, "host/table.py changed shape: update this test"
    source = source.replace(head, head + "\nfrom otel_mon.host import fake\n", 1)
    source = source.replace(listing, listing + '    "fake": fake,\n', 1)
    (host / "table.py").write_text(source, encoding="utf-8")


def test_a_new_domain_with_options_needs_only_its_own_module(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    shutil.copytree(PACKAGE, root / "otel_mon", ignore=shutil.ignore_patterns("__pycache__"))
    _add_fake_domain(root)
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
    # YAML, environment and --set reach the section; the collector gets it; bad values exit 2 with one line
    assert got == {"depth": 7, "names": ["a", "b"], "every": 120.0, "point": 7, "ok": True, "rc_bad": 2,
                   "rc_good": 0}
    assert "otel-mon: config error: fake.depth: invalid value 0: must be above 0" in proc.stderr.splitlines()


def _config_classes() -> dict[str, str]:
    """Each registered section's class name -> the module that owns it."""
    return {module.SECTION.cls.__name__: module.__name__ for module in table.MODULES.values()
            if hasattr(module, "SECTION")}


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
    expected = [m.SECTION.key for m in table.MODULES.values() if hasattr(m, "SECTION")]
    assert names == ["collectors", *expected]
    host = HOST_CONFIG()
    for module in table.MODULES.values():
        if hasattr(module, "SECTION"):
            assert host.section(module.SECTION.cls) == module.SECTION.cls()  # the class's defaults apply


def _module(name: str, section: Section[object]) -> ModuleType:
    module = ModuleType(name)
    module.SECTION = section  # type: ignore[attr-defined]
    return module


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
        assemble({f"d{i}": _module(f"d{i}", s) for i, s in enumerate(sections)})


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
    for module in table.MODULES.values():
        if not hasattr(module, "SECTION"):
            continue
        key, cls = module.SECTION.key, module.SECTION.cls
        if module.SECTION.inline:  # its own keys sit at the top level (process_groups: a list)
            for f in fields(cls):
                assert top[f.name][0] == ("host", key, f.name), f.name
            continue
        assert top[key][0] == ("host", key), key  # the YAML key sits at the top level
        first = fields(cls)[0].name
        assert any(n.startswith(f"{key.upper()}__{first.upper()}") for n in env), key  # OTEL_MON_<KEY>__<FIELD>
        with pytest.raises(config.ConfigError) as err:
            config.load(env={}, flags={f"{key}.no_such_option": "1"})
        assert err.value.problems == [f"{key}.no_such_option: unknown key"], err.value.problems
