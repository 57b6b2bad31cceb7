"""Importing the department's yearly plan, in every format, and re-importing it."""
from __future__ import annotations

import io
from datetime import date
from typing import Any

import plan_files
import pytest
from flask import Flask
from sqlalchemy import func, select

from conftest import PLAN_FILE, Accounts, csrf_token
from cms.errors import PlanReadError, ValidationFailed
from cms.extensions import db
from cms.models import AuditEvent, Campaign, Plan
from cms.services.audit import Actor
from cms.services.campaigns import describe, list_campaigns
from cms.services.plan_import import heading_of, import_plan
from cms.services.plan_reader import read_plan

PAPI = ("Truyền thông nâng cao Chỉ số Quản trị môi trường trong Chỉ số Hiệu quả quản trị "
        "và hành chính công cấp tỉnh (PAPI)")

# (title starts with, lead unit, period text, start, end) per task of plan 81/KH-STNMT
EXPECTED = {
    1: ("Tổ chức truyền thông hoạt động hưởng ứng Ngày Nước thế giới", "Phòng Quản lý môi trường", "Tháng 3/2024", date(2024, 3, 1), date(2024, 3, 31)),
    2: ("Công bố, công khai thông tin về bảo vệ môi trường", "Phòng Quản lý môi trường", "Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    3: ("Tổ chức hoạt động hưởng ứng Ngày Quốc tế Đa dạng sinh học", "Phòng Quản lý môi trường", "Tháng 5/2024", date(2024, 5, 1), date(2024, 5, 31)),
    4: ("Tổ chức hoạt động thuộc “Tháng hành động vì môi trường”", "Phòng Quản lý môi trường", "Tháng 6/2024", date(2024, 6, 1), date(2024, 6, 30)),
    5: ("Tổ chức hoạt động hưởng ứng Chiến dịch “Làm cho thế giới sạch hơn", "Phòng Quản lý môi trường", "Tháng 9/2024", date(2024, 9, 1), date(2024, 9, 30)),
    6: ("Tổ chức tuyên truyền, phổ biến pháp luật bảo vệ môi trường về ứng phó", "Phòng Quản lý môi trường", "Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    7: (PAPI, "Phòng Quản lý môi trường", "Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    8: ("Truyền thông nâng cao Bộ Chỉ số đánh giá kết quả bảo vệ môi trường (PEPI)", "Phòng Quản lý môi trường", "Quý III/2024", date(2024, 7, 1), date(2024, 9, 30)),
    9: ("Tuyên truyền, phổ biến Chỉ số xanh cấp tỉnh (PGI)", "Phòng Quản lý môi trường", "Quý III/2024", date(2024, 7, 1), date(2024, 9, 30)),
    10: ("Hưởng ứng tuần lễ Biển và Hải đảo Việt Nam", "Phòng Quản lý biển đảo và Tài nguyên nước, khoáng sản", "Tháng 6/2024", date(2024, 6, 1), date(2024, 6, 30)),
    11: ("Tuyên truyền phổ biến Luật Tài nguyên nước số 25/2023/QH15", "Phòng Quản lý biển đảo và Tài nguyên nước, khoáng sản", "Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    12: ("Tổ chức tuyên truyền, phổ biến pháp luật về khoáng sản", "Phòng Quản lý biển đảo và Tài nguyên nước, khoáng sản", "Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    13: ("Truyền thông nâng cao Chỉ số Tiếp cận đất đai", "Phòng Quản lý đất đai", "Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    14: ("Tuyên truyền, phổ biến chính sách, pháp luật về đất đai", "Phòng Quản lý đất đai", "Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    15: ("Truyền thông hướng dẫn sử dụng Dịch vụ công trực tuyến", "Văn phòng sở", "Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    16: ("Tuyên truyền về quản lý tài nguyên và bảo vệ môi trường", "Phòng Kế hoạch – Tài chính", "Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
}


def import_bytes(data: bytes, filename: str, dry_run: bool = False) -> Any:
    document = read_plan(data, filename)
    result = import_plan(document, heading_of(document), Actor.command_line(), filename, dry_run=dry_run)
    db.session.commit()
    return result


def edit(number: int, **changes: Any) -> int:
    """A person edits campaign `number` of the plan as the form would; returns its id."""
    from cms.services.campaigns import CampaignInput, update_campaign

    campaign = next(c for c in list_campaigns() if c.number == number)
    data = describe(campaign)
    fields = dict(title=data["title"], lead_unit=data["lead_unit"], partner_units=tuple(data["partner_units"]),
                  form_text=data["form_text"], period_text=data["period_text"], number=number, plan_id=campaign.plan_id)
    update_campaign(campaign, CampaignInput(**(fields | changes)), Actor.command_line())
    db.session.commit()
    return campaign.id


def counts(result: Any) -> tuple[int, int, int]:
    return result.count("create"), result.count("update"), result.count("unchanged")


def campaigns_as_dicts() -> list[dict[str, Any]]:
    return [describe(c) for c in list_campaigns()]


def test_the_shared_plan_gives_its_16_campaigns_with_titles_units_and_periods(ctx: Flask, plan_text: bytes) -> None:
    summary = import_bytes(plan_text, PLAN_FILE.name)
    assert counts(summary)[:2] == (16, 0) and summary.flagged == []
    campaigns = {c["number"]: c for c in campaigns_as_dicts()}
    assert sorted(campaigns) == list(range(1, 17))
    for number, (title, lead, period_text, start, end) in EXPECTED.items():
        campaign = campaigns[number]
        assert campaign["title"].startswith(title), number
        assert campaign["lead_unit"] == lead, number
        assert campaign["period_text"] == period_text, number
        assert (campaign["period_start"], campaign["period_end"]) == (start.isoformat(), end.isoformat()), number
        assert campaign["status"] == "planned"
    assert campaigns[7]["title"] == PAPI
    assert (campaigns[9]["period_start"], campaigns[9]["period_end"]) == ("2024-07-01", "2024-09-30")


def test_the_plan_heading_is_read_from_the_document(ctx: Flask, plan_text: bytes) -> None:
    import_bytes(plan_text, PLAN_FILE.name)
    plan = db.session.scalar(select(Plan))
    assert plan.number == "81/KH-STNMT"
    assert plan.issued_on == date(2024, 8, 5)
    assert plan.year == 2024
    assert plan.issuing_body == "Sở Tài nguyên và Môi trường"
    assert "1596/QĐ-UBND" in plan.basis


def test_partners_and_channels_come_from_the_plan_text(ctx: Flask, plan_text: bytes) -> None:
    import_bytes(plan_text, PLAN_FILE.name)
    campaigns = {c["number"]: c for c in campaigns_as_dicts()}
    assert campaigns[1]["partner_units"][0] == "Các Sở, ban, ngành"
    assert "Ủy ban nhân dân các huyện, thị xã, thành phố" in campaigns[1]["partner_units"]
    assert {"panoled", "website", "social"} <= set(campaigns[1]["channels"])
    assert campaigns[5]["channels"] == ["event"]
    assert "training" in campaigns[11]["channels"]
    assert {"panoled", "conference", "videoclip", "poster", "banner"} <= set(campaigns[7]["channels"])


@pytest.mark.parametrize("build, filename", [
    (lambda head, rows: plan_files.build_docx(rows, head, split_at=(10,)), "ke-hoach.docx"),
    (lambda head, rows: plan_files.build_xlsx(rows, head), "ke-hoach.xlsx"),
    (lambda head, rows: plan_files.build_csv(rows, head), "ke-hoach.csv"),
    (lambda head, rows: plan_files.build_tsv(rows, head), "ke-hoach.tsv"),
])
def test_the_same_plan_as_docx_xlsx_csv_or_tsv_gives_the_same_campaigns(ctx: Flask, plan_text: bytes, build, filename: str) -> None:  # type: ignore[no-untyped-def]
    import_bytes(plan_text, PLAN_FILE.name)
    from_text = campaigns_as_dicts()
    db.session.execute(Campaign.__table__.delete())
    db.session.execute(Plan.__table__.delete())
    db.session.commit()
    head, rows = plan_files.demo_plan_parts()
    summary = import_bytes(build(head, rows), filename)
    assert counts(summary)[0] == 16
    strip = lambda items: [{k: v for k, v in c.items() if k not in ("id", "plan_id")} for c in items]  # noqa: E731
    assert strip(campaigns_as_dicts()) == strip(from_text)


def test_reimporting_updates_campaigns_by_number_instead_of_duplicating(ctx: Flask, plan_text: bytes) -> None:
    import_bytes(plan_text, PLAN_FILE.name)
    ids = {c["number"]: c["id"] for c in campaigns_as_dicts()}
    changed = plan_text.decode("utf-8").replace("Tháng 5/2024", "Tháng 5-6/2024").encode("utf-8")
    summary = import_bytes(changed, PLAN_FILE.name)
    assert counts(summary) == (0, 1, 15)
    campaigns = {c["number"]: c for c in campaigns_as_dicts()}
    assert {n: c["id"] for n, c in campaigns.items()} == ids
    assert campaigns[3]["period_end"] == "2024-06-30"
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 16
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "campaign.import")).one()
    assert event.details["changes"]["period_text"] == ["Tháng 5/2024", "Tháng 5-6/2024"]


def test_an_unreadable_period_is_kept_as_text_and_flagged_never_guessed(ctx: Flask, plan_text: bytes) -> None:
    odd = plan_text.decode("utf-8").replace("Tháng 9/2024", "Theo tiến độ của Bộ").encode("utf-8")
    summary = import_bytes(odd, PLAN_FILE.name)
    assert [row.number for row in summary.flagged] == [5]
    campaign = {c["number"]: c for c in campaigns_as_dicts()}[5]
    assert campaign["period_text"] == "Theo tiến độ của Bộ"
    assert campaign["period_flagged"] is True
    assert campaign["period_start"] is None and campaign["period_end"] is None


def test_channels_a_person_edited_survive_a_reimport(ctx: Flask, plan_text: bytes) -> None:
    from cms.services.campaigns import get_campaign

    import_bytes(plan_text, PLAN_FILE.name)
    campaign_id = edit(2, channels=("website",))
    import_bytes(plan_text, PLAN_FILE.name)
    assert get_campaign(campaign_id).channels == ["website"]


@pytest.mark.parametrize("data, filename, code", [
    (b"PK\x03\x04 not a document", "ke-hoach.docx", "plan_corrupt"),
    (b"PK\x03\x04 broken workbook", "ke-hoach.xlsx", "plan_corrupt"),
    ("Kế hoạch không có bảng phụ lục\nChỉ có chữ.".encode(), "ke-hoach.txt", "plan_no_table"),
    ("STT\tNội dung công việc\tThời gian thực hiện\n1\tViệc\tNăm 2024\n".encode(), "ke-hoach.txt", "plan_missing_columns"),
    (b"%PDF-1.7", "ke-hoach.pdf", "plan_unsupported_format"),
    (b"x" * (10 * 1024 * 1024 + 1), "ke-hoach.txt", "plan_too_large"),
])
def test_bad_input_gets_a_clear_error_and_writes_nothing(ctx: Flask, data: bytes, filename: str, code: str) -> None:
    with pytest.raises(PlanReadError) as error:
        import_bytes(data, filename)
    assert error.value.code == code
    assert str(error.value)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_a_plan_without_a_number_needs_one_given(ctx: Flask) -> None:
    head, rows = plan_files.demo_plan_parts()
    document = read_plan(plan_files.build_csv(rows), "no-head.csv")
    with pytest.raises(PlanReadError) as error:
        heading_of(document)
    assert error.value.code == "plan_number_missing"
    summary = import_plan(document, heading_of(document, "12/KH-TEST"), Actor.command_line(), "no-head.csv")
    assert summary.heading.number == "12/KH-TEST" and summary.count("create") == 16


def test_the_preview_writes_nothing(ctx: Flask, plan_text: bytes) -> None:
    preview = import_bytes(plan_text, PLAN_FILE.name, dry_run=True)
    assert preview.count("create") == 16 and not preview.plan_existed and preview.plan_id is None
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_the_preview_says_exactly_what_the_import_then_does(ctx: Flask, plan_text: bytes) -> None:
    import_bytes(plan_text, PLAN_FILE.name)
    changed = plan_text.decode("utf-8").replace("Quý III/2024", "Quý IV/2024").encode("utf-8")
    preview = import_bytes(changed, PLAN_FILE.name, dry_run=True)
    done = import_bytes(changed, PLAN_FILE.name)
    assert counts(preview) == counts(done) == (0, 2, 14)
    assert [r.changes for r in preview.rows] == [r.changes for r in done.rows]


def test_a_file_the_import_would_refuse_is_refused_at_preview(ctx: Flask, plan_text: bytes) -> None:
    duplicated = plan_text.decode("utf-8").replace("\n16\t", "\n15\t").encode("utf-8")
    with pytest.raises(PlanReadError) as error:
        import_bytes(duplicated, PLAN_FILE.name, dry_run=True)
    assert error.value.code == "plan_duplicate_number"
    untitled = plan_text.decode("utf-8").replace("\n5\tTổ chức hoạt động hưởng ứng Chiến dịch “Làm cho thế giới sạch hơn năm 2024”\t", "\n5\t\t").encode("utf-8")
    with pytest.raises(ValidationFailed):
        import_bytes(untitled, PLAN_FILE.name, dry_run=True)
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_a_reimport_keeps_what_a_person_added(ctx: Flask, plan_text: bytes) -> None:
    from cms.services.campaigns import get_campaign

    import_bytes(plan_text, PLAN_FILE.name)
    campaign_id = edit(1, period_start=date(2024, 3, 10), period_end=date(2024, 3, 31), description="Ghi chú của phòng")
    again = import_bytes(plan_text, PLAN_FILE.name)
    assert counts(again) == (0, 0, 16)
    kept = describe(get_campaign(campaign_id))
    assert kept["description"] == "Ghi chú của phòng"
    assert (kept["period_start"], kept["period_end"]) == ("2024-03-10", "2024-03-31")
    moved = plan_text.decode("utf-8").replace("Tháng 3/2024", "Tháng 4/2024").encode("utf-8")
    import_bytes(moved, PLAN_FILE.name)
    assert describe(get_campaign(campaign_id))["period_start"] == "2024-04-01"  # the plan moved it: the plan wins


def test_the_upload_page_previews_then_imports_on_confirmation(client, app: Flask, accounts: Accounts, plan_text: bytes) -> None:
    accounts.login("editor")
    page = client.get("/plans/import")
    preview = client.post("/plans/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(plan_text), "Kế hoạch 81.txt"), "number": ""})
    assert preview.status_code == 200
    assert 'data-created="16"' in preview.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    done = client.post("/plans/import/confirm", data={
        "csrf_token": csrf_token(preview), "token": _token(preview)})
    assert done.status_code == 302
    listing = client.get(done.headers["Location"])
    assert 'data-count="16"' in listing.get_data(as_text=True)
    again = client.post("/plans/import/confirm", data={"csrf_token": csrf_token(preview), "token": _token(preview)})
    assert again.status_code == 302 and again.headers["Location"].endswith("/plans/import")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Campaign)) == 16


def _token(response: Any) -> str:
    import re
    return re.search(r'id="token" name="token" type="hidden" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_the_upload_page_explains_a_corrupt_file_and_writes_nothing(client, app: Flask, accounts: Accounts) -> None:
    accounts.login("editor")
    page = client.get("/plans/import")
    response = client.post("/plans/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(b"PK\x03\x04 not a document"), "ke-hoach.docx")})
    assert response.status_code == 422
    assert "flash-error" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_the_api_imports_with_a_dry_run_first(client, app: Flask, accounts: Accounts, plan_text: bytes) -> None:
    headers = accounts.token("editor")
    dry = client.post("/api/v1/plans/import", headers=headers, data={"file": (io.BytesIO(plan_text), "plan.txt"), "dry_run": "true"})
    assert dry.status_code == 200 and dry.get_json()["created"] == 16
    done = client.post("/api/v1/plans/import", headers=headers, data={"file": (io.BytesIO(plan_text), "plan.txt")})
    assert done.get_json()["created"] == 16 and done.get_json()["plan_number"] == "81/KH-STNMT"
    bad = client.post("/api/v1/plans/import", headers=headers, data={"file": (io.BytesIO(b"PK\x03\x04"), "x.xlsx")})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "plan_corrupt"
