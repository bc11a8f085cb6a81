"""POST /cds-services/<id>/feedback: SPEC-NOTES 1.14 item 27; storage in SQLite; the report."""

from __future__ import annotations

import copy
import json
import sqlite3

import pytest

from cds.db import open_database
from tests.cds_service import DATA, SERVICE_ID, assert_valid, example_card, hook_request

URL = f"/cds-services/{SERVICE_ID}/feedback"
SPEC_EXAMPLES = [
    "feedback-accepted.json",
    "feedback-overridden-no-reason.json",
    "feedback-overridden-with-reason.json",
]


@pytest.fixture
def send(mint_token):
    def _send(client, body, url: str = URL, token: str | None = "mint", **kwargs):
        headers = {}
        if token == "mint":
            token = mint_token(f"http://localhost{url}")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return client.post(
            url,
            data=json.dumps(body),
            content_type=kwargs.pop("content_type", "application/json"),
            headers=headers,
            **kwargs,
        )

    return _send


def item(**changes):
    base = {"card": "c-1", "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize("name", SPEC_EXAMPLES)
def test_spec_examples_are_stored_with_raw_json(make_app, send, name):
    app = make_app()
    body = json.loads((DATA / name).read_text())
    resp = send(app.test_client(), body)
    assert resp.status_code == 200
    assert_valid("FeedbackAck", resp.get_json())
    assert resp.get_json() == {"stored": 1}
    (row,) = app.extensions["nk_cds"].db.all_feedback()
    sent = body["feedback"][0]
    assert row.raw == sent
    assert row.card_uuid == sent["card"] and row.outcome == sent["outcome"]
    assert row.outcome_timestamp == sent["outcomeTimestamp"] and row.service_id == SERVICE_ID
    if "acceptedSuggestions" in sent:
        assert row.accepted_suggestions == [s["id"] for s in sent["acceptedSuggestions"]]
    if "overrideReason" in sent:
        assert row.override_code == sent["overrideReason"]["reason"]["code"]
        assert row.override_system == sent["overrideReason"]["reason"]["system"]
        assert row.user_comment == sent["overrideReason"]["userComment"]


def test_sandbox_style_reason_without_display_and_extra_members(make_app, send):
    app = make_app()
    fb = item(
        overrideReason={"reason": {"code": "not-eligible", "system": "https://nktrials.org/override"}},
        extension={"com.example": 1},
        newMember="kept",
    )
    assert send(app.test_client(), {"feedback": [fb]}).status_code == 200
    (row,) = app.extensions["nk_cds"].db.all_feedback()
    assert row.override_display is None and row.raw["newMember"] == "kept"


def test_several_items_one_post(make_app, send):
    app = make_app()
    body = {"feedback": [item(card=f"c-{i}") for i in range(5)]}
    assert send(app.test_client(), body).get_json() == {"stored": 5}
    assert [r.card_uuid for r in app.extensions["nk_cds"].db.all_feedback()] == [f"c-{i}" for i in range(5)]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-feedback"),
        pytest.param({"feedback": []}, id="empty-list"),
        pytest.param({"feedback": item()}, id="not-a-list"),
        pytest.param({"feedback": [item(card=None)]}, id="missing-card"),
        pytest.param({"feedback": [item(card="")]}, id="empty-card"),
        pytest.param({"feedback": [item(outcome=None)]}, id="missing-outcome"),
        pytest.param({"feedback": [item(outcome="ignored")]}, id="bad-outcome"),
        pytest.param({"feedback": [item(outcomeTimestamp=None)]}, id="missing-timestamp"),
        pytest.param({"feedback": [item(outcomeTimestamp="yesterday")]}, id="bad-timestamp"),
        pytest.param({"feedback": [item(outcomeTimestamp="2026-11-27")]}, id="date-only"),
        pytest.param({"feedback": [item(outcomeTimestamp="2026-11-27T10:00:00")]}, id="no-timezone"),
        pytest.param({"feedback": [item(outcome="accepted")]}, id="accepted-without-suggestions"),
        pytest.param(
            {"feedback": [item(outcome="accepted", acceptedSuggestions=[])]}, id="accepted-empty-suggestions"
        ),
        pytest.param(
            {"feedback": [item(outcome="accepted", acceptedSuggestions=[{"uuid": "x"}])]},
            id="suggestion-without-id",
        ),
        pytest.param({"feedback": [item(overrideReason={})]}, id="empty-override-reason"),
        pytest.param(
            {"feedback": [item(overrideReason={"reason": {"code": "x"}})]}, id="reason-without-system"
        ),
        pytest.param({"feedback": [item(), item(outcome="maybe")]}, id="one-bad-item-rejects-all"),
        pytest.param([item()], id="array-body"),
    ],
)
def test_malformed_feedback_is_400_and_nothing_stored(make_app, send, body):
    app = make_app()
    resp = send(app.test_client(), body)
    assert resp.status_code == 400
    assert_valid("OperationOutcome", resp.get_json())
    assert app.extensions["nk_cds"].db.all_feedback() == []


