"""Each probe kind against real loopback servers: success, failure with a reason, timeouts honoured."""

from __future__ import annotations

import time
from typing import Any

import pytest

from otel_mon.probes import dns, http, tcp
from otel_mon.probes.config import ProbeConfig


def probe(**kw: object) -> ProbeConfig:
    kw.setdefault("name", "t")
    kw.setdefault("timeout", 1.0)
    kw.setdefault("interval", 5.0)
    return ProbeConfig(**kw)  # type: ignore[arg-type]


# --- tcp ------------------------------------------------------------------------------------------------------
def test_tcp_connects_to_a_listener(tcp_listener: int) -> None:
    result = tcp.run(probe(kind="tcp", host="127.0.0.1", port=tcp_listener))
    assert result.ok, result.reason
    assert 0 < result.duration < 2.0
    assert result.phases["connect"] <= result.duration
    assert result.detail == "connected to 127.0.0.1"


def test_tcp_resolves_localhost_from_etc_hosts(tcp_listener: int) -> None:
    result = tcp.run(probe(kind="tcp", host="localhost", port=tcp_listener))
    assert result.ok, result.reason


def test_tcp_closed_port_is_a_failure_with_a_reason(closed_port: int) -> None:
    result = tcp.run(probe(kind="tcp", host="127.0.0.1", port=closed_port))
    assert not result.ok
    assert result.reason == "connection refused"
    assert result.duration < 2.0


# --- http -----------------------------------------------------------------------------------------------------
def test_http_ok_with_phases_and_body_regex(http_target: Any) -> None:
    result = http.run(probe(kind="http", url=f"{http_target.base}/ok", body_regex=r"status=(green|ok)"))
    assert result.ok, result.reason
    assert result.detail == "HTTP 200"
    p = result.phases
    assert 0 < p["connect"] <= p["first_byte"] <= p["total"] <= result.duration < 2.0


def test_http_body_regex_mismatch_fails(http_target: Any) -> None:
    result = http.run(probe(kind="http", url=f"{http_target.base}/ok", body_regex="status=red"))
    assert not result.ok
    assert result.reason == "body does not match body_regex"


def test_http_server_error_fails_unless_expected(http_target: Any) -> None:
    failed = http.run(probe(kind="http", url=f"{http_target.base}/fail"))
    assert not failed.ok
    assert failed.reason == "status 500, expected 2xx"
    expected = http.run(probe(kind="http", url=f"{http_target.base}/fail", expect_status=(500, 503)))
    assert expected.ok, expected.reason


def test_http_redirects_are_not_followed(http_target: Any) -> None:
    result = http.run(probe(kind="http", url=f"{http_target.base}/redirect"))
    assert not result.ok and result.reason == "status 302, expected 2xx"
    assert http.run(probe(kind="http", url=f"{http_target.base}/redirect", expect_status=(302,))).ok


def test_http_head(http_target: Any) -> None:
    result = http.run(probe(kind="http", method="HEAD", url=f"{http_target.base}/ok"))
    assert result.ok, result.reason


@pytest.mark.parametrize("route", ["/slow", "/slow-body"])
def test_http_timeout_is_honoured(http_target: Any, route: str) -> None:
    start = time.monotonic()
    result = http.run(probe(kind="http", url=f"{http_target.base}{route}", timeout=0.3))
    elapsed = time.monotonic() - start
    assert not result.ok
    assert result.reason == "timeout after 0.3s"
    assert 0.25 <= elapsed < 1.0


def test_http_closed_port(closed_port: int) -> None:
    result = http.run(probe(kind="http", url=f"http://127.0.0.1:{closed_port}/"))
    assert not result.ok and result.reason == "connection refused"


def test_https_verifies_certificates_by_default(tls_target: Any) -> None:
    result = http.run(probe(kind="http", url=f"{tls_target.base}/ok", timeout=2.0))
    assert not result.ok
    assert result.reason.startswith("TLS certificate verification failed"), result.reason
    unverified = http.run(probe(kind="http", url=f"{tls_target.base}/ok", timeout=2.0, verify_tls=False))
    assert unverified.ok, unverified.reason
    assert unverified.phases["connect"] <= unverified.phases["tls"] <= unverified.phases["first_byte"]


# --- dns ------------------------------------------------------------------------------------------------------
def test_dns_system_resolver_finds_localhost() -> None:
    result = dns.run(probe(kind="dns", target="localhost"))
    assert result.ok, result.reason
    assert "127.0.0.1" in result.detail
    assert result.duration < 1.0


def test_dns_unknown_name_fails() -> None:
    result = dns.run(probe(kind="dns", target="no-such-host.invalid", timeout=2.0))
    assert not result.ok
    assert result.reason.startswith(("cannot resolve", "timeout after")), result.reason


def test_dns_server_that_never_answers_times_out(silent_udp: int) -> None:
    start = time.monotonic()
    result = dns.run(probe(kind="dns", target="example.org", server=f"127.0.0.1:{silent_udp}", timeout=0.3))
    assert not result.ok and result.reason == "timeout after 0.3s"
    assert 0.25 <= time.monotonic() - start < 1.0


def test_dns_server_on_a_closed_port_is_refused(closed_port: int) -> None:
    result = dns.run(probe(kind="dns", target="example.org", server=f"127.0.0.1:{closed_port}", timeout=1.0))
    assert not result.ok
    assert result.reason in ("connection refused", "timeout after 1s"), result.reason
