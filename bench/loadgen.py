"""A closed-loop HTTP load generator, run as its own process (``python -m bench.loadgen``).

``concurrency`` threads each keep one keep-alive connection and POST the same hook request body in a loop
until ``duration`` seconds have passed; each request carries the next pre-minted token (a token is
accepted once: the service's replay cache) and a fresh ``hookInstance``. Requests that start during the
first ``warmup`` seconds are not counted. The result (JSON on stdout or ``--out``) includes the generator's
own CPU time over the counted window, so its share of the machine can be printed next to the figures.
Only loopback URLs are accepted.

The client (``KeepAliveClient``) speaks plain HTTP/1.1 on a socket: one ``sendall`` of the request line,
headers and body, then the status line, headers and a ``Content-Length`` body (a chunked body is decoded
too). It runs on the same cores as the server, so it is kept lean: ``http.client`` parses every response's
headers with the email package and cost about twice as much CPU per request. Every request is a real
request on a kept-alive connection; a connection the server closes is reopened.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PLACEHOLDER = b"00000000-0000-4000-8000-000000000000"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class LoadResult:
    concurrency: int
    duration_s: float
    requests: int = 0
    ok: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    rps: float = 0.0
    median_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    out_of_tokens: bool = False
    tokens_used: int = 0

    @property
    def errors(self) -> int:
        return self.requests - self.ok

    @property
    def cpu_share_of_core(self) -> float:
        return self.cpu_s / self.wall_s if self.wall_s else 0.0


class HttpError(Exception):
    """The server's answer is not HTTP/1.1 this client understands, or the connection broke mid-answer."""


class KeepAliveClient:
    """One kept-alive HTTP/1.1 connection to a loopback server: ``post(path, headers, body) -> (status, body)``."""

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._sock: socket.socket | None = None
        self._buffer = b""

    def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._buffer = b""
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        status, fields = self._head()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            data = self._chunked()
        elif "content-length" in fields:
            data = self._exactly(int(fields["content-length"]))
        else:
            raise HttpError("response without a length")
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, data

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._buffer = b""

    def _head(self) -> tuple[int, dict[str, str]]:
        end = self._buffer.find(b"\r\n\r\n")
        while end < 0:
            self._fill()
            end = self._buffer.find(b"\r\n\r\n")
        head, self._buffer = self._buffer[:end].decode("latin-1"), self._buffer[end + 4 :]
        status_line, *header_lines = head.split("\r\n")
        version, _, rest = status_line.partition(" ")
        if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
            raise HttpError("not an HTTP/1.x status line")
        fields = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        return int(rest[:3]), fields

    def _fill(self) -> None:
        chunk = self._sock.recv(262144) if self._sock is not None else b""
        if not chunk:
            raise HttpError("connection closed by the server")
        self._buffer += chunk

    def _exactly(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._fill()
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def _line(self) -> bytes:
        end = self._buffer.find(b"\r\n")
        while end < 0:
            self._fill()
            end = self._buffer.find(b"\r\n")
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        return line

    def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self._line().split(b";", 1)[0], 16)
            if size == 0:
                while self._line():  # trailer fields, up to the empty line
                    pass
                return b"".join(parts)
            parts.append(self._exactly(size))
            self._exactly(2)  # the CRLF after the chunk


class _Tokens:
    def __init__(self, tokens: list[str]) -> None:
        self._tokens = tokens
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> str | None:
        with self._lock:
            if self._next >= len(self._tokens):
                return None
            self._next += 1
            return self._tokens[self._next - 1]

    @property
    def used(self) -> int:
        return self._next


def _pct(sorted_ms: list[float], pct: float) -> float:
    if not sorted_ms:
        return 0.0
    index = min(len(sorted_ms) - 1, max(0, -(-len(sorted_ms) * pct // 100) - 1))
    return sorted_ms[int(index)]


def run_load(
    url: str,
    body: bytes,
    tokens: list[str],
    concurrency: int,
    duration_s: float,
    warmup_s: float = 0.0,
    timeout_s: float = 30.0,
) -> LoadResult:
    """Run the load in this process (threads) and return the counted window's figures."""
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        raise ValueError("the load generator only talks to loopback addresses")
    host, port, path = parts.hostname, parts.port or 80, parts.path or "/"
    pool = _Tokens(tokens)
    started = time.monotonic()
    counted_from = started + warmup_s
    deadline = counted_from + duration_s
    out_of_tokens = threading.Event()
    per_thread: list[list[tuple[float, str]]] = [[] for _ in range(concurrency)]

    def worker(samples: list[tuple[float, str]]) -> None:
        client = KeepAliveClient(host, port, timeout_s)
        while time.monotonic() < deadline:
            token = pool.take()
            if token is None:
                out_of_tokens.set()
                break
            payload = body.replace(PLACEHOLDER, str(uuid.uuid4()).encode(), 1)
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            begin = time.monotonic()
            try:
                code, data = client.post(path, headers, payload)
                status = str(code)
                if status == "200" and not data.startswith(b'{"cards":'):
                    status = "200-bad-body"
            except (OSError, HttpError, ValueError) as exc:
                status = type(exc).__name__
                client.close()
            if begin >= counted_from:
                samples.append((time.monotonic() - begin, status))
        client.close()

    threads = [
        threading.Thread(target=worker, args=(per_thread[i],), daemon=True) for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, counted_from - time.monotonic()))
    cpu0, wall0 = _cpu(), time.monotonic()
    for thread in threads:
        thread.join(timeout=duration_s + timeout_s + 5)
    cpu1, wall1 = _cpu(), time.monotonic()
    samples = [s for per in per_thread for s in per]
    statuses = Counter(status for _elapsed, status in samples)
    ms = sorted(elapsed * 1000 for elapsed, _status in samples)
    window = min(wall1, deadline) - wall0 if not out_of_tokens.is_set() else wall1 - wall0
    return LoadResult(
        concurrency=concurrency,
        duration_s=duration_s,
        requests=len(samples),
        ok=statuses.get("200", 0),
        statuses=dict(sorted(statuses.items())),
        rps=len(samples) / window if window > 0 else 0.0,
        median_ms=_pct(ms, 50),
        p90_ms=_pct(ms, 90),
        p99_ms=_pct(ms, 99),
        max_ms=ms[-1] if ms else 0.0,
        cpu_s=cpu1 - cpu0,
        wall_s=wall1 - wall0,
        out_of_tokens=out_of_tokens.is_set(),
        tokens_used=pool.used,
    )


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True, type=Path, help="request body file (JSON)")
    parser.add_argument("--tokens", required=True, type=Path, help="file with one bearer token per line")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=0.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    tokens = args.tokens.read_text().split()
    result = run_load(args.url, args.body.read_bytes(), tokens, args.concurrency, args.duration, args.warmup)
    text = json.dumps(asdict(result))
    if args.out:
        args.out.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
