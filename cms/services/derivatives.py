"""Making thumbnails, board renditions and LED previews outside the request.

Work is the `media_derivatives` rows in state "pending". A worker claims one with a
conditional UPDATE (so several threads or processes never take the same row),
makes the files with the `media` package, and records the result. A row left
"running" by a process that died is handed out again once its claim is stale, so
a restart resumes the work.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import or_, select, update

from cms.config import Config
from cms.extensions import db
from cms.models import MediaAsset, MediaDerivative
from cms.models.types import utcnow
from cms.services.media import BANNER_THUMBNAIL_BOARD, fit_of, profiles, queue_derivatives, storage
from media.errors import N_
from media.storage import LocalStorage
from media.types import BannerResult, BannerSpec, BoardProfile

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=10)  # a claim not refreshed for this long is taken to be dead
HEARTBEAT = timedelta(seconds=30)  # how often a long job refreshes its claim
MAX_ATTEMPTS = 3
Made = tuple[str, str | None, dict[str, object]]  # storage key, preview key, notes


class _Outdated(Exception):
    """The derivative was queued again while it was being made."""


def claim_next(now: datetime | None = None) -> MediaDerivative | None:
    """Take the oldest waiting derivative (or one whose worker went silent) for this worker."""
    now = now or utcnow()
    stale = now - STALE_AFTER
    # A job whose worker died on its last attempt is failed, not left "running" forever.
    db.session.execute(
        update(MediaDerivative)
        .where(MediaDerivative.state == "running", MediaDerivative.claimed_at < stale,
               MediaDerivative.attempts >= MAX_ATTEMPTS)
        .values(state="failed", error=GENERIC_FAILURE)
    )
    db.session.commit()
    candidates = db.session.scalars(
        select(MediaDerivative.id)
        .where(or_(MediaDerivative.state == "pending",
                   (MediaDerivative.state == "running") & (MediaDerivative.claimed_at < stale)))
        .where(MediaDerivative.attempts < MAX_ATTEMPTS)
        .order_by(MediaDerivative.kind.desc(), MediaDerivative.id)  # thumbnails first: people wait for them
        .limit(5)
    ).all()
    for derivative_id in candidates:
        claimed = db.session.execute(
            update(MediaDerivative)
            .where(MediaDerivative.id == derivative_id)
            .where(or_(MediaDerivative.state == "pending",
                       (MediaDerivative.state == "running") & (MediaDerivative.claimed_at < stale)))
            .values(state="running", claimed_at=now, progress=0.0, attempts=MediaDerivative.attempts + 1)
        ).rowcount
        db.session.commit()
        if claimed:
            return db.session.get(MediaDerivative, derivative_id)
    return None


def process(derivative: MediaDerivative, config: Config) -> None:
    """Make the files of one claimed derivative and record the outcome."""
    asset, generation, derivative_id = derivative.asset, derivative.generation, derivative.id
    store = storage(config)
    made: list[str] = []  # keys written so far, removed again if the job does not finish
    try:
        if derivative.kind == "thumbnail":
            result = _make_thumbnail(asset, config, made)
        else:
            result = _make_rendition(asset, derivative, config, made)
        _keep(derivative, generation, store, result)
    except _Outdated:
        db.session.rollback()
    except Exception as error:  # a broken file must not stop the worker; the row says it failed
        db.session.rollback()
        log.warning("derivative %s of media %s failed: %s", derivative_id, asset.id, error)
        for key in made:
            store.delete(key)
        _record_failure(derivative_id, generation, error)


def _record_failure(derivative_id: int, generation: int, error: Exception) -> None:
    """Back to the queue, or failed after the last attempt; only if nobody queued it anew
    meanwhile (an outdated job's failure must not undo the newer job)."""
    attempts = db.session.scalar(select(MediaDerivative.attempts).where(MediaDerivative.id == derivative_id)) or 0
    db.session.execute(
        update(MediaDerivative)
        .where(MediaDerivative.id == derivative_id, MediaDerivative.generation == generation)
        .values(state="failed" if attempts >= MAX_ATTEMPTS else "pending", error=_public_error(error))
    )
    db.session.commit()


GENERIC_FAILURE = N_("This rendition could not be made from the file.")


def _public_error(error: Exception) -> str:
    """What people may read: media's own refusals; anything else (which may hold server
    paths) only goes to the log."""
    from media.errors import MediaRejected

    return str(error)[:500] if isinstance(error, MediaRejected) else GENERIC_FAILURE


def work_once(config: Config) -> bool:
    """Process one waiting derivative; False when there was nothing to do."""
    derivative = claim_next()
    if derivative is None:
        return False
    process(derivative, config)
    return True


def work_until_idle(config: Config, limit: int = 10_000) -> int:
    done = 0
    while done < limit and work_once(config):
        done += 1
    return done


def queue_missing(config: Config) -> int:
    """Give every asset the derivatives of the current board sizes it lacks (after a
    board of a new size was registered or a profile added); the others are left alone.
    Also clears uploads abandoned for a day (a crash or a dropped connection)."""
    import time

    storage(config).purge_incoming(older_than=time.time() - 24 * 3600)
    added = sum(queue_derivatives(asset, config, missing_only=True)
                for asset in db.session.scalars(select(MediaAsset).where(MediaAsset.status != "archived")))
    db.session.commit()
    return added


def start_workers(app: Flask, count: int, stop: threading.Event, poll_seconds: float = 1.0) -> list[threading.Thread]:
    """Background worker threads for `panoled demo` (production runs them in the scheduler process)."""
    def loop() -> None:
        with app.app_context():
            config = app.config["PANOLED"]
            while not stop.is_set():
                try:
                    busy = work_once(config)
                except Exception:  # keep working after a database hiccup
                    log.exception("derivative worker error")
                    db.session.rollback()
                    busy = False
                finally:
                    db.session.remove()
                if not busy:
                    stop.wait(poll_seconds)

    threads = [threading.Thread(target=loop, name=f"derivatives-{n}", daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    return threads


def _profile(derivative: MediaDerivative, config: Config) -> BoardProfile:
    for profile in profiles(config):
        if profile.key == derivative.profile_key:
            return profile
    # A board size since removed from the configuration: its optics are unknown.
    return BoardProfile(derivative.profile_key, derivative.profile_key, derivative.width, derivative.height,
                        BANNER_THUMBNAIL_BOARD.pixel_pitch_mm, BANNER_THUMBNAIL_BOARD.viewing_distance_m)


def _progress(derivative_id: int) -> Callable[[float], None]:
    """Record transcoding progress now and then; also keeps the claim fresh, by time,
    so a long video is never mistaken for a dead worker."""
    last = [0.0, utcnow()]

    def report(fraction: float) -> None:
        if fraction - last[0] < 0.05 and fraction < 1.0 and utcnow() - last[1] < HEARTBEAT:
            return
        last[0], last[1] = fraction, utcnow()
        db.session.execute(update(MediaDerivative).where(MediaDerivative.id == derivative_id)
                           .values(progress=min(max(fraction, 0.0), 1.0), claimed_at=utcnow()))
        db.session.commit()

    return report


def _make_thumbnail(asset: MediaAsset, config: Config, made: list[str]) -> Made:
    from media.images import thumbnail_image

    store = storage(config)
    key = store.new_key(".jpg")
    made.append(key)
    with tempfile.TemporaryDirectory() as folder:
        source = _banner_source(asset, folder, BANNER_THUMBNAIL_BOARD)
        if asset.kind == "video":
            from media.video import video_thumbnail

            video_thumbnail(store.path(asset.storage_key or ""), store.path(key))
        else:
            thumbnail_image(source or store.path(asset.storage_key or ""), store.path(key))
    return key, None, {}


def _make_rendition(asset: MediaAsset, derivative: MediaDerivative, config: Config, made: list[str]) -> Made:
    from media.images import led_preview, render_image

    store = storage(config)
    profile, fit = _profile(derivative, config), fit_of(asset)
    preview_key, notes = store.new_key(".png"), {}
    made.append(preview_key)
    derivative_id = derivative.id
    with tempfile.TemporaryDirectory() as folder:
        if asset.kind == "video":
            from media.video import transcode_video, video_frame

            key = store.new_key(".mp4")
            made.append(key)
            transcode_video(store.path(asset.storage_key or ""), store.path(key), profile.width, profile.height, fit,
                            progress=_progress(derivative_id))
            frame = Path(folder) / "frame.png"
            video_frame(store.path(asset.storage_key or "")).save(frame)
            still = Path(folder) / "still.jpg"
            render_image(frame, still, profile.width, profile.height, fit)
            led_preview(still, store.path(preview_key), profile)
        elif asset.kind == "banner" and asset.storage_key is None:
            key = store.new_key(".png")
            made.append(key)
            result = _render_banner(asset, profile, store.path(key))
            notes = {"readable": result.readable, "min_char_height_mm": round(result.min_char_height_mm, 1),
                                "needed_char_height_mm": round(result.needed_char_height_mm, 1),
                                "title_px": result.title_px, "body_px": result.body_px}
            led_preview(store.path(key), store.path(preview_key), profile)
        else:
            key = store.new_key(".jpg")
            made.append(key)
            render_image(store.path(asset.storage_key or ""), store.path(key), profile.width, profile.height, fit)
            led_preview(store.path(key), store.path(preview_key), profile)
    # Boards check what they download against these.
    notes = {**notes, "sha256": _sha256(store.path(key)), "bytes": store.path(key).stat().st_size}
    return key, preview_key, notes


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _render_banner(asset: MediaAsset, profile: BoardProfile, dest: Path) -> BannerResult:
    from media.banner import render_banner

    data = asset.banner or {}
    spec = BannerSpec(title=data.get("title", ""), body=data.get("body", ""),
                      text_color=data.get("text_color", "#FFFFFF"), background_color=data.get("background_color", "#000000"))
    return render_banner(spec, profile, dest)


def _banner_source(asset: MediaAsset, folder: str, profile: BoardProfile) -> Path | None:
    if asset.storage_key is not None:
        return None
    path = Path(folder) / "banner.png"
    _render_banner(asset, profile, path)
    return path


def _keep(derivative: MediaDerivative, generation: int, store: LocalStorage, made: Made) -> None:
    """Record the new files in one conditional UPDATE: if the work was queued again
    meanwhile (new file or crop), ours is outdated and is thrown away."""
    key, preview_key, notes = made
    old = [k for k in (derivative.storage_key, derivative.preview_key) if k]
    kept = db.session.execute(
        update(MediaDerivative)
        .where(MediaDerivative.id == derivative.id, MediaDerivative.generation == generation)
        .values(state="done", progress=1.0, error="", storage_key=key, preview_key=preview_key, notes=notes)
    ).rowcount
    db.session.commit()
    for stale in (old if kept else [key, preview_key]):
        if stale:
            store.delete(stale)
    if not kept:
        raise _Outdated()
