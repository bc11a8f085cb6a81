"""Unit tests of the FHIR allowlist and base checks (cds.gather.allowlist)."""

from __future__ import annotations

import pytest

from cds.gather.allowlist import is_allowed, onto_base, redact, under_base

ALLOW = ("https://ehr.example.org/fhir", "http://127.0.0.1:8080/fhir/")


@pytest.mark.parametrize(
    "url",
    [
        "https://ehr.example.org/fhir",
        "https://ehr.example.org/fhir/",
        "https://ehr.example.org/fhir/r4",
        "https://EHR.example.org:443/fhir",
        "http://127.0.0.1:8080/fhir",
    ],
)
def test_allowed(url):
    assert is_allowed(url, ALLOW)


@pytest.mark.parametrize(
    "url",
    [
        "http://ehr.example.org/fhir",  # http only through an http:// entry
        "https://ehr.example.org/fhir-other",  # not on a segment boundary
        "https://ehr.example.org/",  # above the prefix
        "https://ehr.example.org.evil.net/fhir",
        "https://evil.net/fhir?https://ehr.example.org/fhir",
        "https://user:pw@ehr.example.org/fhir",
        "https://ehr.example.org:8443/fhir",
        "https://ehr.example.org/fhir/../admin",
        "https://ehr.example.org/fhir/%2e%2e/admin",
        "http://localhost:8080/fhir",  # aliasing is for next links, not for the allowlist
        "http://127.0.0.1:8081/fhir",
        "ftp://ehr.example.org/fhir",
        "file:///etc/passwd",
        "ehr.example.org/fhir",
        "",
        None,
    ],
)
def test_not_allowed(url):
    assert not is_allowed(url, ALLOW)


def test_empty_allowlist_allows_nothing():
    assert not is_allowed("https://ehr.example.org/fhir", ())


def test_under_base_aliases_loopback_names_only():
    base = "http://127.0.0.1:8080/fhir"
    assert under_base("http://localhost:8080/fhir/Observation?page=2", base)
    assert under_base("http://[::1]:8080/fhir/Observation", base)
    assert not under_base("http://localhost:8081/fhir/Observation", base)
    assert not under_base("http://10.0.0.1:8080/fhir/Observation", base)
    assert not under_base("https://127.0.0.1:8080/fhir/Observation", base)
    assert not under_base("http://127.0.0.1:8080/other/Observation", base)
    assert under_base("https://ehr.example.org/fhir?_getpages=x", "https://ehr.example.org/fhir")
    assert not under_base("https://ehr.example.org.evil.net/fhir", "https://ehr.example.org/fhir")


def test_onto_base_keeps_path_and_query():
    rewritten = onto_base("http://localhost:8080/fhir/Observation?a=1&b=2", "http://127.0.0.1:8080/fhir")
    assert rewritten == "http://127.0.0.1:8080/fhir/Observation?a=1&b=2"
    with pytest.raises(ValueError):
        onto_base("https://evil.net/fhir/Observation", "http://127.0.0.1:8080/fhir")


def test_redact_drops_query_and_credentials():
    assert (
        redact("https://u:p@ehr.example.org/fhir/Observation?patient=123")
        == "https://ehr.example.org/fhir/Observation"
    )
    assert redact(None) == "<not a URL>"
