"""Campaigns by hand, status changes with who and when, and the pages people use."""
from __future__ import annotations

import pytest
from flask import Flask

from conftest import Accounts, csrf_token
from cms.errors import TransitionNotAllowed, ValidationFailed
from cms.extensions import db
from cms.services.audit import Actor, history
from cms.services.campaigns import CampaignInput, create_campaign, describe, get_campaign, transition, update_campaign


def editor() -> Actor:
    return Actor(label="editor@example.org", role="editor")


def test_a_campaign_can_be_created_by_hand_outside_any_plan(ctx: Flask) -> None:
    campaign = create_campaign(CampaignInput(
        title="Ngày hội tái chế  phường 7", lead_unit="Phòng Quản lý môi trường",
        partner_units=("Đoàn Thanh niên", "đoàn thanh niên", "Phòng Quản lý môi trường"),
        form_text="Tổ chức sự kiện và tuyên truyền trên hệ thống Panoled", period_text="Quý IV/2024"), editor())
    db.session.commit()
    data = describe(campaign)
    assert data["title"] == "Ngày hội tái chế phường 7"
    assert data["plan_id"] is None and data["status"] == "draft"
    assert data["partner_units"] == ["Đoàn Thanh niên"]
    assert data["channels"] == ["panoled", "event"]
    assert (data["period_start"], data["period_end"]) == ("2024-10-01", "2024-12-31")


def test_dates_typed_by_a_person_win_over_the_phrase(ctx: Flask) -> None:
    from datetime import date
    campaign = create_campaign(CampaignInput(title="Chiến dịch", period_text="Theo chỉ đạo",
                                             period_start=date(2024, 4, 1), period_end=date(2024, 4, 20)), editor())
    assert (campaign.period_start, campaign.period_end, campaign.period_flagged) == (date(2024, 4, 1), date(2024, 4, 20), False)
    with pytest.raises(ValidationFailed):
        create_campaign(CampaignInput(title="Ngược", period_start=date(2024, 5, 1), period_end=date(2024, 4, 1)), editor())


def test_a_campaign_needs_a_title(ctx: Flask) -> None:
    with pytest.raises(ValidationFailed) as error:
        create_campaign(CampaignInput(title="   "), editor())
    assert error.value.code == "title_required"


def test_the_status_moves_forward_and_each_change_is_recorded_with_who_and_when(ctx: Flask) -> None:
    campaign = create_campaign(CampaignInput(title="Giờ Trái đất"), editor())
    steps = [("planned", editor()), ("approved", Actor("head@example.org", role="approver")),
             ("running", Actor("op@example.org", role="operator")), ("done", editor()),
             ("accepted", Actor("head@example.org", role="approver"))]
    for to, actor in steps:
        transition(campaign, to, actor)
    db.session.commit()
    changes = [e for e in history("campaign", campaign.id) if e.action == "campaign.status"]
    assert [(e.details["before"], e.details["after"], e.actor) for e in changes] == [
        ("draft", "planned", "editor@example.org"), ("planned", "approved", "head@example.org"),
        ("approved", "running", "op@example.org"), ("running", "done", "editor@example.org"),
        ("done", "accepted", "head@example.org")]
    assert all(e.at is not None and e.at.tzinfo is not None for e in changes)


@pytest.mark.parametrize("role, status, to", [
    ("editor", "planned", "approved"),    # nobody approves their own plan work but an approver
    ("auditor", "draft", "planned"),
    ("operator", "done", "accepted"),
])
def test_a_role_cannot_make_a_step_that_is_not_its_own(ctx: Flask, role: str, status: str, to: str) -> None:
    campaign = create_campaign(CampaignInput(title="Việc"), editor(), status=status)
    with pytest.raises(TransitionNotAllowed):
        transition(campaign, to, Actor("x@example.org", role=role))
    assert campaign.status == status


def test_skipping_steps_is_refused(ctx: Flask) -> None:
    campaign = create_campaign(CampaignInput(title="Việc"), editor())
    with pytest.raises(TransitionNotAllowed):
        transition(campaign, "running", Actor("root", role="admin"))


def test_edits_are_recorded_field_by_field(ctx: Flask) -> None:
    campaign = create_campaign(CampaignInput(title="Cũ", lead_unit="Văn phòng sở"), editor())
    update_campaign(campaign, CampaignInput(title="Mới", lead_unit="Văn phòng sở"), editor())
    db.session.commit()
    edit = [e for e in history("campaign", campaign.id) if e.action == "campaign.edit"][0]
    assert edit.details["changes"] == {"title": ["Cũ", "Mới"]}


