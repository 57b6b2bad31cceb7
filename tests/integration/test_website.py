"""The public website: only approved, described and published things appear; pages
cache; feeds are Atom and JSON Feed with Vietnamese text; the scheduler publishes
a scheduled post at its time and not before."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
from flask import Flask
from flask.testing import FlaskClient

from cms.extensions import db
from cms.models import MediaAsset, WebPost
from cms.services import website
from website_setup import CAMPAIGN, approved, people, poster_on_campaign

def test_a_post_goes_public_only_once_approved_and_published(app: Flask, client: FlaskClient, accounts: Any,
                                                             imported_plan: Any) -> None:
    editor, approver = accounts.token("editor"), accounts.token("approver")
    poster = poster_on_campaign(client, app, editor, approver, 1)
    writer, reviewer = people(app, accounts)
    now = datetime.now(UTC)
    with app.app_context():
        post = website.save_post(None, CAMPAIGN, "Hưởng ứng Giờ Trái Đất 2024", "Tắt đèn một giờ.",
                                 "Đoạn một.\n\nĐoạn hai về tiết kiệm điện.", [poster], writer)
        db.session.commit()
        post_id = post.id
    assert client.get(f"/public/posts/{post_id}").status_code == 404
    assert client.get(f"/public/campaigns/{CAMPAIGN}").status_code == 404  # nothing public in it yet
    with app.app_context():
        post = db.session.get(WebPost, post_id)
        website.move(post, "pending", writer, now)
        try:
            website.move(post, "approved", writer, now)
            raise AssertionError("the writer approved their own post")
        except website.ApprovalNotAllowed:
            pass
        website.move(post, "approved", reviewer, now)
        db.session.commit()
    assert client.get(f"/public/posts/{post_id}").status_code == 404  # approved is not yet published
    with app.app_context():
        website.move(db.session.get(WebPost, post_id), "published", writer, now)
        db.session.commit()
        token = db.session.get(MediaAsset, poster).web_token
    page = client.get(f"/public/posts/{post_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="vi">' in html and "Hưởng ứng Giờ Trái Đất 2024" in html
    assert 'property="og:title" content="Hưởng ứng Giờ Trái Đất 2024"' in html
    assert f"/public/media/{token}/w960.jpg" in html and 'alt="Áp phích Giờ Trái Đất 2024"' in html
    assert "Set-Cookie" not in page.headers
    image = client.get(f"/public/media/{token}/w480.jpg")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert client.get(f"/public/media/{token}/original").status_code == 404
    assert client.get(f"/public/campaigns/{CAMPAIGN}").status_code == 200

    # Cacheable: the same page again with its validators is a 304.
    again = client.get(f"/public/posts/{post_id}", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304
    assert page.headers["Last-Modified"] and "public" in page.headers["Cache-Control"]

    # The poster rejected: it leaves the post, the page and its file at once.
    with app.app_context():
        asset = db.session.get(MediaAsset, poster)
        asset.status = "rejected"
        db.session.commit()
    assert f"/public/media/{token}/" not in client.get(f"/public/posts/{post_id}").get_data(as_text=True)
    assert client.get(f"/public/media/{token}/w480.jpg").status_code == 404

    # Taken down: gone from every page and feed.
    with app.app_context():
        website.move(db.session.get(WebPost, post_id), "unpublished", reviewer, now)
        db.session.commit()
    assert client.get(f"/public/posts/{post_id}").status_code == 404
    assert client.get(f"/public/campaigns/{CAMPAIGN}/feed.atom").status_code == 404


def test_the_feeds_are_atom_and_json_feed_with_vietnamese_text(app: Flask, client: FlaskClient, accounts: Any,
                                                               imported_plan: Any) -> None:
    editor, approver = accounts.token("editor"), accounts.token("approver")
    poster = poster_on_campaign(client, app, editor, approver, 2)
    writer, reviewer = people(app, accounts)
    now = datetime.now(UTC)
    titles = ["Ngày Môi trường thế giới: hành động vì nước sạch", "Giờ Trái Đất: tắt đèn, bật tương lai"]
    with app.app_context():
        for n, title in enumerate(titles):
            post = approved(title, f"Tóm tắt số {n + 1}", "Nội dung có dấu: ơ ư ạ ễ.", [poster], writer, reviewer, now)
            website.move(post, "published", writer, now + timedelta(seconds=n))
        db.session.commit()
        plan_id = db.session.get(WebPost, post.id).campaign.plan_id

    for url in (f"/public/campaigns/{CAMPAIGN}/feed.atom", f"/public/plans/{plan_id}/feed.atom"):
        answer = client.get(url)
        assert answer.status_code == 200 and answer.mimetype == "application/atom+xml"
        feed = feedparser.parse(answer.data)
        assert not feed.bozo, feed.bozo_exception
        assert feed.version == "atom10"
        assert feed.feed.title and feed.feed.id and feed.feed.updated_parsed
        assert [entry.title for entry in feed.entries] == titles[::-1]  # newest first
        for entry in feed.entries:
            assert entry.id.startswith("http") and entry.link.endswith(f"/public/posts/{entry.id.rsplit('/', 1)[1]}")
            assert entry.published_parsed and entry.updated_parsed
            assert "Nội dung có dấu: ơ ư ạ ễ." in entry.content[0].value
    json_feed = client.get(f"/public/campaigns/{CAMPAIGN}/feed.json").get_json()
    assert json_feed["version"] == "https://jsonfeed.org/version/1.1"
    assert [item["title"] for item in json_feed["items"]] == titles[::-1]
    assert datetime.fromisoformat(json_feed["items"][0]["date_published"]) >= datetime.fromisoformat(
        json_feed["items"][1]["date_published"])


def test_the_scheduler_publishes_a_scheduled_post_at_its_time_and_not_before(app: Flask, client: FlaskClient,
                                                                            accounts: Any, imported_plan: Any) -> None:
    from scheduler.service import SchedulerService

    writer, reviewer = people(app, accounts)
    now = datetime.now(UTC).replace(microsecond=0)
    at = now + timedelta(hours=2)
    with app.app_context():
        post = approved("Luật Đất đai 2024 có hiệu lực", "", "Từ 1/8/2024.", [], writer, reviewer, now)
        website.move(post, "published", writer, now, publish_at=at)
        db.session.commit()
        post_id = post.id
        assert db.session.get(WebPost, post_id).status == "approved"

    clock = {"now": at - timedelta(seconds=1)}
    service = SchedulerService(app, name="website-test", clock=lambda: clock["now"])
    service.leading.set()  # the job body alone: leadership is tested with the scheduler
    assert service.publish_posts() == []
    assert client.get(f"/public/posts/{post_id}").status_code == 404
    clock["now"] = at
    assert service.publish_posts() == [post_id]
    assert client.get(f"/public/posts/{post_id}").status_code == 200
    with app.app_context():
        assert db.session.get(WebPost, post_id).published_at == at
