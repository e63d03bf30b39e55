"""A real OTLP receiver for tests: OTLP/gRPC and OTLP/HTTP servers on 127.0.0.1 with scriptable failures.

Built from opentelemetry-proto's servicers (gRPC) and ``http.server`` (HTTP/protobuf and HTTP/JSON, gzip
bodies); optional TLS and required headers. Scripts: ``fail_next(n)`` answers UNAVAILABLE / 503 (optionally
with RetryInfo / Retry-After), ``reject_when(pred)`` answers INVALID_ARGUMENT / 400 for matching requests,
``down()`` / ``up()`` close the listeners and reopen them on the same ports. Every accepted request is kept
decoded; tests wait with ``wait_for(predicate, timeout)`` on a Condition, never with sleeps.
"""

from __future__ import annotations

import base64
import gzip
import http.server
import json
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc as logs_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as metrics_grpc

from otel_mon.http.open_connections import OpenConnections

REQUEST_TYPES: dict[str, type[Message]] = {
    "metrics": metrics_pb.ExportMetricsServiceRequest,
    "logs": logs_pb.ExportLogsServiceRequest,
}
RESPONSE_TYPES: dict[str, type[Message]] = {
    "metrics": metrics_pb.ExportMetricsServiceResponse,
    "logs": logs_pb.ExportLogsServiceResponse,
}


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path


