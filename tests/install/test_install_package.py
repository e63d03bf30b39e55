"""Packaging: the declared runtime dependencies are exactly what otel_mon imports; a built wheel installs and runs.

Offline and fast: the wheel is built without build isolation (setuptools comes from the test extra) and
installed with --no-deps --no-index into a fresh venv that borrows this environment's site-packages for the
dependencies, so nothing is downloaded.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import importlib.util
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import tomllib

from tests.conftest import ROOT

PACKAGE = ROOT / "otel_mon"


def _imported_modules() -> set[str]:
    """Every absolute module name any file of otel_mon imports (lazy and TYPE_CHECKING imports included)."""
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from a.b import c`: c may be a submodule (needed below namespace packages such as google.rpc)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
                names.add(node.module)
    return names


def _file_owners() -> dict[str, str]:
    owners: dict[str, str] = {}
    for dist in md.distributions():
        for file in dist.files or ():
            owners[str(Path(str(dist.locate_file(file))).resolve())] = _norm(dist.metadata["Name"])
    return owners


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party_distributions() -> set[str]:
    owners = _file_owners()
    stdlib = {Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib")}
    found: set[str] = set()
    for name in sorted(_imported_modules()):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top in ("otel_mon", "__future__"):
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue  # `from pkg import attribute`: the module itself is also in the set
        if spec is None or spec.origin in (None, "built-in", "frozen"):
            continue  # a name that is not a module, or a namespace package (its submodules are checked)
        origin = Path(spec.origin).resolve()
        if any(origin.is_relative_to(lib) and "site-packages" not in origin.parts for lib in stdlib):
            continue
        owner = owners.get(str(origin))
        assert owner, f"no installed distribution owns {name} ({origin})"
        found.add(owner)
    return found


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_norm(re.split(r"[ ;<>=!~\[]", req, maxsplit=1)[0]) for req in project["dependencies"]}


def test_runtime_dependencies_are_exactly_what_the_code_imports() -> None:
    imported = _third_party_distributions()
    declared = _declared()
    assert not imported - declared, f"imported but not declared in pyproject.toml: {sorted(imported - declared)}"
    assert not declared - imported, f"declared but never imported by otel_mon: {sorted(declared - imported)}"


def test_license_file_and_spdx_expression() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert "LICENSE" in project["license-files"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def _tracked_copy(dest: Path) -> Path:
    """The checkout's tracked files copied to ``dest``: setuptools builds in ``<source>/build/``, and a
    ``build/lib`` left by an earlier build of another tree would otherwise go into the wheel."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, timeout=60)
    if listed.returncode != 0:
        return ROOT  # not a git checkout (an unpacked sdist): build it as it is
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def install_wheel(tmp_path: Path) -> tuple[Path, Path]:
    """Build the wheel from a copy of the checkout and install it into a fresh venv: (its bin, its purelib)."""
    wheels = tmp_path / "wheels"
    source = _tracked_copy(tmp_path / "src")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(wheels), str(source)],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("otel_mon-*.whl")
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    tbin = target / "bin"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([str(tbin / "python"), "-c", purelib], capture_output=True, text=True,
                               check=True).stdout.strip())
    # The dependencies come from this environment (a plain path entry: its .pth files, such as the editable
    # install of the checkout, are not processed, so otel_mon can only come from the wheel).
    here = Path(sysconfig.get_paths()["purelib"])
    (site / "zz_deps_from_test_env.pth").write_text(f"{here}\n", encoding="utf-8")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(tbin / "python"), "install", "--quiet", "--no-deps",
         "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr
    return tbin, site


def test_built_wheel_installs_offline_and_runs(tmp_path: Path) -> None:
    tbin, site = install_wheel(tmp_path)
    version = subprocess.run([str(tbin / "otel-mon"), "--version"], capture_output=True, text=True, timeout=60,
                             cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"otel-mon {md.version('otel-mon')}"
    where = subprocess.run([str(tbin / "python"), "-c", "import otel_mon, sys; print(otel_mon.__file__)"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout
    # The wheel's metadata: its requirements are satisfied by what is installed, and the licence travels.
    check = subprocess.run([str(tbin / "python"), "-c", _CHECK_REQUIREMENTS], capture_output=True, text=True,
                           timeout=60, cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


_CHECK_REQUIREMENTS = """
import importlib.metadata as md, re, sys
dist = md.distribution("otel-mon")
assert dist.metadata["License-Expression"] == "Apache-2.0", dist.metadata["License-Expression"]
assert any(str(f).endswith("LICENSE") for f in dist.files), "LICENSE not in the wheel"
missing = []
for req in dist.requires or []:
    if "extra ==" in req:
        continue
    name = re.split(r"[ ;<>=!~\\[]", req, maxsplit=1)[0]
    try:
        md.version(name)
    except md.PackageNotFoundError:
        missing.append(name)
sys.exit(f"not installed: {missing}" if missing else 0)
"""
