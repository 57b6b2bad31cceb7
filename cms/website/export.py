"""The "export for the portal" bundle: a campaign's or a plan's public pages as plain HTML
with their images and videos, in one zip, for portals that take no feed.

A webmaster unpacks it and copies the pages' text and the files in media/ into the
portal, or opens index.html to see how it should look. Links inside are relative, so
the bundle works from any folder. It holds exactly what the public pages show at the
moment it is made (cms.services.website decides), and in Vietnamese like them.
"""
from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flask import current_app, render_template
from flask_babel import force_locale

from cms.models import Campaign, MediaAsset, WebPost
from cms.services import web_media, website

SPOOL_BYTES = 16 * 1024 * 1024


@dataclass
class _Files:
    """The media files the pages name, collected while they are rendered."""

    config: Any
    wanted: dict[str, Path] = field(default_factory=dict)

    def image_set(self, asset: MediaAsset) -> dict[str, str]:
        stills = {width: web_media.still(asset, width, self.config) for width in web_media.WIDTHS}
        names = {width: f"media/{asset.id}-w{width}.jpg" for width, path in stills.items() if path is not None}
        if not names:
            return {"src": "", "srcset": "", "video": ""}
        for width, name in names.items():
            self.wanted[name] = stills[width]  # type: ignore[assignment]
        video = web_media.web_video(asset, self.config)
        if video is not None:
            self.wanted[f"media/{asset.id}.mp4"] = video
        middle = names.get(960) or next(iter(names.values()))
        return {"src": middle, "srcset": ", ".join(f"{name} {width}w" for width, name in names.items()),
                "video": f"media/{asset.id}.mp4" if video is not None else ""}


@dataclass(frozen=True)
class Bundle:
    """A finished bundle: a temporary file (deleted when closed) and what it holds."""

    file: IO[bytes]
    names: list[str]


def campaign_bundle(campaign_id: int) -> Bundle:
    """The bundle of one campaign's public page (NotFound when nothing of it is public)."""
    campaign = website.public_campaign(campaign_id)
    return _bundle(campaign.title, [campaign], website.public_posts(campaign_id=campaign.id))


def plan_bundle(plan_id: int) -> Bundle:
    """The bundle of a plan: its public campaigns and their posts."""
    plan = website.public_plan(plan_id)
    return _bundle(plan.title or plan.number, website.public_campaigns(plan.id), website.public_posts(plan_id=plan.id))


def _bundle(title: str, campaigns: list[Campaign], posts: list[WebPost]) -> Bundle:
    files = _Files(current_app.config["PANOLED"])
    made = datetime.now(UTC)
    pages: dict[str, str] = {}
    with force_locale("vi"):
        render: Callable[..., str] = lambda template, **context: render_template(  # noqa: E731
            f"public/export/{template}", image_set=files.image_set, made=made, **context)
        pages["index.html"] = render("index.html", title=title, campaigns=campaigns, posts=posts)
        for campaign in campaigns:
            pages[f"campaign-{campaign.id}.html"] = render(
                "campaign.html", campaign=campaign, assets=website.public_assets(campaign.id),
                posts=[post for post in posts if post.campaign_id == campaign.id])
        for post in posts:
            pages[f"post-{post.id}.html"] = render("post.html", post=post, campaign=post.campaign,
                                                   assets=website.post_media(post))
        pages["README.txt"] = render("README.txt", title=title)
    return _zip(pages, files.wanted, made)


def _entry(name: str, stamp: tuple[int, ...]) -> zipfile.ZipInfo:
    """A file readable by all once unpacked (a web server serving the pages must read them)."""
    info = zipfile.ZipInfo(name, stamp)  # type: ignore[arg-type]
    info.external_attr = 0o644 << 16
    return info


def _zip(pages: dict[str, str], media: dict[str, Path], made: datetime) -> Bundle:
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    stamp = made.timetuple()[:6]
    try:
        with zipfile.ZipFile(out, "w") as archive:
            for name, text in pages.items():
                archive.writestr(_entry(name, stamp), text.encode("utf-8"), zipfile.ZIP_DEFLATED)
            css = Path(current_app.static_folder or "") / "public.css"
            archive.writestr(_entry("style.css", stamp), css.read_bytes(), zipfile.ZIP_DEFLATED)
            for name, path in sorted(media.items()):
                info = _entry(name, stamp)
                info.compress_type = zipfile.ZIP_STORED  # JPEG and H.264 do not shrink further
                with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, 1024 * 1024)
            names = archive.namelist()
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return Bundle(out, names)  # type: ignore[arg-type]
