"""The staff pages for the website: an editor writes a post through the form and sends it
for approval, another person approves it, the editor publishes it and it is public;
media go on the campaign's public page only approved with alt text; roles are enforced."""
from __future__ import annotations

from typing import Any

from flask import Flask

from cms.extensions import db
from cms.models import MediaAsset, WebPost
from conftest import csrf_token
from website_setup import CAMPAIGN, poster_on_campaign


def _move(client: Any, post_id: int, to: str, **extra: str) -> None:
    page = client.get(f"/website/posts/{post_id}")
    assert client.post(f"/website/posts/{post_id}/move",
                       data={"csrf_token": csrf_token(page), "to": to, **extra}).status_code == 302


def test_a_post_written_approved_and_published_through_the_pages(app: Flask, client: Any, accounts: Any,
                                                                  imported_plan: Any) -> None:
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 5,
                                alt="Áp phích Ngày Môi trường thế giới")
    accounts.login("editor")
    page = client.get(f"/campaigns/{CAMPAIGN}/website")
    assert page.status_code == 200 and "Áp phích Ngày Môi trường thế giới" in page.get_data(as_text=True)
    answer = client.post(f"/campaigns/{CAMPAIGN}/website/posts", data={
        "csrf_token": csrf_token(page), "title": "Hành động vì môi trường", "summary": "Tháng 6/2024.",
        "body": "Đoạn một.\n\nĐoạn hai.", "media": [str(poster)]})
    assert answer.status_code == 302
    with app.app_context():
        post = db.session.scalar(db.select(WebPost))
        post_id, links = post.id, [link.asset_id for link in post.media_links]
    assert links == [poster]
    _move(client, post_id, "pending")
    # The writer cannot approve: the page offers no such move, and the service refuses it.
    assert 'value="approved"' not in client.get(f"/website/posts/{post_id}").get_data(as_text=True)

    client.post("/logout", data={"csrf_token": csrf_token(client.get("/"))})
    accounts.login("approver")
    _move(client, post_id, "approved")
    _move(client, post_id, "published")
    with app.app_context():
        assert db.session.get(WebPost, post_id).status == "published"
    public = client.get(f"/public/posts/{post_id}")
    assert public.status_code == 200 and "Hành động vì môi trường" in public.get_data(as_text=True)


def test_media_go_on_the_website_only_approved_and_described(app: Flask, client: Any, accounts: Any,
                                                             imported_plan: Any) -> None:
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 6)
    with app.app_context():
        db.session.get(MediaAsset, poster).alt_text = ""
        db.session.commit()
    accounts.login("editor")
    token = csrf_token(client.get(f"/campaigns/{CAMPAIGN}/website"))
    client.post(f"/media/{poster}/website", data={"csrf_token": token, "public": "1"})
    with app.app_context():
        assert db.session.get(MediaAsset, poster).web_public is False  # refused: no alt text
        db.session.get(MediaAsset, poster).alt_text = "Áp phích"
        db.session.commit()
    client.post(f"/media/{poster}/website", data={"csrf_token": token, "public": "1"})
    with app.app_context():
        assert db.session.get(MediaAsset, poster).web_public is True
    assert client.get(f"/public/campaigns/{CAMPAIGN}").status_code == 200


def test_an_auditor_reads_but_cannot_write_or_publish(app: Flask, client: Any, accounts: Any, imported_plan: Any) -> None:
    accounts.login("auditor")
    page = client.get(f"/campaigns/{CAMPAIGN}/website")
    assert page.status_code == 200
    assert client.post(f"/campaigns/{CAMPAIGN}/website/posts",
                       data={"csrf_token": csrf_token(page), "title": "x"}).status_code == 403
    assert client.post("/website/posts/1/move", data={"csrf_token": csrf_token(page), "to": "published"}).status_code == 403
