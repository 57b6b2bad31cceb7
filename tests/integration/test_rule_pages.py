"""Schedule pages: editors put published playlists on boards and groups with dates, weekdays,
time windows (across midnight too) and a share of airtime; emergency interrupts wait for
an approver who did not make them; every rule says whether the boards get it, and why not."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

import media_files
from conftest import Accounts, csrf_token
from cms.services.derivatives import work_until_idle

CAMPAIGN = 4  # Tháng 6/2024


def english(client: FlaskClient) -> None:
    page = client.get("/login")
    client.post("/language", data={"csrf_token": csrf_token(page), "lang": "en", "next": "/"})


def published_playlist(client: FlaskClient, app: Flask, accounts: Accounts, name: str = "Ngày Môi trường") -> int:
    editor, approver = accounts.token("editor"), accounts.token("approver")
    asset = client.post(f"/api/v1/media?campaign_id={CAMPAIGN}&filename=p.png", data=media_files.png_bytes(),
                        headers=editor | {"Content-Type": "application/octet-stream"}).get_json()["id"]
    with app.app_context():
        work_until_idle(app.config["PANOLED"])
    client.post(f"/api/v1/media/{asset}/transitions", headers=editor, json={"to": "pending"})
    client.post(f"/api/v1/media/{asset}/transitions", headers=approver, json={"to": "approved"})
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": CAMPAIGN, "name": name}).get_json()["id"]
    client.post(f"/api/v1/playlists/{playlist}/items", headers=editor, json={"asset_id": asset})
    assert client.post(f"/api/v1/playlists/{playlist}/publish", headers=editor).status_code == 200
    return playlist


def board(client: FlaskClient, accounts: Accounts, name: str = "Bảng Panoled Bãi Sau", group: str = "Vũng Tàu") -> int:
    return client.post("/api/v1/screens", headers=accounts.token("operator"), json={
        "name": name, "width": 960, "height": 320, "adapter": "simulator", "group": group,
        "operating_hours": "05:30-23:00"}).get_json()["id"]


def rule_form(playlist: int, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"playlist_id": playlist, "weekdays": list(range(7)), "windows": "", "priority": "0",
                            "quota": "fill", "plays_per_hour": "", "share_percent": "", "note": "", "date_from": "", "date_to": ""}
    data.update(fields)
    return data


def submit(client: FlaskClient, data: dict[str, Any]) -> Any:
    page = client.get("/schedule/new")
    assert page.status_code == 200
    return client.post("/schedule/new", data={"csrf_token": csrf_token(page), **data}, follow_redirects=True)


def stored_rules(app: Flask) -> list[dict[str, Any]]:
    from cms.services.rules import describe_rule, list_rules

    with app.app_context():
        return [describe_rule(r) for r in list_rules()]


def row(html: str, rule_id: int) -> str:
    match = re.search(rf'<tr id="rule-{rule_id}">(.*?)</tr>', html, re.S)
    assert match, f"rule {rule_id} is not listed"
    return re.sub(r"\s+", " ", match.group(1))


def test_a_rule_with_a_window_crossing_midnight_is_saved_and_shown(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    screen = board(client, accounts)
    playlist = published_playlist(client, app, accounts)
    accounts.login("editor")
    english(client)
    response = submit(client, rule_form(playlist, board_ids=[screen], weekdays=[0, 1, 2, 3, 4],
                                        windows="07:00-09:00, 22:00-02:00", share_percent="", priority="5"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Rule saved." in html
    [rule] = stored_rules(app)
    assert rule["windows"] == [["07:00", "09:00"], ["22:00", "02:00"]] and rule["weekdays"] == [0, 1, 2, 3, 4]
    assert rule["board_ids"] == [screen] and rule["priority"] == 5
    shown = row(html, rule["id"])
    assert "07:00–09:00" in shown and "22:00–02:00 (to the next day)" in shown and "Mon, Tue, Wed, Thu, Fri" in shown
    assert "PNL-001" in shown and "Ngày Môi trường" in shown and "campaign period" in shown and "fills the free time" in shown
    assert "ended on 30/06/2024" in shown  # task 4 ran in June 2024


def test_a_share_of_voice_in_per_cent_and_dates_of_its_own(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    board(client, accounts)
    playlist = published_playlist(client, app, accounts)
    accounts.login("editor")
    english(client)
    today = date.today()
    html = submit(client, rule_form(playlist, groups=["Vũng Tàu"], quota="share_of_voice", share_percent="25",
                                    plays_per_hour="12", date_from=(today - timedelta(days=1)).isoformat(),
                                    date_to=(today + timedelta(days=30)).isoformat())).get_data(as_text=True)
    [rule] = stored_rules(app)
    assert rule["share_of_voice"] == 0.25 and rule["plays_per_hour"] is None and rule["groups"] == ["Vũng Tàu"]
    shown = row(html, rule["id"])
    assert "25% share of voice" in shown and "group Vũng Tàu" in shown and "In effect" in shown and "every day" in shown
    assert (today + timedelta(days=30)).strftime("%d/%m/%Y") in shown and "all day" in shown


def test_an_editor_cannot_approve_an_interrupt_and_an_approver_can(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    screen = board(client, accounts)
    playlist = published_playlist(client, app, accounts)
    accounts.login("editor")
    english(client)
    today = datetime.now(app.config["PANOLED"].tz).date()  # "in effect" is judged on the department's calendar
    html = submit(client, rule_form(playlist, board_ids=[screen], interrupt="y", windows="12:00-13:00", note="Cảnh báo bão",
                                    date_from=today.isoformat(), date_to=today.isoformat())).get_data(as_text=True)
    assert "An approver must approve the interrupt before it reaches the boards." in html
    [rule] = stored_rules(app)
    shown = row(html, rule["id"])
    assert "Emergency interrupt" in shown and "waiting for an approver" in shown and "Not in effect" in shown
    assert "Approve the interrupt" not in shown
    refused = client.post(f"/schedule/{rule['id']}/approve", data={"csrf_token": csrf_token(client.get("/schedule/"))})
    assert refused.status_code == 403 and stored_rules(app)[0]["approved"] is False

    approver = app.test_client()
    accounts.login("approver", client=approver)
    english(approver)
    listing = approver.get("/schedule/")
    assert "Approve the interrupt" in row(listing.get_data(as_text=True), rule["id"])
    approved = approver.post(f"/schedule/{rule['id']}/approve", data={"csrf_token": csrf_token(listing)}, follow_redirects=True)
    shown = row(approved.get_data(as_text=True), rule["id"])
    assert "Interrupt approved" in approved.get_data(as_text=True) and "In effect" in shown and "approved" in shown
    assert stored_rules(app)[0]["approved"] is True


def test_nobody_approves_their_own_interrupt_and_the_page_says_so(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    screen = board(client, accounts)
    playlist = published_playlist(client, app, accounts)
    accounts.login("admin")
    english(client)
    html = submit(client, rule_form(playlist, board_ids=[screen], interrupt="y")).get_data(as_text=True)
    [rule] = stored_rules(app)
    shown = row(html, rule["id"])
    assert "You made this interrupt; another approver must approve it." in shown and "Approve the interrupt" not in shown
    response = client.post(f"/schedule/{rule['id']}/approve", data={"csrf_token": csrf_token(client.get("/schedule/"))},
                           follow_redirects=True)
    assert "Nobody approves their own interrupt; another approver must." in response.get_data(as_text=True)
    assert stored_rules(app)[0]["approved"] is False


def test_auditors_only_see_the_schedule_and_operators_may_add_but_not_delete(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    screen = board(client, accounts)
    playlist = published_playlist(client, app, accounts)
    client.post("/api/v1/rules", headers=accounts.token("editor"), json={"playlist_id": playlist, "board_ids": [screen]})
    [rule] = stored_rules(app)
    for role in ("operator", "auditor"):
        viewer = app.test_client()
        accounts.login(role, client=viewer)
        english(viewer)
        listing = viewer.get("/schedule/")
        html = listing.get_data(as_text=True)
        assert listing.status_code == 200 and "Ngày Môi trường" in html and 'href="/schedule/"' in html  # in the navigation
        assert "Delete…" not in html
        token = csrf_token(listing)
        assert viewer.post(f"/schedule/{rule['id']}/delete", data={"csrf_token": token}).status_code == 403
        if role == "auditor":
            assert "New rule" not in html
            assert viewer.get("/schedule/new").status_code == 403
            assert viewer.post("/schedule/new", data={"csrf_token": token, **rule_form(playlist, board_ids=[screen])}).status_code == 403
        else:  # operators may add rules, as through the API (an interrupt still waits for an approver)
            assert "New rule" in html and viewer.get("/schedule/new").status_code == 200
    assert len(stored_rules(app)) == 1


def test_bad_input_shows_a_clear_error_and_changes_nothing(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    screen = board(client, accounts)
    playlist = published_playlist(client, app, accounts)
    accounts.login("editor")
    english(client)
    cases = [
        (rule_form(playlist), "A rule needs at least one board or board group."),
        (rule_form(playlist, board_ids=[screen], windows="7h-9h"), "Time windows are written like 07:00-09:00."),
        (rule_form(playlist, board_ids=[screen], windows="09:00"), "Time windows are written like 07:00-09:00."),
        (rule_form(playlist, board_ids=[screen], windows="25:00-26:00"), "Time windows are written like 07:00-09:00."),
        (rule_form(playlist, board_ids=[screen], date_from="2024-06-30", date_to="2024-06-01"), "The rule&#39;s dates end before they start."),
        (rule_form(playlist, board_ids=[screen], quota="plays_per_hour"), "Enter how many plays per hour."),
        (rule_form(playlist, board_ids=[screen], quota="plays_per_hour", plays_per_hour="1000"), "Plays per hour is between 1 and 360."),
        (rule_form(playlist, board_ids=[screen], quota="share_of_voice", share_percent="150"), "Share of voice is more than 0 and at most 1."),
        (rule_form(playlist, board_ids=[screen], interrupt="y", quota="plays_per_hour", plays_per_hour="4"),
         "An interrupt takes the whole screen; it has no quota."),
        (rule_form(playlist, board_ids=[screen], weekdays=[]), "Choose at least one weekday."),
        (rule_form(playlist, board_ids=[screen + 99]), "is not a valid choice for this field."),
        (rule_form(playlist + 99, board_ids=[screen]), "Not a valid choice."),
    ]
    for data, message in cases:
        response = submit(client, data)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and message in html and "Rule saved." not in html, message
        assert 'value="' + (data["windows"] or "") + '"' in html or not data["windows"]  # what was typed stays
    assert stored_rules(app) == []


def test_only_published_playlists_are_offered_grouped_by_campaign(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    board(client, accounts)
    published = published_playlist(client, app, accounts, name="Đã xuất bản")
    draft = client.post("/api/v1/playlists", headers=accounts.token("editor"), json={"campaign_id": CAMPAIGN, "name": "Bản nháp"}).get_json()["id"]
    accounts.login("editor")
    english(client)
    html = client.get(f"/schedule/new?playlist={published}").get_data(as_text=True)
    assert f'<option selected value="{published}">Đã xuất bản</option>' in html and "Bản nháp" not in html
    assert re.search(r'<optgroup label="4\. [^"]+">', html)
    assert 'value="Vũng Tàu"' in html  # the boards' group names are offered
    assert submit(client, rule_form(draft, groups=["Vũng Tàu"])).status_code == 200 and stored_rules(app) == []


def test_deleting_a_rule_asks_first_and_the_audit_log_keeps_it(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    screen = board(client, accounts)
    playlist = published_playlist(client, app, accounts)
    accounts.login("editor")
    english(client)
    submit(client, rule_form(playlist, board_ids=[screen], windows="18:00-20:00"))
    [rule] = stored_rules(app)
    confirm = client.get(f"/schedule/{rule['id']}/delete")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and f"Delete rule {rule['id']}?" in html and "18:00–20:00" in html
    assert len(stored_rules(app)) == 1  # asking changes nothing
    done = client.post(f"/schedule/{rule['id']}/delete", data={"csrf_token": csrf_token(confirm)}, follow_redirects=True)
    assert f"Rule {rule['id']} deleted" in done.get_data(as_text=True) and stored_rules(app) == []
    from cms.services.audit import history
    with app.app_context():
        [created, deleted] = history("rule", rule["id"])
        assert (created.action, deleted.action) == ("rule.create", "rule.delete")
        assert deleted.details["windows"] == [["18:00", "20:00"]] and deleted.details["board_ids"] == [screen]


def test_the_api_deletes_a_rule_for_editors_only(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    screen = board(client, accounts)
    playlist = published_playlist(client, app, accounts)
    editor = accounts.token("editor")
    rule = client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": [screen]}).get_json()["id"]
    assert client.delete(f"/api/v1/rules/{rule}", headers=accounts.token("auditor")).status_code == 403
    assert client.delete(f"/api/v1/rules/{rule}", headers=editor).status_code == 204
    assert client.delete(f"/api/v1/rules/{rule}", headers=editor).status_code == 404


def test_windows_are_read_as_people_write_them(ctx: Flask) -> None:
    from cms.services.rules import parse_windows

    assert parse_windows("7:00-9:00; 22:00 – 02:00\n17:30-24:00") == (("07:00", "09:00"), ("22:00", "02:00"), ("17:30", "24:00"))
    assert parse_windows("  ") == ()
