"""Plain values exchanged between `media` and its callers."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FIT_MODES = ("contain", "cover", "stretch")


@dataclass(frozen=True)
class Limits:
    """What an upload may be. Pillow's own decompression-bomb limit is kept as the pixel cap."""

    max_image_bytes: int = 50 * 1024 * 1024
    max_video_bytes: int = 2 * 1024 * 1024 * 1024
    max_image_pixels: int = 89_478_485  # Pillow's Image.MAX_IMAGE_PIXELS default
    max_video_seconds: float = 4 * 3600
    max_video_width: int = 7680
    max_video_height: int = 4320


@dataclass(frozen=True)
class MediaInfo:
    """What inspection found in an accepted file."""

    kind: str  # "image" or "video"
    format: str  # "jpeg", "png", "webp" | "mp4", "webm", "mov"
    mime: str  # e.g. "image/jpeg", "video/mp4"
    width: int
    height: int
    duration: float | None = None  # seconds, videos only
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None


@dataclass(frozen=True)
class BoardProfile:
    """A board's pixel size and optics: what a rendition is made for."""

    key: str  # stable id, e.g. "1920x1080" or a board code
    name: str
    width: int
    height: int
    pixel_pitch_mm: float
    viewing_distance_m: float


@dataclass(frozen=True)
class Fit:
    """How a picture is placed on a board: contain (letterbox in `background`),
    cover (fill and crop around the focal point, 0..1 from the left/top) or stretch."""

    mode: str = "contain"
    focal_x: float = 0.5
    focal_y: float = 0.5
    background: str = "#000000"


@dataclass(frozen=True)
class BannerSpec:
    """A generated text banner: Vietnamese title and body with colours."""

    title: str
    body: str = ""
    text_color: str = "#FFFFFF"
    background_color: str = "#0F6B4A"


@dataclass(frozen=True)
class BannerResult:
    title_px: int  # fitted font size of the title, in pixels
    body_px: int  # fitted font size of the body (0 without a body)
    min_char_height_mm: float  # the smallest capital height on the board, in millimetres
    readable: bool  # min_char_height_mm >= viewing distance / 250
    needed_char_height_mm: float


@dataclass(frozen=True)
class StoredFile:
    key: str  # generated, never derived from the user's file name
    size: int
    sha256: str


@dataclass(frozen=True)
class ReceivedUpload:
    """An upload written to the storage's incoming area but not yet kept: inspect
    `path`, then `Storage.commit` it or `Storage.discard` it."""

    path: Path
    size: int
    sha256: str
