"""Nothing unapproved, rejected, archived, undescribed or unpublished reaches any public
page, feed, widget, oEmbed answer, media URL or portal export, whatever order statuses change in (hypothesis):
after every step, everything the website serves is checked against what the rules
allow, worked out here from the rows themselves."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cms.errors import PanoledError
from cms.extensions import db
from cms.models import Campaign, MediaAsset, Plan, WebPost
from cms.services import website
from website_setup import CAMPAIGN, bundle, people, poster_on_campaign

POSTERS = 3
steps = st.lists(st.one_of(
    st.tuples(st.just("asset_status"), st.integers(0, POSTERS - 1),
              st.sampled_from(("approved", "rejected", "archived", "pending"))),
    st.tuples(st.just("alt"), st.integers(0, POSTERS - 1), st.booleans()),
    st.tuples(st.just("on_website"), st.integers(0, POSTERS - 1), st.booleans()),
    st.tuples(st.just("new_post"), st.sets(st.integers(0, POSTERS - 1), max_size=POSTERS), st.just(None)),
    st.tuples(st.just("move_post"), st.integers(0, 5),
              st.sampled_from(("pending", "approved", "rejected", "published", "unpublished", "draft"))),
    st.tuples(st.just("edit_post"), st.integers(0, 5), st.just(None)),
    st.tuples(st.just("publish_post"), st.integers(0, 5), st.just(None)),  # submitted, approved, published
), min_size=1, max_size=12)

MEDIA = re.compile(r"/public/media/([A-Za-z0-9_-]+)/")
POST = re.compile(r"/public/posts/(\d+)")
EXPORTED_MEDIA = re.compile(r"media/(\d+)[-.]")
EXPORTED_POST = re.compile(r"post-(\d+)\.html")


def _served(client: FlaskClient) -> str:
    """Everything the public website answers with, concatenated."""
    urls = ["/public/"]
    for plan_id in db.session.scalars(db.select(Plan.id)):
        urls += [f"/public/plans/{plan_id}", f"/public/plans/{plan_id}/feed.atom", f"/public/plans/{plan_id}/feed.json"]
    for campaign_id in db.session.scalars(db.select(Campaign.id).where(Campaign.id == CAMPAIGN)):
        urls += [f"/public/campaigns/{campaign_id}", f"/public/campaigns/{campaign_id}/feed.atom",
                 f"/public/campaigns/{campaign_id}/feed.json"]
    urls += [f"/public/posts/{post_id}" for post_id in db.session.scalars(db.select(WebPost.id))]
    urls += [f"/public/widget/campaigns/{CAMPAIGN}", f"/public/oembed?url=http://localhost/public/campaigns/{CAMPAIGN}"]
    urls += [f"/public/oembed?url=http://localhost/public/posts/{post_id}"
             for post_id in db.session.scalars(db.select(WebPost.id))]
    texts = []
    for url in urls:
        answer = client.get(url)
        assert answer.status_code in (200, 404), (url, answer.status_code)
        if answer.status_code == 200:
            texts.append(answer.get_data(as_text=True))
    return "\n".join(texts)


def _exported(staff: FlaskClient) -> tuple[str, set[str]]:
    """The pages and file names of every portal export (a zip, or a redirect when nothing is public)."""
    urls = [f"/campaigns/{CAMPAIGN}/website/export.zip"]
    urls += [f"/plans/{plan_id}/website/export.zip" for plan_id in db.session.scalars(db.select(Plan.id))]
    texts, names = [], set()
    for url in urls:
        with staff.application.app_context():  # its own g: the signed-in user is not the public visitor's
            answer = staff.get(url)
        if answer.status_code == 302:  # nothing of it is public: back to the staff page, no zip
            assert answer.location.endswith(("/website", f"/plans/{url.split('/')[2]}")), answer.location
            continue
        listed, pages = bundle(answer)
        names |= set(listed)
        texts += pages.values()
    return "\n".join(texts), names


def test_only_what_the_rules_allow_is_ever_public(app: Flask, client: FlaskClient, accounts: Any,
                                                  imported_plan: Any) -> None:
    editor, approver = accounts.token("editor"), accounts.token("approver")
    posters = [poster_on_campaign(client, app, editor, approver, 10 + n, alt=f"Áp phích số {n}") for n in range(POSTERS)]
    writer, reviewer = people(app, accounts)
    counter = {"posts": 0}
    staff = app.test_client()
    accounts.login("auditor", client=staff)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps)
    def run(plan: list[tuple[str, Any, Any]]) -> None:
        with app.app_context():
            for kind, which, value in plan:
                _apply(kind, which, value, posters, writer, reviewer, counter)
                db.session.commit()
                _check(client, staff, posters)

    run()


def _apply(kind: str, which: Any, value: Any, posters: list[int], writer: Any, reviewer: Any,
           counter: dict[str, int]) -> None:
    now = datetime.now(UTC)
    posts = list(db.session.scalars(db.select(WebPost).order_by(WebPost.id)))
    try:
        if kind == "asset_status":  # as review, rejection, archiving or a replaced file would leave it
            db.session.get(MediaAsset, posters[which]).status = value
        elif kind == "alt":
            db.session.get(MediaAsset, posters[which]).alt_text = f"Áp phích số {which}" if value else ""
        elif kind == "on_website":
            website.set_web_public(db.session.get(MediaAsset, posters[which]), value, writer)
        elif kind == "new_post":
            counter["posts"] += 1
            website.save_post(None, CAMPAIGN, f"Bài viết {counter['posts']}", "", "Nội dung.",
                              [posters[n] for n in sorted(which)], writer)
        elif posts:
            post = posts[which % len(posts)]
            if kind == "publish_post":
                for to, actor in (("pending", writer), ("approved", reviewer), ("published", writer)):
                    if to in website.allowed_moves(post, actor):
                        website.move(post, to, actor, now)
            elif kind == "move_post":
                website.move(post, value, reviewer if value in ("approved", "rejected") else writer, now,
                             reason="Chưa đạt")
            else:
                counter["posts"] += 1
                website.save_post(post, post.campaign_id, f"Bài viết {counter['posts']}", "", "Nội dung sửa.",
                                  [link.asset_id for link in post.media_links], writer)
    except PanoledError:
        db.session.rollback()  # a refused step changes nothing


def _check(client: FlaskClient, staff: FlaskClient, posters: list[int]) -> None:
    db.session.expire_all()
    posts = list(db.session.scalars(db.select(WebPost)))
    published = {post.id for post in posts if post.status == "published"}
    allowed_tokens, allowed_assets = set(), set()
    for asset in (db.session.get(MediaAsset, asset_id) for asset_id in posters):
        in_published = any(link.asset_id == asset.id for post in posts if post.id in published
                           for link in post.media_links)
        if asset.status == "approved" and asset.alt_text and (asset.web_public or in_published) and asset.web_token:
            allowed_tokens.add(asset.web_token)
            allowed_assets.add(asset.id)
    served = _served(client)
    assert set(MEDIA.findall(served)) <= allowed_tokens
    assert {int(post_id) for post_id in POST.findall(served)} <= published
    exported, names = _exported(staff)
    assert {int(asset_id) for asset_id in EXPORTED_MEDIA.findall(" ".join(names))} <= allowed_assets
    assert {int(post_id) for post_id in EXPORTED_POST.findall(" ".join(names))} <= published
    served += "\n" + exported
    for post in posts:
        if post.id not in published:
            assert f">{post.title}<" not in served and f"<title>{post.title}</title>" not in served
    for asset_id in posters:
        token = db.session.get(MediaAsset, asset_id).web_token
        if token:
            status = client.get(f"/public/media/{token}/w480.jpg").status_code
            assert status == (200 if token in allowed_tokens else 404), (asset_id, status)
