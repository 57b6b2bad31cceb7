"""Board renditions, thumbnails and LED previews made from accepted pictures."""
from __future__ import annotations

import math
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from media.errors import MediaRejected
from media.images import PREVIEW_GAP, led_preview, preview_cell_px, render_image, thumbnail_image
from media.types import FIT_MODES, BoardProfile, Fit

BOARD_SIZES = [(1920, 1080), (960, 320), (768, 384)]
RED, GREEN, BLUE, YELLOW = (220, 20, 20), (20, 200, 40), (20, 40, 220), (230, 220, 20)
MAGENTA = "#FF00FF"
ORIENTATION = 0x0112
XYZ = tuple[float, float, float]
D50: XYZ = (0.9642, 1.0, 0.8249)
SRGB_RED: XYZ = (0.4361, 0.2225, 0.0139)  # sRGB primaries adapted to D50, as in its ICC profile
SRGB_GREEN: XYZ = (0.3851, 0.7169, 0.0971)
SRGB_BLUE: XYZ = (0.1431, 0.0606, 0.7141)


# --- sources ------------------------------------------------------------------------------

def quadrants(size: tuple[int, int]) -> Image.Image:
    """Red, green / blue, yellow quadrants: where each ends up shows orientation and placement."""
    width, height = size
    im = Image.new("RGB", size, RED)
    im.paste(GREEN, (width // 2, 0, width, height // 2))
    im.paste(BLUE, (0, height // 2, width // 2, height))
    im.paste(YELLOW, (width // 2, height // 2, width, height))
    return im


def save_source(tmp_path: Path, name: str, shown: Image.Image, orientation: int = 1) -> Path:
    """Save `shown` so that it displays as `shown`: with orientation 6 the pixels are
    stored a quarter turn back, as a phone held upright does."""
    path = tmp_path / name
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"  # Make
    exif[ORIENTATION] = orientation
    stored = shown.transpose(Image.Transpose.ROTATE_90) if orientation == 6 else shown
    stored.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


SOURCES = {
    "landscape": ((900, 600), 1),
    "portrait": ((600, 900), 1),
    "exif-rotated": ((600, 900), 6),  # stored 900x600, shown 600x900
}


def colour_at(im: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    return im.convert("RGB").getpixel((x, y))


def close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 30) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def render(src: Path, tmp_path: Path, size: tuple[int, int], fit: Fit) -> Image.Image:
    dest = tmp_path / "rendition.jpg"
    render_image(src, dest, *size, fit)
    im = Image.open(dest)
    im.load()
    return im


# --- renditions ---------------------------------------------------------------------------

@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("mode", FIT_MODES)
@pytest.mark.parametrize("size", BOARD_SIZES, ids=[f"{w}x{h}" for w, h in BOARD_SIZES])
def test_rendition_is_exactly_the_board_size_as_plain_rgb_jpeg(
    tmp_path: Path, source: str, mode: str, size: tuple[int, int]
) -> None:
    shown_size, orientation = SOURCES[source]
    src = save_source(tmp_path, "src.jpg", quadrants(shown_size), orientation)
    out = render(src, tmp_path, size, Fit(mode=mode))
    assert (out.size, out.format, out.mode) == (size, "JPEG", "RGB")
    assert "exif" not in out.info and "icc_profile" not in out.info
    assert len(out.getexif()) == 0


def test_exif_rotated_photo_is_shown_upright(tmp_path: Path) -> None:
    src = save_source(tmp_path, "phone.jpg", quadrants((600, 900)), orientation=6)
    out = render(src, tmp_path, (768, 384), Fit(mode="stretch"))
    assert close(colour_at(out, 192, 96), RED)
    assert close(colour_at(out, 576, 96), GREEN)
    assert close(colour_at(out, 192, 288), BLUE)
    assert close(colour_at(out, 576, 288), YELLOW)


def test_contain_letterboxes_in_the_background_colour(tmp_path: Path) -> None:
    src = save_source(tmp_path, "wide.jpg", quadrants((900, 600)))
    out = render(src, tmp_path, (960, 320), Fit(mode="contain", background=MAGENTA))
    # 900x600 scaled to 320 high is 480 wide: 240 px of background each side.
    for x in (5, 235, 725, 955):
        assert close(colour_at(out, x, 160), (255, 0, 255), 12)
    assert close(colour_at(out, 300, 80), RED)
    assert close(colour_at(out, 660, 240), YELLOW)


def test_contain_pillarboxes_a_portrait_picture(tmp_path: Path) -> None:
    src = save_source(tmp_path, "tall.jpg", quadrants((600, 900)))
    out = render(src, tmp_path, (1920, 1080), Fit(mode="contain", background="#102030"))
    assert close(colour_at(out, 20, 540), (0x10, 0x20, 0x30), 12)
    assert close(colour_at(out, 1900, 540), (0x10, 0x20, 0x30), 12)
    assert close(colour_at(out, 960 - 100, 100), RED)


def test_cover_fills_the_board_without_background(tmp_path: Path) -> None:
    src = save_source(tmp_path, "tall.jpg", quadrants((600, 900)))
    out = render(src, tmp_path, (960, 320), Fit(mode="cover", background=MAGENTA))
    for x, y in ((3, 3), (956, 3), (3, 316), (956, 316), (480, 160)):
        assert not close(colour_at(out, x, y), (255, 0, 255), 60)


def test_stretch_maps_corners_to_corners(tmp_path: Path) -> None:
    src = save_source(tmp_path, "tall.jpg", quadrants((600, 900)))
    out = render(src, tmp_path, (1920, 1080), Fit(mode="stretch"))
    assert close(colour_at(out, 10, 10), RED) and close(colour_at(out, 1909, 1069), YELLOW)


@settings(max_examples=40, deadline=None)
@given(
    source_size=st.tuples(st.integers(40, 1200), st.integers(40, 1200)),
    board_size=st.sampled_from(BOARD_SIZES),
    focal_x=st.floats(0, 1),
    focal_y=st.floats(0, 1),
)
def test_cover_keeps_the_focal_point_in_the_frame(
    source_size: tuple[int, int], board_size: tuple[int, int], focal_x: float, focal_y: float
) -> None:
    width, height = source_size
    scale = max(board_size[0] / width, board_size[1] / height)
    side = math.ceil(16 / scale)  # the marker is about 16 px wide once rendered
    # The pixel under the focal point (focal 1.0 is the last pixel, not one past it).
    centre = (min(round(focal_x * width), width - 1), min(round(focal_y * height), height - 1))
    source = Image.new("RGB", source_size, (128, 128, 128))
    source.paste((255, 0, 0), (centre[0] - side // 2, centre[1] - side // 2,
                               centre[0] + side - side // 2, centre[1] + side - side // 2))
    with tempfile.TemporaryDirectory() as folder:
        src, dest = Path(folder) / "src.png", Path(folder) / "out.jpg"
        source.save(src)
        render_image(src, dest, *board_size, Fit(mode="cover", focal_x=focal_x, focal_y=focal_y))
        out = np.asarray(Image.open(dest).convert("RGB")).astype(int)
    marker = (out[..., 0] > 170) & (out[..., 1] < 90) & (out[..., 2] < 90)
    assert marker.sum() >= 16, "the marker painted at the focal point was cropped away"


def test_transparent_areas_are_flattened_onto_the_background(tmp_path: Path) -> None:
    im = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    im.paste((20, 200, 40, 255), (100, 0, 200, 100))
    im.save(tmp_path / "logo.png")
    out = render(tmp_path / "logo.png", tmp_path, (768, 384), Fit(mode="contain", background="#FFFFFF"))
    assert close(colour_at(out, 200, 192), (255, 255, 255), 8)
    assert close(colour_at(out, 570, 192), GREEN)


def test_palette_picture_with_transparency_is_flattened(tmp_path: Path) -> None:
    im = Image.new("P", (64, 32), 0)
    im.putpalette([0, 0, 0, 20, 40, 220] + [0] * 762)
    im.paste(1, (32, 0, 64, 32))
    im.save(tmp_path / "icon.png", transparency=0)
    out = render(tmp_path / "icon.png", tmp_path, (768, 384), Fit(mode="stretch", background="#FFFF00"))
    assert close(colour_at(out, 100, 192), (255, 255, 0), 8)
    assert close(colour_at(out, 600, 192), BLUE)


def test_sixteen_bit_grey_keeps_its_tone(tmp_path: Path) -> None:
    Image.new("I;16", (64, 64), 40_000).save(tmp_path / "scan.png")
    out = render(tmp_path / "scan.png", tmp_path, (768, 384), Fit(mode="stretch"))
    assert close(colour_at(out, 384, 192), (156, 156, 156), 4)  # 40000 / 256, not clipped white


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    Image.new("CMYK", (90, 60), (0, 255, 255, 0)).save(tmp_path / "print.jpg", quality=95)
    out = render(tmp_path / "print.jpg", tmp_path, (768, 384), Fit(mode="cover"))
    assert out.mode == "RGB" and close(colour_at(out, 384, 192), (255, 0, 0), 40)


def s15_fixed16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def icc_rgb_profile(description: str, red: XYZ, green: XYZ, blue: XYZ) -> bytes:
    """A minimal ICC v2 matrix/TRC display profile with the given primaries and gamma 2.2."""
    def xyz(value: XYZ) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(s15_fixed16(v) for v in value)

    text = description.encode() + b"\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 78
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz(D50)), (b"rXYZ", xyz(red)), (b"gXYZ", xyz(green)),
            (b"bXYZ", xyz(blue)), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table = data = b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", offset + len(data)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
              + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28 + xyz(D50)[8:] + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + data


def test_colours_are_converted_from_the_embedded_profile_before_it_is_dropped(
    tmp_path: Path,
) -> None:
    # In this profile the first channel is sRGB's blue primary: "red" pixels are blue.
    swapped = icc_rgb_profile("Swapped primaries", SRGB_BLUE, SRGB_GREEN, SRGB_RED)
    Image.new("RGB", (300, 200), (255, 0, 0)).save(tmp_path / "wide-gamut.png", icc_profile=swapped)
    out = render(tmp_path / "wide-gamut.png", tmp_path, (768, 384), Fit(mode="stretch"))
    assert "icc_profile" not in out.info
    assert close(colour_at(out, 384, 192), (0, 0, 255), 12)


def test_colour_profiles_are_not_carried_over(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    quadrants((300, 200)).save(tmp_path / "srgb.png", icc_profile=srgb)
    quadrants((300, 200)).save(tmp_path / "broken.png", icc_profile=b"not a profile")
    for name in ("srgb.png", "broken.png"):
        out = render(tmp_path / name, tmp_path, (768, 384), Fit(mode="stretch"))
        assert "icc_profile" not in out.info
        assert close(colour_at(out, 100, 100), RED)


def test_large_photo_is_rendered_sharp_after_a_reduced_decode(tmp_path: Path) -> None:
    # A fine checkerboard strip: a sloppy decode or filter would smear it to flat grey.
    big = quadrants((4000, 3000))
    stripes = Image.new("L", (4000, 300), 0)
    stripes.paste(255, (0, 0, 2000, 300))
    big.paste(stripes.convert("RGB"), (0, 1350))
    big.save(tmp_path / "big.jpg", quality=92)
    out = render(tmp_path / "big.jpg", tmp_path, (768, 384), Fit(mode="stretch"))
    assert colour_at(out, 100, 192)[0] > 230 and colour_at(out, 668, 192)[0] < 25


def test_bad_background_colour_is_refused(tmp_path: Path) -> None:
    src = save_source(tmp_path, "src.jpg", quadrants((90, 60)))
    for colour in ("red", "#FFF", "#GG0000", "FF0000", "#FF000000"):
        with pytest.raises(MediaRejected) as caught:
            render_image(src, tmp_path / "out.jpg", 768, 384, Fit(background=colour))
        assert caught.value.code == "media_bad_colour"


def test_unknown_fit_mode_is_a_programming_error(tmp_path: Path) -> None:
    src = save_source(tmp_path, "src.jpg", quadrants((90, 60)))
    with pytest.raises(ValueError):
        render_image(src, tmp_path / "out.jpg", 768, 384, Fit(mode="zoom"))


# --- thumbnails ---------------------------------------------------------------------------

def test_thumbnail_fits_in_480_keeping_the_aspect_ratio(tmp_path: Path) -> None:
    src = save_source(tmp_path, "wide.jpg", quadrants((1200, 800)))
    thumbnail_image(src, tmp_path / "thumb.jpg")
    thumb = Image.open(tmp_path / "thumb.jpg")
    assert (thumb.size, thumb.format) == ((480, 320), "JPEG")
    assert len(thumb.getexif()) == 0


def test_thumbnail_of_a_rotated_photo_is_upright(tmp_path: Path) -> None:
    src = save_source(tmp_path, "phone.jpg", quadrants((600, 900)), orientation=6)
    thumbnail_image(src, tmp_path / "thumb.jpg")
    thumb = Image.open(tmp_path / "thumb.jpg")
    assert thumb.size == (320, 480)
    assert close(colour_at(thumb, 80, 120), RED) and close(colour_at(thumb, 240, 360), YELLOW)


def test_small_picture_is_not_enlarged_for_its_thumbnail(tmp_path: Path) -> None:
    src = save_source(tmp_path, "small.jpg", quadrants((100, 50)))
    thumbnail_image(src, tmp_path / "thumb.jpg", max_w=480, max_h=480)
    assert Image.open(tmp_path / "thumb.jpg").size == (100, 50)


# --- LED previews -------------------------------------------------------------------------

def board(width: int, height: int) -> BoardProfile:
    return BoardProfile(key=f"{width}x{height}", name="test", width=width, height=height,
                        pixel_pitch_mm=10.0, viewing_distance_m=30.0)


def two_colour_rendition(tmp_path: Path, size: tuple[int, int]) -> Path:
    im = Image.new("RGB", size, RED)
    im.paste(BLUE, (size[0] // 2, 0, *size))
    im.save(tmp_path / "rendition.png")
    return tmp_path / "rendition.png"


def test_led_preview_is_the_board_size_times_the_cell(tmp_path: Path) -> None:
    src = two_colour_rendition(tmp_path, (96, 48))
    led_preview(src, tmp_path / "preview.png", board(96, 48), cell_px=10)
    preview = Image.open(tmp_path / "preview.png")
    assert (preview.size, preview.format) == ((960, 480), "PNG")


def test_led_dots_show_the_source_colour_on_a_dark_face(tmp_path: Path) -> None:
    src = two_colour_rendition(tmp_path, (96, 48))
    led_preview(src, tmp_path / "preview.png", board(96, 48), cell_px=10)
    preview = np.asarray(Image.open(tmp_path / "preview.png"))
    centres = preview[5::10, 5::10]
    corners = preview[0::10, 0::10]
    assert (centres[:, :48] == RED).all() and (centres[:, 48:] == BLUE).all()
    assert (corners == PREVIEW_GAP).all()
    assert centres.shape[:2] == (48, 96)


def test_small_cells_still_show_a_gap_between_leds(tmp_path: Path) -> None:
    src = two_colour_rendition(tmp_path, (960, 320))
    led_preview(src, tmp_path / "preview.png", board(960, 320), cell_px=2)
    preview = np.asarray(Image.open(tmp_path / "preview.png"))
    assert preview.shape[:2] == (640, 1920)  # 2 px per LED: a 1 px dot and a 1 px gap
    assert (preview[0::2, 0::2][:, :480] == RED).all()
    assert (preview[1::2, :] == PREVIEW_GAP).all() and (preview[:, 1::2] == PREVIEW_GAP).all()


def test_led_preview_of_a_jpeg_rendition_keeps_its_colours(tmp_path: Path) -> None:
    src = save_source(tmp_path, "src.jpg", quadrants((900, 600)))
    render_image(src, tmp_path / "rendition.jpg", 192, 96, Fit(mode="stretch"))
    led_preview(tmp_path / "rendition.jpg", tmp_path / "preview.png", board(192, 96))
    preview = Image.open(tmp_path / "preview.png")
    cell = preview_cell_px(192)
    assert preview.size == (192 * cell, 96 * cell)
    assert close(colour_at(preview, 20 * cell + cell // 2, 20 * cell + cell // 2), RED)
    assert close(colour_at(preview, 170 * cell + cell // 2, 80 * cell + cell // 2), YELLOW)


@pytest.mark.parametrize(
    ("board_width", "cell"), [(64, 16), (192, 16), (480, 8), (960, 4), (1920, 3), (7680, 3)]
)
def test_preview_cell_keeps_previews_near_3840_px_wide_with_dots_of_more_than_one_pixel(board_width: int, cell: int) -> None:
    assert preview_cell_px(board_width) == cell


def test_large_rendition_made_in_bands_matches_one_made_in_one_piece() -> None:
    from media.images import RESAMPLE, _resize_in_bands  # the seam between bands must not show

    rng = np.random.default_rng(7)
    source = Image.fromarray(rng.integers(0, 256, (2000, 3000, 3), dtype=np.uint8), "RGB")
    box = (10.5, 156.25, 2990.0, 1843.75)
    whole = source.resize((1920, 1080), RESAMPLE, box=box)
    banded = _resize_in_bands(source, (1920, 1080), box, bands=3)
    assert (np.asarray(whole) == np.asarray(banded)).all()
