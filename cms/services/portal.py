"""Keeps the department's portal (a WordPress site, through cms.publishers) showing the
posts the public website shows, and nothing else.

A round (the leading scheduler runs one every half minute; `panoled website push` one
by hand; never two at once) first removes, then adds:
1. a post no longer published here (taken down, or changed and so back to draft) is
   taken down there;
2. a published post that shows media no longer public (rejected, archived, their
   description removed) is sent again without them at once, whatever wait a past
   failure set, and taken down there if that fails;
3. files no published post needs any more are deleted from the portal;
4. then posts new or changed here are sent: their media uploaded first (each upload
   recorded before it starts, so one whose answer is lost is found again by its
   name and never forgotten there), named in the post by their portal addresses,
   the first picture featured.
What each post and file is on the portal is kept in portal_posts and portal_media.
No database write is pending while the portal is called, so a slow portal never
holds SQLite's write lock. A portal that fails is tried again later with growing
waits; the failure shows on the post's page.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from cms.extensions import db
from cms.models import MediaAsset, PortalMedia, PortalPost, WebPost
from cms.publishers import PostContent, Publisher, PublishError, publisher_for
from cms.services import web_media, website

log = logging.getLogger(__name__)

STILL_WIDTH = 1600
RETRY_FIRST_SECONDS = 10
RETRY_MAX_SECONDS = 3600
WITHDRAW_RETRY_MAX_SECONDS = 60  # taking something down is retried at least every minute
# pg_try_advisory_lock takes a bigint: the first 8 bytes of sha256(b"panoled-portal").
LOCK_KEY = int.from_bytes(hashlib.sha256(b"panoled-portal").digest()[:8], "big", signed=True)


@dataclass
class Round:
    """What one round did."""

    published: list[int] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)
    uploaded: int = 0
    deleted: int = 0
    failed: list[str] = field(default_factory=list)
    unreachable: bool = False  # the portal was down or busy: the round stopped there
    busy: bool = False  # another round was running: this one did nothing


def sync(config: Any, now: datetime, publisher: Publisher | None = None) -> Round:
    """One round against the configured portal (none configured: nothing to do). Commits as it goes."""
    publisher = publisher or publisher_for(config)
    done = Round()
    if publisher is None:
        return done
    with _round_lock(config) as held:
        if not held:
            done.busy = True
            return done
        db.session.commit()  # nothing pending from before: each step below commits its own writes
        for step in (_withdraw_gone, _shrink, _delete_unneeded, _publish_changed):
            step(publisher, config, now, done)
            if done.unreachable:
                break
    return done


# Steps ---------------------------------------------------------------------------------------


def _rows(publisher: Publisher) -> dict[int, PortalPost]:
    return {row.post_id: row for row in db.session.scalars(select(PortalPost).where(PortalPost.portal == publisher.kind))}


def _withdraw_gone(publisher: Publisher, config: Any, now: datetime, done: Round) -> None:
    public_ids = {post.id for post in website.public_posts()}
    for row in _rows(publisher).values():
        if row.post_id in public_ids or row.state == "withdrawn":
            continue
        if not row.remote_id:  # never reached the portal: nothing to take down
            _set(row, state="withdrawn", error="", attempts=0, retry_at=None, asset_ids="")
            continue
        if _due(row, now):
            _withdraw(publisher, row, now, done)
            if done.unreachable:
                return


def _shrink(publisher: Publisher, config: Any, now: datetime, done: Round) -> None:
    """A published post showing there media that are no longer public goes without them now."""
    rows = _rows(publisher)
    for post in website.public_posts():
        row = rows.get(post.id)
        if row is None or row.state != "published":
            continue
        shown = {int(part) for part in row.asset_ids.split(",") if part}
        if shown <= {asset.id for asset in website.post_media(post)}:
            continue
        _send(publisher, config, row, post, now, done)
        if done.unreachable:
            return
        if row.post_id not in done.published:
            _withdraw(publisher, row, now, done)  # not sent without them: not shown at all
            if done.unreachable:
                return


def _delete_unneeded(publisher: Publisher, config: Any, now: datetime, done: Round) -> None:
    needed = {asset.id for post in website.public_posts() for asset in website.post_media(post)}
    for row in list(db.session.scalars(select(PortalMedia).where(PortalMedia.portal == publisher.kind))):
        if row.asset_id in needed:
            continue  # still shown (an upload not confirmed yet is adopted or replaced by the next send)
        try:
            _delete_copy(publisher, row)
        except PublishError as error:
            done.failed.append(f"file {row.file_name}: {error}")
            log.warning("portal %s: deleting %s failed: %s (the next round tries again)", row.portal, row.file_name,
                        error)
            if error.retry:
                done.unreachable = True
                return
            continue
        done.deleted += 1


def _publish_changed(publisher: Publisher, config: Any, now: datetime, done: Round) -> None:
    rows = _rows(publisher)
    for post in website.public_posts():
        row = rows.get(post.id) or _new_row(publisher.kind, post)
        if row.state == "published" and row.digest == _digest(post, website.post_media(post), config):
            continue
        if _due(row, now):
            _send(publisher, config, row, post, now, done)
            if done.unreachable:
                return


# Posts ----------------------------------------------------------------------------------------


def _new_row(portal: str, post: WebPost) -> PortalPost:
    row = PortalPost(portal=portal, post_id=post.id, remote_id="", remote_url="", state="waiting", digest="",
                     asset_ids="", error="", attempts=0)
    db.session.add(row)
    db.session.commit()
    return row


def _set(row: PortalPost, **values: Any) -> None:
    for key, value in values.items():
        setattr(row, key, value)
    db.session.commit()


def _due(row: PortalPost, now: datetime) -> bool:
    return row.retry_at is None or row.retry_at <= now


def _withdraw(publisher: Publisher, row: PortalPost, now: datetime, done: Round) -> None:
    try:
        publisher.withdraw(row.remote_id)
    except PublishError as error:
        _failed(row, error, now, done, most=WITHDRAW_RETRY_MAX_SECONDS)
        return
    _set(row, state="withdrawn", digest="", asset_ids="", error="", attempts=0, retry_at=None, synced_at=now)
    done.withdrawn.append(row.post_id)


def _digest(post: WebPost, assets: list[MediaAsset], config: Any) -> str:
    """Of what the post shows, including which copies of its media exist (a video's H.264
    copy made later is sent then)."""
    shown = {"title": post.title, "summary": post.summary, "body": post.body,
             "media": [[asset.id, asset.sha256, asset.alt_text, web_media.still(asset, STILL_WIDTH, config) is not None,
                        web_media.web_video(asset, config) is not None] for asset in assets]}
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _send(publisher: Publisher, config: Any, row: PortalPost, post: WebPost, now: datetime, done: Round) -> None:
    """Upload the post's media and publish it there; any failure is the post's, recorded, and
    the round goes on with the others (unless the portal cannot be reached)."""
    try:
        assets = website.post_media(post)
        before = [(a.id, a.sha256, a.alt_text) for a in assets]
        files = {asset.id: _files(publisher, config, asset, done) for asset in assets}
        db.session.expire_all()  # what changed here while uploading counts, not what was read before
        if post.status != "published" or [(a.id, a.sha256, a.alt_text) for a in website.post_media(post)] != before:
            return  # taken down, or a medium left or changed meanwhile: the next round starts over
        digest = _digest(post, assets, config)
        remote = publisher.publish(row.remote_id, _content(post, assets, files))
    except PublishError as error:
        db.session.rollback()
        _failed(row, error, now, done)
        return
    except Exception as error:  # a damaged file here, a database hiccup: this post waits, the others go on
        db.session.rollback()
        log.exception("portal %s: post %s could not be prepared", row.portal, row.post_id)
        _failed(row, PublishError(f"{type(error).__name__}: {error}"[:500], retry=False), now, done,
                most=RETRY_MAX_SECONDS, stop=False)
        return
    _set(row, remote_id=remote.remote_id, remote_url=remote.url, state="published", digest=digest,
         asset_ids=",".join(str(asset.id) for asset in assets), error="", attempts=0, retry_at=None, synced_at=now)
    done.published.append(post.id)


def _failed(row: PortalPost, error: PublishError, now: datetime, done: Round, most: int | None = None,
            stop: bool = True) -> None:
    attempts = row.attempts + 1
    wait = min(RETRY_FIRST_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS) if error.retry else RETRY_MAX_SECONDS
    wait = min(wait, most) if most is not None else wait
    _set(row, attempts=attempts, error=str(error)[:2000], retry_at=now + timedelta(seconds=wait))
    done.unreachable = done.unreachable or (stop and error.retry)
    done.failed.append(f"post {row.post_id}: {error}")
    log.warning("portal %s: post %s: %s (next try in %d s)", row.portal, row.post_id, error, wait)


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


# Files ----------------------------------------------------------------------------------------


def _files(publisher: Publisher, config: Any, asset: MediaAsset, done: Round) -> dict[str, PortalMedia]:
    """The asset's still (and video) on the portal, uploaded now unless there already as they are."""
    wanted = {"still": (web_media.still(asset, STILL_WIDTH, config), "jpg", "image/jpeg")}
    if asset.kind == "video":
        wanted["video"] = (web_media.web_video(asset, config), "mp4", "video/mp4")
    files = {}
    for variant, (path, suffix, mime) in wanted.items():
        if path is None:
            continue
        name = f"panoled-{asset.id}-{variant}-{asset.sha256[:12]}.{suffix}"
        row = db.session.scalar(select(PortalMedia).where(
            PortalMedia.portal == publisher.kind, PortalMedia.asset_id == asset.id, PortalMedia.variant == variant))
        if row is not None and row.remote_id and row.file_name == name and row.alt_text == asset.alt_text:
            files[variant] = row
            continue
        if row is not None and not row.remote_id and row.file_name == name and row.alt_text == asset.alt_text:
            if adopted := _adopt(publisher, row):
                files[variant] = adopted
                continue
        if row is not None:  # another file, another description, or an upload that never arrived
            _delete_copy(publisher, row)
            done.deleted += 1
        row = PortalMedia(portal=publisher.kind, asset_id=asset.id, variant=variant, sha256=asset.sha256,
                          alt_text=asset.alt_text, file_name=name, remote_id="", remote_url="")
        db.session.add(row)
        db.session.commit()  # recorded before it leaves: a copy on the portal is never forgotten
        uploaded = publisher.upload(path, name, mime, asset.alt_text)
        row.remote_id, row.remote_url = uploaded.remote_id, uploaded.url
        db.session.commit()
        done.uploaded += 1
        files[variant] = row
    return files


