"""Schedule pages: a board's week calendar coloured by campaign, a board group's week, and the
conflicts page listing rules that get less airtime than they asked for."""
from __future__ import annotations

from typing import Any

import lxml.html
from flask import Flask

import media_files
from conftest import Accounts
from cms.services.derivatives import work_until_idle

WEEK = "2024-W23"  # Monday 3 June to Sunday 9 June 2024
MONDAY, TUESDAY, WEDNESDAY = "2024-06-03", "2024-06-04", "2024-06-05"
JUNE = {"date_from": "2024-06-01", "date_to": "2024-06-30"}


def published_playlist(client, app: Flask, editor: dict[str, str], approver: dict[str, str], campaign_id: int = 4) -> int:  # type: ignore[no-untyped-def]
    asset = client.post(f"/api/v1/media?campaign_id={campaign_id}&filename=p.png", data=media_files.png_bytes(),
                        headers=editor | {"Content-Type": "application/octet-stream"}).get_json()["id"]
    with app.app_context():
        work_until_idle(app.config["PANOLED"])
    client.post(f"/api/v1/media/{asset}/transitions", headers=editor, json={"to": "pending"})
    client.post(f"/api/v1/media/{asset}/transitions", headers=approver, json={"to": "approved"})
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": campaign_id, "name": "Sống xanh"}).get_json()["id"]
    client.post(f"/api/v1/playlists/{playlist}/items", headers=editor, json={"asset_id": asset, "duration": 15})
    assert client.post(f"/api/v1/playlists/{playlist}/publish", headers=editor).status_code == 200
    return playlist


def new_board(client, operator: dict[str, str], hours: str = "05:30-22:00", group: str = "Vũng Tàu") -> int:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/screens", headers=operator, json={
        "name": "Bảng Panoled Bãi Sau", "width": 960, "height": 320, "adapter": "simulator", "group": group,
        "operating_hours": hours})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def new_rule(client, editor: dict[str, str], **body: Any) -> int:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/rules", headers=editor, json=JUNE | body)
    assert response.status_code == 201 and response.get_json()["in_effect"], response.get_json()
    return response.get_json()["id"]


def page(client, url: str) -> Any:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return lxml.html.fromstring(response.get_data(as_text=True))


def blocks(doc: Any, day: str, board: int | None = None) -> list[tuple[str, str, str, str]]:
    """(kind, rule, start, end) of the blocks drawn in a day column."""
    scope = f'//svg[@data-board="{board}"]' if board else "//svg"
    return [(r.get("data-kind"), r.get("data-rule"), r.get("data-start"), r.get("data-end"))
            for r in doc.xpath(f'{scope}//g[@data-day="{day}"]/rect[contains(@class, "block")]')]


def dark(doc: Any, day: str) -> list[tuple[str, str]]:
    return [(r.get("data-start"), r.get("data-end")) for r in doc.xpath(f'//g[@data-day="{day}"]/rect[@class="dark"]')]


