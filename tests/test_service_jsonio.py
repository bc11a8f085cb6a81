"""cds.jsonio and cds.http.json_provider: orjson in and out, with the standard library's values and verdicts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from cds.http.json_provider import OrjsonProvider
from cds.jsonio import dumps_bytes, parse_json


def stdlib(raw: bytes):
    return json.loads(raw)


def same(a, b) -> bool:
    """Equal values of the same types all the way down (``1`` is not ``1.0``, ``0.0`` is not ``-0.0``)."""
    return repr(a) == repr(b)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "b": 1.0, "c": -0.0, "d": -0, "e": 1E2, "f": 1e-999, "g": [true, false, null]}',
        b'{"a": 1, "a": 2}',  # duplicate keys: the last wins in both
        b'{"s": "\\u00e9\\ud83d\\ude00\\/\\n\\u0000", "t": "\xc3\xa9"}',
        b" [ ] ",
        b"0.1000000000000000055511151231257827",
        b"2.2250738585072011e-308",  # the subnormal edge
        b"9223372036854775807",  # the largest 64-bit integer: orjson keeps it exact
        b"-9223372036854775808",
    ],
)
def test_values_are_the_standard_librarys(raw):
    assert same(parse_json(raw), stdlib(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b"-9223372036854775809",  # one below the 64-bit range: 19 digits
        b"18446744073709551616",  # one above the unsigned 64-bit range: 20 digits
        b'{"value": 123456789012345678901234567890}',
        b'[1, {"n": -99999999999999999999999}]',
    ],
)
def test_integers_beyond_64_bits_stay_exact_integers(raw):
    value = parse_json(raw)
    assert same(value, stdlib(raw))
    assert "e+" not in repr(value)  # orjson alone would have made them floats


@pytest.mark.parametrize(
    "raw",
    [
        b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark: json.loads accepts it, orjson does not
        '{"a": "\u00e9"}'.encode("utf-16"),  # json.loads detects UTF-16
        '["x"]'.encode("utf-32-le"),
        b'"\\ud800"',  # a lone surrogate escape
    ],
)
def test_what_only_the_standard_library_accepts_is_still_accepted(raw):
    assert same(parse_json(raw), stdlib(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b"NaN",
        b'{"a": Infinity}',
        b"[-Infinity]",
        b"1e999",
        b'{"a": [1e309]}',
        b"-1E400",
        b"1" + b"0" * 400 + b".0",  # overflows without an exponent
        b"{",
        b"",
        b"{}x",
        b'{"a": "\xff"}',
        b"[1,]",
    ],
)
def test_not_json_or_not_finite_is_refused_in_request_bodies(raw):
    with pytest.raises(ValueError):
        parse_json(raw, finite=True)


@pytest.mark.parametrize("raw", [b"NaN", b'{"a": Infinity}', b"[-Infinity, 1e999]", b"-1E400"])
def test_without_finite_nan_and_infinity_are_the_standard_librarys(raw):
    assert same(parse_json(raw), stdlib(raw))  # FHIR responses: parsed as before; the normaliser judges


@pytest.mark.parametrize("raw", [b"{", b"", b"{}x", b'{"a": "\xff"}', b"[1,]"])
def test_not_json_is_refused_without_finite_too(raw):
    with pytest.raises(ValueError):
        parse_json(raw)


def depth_of(value) -> int:
    """Nesting depth of a list-of-lists document, without recursion."""
    depth = 0
    while isinstance(value, list):
        value, depth = value[0], depth + 1
    return depth


def nested(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


@pytest.mark.parametrize("finite", [True, False])
def test_deep_documents_within_both_parsers_limits_are_read(finite):
    assert depth_of(parse_json(nested(500), finite=finite)) == 500 == depth_of(stdlib(nested(500)))


@pytest.mark.parametrize("finite", [True, False])
def test_depth_beyond_the_standard_librarys_limit_but_within_orjsons_is_read(finite):
    """The documented difference: json.loads stops at the recursion limit (1000 less the caller's depth),
    orjson at 1024 levels; the service answers such documents (test_service_hook)."""
    with pytest.raises(RecursionError):
        stdlib(nested(1010))
    assert depth_of(parse_json(nested(1010), finite=finite)) == 1010


@pytest.mark.parametrize("finite", [True, False])
@pytest.mark.parametrize("raw", [b"[" * 100_000, nested(1100), nested(5000)])
def test_too_deep_is_refused(finite, raw):
    with pytest.raises((ValueError, RecursionError)):
        parse_json(raw, finite=finite)


def has_big_int(value) -> bool:
    if isinstance(value, list):
        return any(has_big_int(v) for v in value)
    if isinstance(value, dict):
        return any(has_big_int(v) for v in value.values())
    return type(value) is int and not -(2**63) <= value < 2**64


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_any_json_document_parses_to_the_standard_librarys_value(value, ascii_only):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert same(parse_json(raw), stdlib(raw))
    assert same(parse_json(raw, finite=True), stdlib(raw))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_written_responses_read_back_to_the_same_value(value):
    body = dumps_bytes(value)
    if body is None:  # orjson declines integers beyond 64 bits, and only those here
        assert has_big_int(value)
        return
    assert same(json.loads(body), value)


def app() -> Flask:
    flask_app = Flask("codec-test")
    flask_app.json = OrjsonProvider(flask_app)
    return flask_app


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [
        {"cards": [{"summary": "é ü ✓", "n": 1.5, "z": None, "b": 2, "a": 1}]},
        {"big": 2**70},  # orjson declines; Flask's provider writes it exactly
        {"when": dt.date(2026, 11, 27), "at": dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)},
        {"point": Point(3)},
        {1: "non-string key"},
    ],
)
def test_responses_are_what_flasks_default_provider_writes(value):
    flask_app = app()
    with flask_app.app_context():
        ours = flask_app.json.response(value)
        default = Flask("default")
        default.json.sort_keys = False
        with default.app_context():
            theirs = default.json.response(value)
    assert ours.mimetype == theirs.mimetype == "application/json"
    assert json.loads(ours.get_data()) == json.loads(theirs.get_data())
    assert list(json.loads(ours.get_data())) == list(json.loads(theirs.get_data()))  # key order kept
    assert ours.get_data().endswith(b"\n")


def test_responses_are_compact_utf8():
    flask_app = app()
    with flask_app.app_context():
        body = flask_app.json.response({"b": "é", "a": [1, 2]}).get_data()
    assert body == '{"b":"é","a":[1,2]}\n'.encode()


def test_debug_responses_are_indented_by_flask():
    flask_app = app()
    flask_app.debug = True
    with flask_app.app_context():
        body = flask_app.json.response({"a": 1}).get_data(as_text=True)
    assert body == '{\n  "a": 1\n}\n'


def test_non_finite_floats_are_written_as_null_not_as_the_non_json_nan():
    """The one documented difference from json.dumps (no response of the service holds such a number)."""
    assert dumps_bytes([math.nan, math.inf, -math.inf]) == b"[null,null,null]"


def test_floats_keep_their_shortest_form():
    for value in (0.1, 1e-7, 1e22, 5e-324, 1.7976931348623157e308, -0.0):
        body = dumps_bytes([value])
        assert body is not None and json.loads(body)[0] == value
        assert math.copysign(1, json.loads(body)[0]) == math.copysign(1, value)
