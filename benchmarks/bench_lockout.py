"""The lockout attacks of issue 23 against the agent and node_exporter 1.12.1, side by side (run by hand, once).

For each server and attack shape (``tests/hostile/lockout_attacker.py``: all from the scraper's own address,
reopening at once what the server closes) it makes 100 scrapes of /metrics, each on a new connection with a
1 s limit, and reports the share answered within 1 s and the p99 latency, next to the same server's p99 with
no attack, measured just before in the same run (the baseline of the ratio).

The "auth" shape: the agent has a token and the attacker sends none (401s); node_exporter has basic auth
(``--web.config.file``, a bcrypt hash made here with the C library's ``crypt``) and the attacker sends none
either. The scraper has the credentials in both.

    python benchmarks/bench_lockout.py [--node-exporter PATH] [--attempts 100]
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from readme_tables import markdown_path  # noqa: E402
from servers import free_port  # noqa: E402
from stamp import header, version_of  # noqa: E402

from tests.hostile.lockout_kit import ATTACKER, SHAPES, scrape_round, scrape_seconds  # noqa: E402

NODE_EXPORTER = ROOT / "build" / "stack" / "bin" / "node_exporter"  # `make stack-bin`: the pinned 1.12.1
TOKEN = "bench-lockout-token-0123456789"
PASSWORD = "bench-lockout-password"


def _bcrypt(password: str) -> str:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # libxcrypt's bcrypt ($2b$); the module is deprecated, the hash is what node_exporter reads

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


def _start(kind: str, port: int, auth: bool, node_exporter: str, tmp: Path) -> tuple[subprocess.Popen[bytes],
                                                                                     dict[str, str]]:
    """The server and the scraper's headers (its credentials when ``auth``)."""
    if kind == "agent":
        env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **({"OTEL_MON_HTTP__TOKEN": TOKEN} if auth else {})}
        cmd = [sys.executable, "-m", "otel_mon", "run", "--listen", f"127.0.0.1:{port}", "--interval", "1s",
               "--data-dir", str(tmp / f"spool-{port}")]
        headers = {"Authorization": f"Bearer {TOKEN}"} if auth else {}
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), headers
    cmd = [node_exporter, f"--web.listen-address=127.0.0.1:{port}"]
    headers = {}
    if auth:
        web = tmp / f"web-{port}.yml"
        web.write_text(f"basic_auth_users:\n  bench: '{_bcrypt(PASSWORD)}'\n")
        cmd.append(f"--web.config.file={web}")
        headers = {"Authorization": "Basic " + base64.b64encode(f"bench:{PASSWORD}".encode()).decode()}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), headers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--node-exporter", default=str(NODE_EXPORTER))
    parser.add_argument("--attempts", type=int, default=100)
    args = parser.parse_args()
    if not Path(args.node_exporter).exists():
        print(f"{args.node_exporter} is missing: run `make stack-bin`", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for shape, count, auth in SHAPES:
            for kind in ("agent", "node_exporter"):
                port = free_port()
                server, headers = _start(kind, port, auth, args.node_exporter, tmp)
                try:
                    deadline = time.monotonic() + 30
                    while scrape_seconds(port, headers) is None:
                        if time.monotonic() > deadline:
                            raise SystemExit(f"{kind} did not serve /metrics")
                        time.sleep(0.2)
                    _, base = scrape_round(port, headers, args.attempts)
                    attacker = subprocess.Popen([sys.executable, str(ATTACKER), shape, str(port), str(count)],
                                                stdout=subprocess.PIPE, text=True)
                    try:
                        assert attacker.stdout is not None
                        attacker.stdout.readline()  # "open N": the attack is up
                        served, p99 = scrape_round(port, headers, args.attempts)
                    finally:
                        attacker.kill()
                        attacker.wait()
                finally:
                    server.terminate()
                    server.wait(timeout=30)
                name = f"{shape} x{count}" + (" + auth, attacker without (401s)" if auth else "")
                rows.append((kind, name, served, p99, base))
                print(f"{kind:13} {name:40} {served:3}/{args.attempts} within 1 s  p99 {p99 * 1000:6.0f} ms  "
                      f"(no attack {base * 1000:5.0f} ms, x{p99 / base:.1f})", flush=True)
    lines = [header(node_exporter=False).rstrip("\n"),
             f"node_exporter {version_of([args.node_exporter, '--version'])} (build/stack/bin); "
             f"{args.attempts} scrapes per row, each a new connection with a 1 s limit, 50 ms apart; "
             "the attacker and the scraper share 127.0.0.1 and the machine.", "",
             "| server | attack | within 1 s | p99 under attack | p99 without (same run) | ratio |",
             "|---|---|---|---|---|---|"]
    for kind, name, served, p99, base in rows:
        lines.append(f"| {kind} | {name} | {served}/{args.attempts} | {p99 * 1000:.0f} ms | {base * 1000:.0f} ms | "
                     f"x{p99 / base:.1f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    target = markdown_path("lockout")
    if target is not None:
        target.write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
