"""The ``spool`` config section: where the write-ahead log lives, how it rotates and what it keeps.

Sizing of the defaults (measured with ``benchmarks/bench_spool.py`` on a host-sized collection of 300 data
points: one metrics line is ~93 KB raw and ~7.1 KB gzipped, i.e. ~24 bytes per point on disk):

* metrics every 10 s: 8,640 lines a day, ~0.80 GB/day raw, ~61 MB/day gzipped; 7 days ~430 MB gzipped;
* the active segment stays plain: at most 1 h (~34 MB raw, just past ``max_file_size``, so a busy hour
  rotates by size a little early), one per signal;
* logs: a chatty agent (~1 line/s of ~1 KB records) adds ~10 MB/day gzipped, ~70 MB a week.

So a week of a normal host needs ~0.5 GB and ``max_bytes = 1GiB`` keeps ``max_age = 7d`` with headroom for
a noisier host or a larger collection (twice the points still fits). ``max_files = 512``: 7 days of hourly
segments for both signals is 336 files, plus room for size rotations of a noisy log. Any limit set to 0 is
off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from otel_mon.schema import ByteSize, Duration

MiB = 1024**2
GiB = 1024**3
MIN_FILE_SIZE = 64 * 1024


@dataclass(frozen=True)
class SpoolConfig:
    """Settings of the on-disk spool (``docs/spool-format.md``)."""

    enabled: bool = True
    dir: str = "./data"
    max_file_size: ByteSize = ByteSize(32 * MiB)
    max_file_age: Duration = Duration(3600.0)
    compress: bool = True
    max_files: int = 512
    max_bytes: ByteSize = ByteSize(1 * GiB)
    max_age: Duration = Duration(7 * 86400.0)
    fsync: Literal["batch", "never"] = "batch"

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not str(self.dir).strip():
            problems.append(f"dir: invalid value {self.dir!r}: must not be empty")
        if self.max_file_size < MIN_FILE_SIZE:
            problems.append(f"max_file_size: invalid value {self.max_file_size!r}: must be at least 64KiB")
        if self.max_file_age <= 0:
            problems.append(f"max_file_age: invalid value {self.max_file_age!r}: must be above 0")
        if self.max_files < 0 or self.max_files == 1:
            problems.append(
                f"max_files: invalid value {self.max_files!r}: must be 0 (no limit) or at least 2 (active segments)"
            )
        if self.max_bytes < 0 or (0 < self.max_bytes < 2 * self.max_file_size):
            problems.append(
                f"max_bytes: invalid value {self.max_bytes!r}: must be 0 (no limit) or at least twice "
                f"max_file_size (one active segment per signal must fit)"
            )
        if self.max_age < 0:
            problems.append(f"max_age: invalid value {self.max_age!r}: must not be negative (0 = no limit)")
        if self.fsync not in ("batch", "never"):
            problems.append(f"fsync: invalid value {self.fsync!r}: expected one of batch, never")
        if problems:
            raise ValueError("\n".join(problems))