def make_tls(directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> Tls:
    """A self-signed certificate for ``hosts``: with ``cryptography`` when installed, else ``openssl req``."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _make_tls_cryptography(cert, key, hosts)
    except ImportError:
        san = ",".join(f"IP:{h}" if h.replace(".", "").isdigit() else f"DNS:{h}" for h in hosts)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={hosts[0]}",
             "-addext", f"subjectAltName={san}"],
            check=True, capture_output=True,
        )
    return Tls(cert, key)


def _make_tls_cryptography(cert_path: Path, key_path: Path, hosts: tuple[str, ...]) -> None:
    import datetime
    import ipaddress

    from cryptography import x509  # type: ignore[import-not-found]
    from cryptography.hazmat.primitives import hashes, serialization  # type: ignore[import-not-found]
    from cryptography.hazmat.primitives.asymmetric import ec  # type: ignore[import-not-found]
    from cryptography.x509.oid import NameOID  # type: ignore[import-not-found]

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    alt = [x509.IPAddress(ipaddress.ip_address(h)) if h.replace(".", "").isdigit() else x509.DNSName(h)
           for h in hosts]
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


@dataclass(frozen=True)
class Received:
    """One accepted export request."""

    signal: str
    protocol: str  # "grpc" or "http"
    request: Any
    headers: Mapping[str, str] = field(repr=False)
    gzip: bool = False


@dataclass
class _Failure:
    remaining: int
    retry_after: float | None
    # "unavailable" (UNAVAILABLE / 503), "throttle" (RESOURCE_EXHAUSTED + RetryInfo / 429), "internal" (INTERNAL /
    # 500: an overloaded collector or a proxy) or "unknown" (UNKNOWN / 502)
    kind: str


class OtlpReceiver:
    """gRPC and HTTP OTLP endpoints sharing one record of what arrived and one failure script."""

    def __init__(self, tls: Tls | None = None, required_headers: Mapping[str, str] | None = None) -> None:
        self.tls = tls
        self.required_headers = {k.lower(): v for k, v in (required_headers or {}).items()}
        self._cond = threading.Condition(threading.RLock())
        self.received: list[Received] = []
        self.rejected: list[Received] = []
        self.attempts = 0
        self.failures_answered = 0
        self._failure: _Failure | None = None
        self._reject: tuple[Callable[[Any], bool], str] | None = None
        self._partial: list[int] = []  # rejected item counts of the next partial-success answers
        self._grpc_server: grpc.Server | None = None
        self._http_server: _HttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self.grpc_port = 0
        self.http_port = 0

    # ------------------------------------------------------------------------------------ lifecycle

    def start(self) -> OtlpReceiver:
        self._start_grpc()
        self._start_http()
        return self

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.down()

    def down(self) -> None:
        """Close both listeners and every open connection: clients see connection refused / reset."""
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None).wait(5)
            self._grpc_server = None
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
            self._http_server.connections.shutdown_all()
            self._http_server = None
        if self._http_thread is not None:
            self._http_thread.join(5)
            self._http_thread = None

    def up(self) -> None:
        """Listen again on the same ports."""
        self._start_grpc()
        self._start_http()

    def _start_grpc(self) -> None:
        server = grpc.server(ThreadPoolExecutor(max_workers=4, thread_name_prefix="otlp-receiver-grpc"))
        metrics_grpc.add_MetricsServiceServicer_to_server(_MetricsServicer(self), server)  # type: ignore[no-untyped-call]
        logs_grpc.add_LogsServiceServicer_to_server(_LogsServicer(self), server)  # type: ignore[no-untyped-call]
        address = f"127.0.0.1:{self.grpc_port}"
        if self.tls is not None:
            credentials = grpc.ssl_server_credentials([(self.tls.key.read_bytes(), self.tls.cert.read_bytes())])
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
        if port == 0:
            raise OSError(f"gRPC receiver cannot bind {address}")
        server.start()
        self.grpc_port = port
        self._grpc_server = server

    def _start_http(self) -> None:
        server = _HttpServer(("127.0.0.1", self.http_port), _HttpHandler, self)
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.tls.cert, self.tls.key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self.http_port = server.server_address[1]
        self._http_server = server
        self._http_thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                             name="otlp-receiver-http", daemon=True)
        self._http_thread.start()

    # ------------------------------------------------------------------------------------ addresses

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def grpc_endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.http_port}"

    def endpoint(self, protocol: str) -> str:
        return self.grpc_endpoint if protocol == "grpc" else self.http_endpoint

    # ------------------------------------------------------------------------------------ scripting

    def fail_next(self, count: int, retry_after: float | None = None, kind: str = "unavailable") -> None:
        """Answer the next ``count`` requests (either protocol) with a retryable failure."""
        with self._cond:
            self._failure = _Failure(count, retry_after, kind)

    def partial_next(self, *rejected: int) -> None:
        """Accept the next requests but answer with a partial success naming ``rejected`` items each."""
        with self._cond:
            self._partial = list(rejected)

    def reject_when(self, predicate: Callable[[Any], bool] | None, message: str = "rejected by test") -> None:
        """Answer INVALID_ARGUMENT / 400 to every request whose decoded protobuf matches ``predicate``."""
        with self._cond:
            self._reject = (predicate, message) if predicate else None

    # ------------------------------------------------------------------------------------ observing

    def wait_for(self, predicate: Callable[[OtlpReceiver], bool], timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def requests(self, signal: str | None = None) -> list[Received]:
        with self._cond:
            return [r for r in self.received if signal is None or r.signal == signal]

    # ------------------------------------------------------------------------------------ the decision

    def _decide(self, signal: str, protocol: str, request: Any, headers: Mapping[str, str],
                gzipped: bool) -> tuple[str, str, float | None]:
        """("ok" | "unauthenticated" | "unavailable" | "throttle" | "reject", message, retry_after)."""
        with self._cond:
            self.attempts += 1
            try:
                for key, value in self.required_headers.items():
                    if headers.get(key) != value:
                        return "unauthenticated", f"missing or wrong header {key}", None
                failure = self._failure
                if failure is not None and failure.remaining > 0:
                    failure.remaining -= 1
                    self.failures_answered += 1
                    return failure.kind, "receiver told to fail", failure.retry_after
                received = Received(signal, protocol, request, dict(headers), gzipped)
                if self._reject is not None and self._reject[0](request):
                    self.rejected.append(received)
                    return "reject", self._reject[1], None
                self.received.append(received)
                if self._partial:
                    return "partial", "some points refused by test", float(self._partial.pop(0))
                return "ok", "", None
            finally:
                self._cond.notify_all()


class _MetricsServicer(metrics_grpc.MetricsServiceServicer):  # type: ignore[misc]
    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _grpc_answer(self.receiver, "metrics", request, context)


class _LogsServicer(logs_grpc.LogsServiceServicer):  # type: ignore[misc]
    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _grpc_answer(self.receiver, "logs", request, context)


def partial_response(signal: str, rejected: int, message: str) -> Any:
    response = RESPONSE_TYPES[signal]()
    if signal == "metrics":
        response.partial_success.rejected_data_points = rejected
    else:
        response.partial_success.rejected_log_records = rejected
    response.partial_success.error_message = message
    return response


def _grpc_answer(receiver: OtlpReceiver, signal: str, request: Any, context: grpc.ServicerContext) -> Any:
    headers = {key: value for key, value in context.invocation_metadata() if isinstance(value, str)}
    verdict, message, retry_after = receiver._decide(signal, "grpc", request, headers, False)
    if verdict == "ok":
        return RESPONSE_TYPES[signal]()
    if verdict == "partial":
        return partial_response(signal, int(retry_after or 0), message)
    codes = {
        "unauthenticated": (grpc.StatusCode.UNAUTHENTICATED, code_pb2.UNAUTHENTICATED),
        "unavailable": (grpc.StatusCode.UNAVAILABLE, code_pb2.UNAVAILABLE),
        "throttle": (grpc.StatusCode.RESOURCE_EXHAUSTED, code_pb2.RESOURCE_EXHAUSTED),
        "reject": (grpc.StatusCode.INVALID_ARGUMENT, code_pb2.INVALID_ARGUMENT),
        "internal": (grpc.StatusCode.INTERNAL, code_pb2.INTERNAL),
        "unknown": (grpc.StatusCode.UNKNOWN, code_pb2.UNKNOWN),
    }
    code, rpc_code = codes[verdict]
    if retry_after is not None:
        status = status_pb2.Status(code=rpc_code, message=message)
        seconds = int(retry_after)
        info = error_details_pb2.RetryInfo(
            retry_delay=Duration(seconds=seconds, nanos=int((retry_after - seconds) * 1e9)))
        status.details.add().Pack(info)
        context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
    context.abort(code, message)


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[http.server.BaseHTTPRequestHandler],
                 receiver: OtlpReceiver) -> None:
        self.receiver = receiver
        self.connections = OpenConnections()  # the agent's own record: down() must reset kept-alive clients
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.connections.release(request)
        super().shutdown_request(request)


class _HttpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        signal = {"/v1/metrics": "metrics", "/v1/logs": "logs"}.get(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if signal is None:
            return self._answer(404, "unknown path")
        gzipped = (self.headers.get("Content-Encoding") or "").lower() == "gzip"
        content_type = self.headers.get("Content-Type")
        if content_type not in ("application/x-protobuf", "application/json"):
            return self._answer(415, "expected application/x-protobuf or application/json")
        self._json = content_type == "application/json"  # OTLP/HTTP answers in the request's encoding
        try:
            raw = gzip.decompress(body) if gzipped else body
            request = _from_json(signal, raw) if self._json else REQUEST_TYPES[signal].FromString(raw)
        except (DecodeError, OSError, EOFError, ValueError, json_format.ParseError):
            return self._answer(400, "undecodable body")
        headers = {key.lower(): value for key, value in self.headers.items()}
        verdict, message, retry_after = self.server.receiver._decide(signal, "http", request, headers, gzipped)
        if verdict == "ok":
            return self._send(200, self._encode(RESPONSE_TYPES[signal]()))
        if verdict == "partial":
            return self._send(200, self._encode(partial_response(signal, int(retry_after or 0), message)))
        status = {"unauthenticated": 401, "unavailable": 503, "throttle": 429, "reject": 400, "internal": 500,
                  "unknown": 502}[verdict]
        extra = {"Retry-After": str(max(0, round(retry_after)))} if retry_after is not None else {}
        self._answer(status, message, extra)

    _json = False

    def _encode(self, message: Message) -> bytes:
        if self._json:
            return str(json_format.MessageToJson(message)).encode()
        return bytes(message.SerializeToString())

    def _answer(self, status: int, message: str, extra: Mapping[str, str] | None = None) -> None:
        self._send(status, self._encode(status_pb2.Status(message=message)), extra)

    def _send(self, status: int, payload: bytes, extra: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if self._json else "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)


def _from_json(signal: str, raw: bytes) -> Message:
    """An OTLP/HTTP JSON body: protobuf JSON, except that trace and span ids are hex (OTLP's one change)."""
    data = json.loads(raw)

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("traceId", "spanId"):
                if isinstance(node.get(key), str):
                    node[key] = base64.b64encode(bytes.fromhex(node[key])).decode()
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(data)
    return json_format.ParseDict(data, REQUEST_TYPES[signal](), ignore_unknown_fields=True)


# ---------------------------------------------------------------------------------------------- helpers


def metric_points(requests: list[Received]) -> Iterator[tuple[str, int, float]]:
    """(metric name, time_unix_nano, value) of every number data point, in arrival order."""
    for received in requests:
        for rm in getattr(received.request, "resource_metrics", ()):
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    kind = metric.WhichOneof("data")
                    for point in getattr(getattr(metric, kind), "data_points", ()):
                        value = 0.0
                        if kind in ("gauge", "sum"):
                            value = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
                        yield metric.name, point.time_unix_nano, float(value)


def log_records(requests: list[Received]) -> Iterator[Any]:
    for received in requests:
        for rl in getattr(received.request, "resource_logs", ()):
            for sl in rl.scope_logs:
                yield from sl.log_records
