"""``bench.loadgen.KeepAliveClient``: the load generator's HTTP/1.1 client against canned loopback answers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from bench.loadgen import HttpError, KeepAliveClient


class CannedServer:
    """Accepts connections on 127.0.0.1 and answers each request with the next canned response."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(5)
                while self.answers:
                    request = self._read_request(conn)
                    if request is None:
                        break
                    self.requests.append(request)
                    answer = self.answers.pop(0)
                    conn.sendall(answer)
                    if b"Connection: close" in answer or answer == b"":
                        break

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0])
        while len(body) < length:
            body += conn.recv(65536)
        return head + b"\r\n\r\n" + body

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def canned() -> Iterator[type[CannedServer]]:
    servers: list[CannedServer] = []

    def make(answers: list[bytes]) -> CannedServer:
        server = CannedServer(answers)
        servers.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in servers:
        server.close()


OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"cards":[]}'


def test_keeps_the_connection_and_reads_content_length_bodies(canned) -> None:
    server = canned([OK, b"HTTP/1.1 401 UNAUTHORIZED\r\nContent-Length: 0\r\n\r\n", OK])
    client = KeepAliveClient("127.0.0.1", server.port, 5)
    assert client.post("/x", {"Authorization": "Bearer a"}, b'{"a":1}') == (200, b'{"cards":[]}')
    assert client.post("/x", {"Authorization": "Bearer b"}, b"{}") == (401, b"")
    assert client.post("/x", {}, b"{}") == (200, b'{"cards":[]}')
    client.close()
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /x HTTP/1.1\r\n")
    assert b"\r\nContent-Length: 7\r\n" in first and b"\r\nAuthorization: Bearer a\r\n" in first
    assert first.endswith(b'\r\n\r\n{"a":1}')


def test_decodes_chunked_bodies(canned) -> None:
    answer = (
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"car\r\n7;x=1\r\nds":[]}\r\n0\r\n\r\n'
    )
    server = canned([answer, OK])
    client = KeepAliveClient("127.0.0.1", server.port, 5)
    assert client.post("/x", {}, b"{}") == (200, b'{"cards":[]}')
    assert client.post("/x", {}, b"{}")[0] == 200  # the chunked body was consumed exactly
    client.close()


def test_reconnects_after_connection_close(canned) -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
    server = canned([closing, OK])
    client = KeepAliveClient("127.0.0.1", server.port, 5)
    assert client.post("/x", {}, b"{}") == (200, b"{}")
    assert client.post("/x", {}, b"{}") == (200, b'{"cards":[]}')
    client.close()
    assert server.connections == 2


@pytest.mark.parametrize(
    "answer",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}", b"SSH-2.0\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n"],
)
def test_broken_answers_are_errors(canned, answer: bytes) -> None:
    server = canned([answer])
    client = KeepAliveClient("127.0.0.1", server.port, 5)
    with pytest.raises(HttpError):
        client.post("/x", {}, b"{}")
    client.close()
