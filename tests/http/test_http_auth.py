"""Bearer token and TLS, over real sockets where it matters."""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from otel_mon.http import HttpServer, TlsError
from otel_mon.http.auth import authorized, tls_context

if TYPE_CHECKING:  # conftest is never imported: two conftest modules share that name
    from conftest import CertPair, Fetch, Probes

# test.temperature in Cel, as PrometheusMetricReader names it.
SERIES = "test_temperature_celsius"

Serve = Callable[..., HttpServer]
ROUTES = ("/", "/metrics", "/health", "/ready", "/nope")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ("s3cret", False),
        ("Basic s3cret", False),
        ("Bearer", False),
        ("Bearer s3cre", False),
        ("Bearer s3cret!", False),
        ("Bearer s3cret", True),
        ("bearer  s3cret ", True),
        ("Bearer s\xe9cret", False),
    ],
)
def test_authorized(header: str | None, expected: bool) -> None:
    assert authorized("s3cret", header) is expected


def test_no_token_means_open() -> None:
    assert authorized(None, None) and authorized("", "Bearer anything")


def test_token_guards_every_route(serve: Serve, fetch: Fetch, probes: Probes) -> None:
    probes.ready = True
    server = serve(token="s3cret")
    for path in ROUTES:
        missing = fetch(server, path)
        assert missing.status == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="otel-mon"'
        wrong = fetch(server, path, headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer ")
        assert "invalid_token" in wrong.headers["WWW-Authenticate"]
    for path, status in zip(ROUTES, (200, 200, 200, 200, 404), strict=True):
        assert fetch(server, path, headers={"Authorization": "Bearer s3cret"}).status == status


def test_token_never_logged(serve: Serve, fetch: Fetch, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(token="s3cret")
    with caplog.at_level(logging.DEBUG, logger="otel_mon.http"):
        assert fetch(server, "/metrics", headers={"Authorization": "Bearer s3cret"}).status == 200
        assert fetch(server, "/metrics", headers={"Authorization": "Bearer wrong-guess"}).status == 401
    assert caplog.records and "s3cret" not in caplog.text and "wrong-guess" not in caplog.text


def test_tls_serves_to_a_client_that_trusts_the_certificate(
    serve: Serve, fetch: Fetch, tls_pair: CertPair, client_context: ssl.SSLContext
) -> None:
    server = serve(tls_cert=str(tls_pair.cert), tls_key=str(tls_pair.key), token="s3cret")
    reply = fetch(server, "/metrics", headers={"Authorization": "Bearer s3cret"}, context=client_context)
    assert reply.status == 200 and SERIES.encode() in reply.body
    with pytest.raises(ssl.SSLCertVerificationError):
        fetch(server, "/metrics", context=ssl.create_default_context())  # system CAs do not know the cert


def test_tls_minimum_is_1_2(serve: Serve, fetch: Fetch, tls_pair: CertPair, client_context: ssl.SSLContext) -> None:
    assert tls_context(str(tls_pair.cert), str(tls_pair.key)).minimum_version == ssl.TLSVersion.TLSv1_2
    server = serve(tls_cert=str(tls_pair.cert), tls_key=str(tls_pair.key))
    client_context.maximum_version = ssl.TLSVersion.TLSv1_2
    assert fetch(server, "/ready", context=client_context).status == 503


def test_plain_http_on_the_tls_port_fails_quietly(
    serve: Serve,
    fetch: Fetch,
    tls_pair: CertPair,
    client_context: ssl.SSLContext,
    capfd: pytest.CaptureFixture[str],
) -> None:
    server = serve(tls_cert=str(tls_pair.cert), tls_key=str(tls_pair.key))
    with pytest.raises((http.client.HTTPException, OSError)):
        fetch(server, "/metrics")
    assert fetch(server, "/health", context=client_context).status == 200
    assert capfd.readouterr().err == ""


def test_a_stalled_handshake_does_not_block_other_clients(
    serve: Serve, fetch: Fetch, tls_pair: CertPair, client_context: ssl.SSLContext
) -> None:
    server = serve(tls_cert=str(tls_pair.cert), tls_key=str(tls_pair.key))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10):  # connects, never says hello
        assert fetch(server, "/health", context=client_context).status == 200


def test_tls_file_errors_name_the_file(tmp_path: Path, tls_pair: CertPair, other_tls_pair: CertPair) -> None:
    cert, key = str(tls_pair.cert), str(tls_pair.key)
    missing = str(tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a pem\n")
    cases = [
        (missing, key, f"http.tls_cert: cannot read {missing!r}: No such file or directory"),
        (cert, missing, f"http.tls_key: cannot read {missing!r}: No such file or directory"),
        (str(garbage), key, f"http.tls_cert: {str(garbage)!r} holds no PEM certificate"),
        (key, key, f"http.tls_cert: {key!r} holds no PEM certificate"),
        (cert, str(garbage), f"http.tls_key: {str(garbage)!r} is not a PEM private key matching the certificate"),
        (cert, str(other_tls_pair.key), f"http.tls_key: {str(other_tls_pair.key)!r} is not a PEM private key"),
    ]
    for cert_path, key_path, message in cases:
        with pytest.raises(TlsError) as caught:
            tls_context(cert_path, key_path)
        assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_encrypted_key_fails_instead_of_prompting(tmp_path: Path, tls_pair: CertPair) -> None:
    encrypted = tmp_path / "encrypted.pem"
    subprocess.run(
        ["openssl", "pkey", "-in", str(tls_pair.key), "-aes256", "-passout", "pass:pw", "-out", str(encrypted)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(TlsError, match="is encrypted"):
        tls_context(str(tls_pair.cert), str(encrypted))


def test_bad_tls_fails_start_before_binding(make_server: Callable[..., HttpServer], tmp_path: Path) -> None:
    # Readable files (the config checks that) that are no certificate and key.
    (tmp_path / "c.pem").write_text("not a certificate\n")
    (tmp_path / "k.pem").write_text("not a key\n")
    server = make_server(tls_cert=str(tmp_path / "c.pem"), tls_key=str(tmp_path / "k.pem"))
    with pytest.raises(TlsError, match=r"c\.pem"):
        server.start()
    with pytest.raises(RuntimeError):
        _ = server.port