def _adopt(publisher: Publisher, row: PortalMedia) -> PortalMedia | None:
    """An upload whose answer was lost: the portal's copy under its name, if it arrived (extra copies deleted)."""
    found = publisher.find_files(row.file_name)
    if not found:
        return None
    for extra in found[1:]:
        publisher.delete_file(extra.remote_id)
    row.remote_id, row.remote_url = found[0].remote_id, found[0].url
    db.session.commit()
    return row


def _delete_copy(publisher: Publisher, row: PortalMedia) -> None:
    """Delete the file from the portal (every copy under its name when its upload was not
    confirmed), then forget it here."""
    if row.remote_id:
        publisher.delete_file(row.remote_id)
    for copy in publisher.find_files(row.file_name):
        publisher.delete_file(copy.remote_id)
    db.session.delete(row)
    db.session.commit()


# The round's lock ----------------------------------------------------------------------------


@contextmanager
def _round_lock(config: Any) -> Iterator[bool]:
    """One round at a time per database, whichever process runs it: PostgreSQL's advisory
    lock on a connection of its own, or an flock beside the SQLite file."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar())
            try:
                yield held
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        return
    database = make_url(str(db.engine.url)).database
    path = (Path(database).resolve().with_name(Path(database).name + ".portal-lock")
            if database and database != ":memory:" else config.data_dir / "portal.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def state_of(post_id: int, portal: str) -> PortalPost | None:
    """The post's state on the portal, for its staff page."""
    return db.session.scalar(select(PortalPost).where(PortalPost.portal == portal, PortalPost.post_id == post_id))
