"""The hook body is read from the WSGI stream in one call; the answers are the ones Werkzeug's ``get_data`` gave.

``cds.http.guards._read_body`` replaced ``request.get_data(cache=False)`` for bodies with a Content-Length (a
speed change): these tests compare the two on exact, short and failing streams, with and without a server
that bounds the stream itself (``wsgi.input_terminated``, as gunicorn does).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask, request
from werkzeug.exceptions import ClientDisconnected

from cds.http import guards
from tests.cds_service import SERVICE_ID, hook_request

URL = f"/cds-services/{SERVICE_ID}"
BODY = b'{"hook": "patient-view", "padding": "' + b"x" * 200_000 + b'"}'


class RecordingStream:
    """A WSGI input with ``read`` only (like gunicorn's) that remembers the sizes asked for (and can fail)."""

    def __init__(self, data: bytes, fail: bool = False) -> None:
        self.data = io.BytesIO(data)
        self.sizes: list[int | None] = []
        self.fail = fail

    def read(self, size: int | None = -1) -> bytes:
        self.sizes.append(size)
        if self.fail:
            raise OSError("connection reset")
        return self.data.read(size)


def _environ(data: bytes, length: int | None, terminated: bool = False, fail: bool = False) -> dict[str, Any]:
    environ: dict[str, Any] = {"wsgi.input": RecordingStream(data, fail)}
    if terminated:
        environ["wsgi.input_terminated"] = True
    if length is None:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ.pop("CONTENT_LENGTH", None)
    else:
        environ["CONTENT_LENGTH"] = str(length)
    return environ


def _outcome(app: Flask, read: Any, data: bytes, length: int | None, terminated: bool, fail: bool) -> Any:
    with app.test_request_context(
        URL, method="POST", environ_overrides=_environ(data, length, terminated, fail)
    ):
        try:
            got = read()
            assert isinstance(got, bytes)
            return got
        except ClientDisconnected as exc:
            return type(exc)


CASES = [
    (BODY, len(BODY), False),  # the usual case
    (b"", 0, False),  # Content-Length: 0
    (BODY[:1000], len(BODY), False),  # the client sent less than it announced
    (BODY, len(BODY), True),  # the connection fails while reading
    (BODY, None, False),  # chunked (no Content-Length): read in steps, empty unless the server bounds it
]
# Only a server that does not bound the stream (no ``wsgi.input_terminated``) can hold more than announced;
# one that sets the flag ends the stream where the body ends (WSGI), so these cases are not asked of it.
UNBOUNDED_ONLY = [
    (BODY, 0, False),
    (BODY, len(BODY) - 1, False),
]


@pytest.mark.parametrize(
    ("sent", "length", "fail", "terminated"),
    [(*case, t) for case in CASES for t in (False, True)] + [(*case, False) for case in UNBOUNDED_ONLY],
)
def test_same_bytes_or_error_as_werkzeug_get_data(sent, length, fail, terminated):
    app = Flask("t")
    app.config["MAX_CONTENT_LENGTH"] = 32 << 20
    new = _outcome(app, lambda: guards._read_body(32 << 20), sent, length, terminated, fail)
    old = _outcome(app, lambda: request.get_data(cache=False), sent, length, terminated, fail)
    assert new == old


def test_content_length_body_is_read_in_one_call():
    app = Flask("t")
    environ = _environ(BODY, len(BODY))
    with app.test_request_context(URL, method="POST", environ_overrides=environ):
        assert guards._read_body(32 << 20) == BODY
    stream = environ["wsgi.input"]
    assert stream.sizes == [len(BODY)]


class FailingInput(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        raise OSError("connection reset")

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        raise OSError("connection reset")


def test_short_body_through_the_app_is_400_not_500(make_app, mint_token):
    client = make_app().test_client()
    data = b'{"hook": "patient-view"}'
    resp = client.post(
        URL,
        input_stream=io.BytesIO(data[:5]),
        content_type="application/json",
        headers={
            "Authorization": f"Bearer {mint_token(f'http://localhost{URL}')}",
            "Content-Length": str(len(data)),
        },
    )
    assert resp.status_code == 400
    assert resp.get_json()["resourceType"] == "OperationOutcome"


def test_failing_read_through_the_app_is_400_not_500(make_app, mint_token):
    client = make_app().test_client()
    data = b'{"hook": "patient-view"}'
    resp = client.post(
        URL,
        input_stream=FailingInput(data),
        content_type="application/json",
        headers={
            "Authorization": f"Bearer {mint_token(f'http://localhost{URL}')}",
            "Content-Length": str(len(data)),
        },
    )
    assert resp.status_code == 400


def test_whole_hook_call_reads_the_body(make_app, mint_token):
    seen = []
    client = make_app(hook_runner=lambda req: seen.append(req) or {"cards": []}).test_client()
    body = hook_request()
    resp = client.post(
        URL, json=body, headers={"Authorization": f"Bearer {mint_token(f'http://localhost{URL}')}"}
    )
    assert resp.status_code == 200
    assert seen == [body]
