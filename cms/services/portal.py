"""Keeps the department's portal (a WordPress site, through cms.publishers) showing the
posts the public website shows, and nothing else.

Each round (the scheduler runs one every few seconds; `panoled website push` runs one
by hand) it first takes down what must go, then publishes what is new or changed,
then deletes the files no published post needs any more:
- a post published here is published there, its media uploaded first and named by
  their portal addresses, its first picture featured;
- a post taken down, sent back to draft or changed here is taken down there at once
  (a changed post goes back through approval before it returns);
- a file leaves the portal as soon as no published post shows it, e.g. when its
  media is rejected or archived.
What each post and file is on the portal is kept in portal_posts and portal_media,
so nothing is sent twice and nothing is forgotten there. A portal that fails is
tried again later with growing waits; the failure shows on the post's page.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select

from cms.extensions import db
from cms.models import MediaAsset, PortalMedia, PortalPost, WebPost
from cms.publishers import PostContent, Publisher, PublishError, publisher_for
from cms.services import web_media, website

log = logging.getLogger(__name__)

STILL_WIDTH = 1600
RETRY_FIRST_SECONDS = 10
RETRY_MAX_SECONDS = 3600


@dataclass
class Round:
    """What one round did."""

    published: list[int] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)
    uploaded: int = 0
    deleted: int = 0
    failed: list[str] = field(default_factory=list)
    unreachable: bool = False  # the portal was down or busy: the round stopped there


def sync(config: Any, now: datetime, publisher: Publisher | None = None) -> Round:
    """One round against the configured portal (none configured: nothing to do). Commits as it goes."""
    publisher = publisher or publisher_for(config)
    done = Round()
    if publisher is None:
        return done
    rows = {row.post_id: row for row in db.session.scalars(select(PortalPost).where(
        PortalPost.portal == publisher.kind))}
    published = website.public_posts()
    public_ids = {post.id for post in published}
    for row in rows.values():
        if row.post_id in public_ids or row.state == "withdrawn":
            continue
        if not row.remote_id:  # never reached the portal: nothing to take down
            row.state, row.error, row.attempts, row.retry_at = "withdrawn", "", 0, None
            db.session.commit()
            continue
        _withdraw(publisher, row, now, done)
        if done.unreachable:
            return done
    for post in published:
        _publish(publisher, config, rows.get(post.id) or _new_row(publisher.kind, post), post, now, done)
        if done.unreachable:
            return done
    _delete_unneeded(publisher, published, done)
    return done


def _new_row(portal: str, post: WebPost) -> PortalPost:
    row = PortalPost(portal=portal, post_id=post.id, remote_id="", remote_url="", state="waiting", digest="",
                     error="", attempts=0)
    db.session.add(row)
    return row


def _due(row: PortalPost, now: datetime) -> bool:
    return row.retry_at is None or row.retry_at <= now


def _withdraw(publisher: Publisher, row: PortalPost, now: datetime, done: Round) -> None:
    """Take it down even when it waits for a retry: what leaves the website leaves the portal first."""
    try:
        publisher.withdraw(row.remote_id)
    except PublishError as error:
        _failed(row, error, now, done)
    else:
        row.state, row.digest, row.error, row.attempts, row.retry_at, row.synced_at = "withdrawn", "", "", 0, None, now
        done.withdrawn.append(row.post_id)
    db.session.commit()


def _digest(post: WebPost, assets: list[MediaAsset]) -> str:
    shown = {"title": post.title, "summary": post.summary, "body": post.body,
             "media": [[asset.id, asset.sha256, asset.alt_text] for asset in assets]}
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _publish(publisher: Publisher, config: Any, row: PortalPost, post: WebPost, now: datetime, done: Round) -> None:
    assets = website.post_media(post)
    digest = _digest(post, assets)
    if row.state == "published" and row.digest == digest:
        return
    if not _due(row, now):
        return
    try:
        files = {asset.id: _files(publisher, config, asset, done) for asset in assets}
        db.session.refresh(post)
        if post.status != "published":  # taken down meanwhile: the next round withdraws it if need be
            return
        remote = publisher.publish(row.remote_id, _content(post, assets, files))
    except PublishError as error:
        _failed(row, error, now, done)
    else:
        row.remote_id, row.remote_url, row.state, row.digest = remote.remote_id, remote.url, "published", digest
        row.error, row.attempts, row.retry_at, row.synced_at = "", 0, None, now
        done.published.append(post.id)
    db.session.commit()


def _failed(row: PortalPost, error: PublishError, now: datetime, done: Round) -> None:
    row.attempts += 1
    wait = min(RETRY_FIRST_SECONDS * 2 ** (row.attempts - 1), RETRY_MAX_SECONDS) if error.retry else RETRY_MAX_SECONDS
    row.error, row.retry_at = str(error)[:2000], now + timedelta(seconds=wait)
    done.unreachable = done.unreachable or error.retry
    done.failed.append(f"post {row.post_id}: {error}")
    log.warning("portal %s: post %s: %s (next try in %d s)", row.portal, row.post_id, error, wait)


def _files(publisher: Publisher, config: Any, asset: MediaAsset, done: Round) -> dict[str, PortalMedia]:
    """The asset's still (and video) on the portal, uploaded now unless there already as they are."""
    wanted = {"still": (web_media.still(asset, STILL_WIDTH, config), "jpg", "image/jpeg")}
    if asset.kind == "video":
        wanted["video"] = (web_media.web_video(asset, config), "mp4", "video/mp4")
    files = {}
    for variant, (path, suffix, mime) in wanted.items():
        if path is None:
            continue
        row = db.session.scalar(select(PortalMedia).where(
            PortalMedia.portal == publisher.kind, PortalMedia.asset_id == asset.id, PortalMedia.variant == variant))
        if row is not None and row.sha256 == asset.sha256 and row.alt_text == asset.alt_text:
            files[variant] = row
            continue
        if row is not None:  # the file or its description changed: the old copy goes first
            publisher.delete_file(row.remote_id)
            db.session.delete(row)
            db.session.commit()
            done.deleted += 1
        uploaded = publisher.upload(path, f"panoled-{asset.id}-{asset.sha256[:10]}.{suffix}", mime, asset.alt_text)
        row = PortalMedia(portal=publisher.kind, asset_id=asset.id, variant=variant, sha256=asset.sha256,
                          alt_text=asset.alt_text, remote_id=uploaded.remote_id, remote_url=uploaded.url)
        db.session.add(row)
        db.session.commit()  # recorded at once: a copy on the portal is never forgotten
        done.uploaded += 1
        files[variant] = row
    return files


