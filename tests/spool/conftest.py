"""Fixtures of the spool tests; the helpers they use live in ``spoolkit.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from spoolkit import Clock, MetricsPipeline, config

from otel_mon.spool.writer import SpoolWriter


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def writer(data_dir: Path) -> Iterator[SpoolWriter]:
    w = SpoolWriter(config(data_dir))
    yield w
    w.close()


@pytest.fixture
def metrics_pipeline(writer: SpoolWriter) -> Iterator[MetricsPipeline]:
    pipeline = MetricsPipeline(writer)
    yield pipeline
    pipeline.shutdown()
