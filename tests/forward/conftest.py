"""Fixtures of the forwarder tests: a real OTLP receiver, TLS files, forwarders stopped at the end."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The repository root (for ``otel_mon`` without an install) and tests/ (for ``otlp_receiver``).
for _path in (Path(__file__).resolve().parents[2], Path(__file__).resolve().parents[1]):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from otlp_receiver import OtlpReceiver, Tls, make_tls  # noqa: E402

from otel_mon.forward import Forwarder  # noqa: E402


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def forwarders() -> Iterator[list[Forwarder]]:
    """Forwarders started by a test; stopped at the end whatever happened."""
    started: list[Forwarder] = []
    yield started
    for forwarder in started:
        forwarder.stop(2.0)
