"""Real failures in real child processes: kill -9 mid-write, and a file size limit that makes writes fail."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from spoolkit import ROOT, child_env, config, run_python, wait_for

from otel_mon.spool.reader import SpoolReader
from otel_mon.spool.segments import list_segments
from otel_mon.spool.writer import SpoolLockedError, SpoolWriter

WRITER_LOOP = """
import json, sys
from otel_mon.schema import ByteSize
from otel_mon.spool.config import SpoolConfig
from otel_mon.spool.writer import SpoolWriter
w = SpoolWriter(SpoolConfig(dir=sys.argv[1], fsync="never", max_file_size=ByteSize(256 * 1024)))
seq = 0
while True:
    # lines up to 200 KB: a kill can land in the middle of one write
    body = json.dumps({"seq": seq, "pad": "x" * (seq * 7919 % 200_000)})
    w.append("metrics", [body.encode() + b"\\n"])
    seq += 1
"""


def test_kill_9_mid_write_leaves_only_whole_lines(data_dir: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", WRITER_LOOP, str(data_dir)], env=child_env(), cwd=ROOT)
    try:
        wait_for(lambda: len(list_segments(data_dir / "metrics", "metrics")) >= 4, what="the child to rotate")
        with pytest.raises(SpoolLockedError, match=f"pid {child.pid}"):
            SpoolWriter(config(data_dir))  # a second agent on the same directory
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL

    w = SpoolWriter(config(data_dir))  # the kernel released the lock with the process
    try:
        for seg in list_segments(data_dir / "metrics", "metrics"):
            if seg.plain is not None:
                data = seg.plain.read_bytes()
                assert data == b"" or data.endswith(b"\n")
        w.append("metrics", [b'{"seq": "after"}\n'])
    finally:
        w.close()
    reader = SpoolReader(data_dir, "metrics")
    got = [r.data["seq"] for r in reader.records()]
    assert reader.corrupt == 0
    assert got[-1] == "after"
    assert got[:-1] == list(range(len(got) - 1))  # every batch the child finished, in order, no hole
    assert not list((data_dir / "metrics").glob("*.tmp"))


FULL_DISK = """
import json, logging, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so write() returns EFBIG instead of killing us
messages = []

class Keep(logging.Handler):
    def emit(self, record):
        messages.append([record.levelname, record.getMessage()])

logging.getLogger("otel_mon").addHandler(Keep())
logging.getLogger("otel_mon").setLevel(logging.INFO)
from otel_mon.schema import ByteSize, Duration
from otel_mon.spool.config import SpoolConfig
from otel_mon.spool.writer import SpoolWriter
w = SpoolWriter(SpoolConfig(dir=sys.argv[1], fsync="batch", compress=False, max_files=0, max_bytes=ByteSize(0),
                            max_age=Duration(0)))
resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, 10_000))  # no file may grow past 10,000 bytes

def line(seq, size):
    head = json.dumps({"seq": seq, "pad": ""})
    return json.dumps({"seq": seq, "pad": "x" * (size - len(head) - 1)}).encode() + b"\\n"

results = [w.append("metrics", [line(seq, size)]) for seq, size in
           [(0, 3000), (1, 3000), (2, 3000), (3, 3000), (4, 20_000), (5, 3000), (6, 3000)]]
print(json.dumps({"results": results, "stats": w.stats(), "health": w.status(), "logs": messages}))
w.close()
"""


def test_write_errors_drop_count_log_once_and_recover(data_dir: Path) -> None:
    done = run_python(FULL_DISK, str(data_dir))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    # 0-2 fit (9,000 bytes); 3 is cut at 10,000 (EFBIG): dropped and cut back; 4 is larger than any file may
    # be: dropped in a fresh segment too; 5 and 6 fit in that fresh segment: writing works again by itself.
    assert out["results"] == [True, True, True, False, False, True, True]
    assert out["stats"]["dropped"]["metrics/write_error"] == 2
    assert out["stats"]["records"]["metrics"] == 5
    assert out["health"]["last_error"]["message"].startswith("metrics: write failed: File too large")
    assert out["health"]["status"] == "ok"
    errors = [m for level, m in out["logs"] if level == "ERROR"]
    recovered = [m for _level, m in out["logs"] if m.startswith("spool: writing metrics works again")]
    assert len(errors) == 1 and "dropping batches" in errors[0]
    assert len(recovered) == 1 and "2 lines were dropped" in recovered[0]

    segments = list_segments(data_dir / "metrics", "metrics")
    assert len(segments) == 2
    first, second = (s.path.read_bytes() for s in segments)
    assert len(first) == 9000 and first.endswith(b"\n")  # the partial write of 3 was cut back
    assert len(second) == 6000
    reader = SpoolReader(data_dir, "metrics")
    assert [r.data["seq"] for r in reader.records()] == [0, 1, 2, 5, 6]
    assert reader.corrupt == 0


def test_directory_lock_holds_across_processes(data_dir: Path) -> None:
    holder = SpoolWriter(config(data_dir))
    try:
        other = run_python(
            "import sys\nfrom otel_mon.spool.config import SpoolConfig\nfrom otel_mon.spool.writer import SpoolWriter\n"
            "SpoolWriter(SpoolConfig(dir=sys.argv[1]))", str(data_dir))
    finally:
        holder.close()
    assert other.returncode != 0
    assert f"in use by another otel-mon process (pid {os.getpid()})" in other.stderr
