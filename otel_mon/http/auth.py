"""Optional bearer-token auth and TLS for the HTTP endpoints.

When ``http.token`` is set, every path needs ``Authorization: Bearer <token>``: /metrics, /health, the index,
unknown paths (so a stranger cannot map the routes) and /ready as well. The exception is the status page's
static files (``/``, ``/static/app.js``, ``/static/app.css``): identical for everyone, no host data, and they
must load for the page to ask for the token (see ``otel_mon.web.page``). A Kubernetes readiness probe must then
send the header (``httpGet.httpHeaders``), or use a ``tcpSocket`` probe. The token travels in clear text unless
TLS is on; the server warns when that happens on a non-loopback address.
"""

from __future__ import annotations

import hmac
import ssl
from typing import NoReturn

from otel_mon.http.render import Response, render_text


class TlsError(OSError):
    """The certificate or key cannot be used; the message names the setting and the file."""


def authorized(token: str | None, authorization: str | None) -> bool:
    """True when no token is configured or the Authorization header carries it as a Bearer credential."""
    if not token:
        return True
    scheme, _, credential = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Headers arrive decoded as latin-1: re-encode to the bytes the client sent. The comparison takes the same
    # time wherever the first difference is, so the token cannot be guessed byte by byte.
    return hmac.compare_digest(credential.strip().encode("latin-1", "replace"), token.encode())


def unauthorized(authorization: str | None) -> Response:
    """401 with the challenge RFC 6750 asks for; a wrong token is told apart from a missing one."""
    challenge = 'Bearer realm="otel-mon"' + (', error="invalid_token"' if authorization else "")
    return render_text(401, "unauthorized\n", [("WWW-Authenticate", challenge)])


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context (TLS 1.2 or later) for ``cert`` and ``key``, checked file by file for a usable message.

    ``ssl`` reports every PEM problem as "PEM lib", so each file is read and checked on its own first.
    """
    for setting, path in (("tls_cert", cert), ("tls_key", key)):
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise TlsError(f"http.{setting}: cannot read {path!r}: {exc.strerror}") from None
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        probe.load_verify_locations(cafile=cert)
    except ssl.SSLError:
        raise TlsError(f"http.tls_cert: {cert!r} holds no PEM certificate") from None

    def no_password() -> NoReturn:
        # Without a callback OpenSSL would prompt on the terminal and hang a service at start-up.
        raise TlsError(f"http.tls_key: {key!r} is encrypted; give an unencrypted key")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key, password=no_password)
    except ssl.SSLError:
        raise TlsError(f"http.tls_key: {key!r} is not a PEM private key matching the certificate {cert!r}") from None
    return ctx
