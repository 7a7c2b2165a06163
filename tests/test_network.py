"""Requests to the Bot API as they leave: a send is marked the instant its bytes go, over
plain HTTP and over TLS as to Telegram itself, never when the request never left."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot import network
from bot.network import MarkingTransport, when_written

REFUSED = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: 57\r\n\r\n"
    b'{"ok":false,"error_code":502,"description":"Bad Gateway"}'
)
ANSWER = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
)


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Server:
    """A Bot API stand-in that notes, at each request's first byte, how many sends had been
    marked, and answers once the whole request is in."""

    def __init__(self, marks: list[str], answers: list[bytes] | None = None) -> None:
        self.marks = marks
        self.answers = answers or []  # the first answers, then ANSWER
        self.seen: list[tuple[int, bytes]] = []  # marks at the first byte, the request
        self.sockets: list[socket.socket] = []

    def close(self) -> None:
        for connection in self.sockets:
            connection.close()

    def waiting(self) -> int:
        """Bytes that reached the server's side of its connections, not yet read."""
        waiting = 0
        for connection in self.sockets:
            with contextlib.suppress(BlockingIOError):
                waiting += len(connection.recv(1 << 16, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        return waiting

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen = writer.get_extra_info("socket")  # asyncio's view of it: no recv
        self.sockets.append(socket.fromfd(seen.fileno(), seen.family, seen.type))
        while first := await reader.read(1):
            marked = len(self.marks)
            head = first + await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            self.seen.append((marked, head + await reader.readexactly(length)))
            writer.write(self.answers.pop(0) if self.answers else ANSWER)
            await writer.drain()
        writer.close()


@pytest.fixture(params=["http", "https"])
async def served(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Server, str, httpx.AsyncClient, list[str]]]:
    marks: list[str] = []
    server = Server(marks)
    server_tls = client_tls = None
    if request.param == "https":
        cert, key = certificate(tmp_path)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        client_tls = ssl.create_default_context(cafile=str(cert))
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=server_tls)
    port = listening.sockets[0].getsockname()[1]
    transport = MarkingTransport(httpx.Limits(max_connections=4), ssl_context=client_tls)
    async with listening, httpx.AsyncClient(transport=transport) as client:
        yield server, f"{request.param}://127.0.0.1:{port}/bot/sendMessage", client, marks
    server.close()


async def test_a_send_is_marked_before_its_first_byte_leaves(
    served: tuple[Server, str, httpx.AsyncClient, list[str]],
) -> None:
    server, url, client, marks = served
    waiting_when_marked: list[int] = []

    def mark(left: bool) -> None:
        marks.append("marked" if left else "refused")
        waiting_when_marked.append(server.waiting())

    for text in ("First", "Second, on the same connection"):
        with when_written(mark):
            answer = await client.post(url, json={"chat_id": 1, "text": text})
        assert answer.json() == {"ok": True}
    assert waiting_when_marked == [0, 0]  # not a byte of the request had reached the server
    assert [marked for marked, _ in server.seen] == [1, 2]
    assert len(server.sockets) == 1
    assert b"Second, on the same connection" in server.seen[1][1]


async def test_a_request_that_never_left_is_never_marked() -> None:
    marks: list[str] = []
    closed = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = closed.sockets[0].getsockname()[1]
    closed.close()
    await closed.wait_closed()
    async with httpx.AsyncClient(transport=MarkingTransport(httpx.Limits())) as client:
        with when_written(lambda _: marks.append("marked")), pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{port}/bot/sendMessage", json={"chat_id": 1})
    assert marks == []


async def test_an_attempt_telegram_refused_is_unmarked_until_the_next_one_leaves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(network, "RETRY_PAUSES", (0.0, 0.0))
    seen: list[bool] = []
    server = Server([], answers=[REFUSED])
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    request = network.RetryingRequest()
    await request.initialize()
    try:
        async with listening:
            with when_written(seen.append):
                code, _ = await request.do_request(
                    f"http://127.0.0.1:{port}/bot/sendMessage", "POST"
                )
    finally:
        await request.shutdown()
        server.close()
    assert code == 200
    assert seen == [True, False, True]  # left, refused (a crash now: send it again), left
    assert len(server.seen) == 2
