"""Build the real peers (Collector, Prometheus, Alertmanager, exporters) from pinned Go modules.

Why this exists: the tests must run the versions the configs are written for, not whatever the distribution
packages. Each binary is keyed by a hash of its pin line, the files that line names and the Go version, and
kept under ~/.cache/otel-mon/stack-bin/, so a second run on the same machine - a fresh clone too - only copies.
Go's own module and build caches make a changed pin cheap too. Stdlib only: it runs before any venv exists.

    python3 deploy/stack/stack_bin.py [--only NAME,...] [--pins FILE] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PINS = ROOT / "deploy" / "stack" / "pins.txt"
OUT = ROOT / "build" / "stack" / "bin"
# Bumped when the way a binary is built changes, so cached binaries of the old recipe are not reused.
RECIPE = "1"
STUB_TEXT = "<!doctype html><title>not built</title><p>This binary was built without its web UI (otel-mon stack-bin).\n"


class PinError(Exception):
    """A pin file line that cannot be built as written."""


@dataclass
class Pin:
    name: str
    module: str
    version: str
    package: str
    line: str
    ocb: str | None = None
    wrapper: str | None = None
    stubs: list[str] = field(default_factory=list)
    copy: bool = False
    xflags: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def files(self) -> list[Path]:
        """The repository files whose content decides the binary (besides the line itself)."""
        paths: list[Path] = []
        if self.ocb:
            paths.append(ROOT / self.ocb)
        if self.wrapper:
            wrapper = ROOT / self.wrapper
            paths.extend(sorted(p for p in wrapper.rglob("*") if p.is_file()) if wrapper.is_dir() else [wrapper])
        return paths


def parse_pins(text: str, source: str = "pins.txt") -> list[Pin]:
    pins: list[Pin] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) < 4:
            raise PinError(f"{source}:{number}: expected NAME MODULE VERSION PACKAGE [OPTION ...], got {line!r}")
        name, module, version, package, *options = fields
        if not re.fullmatch(r"v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", version):
            raise PinError(f"{source}:{number}: version {version!r} is not a module version such as v1.2.3")
        pin = Pin(name, module, version, package, " ".join(fields))
        for option in options:
            key, sep, value = option.partition("=")
            if not sep or not value:
                raise PinError(f"{source}:{number}: option {option!r} is not KEY=VALUE")
            if key == "ocb":
                pin.ocb = value
            elif key == "wrapper":
                pin.wrapper = value
            elif key == "stub":
                pin.stubs.append(value)
            elif key == "build" and value in ("install", "copy"):
                pin.copy = value == "copy"
            elif key == "x":
                pin.xflags.append(value)
            elif key == "tags":
                pin.tags.extend(value.split(","))
            else:
                known = "ocb=, wrapper=, stub=, build=install|copy, x=, tags="
                raise PinError(f"{source}:{number}: unknown option {option!r} ({known})")
        for path in pin.files():
            if not path.exists():
                raise PinError(f"{source}:{number}: {path.relative_to(ROOT)} does not exist")
        if any(p.name == name for p in pins):
            raise PinError(f"{source}:{number}: {name} is pinned twice")
        pins.append(pin)
    return pins


def go_env() -> dict[str, str]:
    out = subprocess.run(["go", "env", "-json", "GOVERSION", "GOOS", "GOARCH", "GOMODCACHE"],
                         check=True, capture_output=True, text=True).stdout
    env: dict[str, str] = json.loads(out)
    return env


def cache_key(pin: Pin, goenv: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for part in (RECIPE, pin.line, goenv["GOVERSION"], goenv["GOOS"], goenv["GOARCH"]):
        digest.update(part.encode() + b"\0")
    for path in pin.files():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    base = os.environ.get("OTEL_MON_STACK_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "otel-mon" / "stack-bin"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One builder per binary on the machine: a second clone waits and then finds it cached."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    print("  $ " + " ".join(argv), flush=True)
    subprocess.run(argv, cwd=cwd, env=env, check=True)


def ldflags(pin: Pin) -> str:
    return " ".join(["-s", "-w", *(f"-X {x}" for x in pin.xflags)])


def go_build_args(pin: Pin, output: Path) -> list[str]:
    args = ["go", "build", "-trimpath", f"-ldflags={ldflags(pin)}", "-o", str(output)]
    if pin.tags:
        args.append(f"-tags={','.join(pin.tags)}")
    return args


def module_dir(pin: Pin) -> Path:
    out = subprocess.run(["go", "mod", "download", "-json", f"{pin.module}@{pin.version}"],
                         check=True, capture_output=True, text=True).stdout
    return Path(json.loads(out)["Dir"])


def build_install(pin: Pin, target: Path, scratch: Path) -> None:
    """The plain case: `go install module/package@version`, which reads the module's own go.mod."""
    gobin = scratch / "gobin"
    gobin.mkdir()
    package = pin.module if pin.package == "." else f"{pin.module}/{pin.package.removeprefix('./')}"
    args = ["go", "install", "-trimpath", f"-ldflags={ldflags(pin)}"]
    if pin.tags:
        args.append(f"-tags={','.join(pin.tags)}")
    run([*args, f"{package}@{pin.version}"], env={**os.environ, "GOBIN": str(gobin)})
    built = [p for p in gobin.iterdir() if p.is_file()]
    if len(built) != 1:
        raise PinError(f"{pin.name}: go install left {len(built)} files in GOBIN, expected 1")
    shutil.move(str(built[0]), target)


