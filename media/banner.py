"""Text banners: a Vietnamese title and body drawn for one board at its exact size.

The font size is fitted automatically: the largest size at which the wrapped title
(DejaVu Sans Bold) and body (DejaVu Sans, a fixed fraction of the title's size)
fit inside the margins. DejaVu Sans ships with matplotlib and covers every
precomposed Vietnamese letter; the text is NFC-normalised so each letter with its
marks is one glyph.

Readability follows the usual rule for signs: a character should be at least
1/250 of the viewing distance tall. On an LED board a character's height is its
capital height in board pixels times the pixel pitch.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFont

from media.errors import MediaRejected, N_
from media.images import parse_colour
from media.types import BannerResult, BannerSpec, BoardProfile

MIN_FONT_PX = 6  # below this LED text is only a smudge
BODY_TO_TITLE = 0.6  # the body's font size as a fraction of the title's
MARGIN_TO_SIDE = 0.06  # margin as a fraction of the board's shorter side
LINE_PITCH_EM = 1.25  # room for stacked Vietnamese marks (Ễ, Ấ) above a line's neighbour
TITLE_BODY_GAP_EM = 0.5  # between the title and the body, in body ems
READING_DISTANCE_RATIO = 250  # the character height needed is distance / 250

EMPTY_MESSAGE = N_("A banner needs a title.")
TOO_LONG_MESSAGE = N_(
    "This text is too long for the board %(board)s: even at the smallest size it does not "
    "fit. Shorten the title or the body."
)


@dataclass(frozen=True)
class _Line:
    text: str
    font: ImageFont.FreeTypeFont
    baseline: float  # from the top of the block's first line pitch


@dataclass(frozen=True)
class _Layout:
    lines: tuple[_Line, ...]
    top: float  # ink extent of the whole block, relative to the baselines
    bottom: float


@dataclass(frozen=True)
class _Box:
    width: int
    height: int


# --- public API ---------------------------------------------------------------------

def render_banner(spec: BannerSpec, profile: BoardProfile, dest: Path) -> BannerResult:
    """Draw `spec` at exactly the board's size into a PNG at `dest` and say how readable it is."""
    text_colour = parse_colour(spec.text_color)
    background = parse_colour(spec.background_color)
    title = _paragraphs(spec.title)
    body = _paragraphs(spec.body)
    if not title:
        raise MediaRejected("media_banner_empty", EMPTY_MESSAGE)
    margin = max(1, round(min(profile.width, profile.height) * MARGIN_TO_SIDE))
    box = _Box(profile.width - 2 * margin, profile.height - 2 * margin)
    title_px, layout = _fit(title, body, box, profile)
    _draw(layout, profile, text_colour, background, dest)
    return _readability(title_px, _body_px(title_px) if body else 0, profile)


def needed_char_height_mm(viewing_distance_m: float) -> float:
    """The character height a reader needs at `viewing_distance_m`, in millimetres."""
    return viewing_distance_m * 1000 / READING_DISTANCE_RATIO


# --- text ---------------------------------------------------------------------------

