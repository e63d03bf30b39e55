"""The spool section: defaults, coercion through ``schema.build``, and one line per problem."""

from __future__ import annotations

import pytest

from otel_mon import schema
from otel_mon.schema import ByteSize, ConfigError
from otel_mon.spool.config import SpoolConfig


def test_defaults() -> None:
    cfg = SpoolConfig()
    assert (cfg.enabled, cfg.dir, cfg.compress, cfg.fsync) == (True, "./data", True, "batch")
    assert (int(cfg.max_file_size), float(cfg.max_file_age)) == (32 * 1024**2, 3600)
    assert (cfg.max_files, int(cfg.max_bytes), float(cfg.max_age)) == (512, 1024**3, 7 * 86400)


def test_values_from_strings() -> None:
    cfg = schema.build(SpoolConfig, {"max_file_size": "16MiB", "max_file_age": "30m", "max_age": "3d",
                                     "max_bytes": "2GiB", "fsync": "never", "compress": "false"})
    assert (int(cfg.max_file_size), float(cfg.max_file_age), float(cfg.max_age)) == (16 * 1024**2, 1800, 3 * 86400)
    assert (cfg.max_bytes, cfg.fsync, cfg.compress) == (2 * 1024**3, "never", False)


def test_problems_one_line_each_with_the_section_path() -> None:
    with pytest.raises(ConfigError) as caught:
        schema.build(SpoolConfig, {"max_file_size": "1KiB", "max_files": 1, "fsync": "always"}, path="spool")
    problems = caught.value.problems
    assert any(p.startswith("spool.fsync: invalid value 'always': expected one of batch, never") for p in problems)
    assert "spool.max_file_size: invalid value 1024: must be at least 64KiB" in problems
    assert any(p.startswith("spool.max_files: invalid value 1:") for p in problems)


def test_post_init_lists_every_problem_relative_to_the_section() -> None:
    with pytest.raises(ValueError) as caught:
        SpoolConfig(dir=" ", max_file_size=ByteSize(32 * 1024**2), max_bytes=ByteSize(40 * 1024**2), max_files=-1)
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["dir", "max_files", "max_bytes"]
    assert lines[2] == ("max_bytes: invalid value 41943040: must be 0 (no limit) or at least twice max_file_size "
                        "(one active segment per signal must fit)")


def test_zero_turns_limits_off() -> None:
    cfg = SpoolConfig(max_files=0, max_bytes=ByteSize(0))
    assert cfg.max_files == 0 and cfg.max_bytes == 0
