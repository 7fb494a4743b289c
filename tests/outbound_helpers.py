"""What the outbound-URL policy tests share: real local HTTP servers on chosen loopback addresses, and a resolver
that answers what the test scripts (a name first "public", then 127.0.0.1: DNS rebinding)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

PUBLIC_IP = "93.184.215.14"  # a globally routable address the policy lets through; the fake resolver routes it


@dataclass
class Served:
    host: str
    port: int
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    sni: list[str | None] = field(default_factory=list)
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)

    def url(self, path: str = "/", *, scheme: str = "http", host: str = "") -> str:
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            served.requests.append((self.path, self.headers.get("Host", "")))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, headers, body = served.routes.get(
                self.path, (200, {"Content-Type": "text/plain"}, f"answered by {served.host}".encode())
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    return Handler


@contextmanager
def _running(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _server(host: str, port: int) -> tuple[ThreadingHTTPServer, Served]:
    served = Served(host, port)
    server = ThreadingHTTPServer((host, port), _handler(served))
    served.port = server.server_address[1]
    return server, served


@contextmanager
def serve(host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None) -> Iterator[Served]:
    """A real HTTP(S) server on ``host``; it records every request and answers ``routes`` (else 200)."""
    server, served = _server(host, port)
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: served.sni.append(name)  # type: ignore[assignment,misc]
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    with _running(server):
        yield served


@contextmanager
def serve_pair(good_host: str = "127.0.0.2") -> Iterator[tuple[Served, Served]]:
    """Two servers on one port: the address the policy checked (``good_host``) and 127.0.0.1 (where a second
    lookup of a rebinding name would lead)."""
    for _ in range(20):
        good_server, good = _server(good_host, 0)
        try:
            evil_server, evil = _server("127.0.0.1", good.port)
        except OSError:  # that port is taken on 127.0.0.1: try another
            good_server.server_close()
            continue
        with _running(good_server), _running(evil_server):
            yield good, evil
        return
    raise RuntimeError("no port free on both loopback addresses")


@contextmanager
def serve_directory(root: Path, host: str) -> Iterator[Served]:
    """Static files under ``root`` (a bare git repository over git's "dumb" HTTP protocol)."""
    served = Served(host, 0)

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            served.requests.append((self.path, self.headers.get("Host", "")))
            super().do_GET()

    server = ThreadingHTTPServer((host, 0), partial(Handler, directory=str(root)))
    served.port = server.server_address[1]
    with _running(server):
        yield served


class FakeDNS:
    """``socket.getaddrinfo`` answering scripted names: each lookup takes the next answer, the last one repeats.
    Everything else (numeric addresses, the database's socket) goes to the real resolver, except ``routes``:
    an address mapped to where that address is "served" (a public IP answered by a local server)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.routes: dict[str, str] = {}
        self.lookups: list[str] = []
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def answer(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in self.routes:
            return self._real(self.routes[name], port, *args, **kwargs)
        if name not in self.answers:
            return self._real(host, port, *args, **kwargs)
        self.lookups.append(name)
        queue = self.answers[name]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        number = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, number, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, number))
            for a in addresses
        ]


def self_signed(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A certificate for ``name`` only: the server's TLS context and a client context that trusts just it."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client