def _paragraphs(text: str) -> tuple[str, ...]:
    """NFC text split at line breaks, inner whitespace collapsed, invisible characters dropped."""
    text = unicodedata.normalize("NFC", text)
    visible = "".join(
        ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    paragraphs = (" ".join(line.split()) for line in visible.splitlines())
    return tuple(paragraph for paragraph in paragraphs if paragraph)


def _wrap(
    paragraphs: tuple[str, ...], font: ImageFont.FreeTypeFont, width: int
) -> list[str] | None:
    """Greedy word wrap; None when a single word is wider than `width`."""
    lines: list[str] = []
    for paragraph in paragraphs:
        line = ""
        for word in paragraph.split(" "):
            if font.getlength(word) > width:
                return None
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= width:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


# --- fitting ------------------------------------------------------------------------

def _fit(
    title: tuple[str, ...], body: tuple[str, ...], box: _Box, profile: BoardProfile
) -> tuple[int, _Layout]:
    """Binary search for the largest title size whose layout fits `box`."""
    best = _layout(title, body, MIN_FONT_PX, box)
    if best is None:
        raise MediaRejected("media_banner_too_long", TOO_LONG_MESSAGE, board=profile.name)
    best_px, low, high = MIN_FONT_PX, MIN_FONT_PX + 1, max(box.height, MIN_FONT_PX)
    while low <= high:
        size = (low + high) // 2
        layout = _layout(title, body, size, box)
        if layout is None:
            high = size - 1
        else:
            best, best_px, low = layout, size, size + 1
    return best_px, best


def _layout(
    title: tuple[str, ...], body: tuple[str, ...], title_px: int, box: _Box
) -> _Layout | None:
    """Lines with their baselines at this size, or None when they do not fit `box`."""
    title_font = _font("DejaVuSans-Bold.ttf", title_px)
    title_lines = _wrap(title, title_font, box.width)
    body_font = _font("DejaVuSans.ttf", _body_px(title_px))
    body_lines = _wrap(body, body_font, box.width) if body else []
    if title_lines is None or body_lines is None:
        return None
    lines = _stack(title_lines, title_font, 0.0)
    if body_lines:
        gap = TITLE_BODY_GAP_EM * body_font.size
        lines += _stack(body_lines, body_font, lines[-1].baseline + gap)
    top, bottom = _ink_extent(lines)
    return _Layout(tuple(lines), top, bottom) if bottom - top <= box.height else None


def _stack(texts: list[str], font: ImageFont.FreeTypeFont, after: float) -> list[_Line]:
    """Lines one pitch apart, the first one pitch below `after`."""
    pitch = LINE_PITCH_EM * font.size
    return [_Line(text, font, after + pitch * (index + 1)) for index, text in enumerate(texts)]


def _ink_extent(lines: list[_Line]) -> tuple[float, float]:
    boxes = [(line.baseline, line.font.getbbox(line.text, anchor="ls")) for line in lines]
    return (
        min(baseline + bbox[1] for baseline, bbox in boxes),
        max(baseline + bbox[3] for baseline, bbox in boxes),
    )


def _body_px(title_px: int) -> int:
    return max(MIN_FONT_PX, round(title_px * BODY_TO_TITLE))


@lru_cache(maxsize=256)
def _font(file_name: str, size: int) -> ImageFont.FreeTypeFont:
    # Basic layout: NFC Vietnamese needs no shaping, and the result does not depend on
    # whether Pillow was built with raqm.
    path = str(_font_dir() / file_name)
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


def _font_dir() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


# --- drawing and judging ------------------------------------------------------------

def _draw(
    layout: _Layout,
    profile: BoardProfile,
    text_colour: tuple[int, int, int],
    background: tuple[int, int, int],
    dest: Path,
) -> None:
    """Centre the block's ink on the board, each line centred horizontally."""
    canvas = Image.new("RGB", (profile.width, profile.height), background)
    draw = ImageDraw.Draw(canvas)
    offset = (profile.height - (layout.bottom - layout.top)) / 2 - layout.top
    for line in layout.lines:
        position = (profile.width / 2, round(offset + line.baseline))
        draw.text(position, line.text, font=line.font, fill=text_colour, anchor="ms")
    canvas.save(dest, "PNG")


def _readability(title_px: int, body_px: int, profile: BoardProfile) -> BannerResult:
    if body_px:
        smallest = _font("DejaVuSans.ttf", body_px)
    else:
        smallest = _font("DejaVuSans-Bold.ttf", title_px)
    cap_top, cap_bottom = smallest.getbbox("H")[1::2]
    char_height_mm = float((cap_bottom - cap_top) * profile.pixel_pitch_mm)
    needed = needed_char_height_mm(profile.viewing_distance_m)
    return BannerResult(
        title_px=title_px,
        body_px=body_px,
        min_char_height_mm=char_height_mm,
        readable=char_height_mm >= needed,
        needed_char_height_mm=needed,
    )
