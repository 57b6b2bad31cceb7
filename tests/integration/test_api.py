"""The REST API: tokens, roles, errors with stable codes, and an honest OpenAPI document."""
from __future__ import annotations

import re

import pytest
from flask import Flask

from conftest import Accounts

CAMPAIGN_KEYS = {"id", "number", "title", "lead_unit", "partner_units", "channels", "period_text", "period_start", "period_end", "status"}


def test_campaigns_are_listed_with_the_domain_keys(client, accounts: Accounts, imported_plan) -> None:
    body = client.get("/api/v1/campaigns", headers=accounts.token("auditor")).get_json()
    assert len(body["campaigns"]) == 16
    assert CAMPAIGN_KEYS <= set(body["campaigns"][0])
    quarter = client.get("/api/v1/campaigns?status=planned&q=PGI", headers=accounts.token("auditor")).get_json()["campaigns"]
    assert [c["number"] for c in quarter] == [9]


def test_an_editor_creates_and_edits_a_campaign(client, accounts: Accounts) -> None:
    headers = accounts.token("editor")
    created = client.post("/api/v1/campaigns", headers=headers, json={
        "title": "Tuần lễ nước sạch", "lead_unit": "Văn phòng sở", "period_text": "Tháng 4/2025", "channels": ["panoled"]})
    assert created.status_code == 201
    campaign = created.get_json()
    assert (campaign["period_start"], campaign["period_end"], campaign["status"]) == ("2025-04-01", "2025-04-30", "draft")
    edited = client.patch(f"/api/v1/campaigns/{campaign['id']}", headers=headers, json={"period_text": "Quý II/2025"})
    assert edited.status_code == 200
    assert edited.get_json()["period_end"] == "2025-06-30"
    assert edited.get_json()["channels"] == ["panoled"]
    assert edited.get_json()["title"] == "Tuần lễ nước sạch"


@pytest.mark.parametrize("body, code", [
    ({"title": ""}, "title_required"),
    ({"title": "X", "channels": ["billboard"]}, "channel_invalid"),
    ({"title": "X", "period_start": "2024-13-01"}, "date_invalid"),
    ({"title": "X", "number": "seven"}, "field_invalid"),
    ({"title": 5}, "field_invalid"),
])
def test_bad_input_gets_a_stable_error_code_and_creates_nothing(client, accounts: Accounts, body: dict, code: str) -> None:
    headers = accounts.token("editor")
    response = client.post("/api/v1/campaigns", headers=headers, json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == code
    assert client.get("/api/v1/campaigns", headers=headers).get_json()["campaigns"] == []


def test_a_body_that_is_not_json_is_refused(client, accounts: Accounts) -> None:
    response = client.post("/api/v1/campaigns", headers=accounts.token("editor"), data="title=x")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "body_not_json"


def test_status_changes_follow_the_roles(client, accounts: Accounts, imported_plan) -> None:
    editor, approver = accounts.token("editor"), accounts.token("approver")
    refused = client.post("/api/v1/campaigns/1/transitions", headers=editor, json={"to": "approved"})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "transition_forbidden"
    assert client.get("/api/v1/campaigns/1", headers=approver).get_json()["allowed_transitions"] == ["approved", "draft"]
    done = client.post("/api/v1/campaigns/1/transitions", headers=approver, json={"to": "approved", "note": "OK"})
    assert done.status_code == 200 and done.get_json()["status"] == "approved"
    log = client.get("/api/v1/campaigns/1/history", headers=editor).get_json()["history"]
    assert log[-1]["actor"] == "approver@example.org"
    assert log[-1]["details"] == {"before": "planned", "after": "approved", "note": "OK"}


def test_unknown_ids_answer_404_with_a_code(client, accounts: Accounts) -> None:
    response = client.get("/api/v1/campaigns/999", headers=accounts.token("auditor"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "campaign_not_found"


def test_without_a_token_the_api_answers_401(client) -> None:
    for path in ("/api/v1/me", "/api/v1/campaigns", "/api/v1/plans"):
        assert client.get(path).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer pnl_not-a-real-token"}).status_code == 401


def test_an_admin_creates_accounts_with_the_password_policy(client, accounts: Accounts) -> None:
    headers = accounts.token("admin")
    weak = client.post("/api/v1/users", headers=headers, json={"email": "a@example.org", "role": "editor", "password": "password1234"})
    assert weak.status_code == 422 and weak.get_json()["error"]["code"] == "password_common"
    ok = client.post("/api/v1/users", headers=headers, json={"email": "a@example.org", "role": "editor", "password": "mua-he-xanh-tren-bien"})
    assert ok.status_code == 201 and ok.get_json()["role"] == "editor"


def _flask_path(openapi_path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"<int:\1>", openapi_path)


def test_the_openapi_document_lists_exactly_the_api_routes(app: Flask, client) -> None:
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(_flask_path(path), method.upper()) for path, ops in document["paths"].items() for method in ops}
    routed = {(rule.rule, method) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed


def test_patching_the_text_lets_derived_channels_follow_it(client, accounts: Accounts, imported_plan) -> None:
    headers = accounts.token("editor")
    before = client.get("/api/v1/campaigns/5", headers=headers).get_json()
    assert before["channels"] == ["event"]
    after = client.patch("/api/v1/campaigns/5", headers=headers, json={"form_text": "Tuyên truyền trên mạng xã hội và hệ thống Panoled"}).get_json()
    assert after["channels"] == ["panoled", "social"]
    chosen = client.patch("/api/v1/campaigns/5", headers=headers, json={"channels": ["website"]}).get_json()
    assert chosen["channels"] == ["website"]
    again = client.patch("/api/v1/campaigns/5", headers=headers, json={"form_text": "Tổ chức hội nghị"}).get_json()
    assert again["channels"] == ["website"]  # a person's choice sticks


def test_a_campaign_in_a_plan_that_does_not_exist_is_refused(client, accounts: Accounts) -> None:
    response = client.post("/api/v1/campaigns", headers=accounts.token("editor"), json={"title": "X", "plan_id": 99999})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "plan_not_found"
