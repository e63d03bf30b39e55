"""The ``spool`` config section: where the write-ahead log lives, how it rotates and what it keeps.

Why the defaults: ``max_bytes = 1GiB`` holds ``max_age = 7d`` of a mid-size server's metrics and logs with
room for a larger collection; the sizes behind that are measured by ``benchmarks/bench_spool.py`` and kept
with the run they come from in the README (its spool section and the ``bench:spool`` table), not here.
``max_files = 512``: a week of hourly segments for both signals is 336 files, plus room for size rotations
of a noisy log. A limit set to 0 is off. Limits are applied after each rotation and at least once a minute
while writing, so the active segments may pass ``max_bytes`` by up to ``max_file_size`` in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from otel_mon.schema import ByteSize, Duration, Problem, check

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
    # metrics/ or logs/ as a symbolic link: refused at start (exit 2) unless allowed here.
    allow_symlinks: bool = False

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        if not str(self.dir).strip():
            problems.append(Problem("dir", "must not be empty", self.dir))
        if self.max_file_size < MIN_FILE_SIZE:
            problems.append(Problem("max_file_size", "must be at least 64KiB", self.max_file_size))
        if self.max_file_age <= 0:
            problems.append(Problem("max_file_age", "must be above 0", self.max_file_age))
        if self.max_files < 0 or self.max_files == 1:
            problems.append(Problem("max_files", "must be 0 (no limit) or at least 2 (active segments)",
                                    self.max_files))
        if self.max_bytes < 0 or (0 < self.max_bytes < 2 * self.max_file_size):
            problems.append(Problem("max_bytes", "must be 0 (no limit) or at least twice max_file_size (one "
                                                 "active segment per signal must fit)", self.max_bytes))
        if self.max_age < 0:
            problems.append(Problem("max_age", "must not be negative (0 = no limit)", self.max_age))
        if self.fsync not in ("batch", "never"):
            problems.append(Problem("fsync", "expected one of batch, never", self.fsync))
        check(self, problems)
