"""Embedding the website elsewhere: the widget may be framed by any site (and only it),
oEmbed answers for public pages of this site only, and the pages announce it."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask

from cms.extensions import db
from cms.models import MediaAsset
from cms.services import website
from website_setup import CAMPAIGN, approved, people, poster_on_campaign


def _publish(app: Flask, client: Any, accounts: Any) -> int:
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 7)
    writer, reviewer = people(app, accounts)
    now = datetime.now(UTC)
    with app.app_context():
        website.set_web_public(db.session.get(MediaAsset, poster), True, writer)
        post = approved("Ngày Môi trường thế giới 5/6", "Chung tay vì môi trường.", "Nội dung.", [poster], writer,
                        reviewer, now)
        website.move(post, "published", writer, now)
        db.session.commit()
        return post.id


def test_only_the_widget_may_be_framed_by_other_sites(app: Flask, client: Any, accounts: Any, imported_plan: Any) -> None:
    _publish(app, client, accounts)
    widget = client.get(f"/public/widget/campaigns/{CAMPAIGN}")
    assert widget.status_code == 200
    assert "frame-ancestors *" in widget.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in widget.headers
    assert "Set-Cookie" not in widget.headers
    page = client.get(f"/public/campaigns/{CAMPAIGN}")
    assert page.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    script = client.get("/public/widget.js")
    assert script.status_code == 200 and script.mimetype in ("text/javascript", "application/javascript")


def test_oembed_answers_for_public_pages_of_this_site_only(app: Flask, client: Any, accounts: Any,
                                                          imported_plan: Any) -> None:
    post_id = _publish(app, client, accounts)
    campaign_url = f"http://localhost/public/campaigns/{CAMPAIGN}"
    answer = client.get("/public/oembed", query_string={"url": campaign_url, "maxwidth": "400"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["version"] == "1.0" and body["type"] == "rich" and body["width"] == 400
    assert f'src="http://localhost/public/widget/campaigns/{CAMPAIGN}"' in body["html"]
    post = client.get("/public/oembed", query_string={"url": f"http://localhost/public/posts/{post_id}"}).get_json()
    assert post["type"] == "link" and post["title"] == "Ngày Môi trường thế giới 5/6"
    assert post["thumbnail_url"].startswith("http://localhost/public/media/")
    for url in ("https://elsewhere.example/public/campaigns/4", "http://localhost/public/campaigns/999999",
                "http://localhost/campaigns/4", "http://localhost/public/posts/999999"):
        assert client.get("/public/oembed", query_string={"url": url}).status_code == 404, url
    assert client.get("/public/oembed", query_string={"url": campaign_url, "format": "xml"}).status_code == 501
    html = client.get(f"/public/campaigns/{CAMPAIGN}").get_data(as_text=True)
    assert 'type="application/json+oembed"' in html and "data-panoled-campaign" in html