def test_a_monday_morning_rule_shows_on_monday_in_its_campaigns_colour_and_dark_hours_are_marked(
        client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    board = new_board(client, operator)
    rule = new_rule(client, editor, playlist_id=published_playlist(client, app, editor, approver), board_ids=[board],
                    weekdays=[0], windows=["07:00-09:00"])
    accounts.login("auditor")

    doc = page(client, f"/schedule/boards/{board}/week?week={WEEK}")
    assert ("fill", str(rule), "07:00", "09:00") in blocks(doc, MONDAY)
    assert [b for b in blocks(doc, TUESDAY) if b[1] == str(rule)] == []
    assert {b[0] for b in blocks(doc, TUESDAY)} == {"idle"}
    assert dark(doc, MONDAY) == [("00:00", "05:30"), ("22:00", "24:00")]
    block = doc.xpath(f'//g[@data-day="{MONDAY}"]/rect[@data-rule="{rule}"]')[0]
    assert "campaign-c4" in block.get("class").split() and block.get("data-campaign") == "4"
    assert "07:00–09:00" in block.findtext("title") and "Sống xanh" in block.findtext("title")
    with app.app_context():
        from cms.extensions import db
        from cms.models import Campaign

        title = db.session.get(Campaign, 4).title
    legend = doc.xpath('//div[contains(@class, "legend")]')[0].text_content()
    assert title[:40] in " ".join(legend.split())
    days = [t.text_content() for t in doc.xpath('//text[@class="day-name"]')]
    assert days[0] == "Thứ Hai" and len(days) == 7  # Vietnamese weekday names
    links = {a.get("href") for a in doc.xpath("//a")}
    assert f"/schedule/boards/{board}/week?week=2024-W22" in links and f"/schedule/boards/{board}/week?week=2024-W24" in links


def test_a_window_across_midnight_shows_on_both_days_and_on_the_group_page(
        client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    first = new_board(client, operator, hours="00:00-24:00", group="Côn Đảo")
    second = new_board(client, operator, hours="05:30-22:00", group="Côn Đảo")
    rule = new_rule(client, editor, playlist_id=published_playlist(client, app, editor, approver), groups=["Côn Đảo"],
                    weekdays=[0], windows=["22:00-02:00"])
    accounts.login("editor")

    doc = page(client, f"/schedule/boards/{first}/week?week={WEEK}")
    assert ("fill", str(rule), "22:00", "24:00") in blocks(doc, MONDAY)
    assert ("fill", str(rule), "00:00", "02:00") in blocks(doc, TUESDAY)
    assert [b for b in blocks(doc, WEDNESDAY) if b[1] == str(rule)] == []
    assert dark(doc, MONDAY) == [] and dark(doc, TUESDAY) == []  # lit all day

    group = page(client, f"/schedule/groups/Côn Đảo/week?week={WEEK}")
    assert ("fill", str(rule), "00:00", "02:00") in blocks(group, TUESDAY, board=first)
    assert [b for b in blocks(group, TUESDAY, board=second) if b[1] == str(rule)] == []  # dark at night
    assert ("fill", str(rule), "22:00", "24:00") not in blocks(group, MONDAY, board=second)
    assert len(group.xpath("//svg[@data-board]")) == 2


def test_many_short_passes_are_drawn_as_few_blocks(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    board = new_board(client, operator)
    playlist = published_playlist(client, app, editor, approver)
    fill = new_rule(client, editor, playlist_id=playlist, board_ids=[board], windows=["07:00-09:00"])
    quota = new_rule(client, editor, playlist_id=playlist, board_ids=[board], plays_per_hour=12, priority=1)
    accounts.login("editor")

    doc = page(client, f"/schedule/boards/{board}/week?week={WEEK}")
    assert ("fill", str(fill), "07:00", "09:00") in blocks(doc, MONDAY)  # whole beneath the passes
    ticks = doc.xpath(f'//g[@data-day="{MONDAY}"]/g[@data-rule="{quota}"]')
    assert len(ticks) == 1 and "12 " in ticks[0].findtext("title")
    assert len(ticks[0].xpath("rect")) > 150  # every pass at its time: 12 an hour, 05:30 to 22:00
    assert len(blocks(doc, MONDAY)) <= 3  # idle, fill, idle


def test_a_rule_squeezed_out_by_a_higher_priority_is_listed_with_what_it_asked_and_got(
        client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    board = new_board(client, operator)
    playlist = published_playlist(client, app, editor, approver)
    winner = new_rule(client, editor, playlist_id=playlist, board_ids=[board], windows=["07:00-09:00"], priority=5)
    loser = new_rule(client, editor, playlist_id=playlist, board_ids=[board], windows=["08:00-09:00"])
    takeover = new_rule(client, editor, playlist_id=playlist, board_ids=[board], windows=["12:00-13:00"],
                        share_of_voice=1.0, priority=9)
    hourly = new_rule(client, editor, playlist_id=playlist, board_ids=[board], windows=["12:00-14:00"], plays_per_hour=4)
    accounts.login("auditor")

    doc = page(client, "/schedule/conflicts?from=2024-06-03&to=2024-06-09")
    rows = {r.get("data-rule"): r for r in doc.xpath("//tr[@data-rule]")}
    assert str(winner) not in rows and str(takeover) not in rows
    squeezed = rows[str(loser)]
    assert squeezed.xpath('td[contains(@class, "asked")]')[0].text_content().strip() == "7 h 00 min"
    assert squeezed.xpath('td[contains(@class, "got")]')[0].text_content().strip() == "0 s"
    assert "0%" in squeezed.text_content()
    assert f"#{winner}" in squeezed.xpath("td")[-1].text_content()
    assert squeezed.xpath("td//a")[0].get("href") == f"/schedule/boards/{board}/week?week={WEEK}"
    plays = rows[str(hourly)]
    asked = plays.xpath('td[contains(@class, "asked")]')[0].text_content()
    got = plays.xpath('td[contains(@class, "got")]')[0].text_content()
    assert "56" in asked and "28" in got  # 4 an hour for 2 h on 7 days; the 12:00 hour went to the takeover
    assert f"#{takeover}" in plays.xpath("td")[-1].text_content()

    quiet = page(client, "/schedule/conflicts?from=2024-07-01&to=2024-07-07")
    assert quiet.xpath("//tr[@data-rule]") == [] and quiet.xpath('//p[@class="empty"]')


def test_unknown_boards_and_groups_and_bad_weeks_say_so(client, accounts: Accounts, imported_plan: Any) -> None:
    operator = accounts.token("operator")
    board = new_board(client, operator)
    accounts.login("editor")
    assert client.get("/schedule/boards/999/week").status_code == 404
    assert client.get("/schedule/groups/Nowhere/week").status_code == 404
    for bad in ("2024-W60", "next tuesday", "2024-06-03"):
        response = client.get(f"/schedule/boards/{board}/week", query_string={"week": bad})
        assert response.status_code == 422 and bad in response.get_data(as_text=True), bad
        assert "2024-W23" in response.get_data(as_text=True)  # how to write one
    assert client.get("/schedule/conflicts?from=2024-13-01").status_code == 422
    assert client.get("/schedule/conflicts?from=2024-06-01&to=2024-08-01").status_code == 422
    assert client.get(f"/schedule/boards/{board}/week").status_code == 200  # this week by default
    assert client.get("/schedule/conflicts").status_code == 200