def test_the_campaign_pages_render_for_every_role(client, accounts: Accounts, imported_plan) -> None:
    for role in ("admin", "editor", "approver", "operator", "auditor"):
        accounts.login(role)
        for url in ("/", "/campaigns/timeline", "/campaigns/7", "/plans/", "/plans/1", "/account/"):
            response = client.get(url)
            assert response.status_code == 200, (role, url)
        assert "Quản trị môi trường trong Chỉ số Hiệu quả" in client.get("/campaigns/7").get_data(as_text=True)


def test_the_timeline_groups_campaigns_by_lead_unit_across_the_plan_year(client, accounts: Accounts, imported_plan) -> None:
    accounts.login("auditor")
    page = client.get("/campaigns/timeline?plan=1").get_data(as_text=True)
    assert page.count('class="tl-group"') == 5
    assert page.count("tl-bar ") == 16
    assert "gs-7 span-3" in page  # Quý III/2024: July to September


def test_an_approver_approves_through_the_detail_page(client, app: Flask, accounts: Accounts, imported_plan) -> None:
    accounts.login("approver")
    page = client.get("/campaigns/3")
    response = client.post("/campaigns/3/status", data={"csrf_token": csrf_token(page), "to_status": "approved", "note": "Đồng ý"})
    assert response.status_code == 302
    detail = client.get("/campaigns/3").get_data(as_text=True)
    assert "approver@example.org" in detail and "Đồng ý" in detail
    with app.app_context():
        assert get_campaign(3).status == "approved"


def test_an_editor_edits_a_campaign_through_the_form(client, app: Flask, accounts: Accounts, imported_plan) -> None:
    accounts.login("editor")
    page = client.get("/campaigns/5/edit")
    response = client.post("/campaigns/5/edit", data={
        "csrf_token": csrf_token(page), "title": "Ngày hội 4R 2024", "plan_id": "1", "number": "5",
        "lead_unit": "Phòng Quản lý môi trường", "partner_units": "Đoàn Thanh niên\nHội Phụ nữ",
        "form_text": "Tổ chức sự kiện Ngày hội 4R", "channels": ["event", "panoled"],
        "period_text": "Tháng 9-10/2024", "period_start": "2024-09-01", "period_end": "2024-09-30", "description": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        data = describe(get_campaign(5))
    assert data["title"] == "Ngày hội 4R 2024"
    assert data["partner_units"] == ["Đoàn Thanh niên", "Hội Phụ nữ"]
    assert data["channels"] == ["panoled", "event"]
    assert data["period_end"] == "2024-10-31"  # the phrase changed and the dates were left: read again


def test_invalid_form_input_changes_nothing(client, app: Flask, accounts: Accounts, imported_plan) -> None:
    accounts.login("editor")
    page = client.get("/campaigns/5/edit")
    response = client.post("/campaigns/5/edit", data={"csrf_token": csrf_token(page), "title": "", "plan_id": "1", "number": "6"})
    assert response.status_code == 200
    with app.app_context():
        assert get_campaign(5).title.startswith("Tổ chức hoạt động hưởng ứng Chiến dịch")


def test_form_errors_are_shown_in_vietnamese_by_default(client, accounts: Accounts, imported_plan) -> None:
    accounts.login("editor")
    page = client.get("/campaigns/5/edit")
    response = client.post("/campaigns/5/edit", data={"csrf_token": csrf_token(page), "title": "", "plan_id": "1", "number": "abc"})
    body = response.get_data(as_text=True)
    assert "Trường này là bắt buộc." in body
    assert "Giá trị không phải là số nguyên hợp lệ." in body


def test_a_refused_status_change_names_the_statuses_in_words(client, accounts: Accounts, imported_plan) -> None:
    from cms.errors import TransitionNotAllowed
    from cms.web import translated

    with client.application.test_request_context():
        message = translated(TransitionNotAllowed("A campaign cannot go from %(from)s to %(to)s.", **{"from": "draft", "to": "running"}))
    assert "Dự thảo" in message and "Đang thực hiện" in message and "draft" not in message


def test_the_ui_is_vietnamese_by_default_and_switches_to_english_and_back(client) -> None:
    page = client.get("/login")
    assert '<html lang="vi">' in page.get_data(as_text=True) and "Đăng nhập" in page.get_data(as_text=True)
    client.post("/language", data={"csrf_token": csrf_token(page), "lang": "en", "next": "/login"})
    english = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english and "Sign in" in english
    client.post("/language", data={"csrf_token": csrf_token(page), "lang": "vi", "next": "/login"})
    assert '<html lang="vi">' in client.get("/login").get_data(as_text=True)