def build_stubbed(pin: Pin, target: Path, work: Path) -> None:
    """A copy of the module (build/stack/src/NAME, git-ignored), with placeholders for npm-built assets if any.

    Also the way for a module whose version list the proxy refuses: `go install pkg@version` asks for that list
    (deprecation notices), `go mod download` of the exact version does not.
    """
    source = work / pin.name
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(module_dir(pin), source)
    for path in [source, *source.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    for stub in pin.stubs:
        placeholder = source / stub
        placeholder.parent.mkdir(parents=True, exist_ok=True)
        placeholder.write_text(STUB_TEXT)
    run([*go_build_args(pin, target), pin.package], cwd=source)


def build_wrapper(pin: Pin, target: Path, work: Path) -> None:
    """PACKAGE built inside a small module of ours, for modules whose go.mod needs replace directives."""
    assert pin.wrapper
    source = work / pin.name
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(ROOT / pin.wrapper, source)
    run(["go", "mod", "tidy"], cwd=source)
    run([*go_build_args(pin, target), pin.package], cwd=source)


def build_ocb(pin: Pin, target: Path, scratch: Path, work: Path) -> None:
    """ocb at the pinned version generates and compiles the distribution the manifest describes."""
    assert pin.ocb
    tools = scratch / "tools"
    tools.mkdir()
    run(["go", "install", f"{pin.module}@{pin.version}"], env={**os.environ, "GOBIN": str(tools)})
    builder = next(p for p in tools.iterdir() if p.is_file())
    source = work / pin.name
    if source.exists():
        shutil.rmtree(source)
    source.parent.mkdir(parents=True, exist_ok=True)  # ocb makes only the last directory of its output path
    manifest_text = (ROOT / pin.ocb).read_text()
    names = re.findall(r"^\s+name:\s*(\S+)", manifest_text, flags=re.M)
    if not names:
        raise PinError(f"{pin.name}: {pin.ocb} has no dist.name")
    if names[0] != pin.name:
        raise PinError(f"{pin.name}: {pin.ocb} names its distribution {names[0]!r}")
    manifest_text, count = re.subn(r"^(\s+output_path:).*$", rf"\1 {source}", manifest_text, count=1, flags=re.M)
    if count != 1:
        raise PinError(f"{pin.name}: {pin.ocb} has no dist.output_path line to point at build/stack/src")
    manifest = scratch / "builder-config.yaml"
    manifest.write_text(manifest_text)
    run([str(builder), f"--config={manifest}", f"--ldflags={ldflags(pin)}"], cwd=scratch)
    shutil.move(str(source / pin.name), target)


def build(pin: Pin, target: Path, work: Path) -> None:
    with tempfile.TemporaryDirectory(prefix=f"stack-bin-{pin.name}-") as tmp:
        scratch = Path(tmp)
        if pin.ocb:
            build_ocb(pin, target, scratch, work)
        elif pin.wrapper:
            build_wrapper(pin, target, work)
        elif pin.stubs or pin.copy:
            build_stubbed(pin, target, work)
        else:
            build_install(pin, target, scratch)


def install(cached: Path, dest: Path) -> None:
    """Hard link (or copy) the cached binary into build/stack/bin/, replacing any older one atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(cached, tmp)
    except OSError:
        shutil.copy2(cached, tmp)
    os.replace(tmp, dest)


def ensure(pin: Pin, goenv: dict[str, str], out: Path) -> str:
    key = cache_key(pin, goenv)
    entry = cache_root() / f"{pin.name}-{key}"
    cached = entry / pin.name
    if not cached.exists():
        with locked(cache_root() / f".{pin.name}-{key}.lock"):
            if not cached.exists():
                started = time.monotonic()
                print(f"stack-bin: building {pin.name} ({pin.module}@{pin.version})", flush=True)
                staging = cache_root() / f".{pin.name}-{key}.part{os.getpid()}"
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir(parents=True)
                build(pin, staging / pin.name, out.parent / "src")
                (staging / "pin.txt").write_text(pin.line + "\n")
                os.replace(staging, entry)
                peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
                install(cached, out / pin.name)
                return f"built in {time.monotonic() - started:.0f} s (largest build process so far {peak} MiB)"
    install(cached, out / pin.name)
    return "cached"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pins", type=Path, default=PINS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", default="", help="comma-separated names (default: every pinned binary)")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # ocb runs in a scratch directory: a relative --out would land there
    if shutil.which("go") is None:
        print("stack-bin: no Go toolchain: `go` is not on PATH (Go 1.26 or newer builds the pinned binaries)",
              file=sys.stderr)
        return 2
    try:
        pins = parse_pins(args.pins.read_text(), str(args.pins))
        wanted = [n for n in args.only.split(",") if n]
        unknown = sorted(set(wanted) - {p.name for p in pins})
        if unknown:
            raise PinError(f"--only: {', '.join(unknown)} not in {args.pins}")
        goenv = go_env()
        started = time.monotonic()
        for pin in pins:
            if wanted and pin.name not in wanted:
                continue
            print(f"stack-bin: {pin.name} {pin.version}: {ensure(pin, goenv, args.out)}", flush=True)
    except PinError as err:
        print(f"stack-bin: {err}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as err:
        print(f"stack-bin: {' '.join(map(str, err.cmd))} exited with {err.returncode}", file=sys.stderr)
        return 1
    print(f"stack-bin: {args.out} ready in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
