"""Text banners: Vietnamese text fitted to a board, and whether it can be read from afar."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.ft2font import FT2Font
from PIL import Image, ImageFont

from media.banner import MARGIN_TO_SIDE, render_banner
from media.errors import MediaRejected
from media.types import BannerResult, BannerSpec, BoardProfile

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
TITLE = "Chung tay bảo vệ môi trường biển"
SHORT_BODY = "Không xả rác thải nhựa xuống biển"
LONG_BODY = (
    "Hãy cùng nhau giảm thiểu rác thải nhựa, phân loại rác tại nguồn, tiết kiệm nước, "
    "trồng thêm cây xanh và bảo vệ các rạn san hô, rừng ngập mặn ven biển vì một tương lai "
    "bền vững cho thế hệ mai sau. Mỗi hành động nhỏ hôm nay góp phần giữ gìn môi trường."
)
VIETNAMESE_LETTERS = (
    "aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợpqrstuùủũúụưừửữứựvxyỳỷỹýỵ"
)
GREEN = (0x0F, 0x6B, 0x4A)


def board(width: int, height: int, pitch_mm: float = 10.0, distance_m: float = 30.0) -> BoardProfile:
    return BoardProfile(key=f"{width}x{height}", name=f"{width}x{height}", width=width, height=height,
                        pixel_pitch_mm=pitch_mm, viewing_distance_m=distance_m)


def banner(tmp_path: Path, spec: BannerSpec, profile: BoardProfile) -> tuple[BannerResult, np.ndarray]:
    dest = tmp_path / "banner.png"
    result = render_banner(spec, profile, dest)
    with Image.open(dest) as im:
        assert im.format == "PNG"
        return result, np.asarray(im.convert("RGB"))


def ink(pixels: np.ndarray, background: tuple[int, int, int] = GREEN) -> np.ndarray:
    return (pixels != background).any(axis=2)


def cap_height_px(font_file: str, size: int) -> int:
    top, bottom = ImageFont.truetype(str(FONTS / font_file), size).getbbox("H")[1::2]
    return bottom - top


# --- drawing ------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(960, 320), (1920, 1080), (768, 384), (192, 64)])
def test_banner_is_exactly_the_board_size(tmp_path: Path, size: tuple[int, int]) -> None:
    _, pixels = banner(tmp_path, BannerSpec(TITLE, SHORT_BODY), board(*size))
    assert pixels.shape == (size[1], size[0], 3)


def test_vietnamese_text_is_drawn_in_the_text_colour_on_the_background(tmp_path: Path) -> None:
    _, pixels = banner(tmp_path, BannerSpec(TITLE, SHORT_BODY, text_color="#FFD700"), board(960, 320))
    assert (pixels[0, 0] == GREEN).all()
    assert (pixels == (0xFF, 0xD7, 0x00)).all(axis=2).sum() > 2000
    assert ink(pixels).sum() > 5000


def test_fonts_have_every_vietnamese_letter() -> None:
    letters = VIETNAMESE_LETTERS + VIETNAMESE_LETTERS.upper()
    for font_file in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        font = FT2Font(str(FONTS / font_file))
        missing = [letter for letter in letters if font.get_char_index(ord(letter)) == 0]
        assert missing == [], f"{font_file} lacks {missing}"


def test_decomposed_text_renders_like_composed_text(tmp_path: Path) -> None:
    composed = BannerSpec(TITLE, SHORT_BODY)
    decomposed = BannerSpec(
        unicodedata.normalize("NFD", TITLE), unicodedata.normalize("NFD", SHORT_BODY)
    )
    assert decomposed.title != composed.title
    first, first_pixels = banner(tmp_path, composed, board(960, 320))
    second, second_pixels = banner(tmp_path, decomposed, board(960, 320))
    assert first == second and (first_pixels == second_pixels).all()


def test_text_stays_inside_the_margins(tmp_path: Path) -> None:
    _, pixels = banner(tmp_path, BannerSpec(TITLE, LONG_BODY), board(960, 320))
    margin = round(320 * MARGIN_TO_SIDE) - 1  # one pixel for anti-aliasing
    drawn = ink(pixels)
    assert not drawn[:margin].any() and not drawn[-margin:].any()
    assert not drawn[:, :margin].any() and not drawn[:, -margin:].any()


def test_long_body_shrinks_the_font(tmp_path: Path) -> None:
    short, _ = banner(tmp_path, BannerSpec(TITLE, SHORT_BODY), board(960, 320))
    long, _ = banner(tmp_path, BannerSpec(TITLE, LONG_BODY), board(960, 320))
    assert long.body_px < short.body_px
    assert long.title_px < short.title_px


def test_title_is_larger_than_the_body(tmp_path: Path) -> None:
    result, _ = banner(tmp_path, BannerSpec(TITLE, SHORT_BODY), board(960, 320))
    assert result.title_px > result.body_px > 0


def test_banner_without_body_reports_no_body_size(tmp_path: Path) -> None:
    result, _ = banner(tmp_path, BannerSpec(TITLE), board(960, 320))
    assert result.body_px == 0 and result.title_px > 0


def test_font_fills_the_board_as_far_as_it_can(tmp_path: Path) -> None:
    # A single short word on a wide board is limited by the height: close to it, not far below.
    result, pixels = banner(tmp_path, BannerSpec("HẠ"), board(960, 320))
    rows = np.flatnonzero(ink(pixels).any(axis=1))
    assert rows[-1] - rows[0] > 0.75 * 320


# --- readability --------------------------------------------------------------------------

def test_readability_follows_the_distance_over_250_rule(tmp_path: Path) -> None:
    spec = BannerSpec(TITLE, LONG_BODY)
    far, _ = banner(tmp_path, spec, board(960, 320, pitch_mm=10, distance_m=80))
    near, _ = banner(tmp_path, spec, board(960, 320, pitch_mm=10, distance_m=20))
    char_mm = cap_height_px("DejaVuSans.ttf", far.body_px) * 10
    assert far.min_char_height_mm == near.min_char_height_mm == char_mm
    assert far.needed_char_height_mm == 80 * 1000 / 250 == 320
    assert near.needed_char_height_mm == 20 * 1000 / 250 == 80
    assert 80 <= char_mm < 320  # the text chosen so that the distance decides
    assert (far.readable, near.readable) == (False, True)


def test_reported_character_height_is_what_is_drawn(tmp_path: Path) -> None:
    result, pixels = banner(tmp_path, BannerSpec("HHH"), board(960, 320, pitch_mm=6))
    rows = np.flatnonzero(ink(pixels).any(axis=1))
    assert abs((rows[-1] - rows[0] + 1) - result.min_char_height_mm / 6) <= 1


def test_banner_without_body_is_judged_by_its_title(tmp_path: Path) -> None:
    result, _ = banner(tmp_path, BannerSpec(TITLE), board(960, 320, pitch_mm=10))
    assert result.min_char_height_mm == cap_height_px("DejaVuSans-Bold.ttf", result.title_px) * 10


# --- refusals -----------------------------------------------------------------------------

@pytest.mark.parametrize("colour", ["white", "#FFF", "#12345G", "0F6B4A", "#0F6B4A80", ""])
@pytest.mark.parametrize("field", ["text_color", "background_color"])
def test_colour_that_is_not_hex_rrggbb_is_refused(tmp_path: Path, colour: str, field: str) -> None:
    spec = BannerSpec(TITLE, **{field: colour})
    with pytest.raises(MediaRejected) as caught:
        render_banner(spec, board(960, 320), tmp_path / "banner.png")
    assert caught.value.code == "media_bad_colour"
    assert not (tmp_path / "banner.png").exists()


@pytest.mark.parametrize("title", ["", "   ", "\n\t", "\u200b"])
def test_banner_without_a_title_is_refused(tmp_path: Path, title: str) -> None:
    with pytest.raises(MediaRejected) as caught:
        render_banner(BannerSpec(title, SHORT_BODY), board(960, 320), tmp_path / "banner.png")
    assert caught.value.code == "media_banner_empty"


def test_text_that_cannot_fit_even_at_the_smallest_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaRejected) as caught:
        render_banner(BannerSpec(TITLE, LONG_BODY * 3), board(64, 32), tmp_path / "banner.png")
    assert caught.value.code == "media_banner_too_long"
