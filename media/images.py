"""Pictures made from accepted images: board renditions, thumbnails and LED previews.

Every output is a fresh image: EXIF orientation applied, colours converted to sRGB,
transparency flattened, and no metadata (EXIF, GPS, ICC) carried over. Big JPEGs
are decoded at a reduced scale (`draft`) when the output is small enough, and
large outputs are resampled on several cores; bench/bench_images.py times it.
"""
from __future__ import annotations

import io
import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps

from media.errors import N_, MediaProcessingError, MediaRejected
from media.types import FIT_MODES, BoardProfile, Fit

SOURCE_FORMATS = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 90
REDUCING_GAP = 3.0
# Bicubic with Pillow's antialiasing support: for shrinking to LED sizes it cannot be
# told from Lanczos on a board, and it is about twice as fast.
RESAMPLE = Image.Resampling.BICUBIC
MIN_BAND_ROWS = 256  # below this, starting threads costs more than it saves
MAX_RESIZE_WORKERS = 4
THUMBNAIL_BACKGROUND = "#FFFFFF"
PREVIEW_MAX_WIDTH = 3840
PREVIEW_MAX_CELL = 16
PREVIEW_GAP = (10, 10, 12)  # the dark face of the board between LEDs
BAD_COLOUR_MESSAGE = N_(
    "%(colour)s is not a colour. Write colours as # and six hex digits, e.g. #0F6B4A."
)

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
_QUARTER_TURNS = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height


@dataclass(frozen=True)
class _Placement:
    """Which part of the source goes where on the canvas."""

    box: tuple[float, float, float, float]  # source region, in source pixels
    size: tuple[int, int]  # what that region is resized to
    offset: tuple[int, int]  # where it is pasted on the canvas


# --- public API ---------------------------------------------------------------------

def parse_colour(value: str) -> tuple[int, int, int]:
    """`#RRGGBB` as an RGB triple, or MediaRejected("media_bad_colour")."""
    if not isinstance(value, str) or not _COLOUR.fullmatch(value):
        raise MediaRejected("media_bad_colour", BAD_COLOUR_MESSAGE, colour=str(value))
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def render_image(src: Path, dest: Path, width: int, height: int, fit: Fit) -> None:
    """Write a JPEG of exactly `width` x `height` showing `src` placed as `fit` says."""
    if width < 1 or height < 1:
        raise ValueError(f"a rendition needs a positive size, not {width}x{height}")
    if fit.mode not in FIT_MODES:
        raise ValueError(f"unknown fit mode {fit.mode!r}; expected one of {FIT_MODES}")
    background = parse_colour(fit.background)
    with _open(src) as im:
        source_size = _displayed_size(im)
        placement = _place(source_size, (width, height), fit)
        _draft(im, _decoded_size_needed(source_size, placement))
        picture = _prepare(im, source_size, placement, background)
    if picture.size != (width, height):  # contain: letterbox or pillarbox
        canvas = Image.new("RGB", (width, height), background)
        canvas.paste(picture, placement.offset)
        picture = canvas
    _save_jpeg(picture, dest)


def thumbnail_image(src: Path, dest: Path, max_w: int = 480, max_h: int = 480) -> None:
    """Write a JPEG no larger than `max_w` x `max_h`, keeping the aspect ratio, never enlarging."""
    with _open(src) as im:
        source_size = _displayed_size(im)
        size = _fit_within(source_size, (max_w, max_h))
        placement = _Placement(box=(0, 0, *source_size), size=size, offset=(0, 0))
        _draft(im, size)
        picture = _prepare(im, source_size, placement, parse_colour(THUMBNAIL_BACKGROUND))
    _save_jpeg(picture, dest)


def led_preview(src: Path, dest: Path, profile: BoardProfile, cell_px: int | None = None) -> None:
    """Write a PNG showing `src` as the board would: one enlarged LED dot per board pixel
    on the board's dark face. `src` is normally a rendition already at the board's size."""
    cell = cell_px if cell_px is not None else preview_cell_px(profile.width)
    if cell < 2:
        raise ValueError("an LED preview needs at least 2 preview pixels per LED")
    with _open(src) as im:
        source_size = _displayed_size(im)
        board_size = (profile.width, profile.height)
        placement = _Placement(box=(0, 0, *source_size), size=board_size, offset=(0, 0))
        board = np.asarray(_prepare(im, source_size, placement, PREVIEW_GAP))
    preview = _draw_leds(board, cell)
    _save(Image.fromarray(preview, "RGB"), dest, "PNG")