def _content(post: WebPost, assets: list[MediaAsset], files: dict[int, dict[str, PortalMedia]]) -> PostContent:
    def image_set(asset: MediaAsset) -> dict[str, str]:
        copies = files.get(asset.id, {})
        still, video = copies.get("still"), copies.get("video")
        return {"src": still.remote_url if still else "", "srcset": "", "video": video.remote_url if video else ""}

    with force_locale("vi"):
        html = render_template("public/_entry.html", post=post, assets=assets, image_set=image_set)
    stills = [files[a.id]["still"] for a in sorted(assets, key=lambda a: a.kind == "video") if "still" in files[a.id]]
    return PostContent(title=post.title, summary=post.summary, html=html.strip(),
                       featured=stills[0].remote_id if stills else "")


def _delete_unneeded(publisher: Publisher, published: list[WebPost], done: Round) -> None:
    needed = {asset.id for post in published for asset in website.post_media(post)}
    for row in list(db.session.scalars(select(PortalMedia).where(PortalMedia.portal == publisher.kind))):
        if row.asset_id in needed:
            continue
        try:
            publisher.delete_file(row.remote_id)
        except PublishError as error:
            done.failed.append(f"file {row.remote_id}: {error}")
            log.warning("portal %s: deleting file %s failed: %s (next round tries again)", row.portal,
                        row.remote_id, error)
            if error.retry:
                done.unreachable = True
                return
            continue
        db.session.delete(row)
        db.session.commit()
        done.deleted += 1


def state_of(post_id: int, portal: str) -> PortalPost | None:
    """The post's state on the portal, for its staff page."""
    return db.session.scalar(select(PortalPost).where(PortalPost.portal == portal, PortalPost.post_id == post_id))
