"""The website's copies of media: JPEG stills at a few widths (a poster itself, a video's
poster frame, a banner's widest drawing) and the H.264 video every browser plays.

The public pages, the portal export and the publishers all take their files from here,
so the copy a portal receives is the one the department's own pages show. Who may see
them is not decided here but in cms.services.website.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from cms.models import MediaAsset
from cms.services import media as media_service

WIDTHS = (480, 960, 1600)


def _still_source(asset: MediaAsset, config: Any) -> Path | None:
    if asset.kind == "poster":
        return media_service.file_path(asset, config, "original")
    if asset.kind == "video":
        return media_service.file_path(asset, config, "thumbnail")
    # A banner is drawn for each board: the widest drawing stands for it.
    drawings = sorted((d for d in asset.derivatives if d.kind == "rendition" and d.state == "done"),
                      key=lambda d: d.width * d.height, reverse=True)
    return media_service.file_path(asset, config, "rendition", drawings[0].profile_key) if drawings else None


def still(asset: MediaAsset, width: int, config: Any) -> Path | None:
    """The still at most `width` wide as JPEG, made once (named by the file's hash) and kept."""
    target = config.data_dir / "web" / asset.sha256[:2] / f"{asset.sha256}-{asset.kind}-w{width}.jpg"
    if target.exists():
        return target
    source = _still_source(asset, config)
    if source is None or not source.exists():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        picture = ImageOps.exif_transpose(image).convert("RGB")
        if picture.width > width:
            picture = picture.resize((width, max(1, round(picture.height * width / picture.width))), Image.LANCZOS)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                picture.save(out, "JPEG", quality=85, optimize=True, progressive=True)
            os.replace(temporary, target)  # whole or not at all, whoever makes it first
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return target


def web_video(asset: MediaAsset, config: Any) -> Path | None:
    """The widest H.264 rendition (what every browser plays), or an MP4 original."""
    if asset.kind != "video":
        return None
    for derivative in sorted((d for d in asset.derivatives if d.kind == "rendition" and d.state == "done"
                              and (d.storage_key or "").endswith(".mp4")), key=lambda d: d.width, reverse=True):
        path = media_service.file_path(asset, config, "rendition", derivative.profile_key)
        if path is not None and path.exists():
            return path
    path = media_service.file_path(asset, config, "original")
    return path if path is not None and asset.mime == "video/mp4" and path.exists() else None