@pytest.mark.parametrize(
    "ts", ["2026-11-27T10:00:00Z", "1985-04-12T23:20:50.52Z", "2026-11-27T10:00:00+01:00"]
)
def test_rfc3339_timestamps_accepted(make_app, send, ts):
    assert send(make_app().test_client(), {"feedback": [item(outcomeTimestamp=ts)]}).status_code == 200


def test_unknown_service_404_and_auth_enforced(make_app, send):
    client = make_app().test_client()
    body = {"feedback": [item()]}
    resp = send(client, body, url="/cds-services/other/feedback")
    assert resp.status_code == 404 and resp.get_json()["resourceType"] == "OperationOutcome"
    unauth = send(client, body, token=None)
    assert unauth.status_code == 401 and unauth.get_data() == b""
    assert send(client, body, token="garbage").status_code == 401


def test_malformed_json_and_content_type(make_app, mint_token):
    client = make_app().test_client()
    headers = {"Authorization": f"Bearer {mint_token('http://localhost' + URL)}"}
    assert client.post(URL, data="{", content_type="application/json", headers=headers).status_code == 400
    headers = {"Authorization": f"Bearer {mint_token('http://localhost' + URL)}"}
    assert client.post(URL, data="{}", content_type="text/plain", headers=headers).status_code == 415


def test_size_limit(make_app, send):
    body = {"feedback": [item()]}
    size = len(json.dumps(body))
    client = make_app(max_request_bytes=size).test_client()
    assert send(client, body).status_code == 200
    bigger = copy.deepcopy(body)
    bigger["feedback"][0]["card"] += "x"
    assert send(client, bigger).status_code == 413


def test_database_failure_is_503_not_200(make_app, send, monkeypatch):
    app = make_app()

    def broken(*_a, **_k):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(app.extensions["nk_cds"].db, "store_feedback", broken)
    resp = send(app.test_client(), {"feedback": [item()]})
    assert resp.status_code == 503
    assert_valid("OperationOutcome", resp.get_json())


def test_sqlite_is_wal_with_synchronous_full_for_feedback_and_normal_for_bookkeeping(make_app):
    db = make_app().extensions["nk_cds"].db
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL: feedback, token ids
    with db.bookkeeping.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: card records
    assert db.bookkeeping.url == db.engine.url  # the same file


def _hook_then_feedback(make_app, mint_token, send):
    cards = [example_card("NCT06631391"), example_card("NCT05247957"), example_card("NCT06631391")]
    app = make_app(hook_runner=lambda r: {"cards": cards})
    client = app.test_client()
    token = mint_token(f"http://localhost/cds-services/{SERVICE_ID}")
    assert (
        client.post(
            f"/cds-services/{SERVICE_ID}", json=hook_request(), headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    reason = {
        "reason": {
            "code": "not-interested",
            "system": "https://nktrials.org/override",
            "display": "Patient not interested",
        }
    }
    feedback = [
        item(card=cards[0]["uuid"], outcome="accepted", acceptedSuggestions=[{"id": "s-1"}]),
        item(card=cards[0]["uuid"], overrideReason=reason),
        item(card=cards[1]["uuid"], overrideReason=reason),
        item(card=cards[2]["uuid"], overrideReason={"userComment": "already screened"}),
        item(card="never-issued"),
    ]
    assert send(client, {"feedback": feedback}).status_code == 200
    return app


def test_feedback_summary_per_trial(make_app, mint_token, send):
    app = _hook_then_feedback(make_app, mint_token, send)
    summary = {t.nct_id: t for t in app.extensions["nk_cds"].db.feedback_summary()}
    assert summary["NCT06631391"].accepted == 1 and summary["NCT06631391"].overridden == 2
    assert summary["NCT06631391"].override_reasons == {"Patient not interested": 1, "(comment only)": 1}
    assert summary["NCT05247957"].overridden == 1 and summary["NCT05247957"].accepted == 0
    assert summary[None].overridden == 1 and summary[None].override_reasons == {"(no reason given)": 1}


def test_feedback_report_command(make_app, mint_token, send, capsys, tmp_path):
    app = _hook_then_feedback(make_app, mint_token, send)
    from cds.cli import main

    db_url = app.extensions["nk_cds"].db.url
    assert main(["feedback-report", "--db", db_url]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "1" in lines["NCT06631391"].split()[1] and "Patient not interested (1)" in lines["NCT06631391"]
    assert "(unknown" in out
    assert main(["feedback-report", "--db", db_url, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["nct_id"] for d in data} == {"NCT06631391", "NCT05247957", None}


def test_feedback_report_empty_database(tmp_path, capsys):
    from cds.cli import main

    assert main(["feedback-report", "--db", str(tmp_path / "empty.sqlite")]) == 0
    assert "no feedback" in capsys.readouterr().out


def test_remember_jti_semantics(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'r.sqlite'}")
    now = 1_800_000_000
    assert db.remember_jti("iss", "a", now + 100, now) is True
    assert db.remember_jti("iss", "a", now + 100, now + 50) is False  # replay before expiry
    assert db.remember_jti("other", "a", now + 100, now) is True  # jti is per issuer
    assert db.remember_jti("iss", "a", now + 200, now + 100) is False  # at expiry: still remembered
    assert db.remember_jti("iss", "a", now + 300, now + 101) is True  # after expiry it may be reused
