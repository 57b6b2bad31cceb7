"""What an upload must be before it is kept: decided by content, never by name.

The hostile corpus is built here, in each test's tmp_path: decompression bombs,
polyglots with payloads after the image, lying extensions, formats we refuse.
"""
from __future__ import annotations

import io
import struct
import tempfile
import unicodedata
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from media.errors import MediaRejected
from media.types import Limits, MediaInfo
from media.validation import NAMELESS, inspect, safe_display_name

LIMITS = Limits()
PHP_PAYLOAD = b"<?php system($_GET['c']); ?>"


# --- the corpus -----------------------------------------------------------------------

def encoded(im: Image.Image, format: str, **options: object) -> bytes:
    out = io.BytesIO()
    im.save(out, format, **options)
    return out.getvalue()


def picture(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    im = Image.linear_gradient("L").resize(size).convert(mode)
    return im


def jpeg(size: tuple[int, int] = (64, 48), **options: object) -> bytes:
    return encoded(picture(size), "JPEG", quality=90, **options)


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    return encoded(picture(size), "PNG")


def webp(size: tuple[int, int] = (64, 48)) -> bytes:
    return encoded(picture(size), "WEBP", quality=80)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)


def bomb_png(width: int, height: int) -> bytes:
    """A real, complete 1-bit PNG of `width` x `height` black pixels: a few kilobytes
    that would take width*height bytes of memory once decoded."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * 1000) for _ in range(height // 1000))
    idat += compressor.compress(row * (height % 1000)) + compressor.flush()
    header = png_header(width, height, bit_depth=1, colour_type=0)
    return header + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rejection(path: Path, limits: Limits = LIMITS) -> MediaRejected:
    with pytest.raises(MediaRejected) as caught:
        inspect(path, limits)
    return caught.value


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" onload="alert(1)">'
    b"<script>fetch('/api/tokens').then(r => r.text()).then(alert)</script></svg>\n"
)
EPS = (
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n"
    b"newpath 0 0 moveto 100 100 lineto stroke\n%%EOF\n"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


# --- pictures we take -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "format", "mime"),
    [(jpeg(), "jpeg", "image/jpeg"), (png(), "png", "image/png"), (webp(), "webp", "image/webp")],
    ids=["jpeg", "png", "webp"],
)
def test_accepted_picture_reports_kind_format_and_size(
    tmp_path: Path, data: bytes, format: str, mime: str
) -> None:
    info = inspect(write(tmp_path, "upload.bin", data), LIMITS)
    assert info == MediaInfo(kind="image", format=format, mime=mime, width=64, height=48)


def test_jpeg_named_mp4_is_judged_as_the_jpeg_it_is(tmp_path: Path) -> None:
    info = inspect(write(tmp_path, "clip.mp4", jpeg()), LIMITS)
    assert (info.kind, info.format, info.mime) == ("image", "jpeg", "image/jpeg")


def test_exif_rotated_photo_reports_the_size_it_is_shown_at(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    info = inspect(write(tmp_path, "phone.jpg", jpeg((80, 40), exif=exif.tobytes())), LIMITS)
    assert (info.width, info.height) == (40, 80)


def test_progressive_jpeg_with_restart_markers_is_accepted(tmp_path: Path) -> None:
    data = jpeg((200, 120), progressive=True, restart_marker_blocks=2)
    assert inspect(write(tmp_path, "p.jpg", data), LIMITS).format == "jpeg"


def test_end_marker_bytes_inside_a_jpeg_comment_are_not_mistaken_for_the_end(tmp_path: Path) -> None:
    data = jpeg(comment=b"scanned \xff\xd9 twice")
    assert inspect(write(tmp_path, "c.jpg", data), LIMITS).format == "jpeg"


def test_cmyk_jpeg_is_accepted(tmp_path: Path) -> None:
    data = encoded(picture(mode="CMYK"), "JPEG")
    assert inspect(write(tmp_path, "print.jpg", data), LIMITS).format == "jpeg"


def test_nul_padding_after_the_image_is_tolerated(tmp_path: Path) -> None:
    assert inspect(write(tmp_path, "padded.png", png() + b"\x00" * 512), LIMITS).format == "png"


def test_picture_exactly_at_the_pixel_limit_is_accepted(tmp_path: Path) -> None:
    limits = Limits(max_image_pixels=64 * 48)
    assert inspect(write(tmp_path, "edge.png", png()), limits).width == 64


# --- pixel bombs --------------------------------------------------------------------------

def test_decompression_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    data = bomb_png(20_000, 20_000)
    assert len(data) < 200_000  # tiny on disk, 400 megapixels once decoded
    assert rejection(write(tmp_path, "bomb.png", data)).code == "media_too_many_pixels"


def test_header_claiming_30000_by_30000_is_refused_without_decoding(tmp_path: Path) -> None:
    # No pixel data at all: only the header can have caused the refusal.
    data = png_header(30_000, 30_000) + png_chunk(b"IEND", b"")
    assert rejection(write(tmp_path, "huge.png", data)).code == "media_too_many_pixels"


def test_picture_over_our_own_pixel_limit_is_refused_with_its_size(tmp_path: Path) -> None:
    limits = Limits(max_image_pixels=64 * 48 - 1)
    refused = rejection(write(tmp_path, "big.png", png()), limits)
    assert refused.code == "media_too_many_pixels"
    assert refused.params["width"] == 64 and refused.params["height"] == 48


# --- polyglots and damaged files ------------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "name"),
    [(png() + PHP_PAYLOAD, "shell.png"), (jpeg() + PHP_PAYLOAD, "shell.jpg"),
     (webp() + PHP_PAYLOAD, "shell.webp"), (png() + png(), "twice.png"),
     (jpeg() + b"\x00\x00" + HTML, "page.jpg"),
     (png() + b"\x00" * (3 * 1024 * 1024) + PHP_PAYLOAD, "deep.png")],
    ids=["png+php", "jpeg+php", "webp+php", "png+png", "jpeg+nul+html", "png+3MB-nul+php"],
)
def test_data_hidden_after_the_image_end_is_refused(tmp_path: Path, data: bytes, name: str) -> None:
    assert rejection(write(tmp_path, name, data)).code == "media_trailing_data"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (jpeg((200, 150))[:1500], "cut.jpg"),
        (png((200, 150))[:-40], "cut.png"),
        (webp((200, 150))[:-30], "cut.webp"),
        (png_header(10, 10) + png_chunk(b"IEND", b""), "no-pixels.png"),
        (jpeg()[:200] + b"\x00" * 64 + jpeg()[264:], "garbled.jpg"),
        (b"\xff\xd8\xff" + b"\x00" * 50, "stub.jpg"),
    ],
    ids=["truncated-jpeg", "truncated-png", "truncated-webp", "png-without-idat", "garbled-jpeg",
         "jpeg-stub"],
)
def test_damaged_or_incomplete_picture_is_refused(tmp_path: Path, data: bytes, name: str) -> None:
    assert rejection(write(tmp_path, name, data)).code == "media_undecodable"


@settings(max_examples=150, deadline=None)
@given(
    original=st.sampled_from(
        [jpeg((40, 30)), jpeg((40, 30), progressive=True), png((40, 30)), webp((40, 30))]
    ),
    position=st.floats(0, 1, exclude_max=True),
    replacement=st.binary(min_size=1, max_size=16),
)
def test_damaged_picture_is_refused_or_accepted_but_never_crashes(
    original: bytes, position: float, replacement: bytes
) -> None:
    offset = int(position * len(original))
    damaged = original[:offset] + replacement + original[offset + len(replacement):]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.bin"
        path.write_bytes(damaged)
        try:
            info = inspect(path, LIMITS)
        except MediaRejected:
            return
    assert info.kind == "image"


# --- what we do not take ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "name", "what"),
    [
        (SVG_WITH_SCRIPT, "logo.svg", "SVG"),
        (b"\xef\xbb\xbf  <!-- made by hand -->\n" + SVG_WITH_SCRIPT[39:], "logo.png", "SVG"),
        (PDF, "poster.pdf", "PDF"),
        (EPS, "poster.eps", "EPS"),
        (encoded(picture(), "GIF"), "anim.gif", "GIF"),
        (encoded(picture(), "BMP"), "scan.bmp", "BMP"),
        (encoded(picture(), "TIFF"), "scan.tif", "TIFF"),
        (HTML, "index.jpg", "HTML"),
        (PHP_PAYLOAD, "avatar.jpg", "PHP"),
        (b"MZ\x90\x00" + b"\x00" * 60, "setup.png", "Windows program"),
        (b"\x00\x01\x02\x03 nothing we know", "mystery.webp", "unknown"),
    ],
    ids=["svg", "svg-with-bom-and-comment", "pdf", "eps", "gif", "bmp", "tiff", "html", "php", "exe",
         "unknown"],
)
def test_other_formats_are_refused_by_content_whatever_their_name(
    tmp_path: Path, data: bytes, name: str, what: str
) -> None:
    refused = rejection(write(tmp_path, name, data))
    assert (refused.code, refused.params) == ("media_unsupported_type", {"what": what})


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "AVIF"),
        (b"RIFF\x24\x00\x00\x00AVI LIST", "AVI"),
        (b"FLV\x01\x05\x00\x00\x00\x09", "FLV"),
        (b"0&\xb2u\x8ef\xcf\x11\xa6\xd9\x00\xaa\x00b\xce", "WMV"),
        (HTML, "HTML"),
    ],
    ids=["heic", "avif", "avi", "flv", "wmv", "html-called-mp4"],
)
def test_file_named_like_a_video_without_video_magic_is_refused(
    tmp_path: Path, data: bytes, what: str
) -> None:
    refused = rejection(write(tmp_path, "clip.mp4", data))
    assert (refused.code, refused.params) == ("media_unsupported_type", {"what": what})


def test_empty_file_is_refused(tmp_path: Path) -> None:
    assert rejection(write(tmp_path, "empty.jpg", b"")).code == "media_empty"


def test_picture_over_the_byte_limit_is_refused(tmp_path: Path) -> None:
    data = png()
    refused = rejection(write(tmp_path, "big.png", data), Limits(max_image_bytes=len(data) - 1))
    assert refused.code == "media_too_large"
    assert refused.params["kind"] == "picture"


def test_refusal_reads_as_a_sentence_naming_what_the_file_looks_like(tmp_path: Path) -> None:
    refused = rejection(write(tmp_path, "poster.pdf", PDF))
    assert str(refused) == (
        "This file is not a picture or video we accept (it looks like PDF). "
        "Use JPEG, PNG or WebP for pictures and MP4, WebM or MOV for videos."
    )


# --- display names ------------------------------------------------------------------------

def test_display_name_keeps_only_the_base_name() -> None:
    assert safe_display_name("../../etc/passwd.png") == "passwd.png"
    assert safe_display_name("C:\\Users\\lan\\..\\Desktop\\poster.jpg") == "poster.jpg"


def test_display_name_is_nfc() -> None:
    shown = safe_display_name("A\u0300p phi\u0301ch.png")
    assert shown == unicodedata.normalize("NFC", "Àp phích.png")
    assert unicodedata.is_normalized("NFC", shown)


def test_display_name_drops_control_and_direction_characters() -> None:
    assert safe_display_name("poster\x00.php\x1b[31m.jpg") == "poster.php[31m.jpg"
    assert safe_display_name("anh\u202egpj.exe") == "anhgpj.exe"


def test_display_name_collapses_whitespace() -> None:
    assert safe_display_name("  Áp \t phích\n\u00a0 2024 .png ") == "Áp phích 2024 .png"


def test_long_display_name_is_cut_to_200_characters_keeping_the_extension() -> None:
    shown = safe_display_name("ả" * 300 + ".jpeg")
    assert len(shown) == 200 and shown.endswith("ả.jpeg")


@pytest.mark.parametrize("original", ["", "   ", "..", "../", "/", "\x00\x01", "dir/.."])
def test_display_name_falls_back_when_nothing_is_left(original: str) -> None:
    assert safe_display_name(original) == NAMELESS == "tệp không tên"


def test_a_phone_photo_with_extra_jpeg_images_after_it_is_accepted(tmp_path: Path) -> None:
    """Cameras append depth maps or HDR gain maps as further JPEGs (MPF): pictures, not payloads."""
    import io as _io

    from PIL import Image as _Image

    def jpeg(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
        buffer = _io.BytesIO()
        _Image.new("RGB", size, colour).save(buffer, "JPEG")
        return buffer.getvalue()

    photo = tmp_path / "phone.jpg"
    photo.write_bytes(jpeg((200, 0, 0), (64, 48)) + jpeg((0, 0, 200), (32, 24)))
    assert inspect(photo, Limits()).width == 64
    photo.write_bytes(jpeg((200, 0, 0), (64, 48)) + jpeg((0, 0, 200), (32, 24)) + b"<?php system($_GET['c']); ?>")
    with pytest.raises(MediaRejected) as rejected:
        inspect(photo, Limits())
    assert rejected.value.code == "media_trailing_data"