def preview_cell_px(board_width: int) -> int:
    """Preview pixels per LED: as large as fits in about 3840 px, at least 3 (with 2,
    a dot is a single pixel and the board looks four times darker than it is)."""
    return max(3, min(PREVIEW_MAX_CELL, PREVIEW_MAX_WIDTH // max(board_width, 1)))


# --- geometry -----------------------------------------------------------------------

def _place(source: tuple[int, int], target: tuple[int, int], fit: Fit) -> _Placement:
    if fit.mode == "stretch":
        return _Placement(box=(0, 0, *source), size=target, offset=(0, 0))
    if fit.mode == "contain":
        size = _fit_within(source, target, enlarge=True)
        offset = ((target[0] - size[0]) // 2, (target[1] - size[1]) // 2)
        return _Placement(box=(0, 0, *source), size=size, offset=offset)
    return _cover(source, target, fit.focal_x, fit.focal_y)


def _cover(
    source: tuple[int, int], target: tuple[int, int], focal_x: float, focal_y: float
) -> _Placement:
    """Fill the target, cropping a window centred on the focal point as far as the
    picture's edges allow; the focal point is therefore always inside the window."""
    scale = max(target[0] / source[0], target[1] / source[1])
    window = (min(target[0] / scale, source[0]), min(target[1] / scale, source[1]))
    left = _window_start(focal_x, source[0], window[0])
    top = _window_start(focal_y, source[1], window[1])
    box = (left, top, left + window[0], top + window[1])
    return _Placement(box=box, size=target, offset=(0, 0))


def _window_start(focal: float, length: int, window: float) -> float:
    if not math.isfinite(focal):
        focal = 0.5  # a NaN from a bad record would otherwise poison the whole box
    centre = min(max(focal, 0.0), 1.0) * length
    return min(max(centre - window / 2, 0.0), length - window)


def _fit_within(
    source: tuple[int, int], bounds: tuple[int, int], enlarge: bool = False
) -> tuple[int, int]:
    scale = min(bounds[0] / source[0], bounds[1] / source[1])
    if not enlarge:
        scale = min(scale, 1.0)
    return (
        min(bounds[0], max(1, round(source[0] * scale))),
        min(bounds[1], max(1, round(source[1] * scale))),
    )


def _decoded_size_needed(source: tuple[int, int], placement: _Placement) -> tuple[int, int]:
    """How large the whole source must be decoded so the placed region keeps its detail."""
    box_w = placement.box[2] - placement.box[0]
    box_h = placement.box[3] - placement.box[1]
    return (
        math.ceil(source[0] * placement.size[0] / box_w),
        math.ceil(source[1] * placement.size[1] / box_h),
    )


# --- decoding -----------------------------------------------------------------------

def _open(src: Path) -> Image.Image:
    try:
        return Image.open(src, formats=SOURCE_FORMATS)
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaProcessingError(f"cannot open {src.name}: {exc}") from exc


def _displayed_size(im: Image.Image) -> tuple[int, int]:
    if im.getexif().get(0x0112) in _QUARTER_TURNS:
        return im.height, im.width
    return im.width, im.height


def _draft(im: Image.Image, displayed_size: tuple[int, int]) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the result is still at least
    `displayed_size`: decoding is most of the cost and DCT scaling is good quality."""
    if im.format != "JPEG":
        return
    width, height = displayed_size
    if im.getexif().get(0x0112) in _QUARTER_TURNS:
        width, height = height, width
    if width < im.width or height < im.height:
        im.draft(None, (width, height))


def _prepare(
    im: Image.Image,
    source_size: tuple[int, int],
    placement: _Placement,
    background: tuple[int, int, int],
) -> Image.Image:
    """Decode, orient, resize the placed region, convert to sRGB and flatten: an RGB
    image of `placement.size`. `placement.box` is in `source_size` coordinates, which
    a draft may since have reduced."""
    try:
        icc = im.info.get("icc_profile")
        oriented = _with_resizable_mode(_oriented(im))
        box = _rescaled(placement.box, oriented.size, source_size)
        resized = _resize(oriented, placement.size, box)
        return _flatten(_to_srgb(resized, icc), background)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaProcessingError(f"cannot decode the picture: {exc}") from exc


def _resize(
    im: Image.Image, size: tuple[int, int], box: tuple[float, float, float, float]
) -> Image.Image:
    """Resize `box` to `size` (RESAMPLE). Pillow releases the GIL while resampling, so
    large outputs are made in horizontal bands on several cores."""
    ratio = max((box[2] - box[0]) / size[0], (box[3] - box[1]) / size[1])
    workers = min(_usable_cpus(), MAX_RESIZE_WORKERS, size[1] // MIN_BAND_ROWS)
    # Bands are pixel-identical to one resize only without Pillow's reduce() step,
    # which happens from a ratio of 2 * REDUCING_GAP on (and is fast anyway).
    if workers < 2 or ratio >= 2 * REDUCING_GAP:
        # reducing_gap: big PNG/WebP are first shrunk by an integer factor; at 3 the
        # result cannot be told from a pure LANCZOS resize, at a fraction of the time.
        return im.resize(size, RESAMPLE, box=box, reducing_gap=REDUCING_GAP)
    return _resize_in_bands(im, size, box, workers)


def _usable_cpus() -> int:
    # The affinity mask, not cpu_count(): a container may see the host's CPUs.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _resize_in_bands(
    im: Image.Image, size: tuple[int, int], box: tuple[float, float, float, float], bands: int
) -> Image.Image:
    rows = [size[1] * band // bands for band in range(bands + 1)]
    scale_y = (box[3] - box[1]) / size[1]

    def band(index: int) -> Image.Image:
        top, bottom = rows[index], rows[index + 1]
        band_box = (box[0], box[1] + top * scale_y, box[2], box[1] + bottom * scale_y)
        return im.resize((size[0], bottom - top), RESAMPLE, box=band_box)

    with ThreadPoolExecutor(max_workers=bands) as pool:
        parts = list(pool.map(band, range(bands)))
    out = Image.new(im.mode, size)
    for top, part in zip(rows, parts):
        out.paste(part, (0, top))
    return out


def _oriented(im: Image.Image) -> Image.Image:
    if im.getexif().get(0x0112, 1) == 1:
        im.load()
        return im  # exif_transpose would copy the whole decoded picture for nothing
    return ImageOps.exif_transpose(im)


def _rescaled(
    box: tuple[float, float, float, float], size: tuple[int, int], original: tuple[int, int]
) -> tuple[float, float, float, float]:
    x_ratio = size[0] / original[0]
    y_ratio = size[1] / original[1]
    return (box[0] * x_ratio, box[1] * y_ratio, box[2] * x_ratio, box[3] * y_ratio)


def _with_resizable_mode(im: Image.Image) -> Image.Image:
    """Bring every mode Pillow may hand us to RGB, RGBA, CMYK or L: those resize well
    (Pillow premultiplies alpha when resizing RGBA)."""
    if im.mode in ("RGB", "RGBA", "CMYK", "L"):
        return im
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grey: convert() would clip everything above 255 to white.
        high_bytes = np.asarray(im, dtype=np.uint32) >> 8
        return Image.fromarray(high_bytes.clip(0, 255).astype(np.uint8), "L")
    if im.mode in ("LA", "PA", "La", "RGBa") or "transparency" in im.info:
        return im.convert("RGBA")
    return im.convert("RGB")


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Apply an embedded colour profile (Display P3, Adobe RGB, CMYK…) so the colours
    survive dropping it; files without one are taken as sRGB already."""
    if icc and im.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if "srgb" not in ImageCms.getProfileDescription(source).lower():
                output_mode = "RGBA" if im.mode == "RGBA" else "RGB"
                return ImageCms.profileToProfile(im, source, _SRGB, outputMode=output_mode)
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken profile is ignored, as browsers do
    return im



def _flatten(im: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    if im.mode == "RGBA":
        flat = Image.new("RGB", im.size, background)
        flat.paste(im, mask=im.getchannel("A"))
        return flat
    return im if im.mode == "RGB" else im.convert("RGB")


# --- LED preview --------------------------------------------------------------------

def _draw_leds(board: np.ndarray, cell: int) -> np.ndarray:
    """Each board pixel becomes a `cell` x `cell` block: the LED's colour inside the
    dot, the board's dark face around it (the visible pitch)."""
    height, width = board.shape[:2]
    dot = _led_dot(cell)
    enlarged = board.repeat(cell, axis=0).repeat(cell, axis=1)
    lit = np.tile(dot, (height, width))
    return np.where(lit[..., None], enlarged, np.array(PREVIEW_GAP, dtype=np.uint8))


def _led_dot(cell: int) -> np.ndarray:
    """Where one LED lights inside its cell: a square with a 1 px gap for small cells,
    a round dot filling about 80 % of the cell for larger ones."""
    if cell < 5:
        dot = np.zeros((cell, cell), dtype=bool)
        dot[: cell - 1, : cell - 1] = True
        return dot
    centres = np.arange(cell) + 0.5 - cell / 2
    distance = np.hypot(centres[:, None], centres[None, :])
    return distance <= cell * 0.4


# --- writing ------------------------------------------------------------------------

def _save_jpeg(im: Image.Image, dest: Path) -> None:
    _save(im, dest, "JPEG", quality=JPEG_QUALITY)


def _save(im: Image.Image, dest: Path, format: str, **options: int) -> None:
    # A fresh info dict: nothing from the source (EXIF, GPS, ICC, comments) can ride along.
    im.info = {}
    try:
        im.save(dest, format, **options)
    except OSError as exc:
        dest.unlink(missing_ok=True)
        raise MediaProcessingError(f"cannot write {dest.name}: {exc}") from exc
