"""Deciding whether an uploaded file is a picture or video we can take.

The kind is decided by the file's content (its magic bytes), never by the name
or the Content-Type the browser sent: a PHP script called `poster.jpg` is a PHP
script. Pictures are opened only with Pillow's JPEG, PNG and WebP decoders, their
pixel count is checked from the header before anything is decoded, then they are
decoded in full and must end where the format says they end. Videos are handed
to `media.video.probe_video`.

`safe_display_name` turns a client-supplied file name into something safe to
show, and `safe_display_text` a typed title; stored files never use them (see media.storage).
"""
from __future__ import annotations

import mmap
import struct
import unicodedata
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from media.errors import MediaRejected, N_
from media.types import Limits, MediaInfo

SNIFF_BYTES = 1024
PADDING_SLICE = 1024 * 1024

EMPTY_MESSAGE = N_("This file is empty.")
TOO_LARGE_MESSAGE = N_(
    "This file is too large (%(size_mb)s MB). The limit for %(kind)s files is %(limit_mb)s MB."
)
UNSUPPORTED_MESSAGE = N_(
    "This file is not a picture or video we accept (it looks like %(what)s). "
    "Use JPEG, PNG or WebP for pictures and MP4, WebM or MOV for videos."
)
UNDECODABLE_MESSAGE = N_(
    "This %(format)s picture is damaged or incomplete and cannot be opened. "
    "Export it again and upload the new file."
)
TOO_MANY_PIXELS_MESSAGE = N_(
    "This picture has too many pixels. Pictures may have at most %(limit_mp)s million "
    "pixels; make it smaller and upload it again."
)
TRAILING_DATA_MESSAGE = N_(
    "This %(format)s picture has extra data hidden after the end of the image. "
    "Open it in an image editor, save it again and upload the new file."
)
NAMELESS = "tệp không tên"
MAX_DISPLAY_NAME = 200

# Bidirectional overrides let "gpj.exe" be shown as "exe.jpg"; strip them with the
# other invisible format characters (Unicode category Cf).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


@dataclass(frozen=True)
class _ImageFormat:
    name: str  # our format name, as in MediaInfo.format
    pillow: str  # Pillow's format id, the only decoder allowed for it
    mime: str
    label: str  # how a person knows it, for messages
    end_of_data: Callable[[mmap.mmap], int]  # offset just past the image's last byte


# --- public API ---------------------------------------------------------------------

def inspect(path: Path, limits: Limits) -> MediaInfo:
    """Accept `path` as a picture or video and say what it is, or raise MediaRejected."""
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected("media_empty", EMPTY_MESSAGE)
    with path.open("rb") as stream:
        head = stream.read(SNIFF_BYTES)
    image_format = _sniff_image(head)
    if image_format is not None:
        _check_size(size, limits.max_image_bytes, "picture")
        return _inspect_image(path, image_format, limits)
    if _looks_like_video(head):
        _check_size(size, limits.max_video_bytes, "video")
        # Imported here so media.validation stays importable without PyAV's module.
        from media.video import probe_video

        return probe_video(path, limits)
    raise _unsupported(_describe_unsupported(head))


def safe_display_name(original: str) -> str:
    """A client's file name made safe to display: base name only, no control
    characters, whitespace collapsed, NFC, at most 200 characters."""
    name = _visible_text(original.replace("\\", "/").rsplit("/", 1)[-1])
    if not name.strip("."):
        return NAMELESS
    return _shorten(name, MAX_DISPLAY_NAME)


def safe_display_text(text: str) -> str:
    """A typed title (a text banner's) made safe to display as a name: as safe_display_name,
    but every part of it kept, "Ngày 5/6" too, since it names no path."""
    return _visible_text(text)[:MAX_DISPLAY_NAME].rstrip() or NAMELESS


def _visible_text(text: str) -> str:
    """NFC, without control or invisible characters, whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if ch.isspace() else ch for ch in text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE_CATEGORIES)
    # Removing characters can bring a letter next to a combining mark again.
    return unicodedata.normalize("NFC", " ".join(text.split()))


# --- what the file is ---------------------------------------------------------------

def _sniff_image(head: bytes) -> _ImageFormat | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


# ISO-BMFF brands that are still pictures (HEIF, AVIF) rather than movies.
_IMAGE_BRANDS = {
    b"heic": "HEIC", b"heix": "HEIC", b"heim": "HEIC", b"heis": "HEIC",
    b"hevc": "HEIC", b"hevx": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF",
    b"avif": "AVIF", b"avis": "AVIF", b"jp2 ": "JPEG 2000", b"crx ": "Canon RAW",
}


# Older QuickTime files may open with one of these boxes instead of `ftyp`;
# media.video accepts the same set and lets FFmpeg's parser decide.
_LEGACY_QUICKTIME_BOXES = frozenset({b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})


def _looks_like_video(head: bytes) -> bool:
    if head[4:8] == b"ftyp":
        return head[8:12] not in _IMAGE_BRANDS
    return head[4:8] in _LEGACY_QUICKTIME_BOXES or head.startswith(b"\x1a\x45\xdf\xa3")


def _describe_unsupported(head: bytes) -> str:
    """A name a person recognises for a file we refuse, for the message."""
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        return _IMAGE_BRANDS[head[8:12]]
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            return what
    if head[:4] == b"RIFF":
        return {b"AVI ": "AVI", b"WAVE": "WAV"}.get(head[8:12], "RIFF")
    return _describe_text(head)


_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"%PDF-", "PDF"),
    (b"%!PS-Adobe", "EPS"),
    (b"%!", "PostScript"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),  # DOS EPS binary header
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"PK\x03\x04", "ZIP"),
    (b"\x1f\x8b", "GZIP"),
    (b"Rar!", "RAR"),
    (b"7z\xbc\xaf", "7-Zip"),
    (b"MZ", "Windows program"),
    (b"\x7fELF", "program"),
    (b"\x47\x40", "MPEG-TS"),
    (b"\x00\x00\x01\xba", "MPEG"),
    (b"OggS", "Ogg"),
    (b"ID3", "MP3"),
    (b"FLV", "FLV"),
    (b"0&\xb2u\x8ef\xcf\x11", "WMV"),
)


def _describe_text(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\xfe\xff\x00 \t\r\n").lower()
    if text.startswith(b"<?php") or b"<?php" in text:
        return "PHP"
    if b"<svg" in text:
        return "SVG"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "HTML"
    if text.startswith(b"<?xml") or text.startswith(b"<"):
        return "XML"
    if text.startswith(b"#!"):
        return "script"
    return "unknown"


# --- pictures -----------------------------------------------------------------------

def _inspect_image(path: Path, image_format: _ImageFormat, limits: Limits) -> MediaInfo:
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
        end = _end_of_image(data, image_format)
        if not _only_padding(data, end):
            raise MediaRejected(
                "media_trailing_data", TRAILING_DATA_MESSAGE, format=image_format.label
            )
    width, height = _decode_fully(path, image_format, limits)
    return MediaInfo(
        kind="image", format=image_format.name, mime=image_format.mime, width=width, height=height
    )


def _only_padding(data: mmap.mmap, start: int) -> bool:
    """Whether everything from `start` is NUL: padding is harmless, anything else is
    a hidden payload (a script, an archive, a second file). Read in slices so a huge
    tail is never copied whole."""
    for offset in range(start, len(data), PADDING_SLICE):
        if data[offset:offset + PADDING_SLICE].strip(b"\x00"):
            return False
    return True


def _end_of_image(data: mmap.mmap, image_format: _ImageFormat) -> int:
    try:
        end = image_format.end_of_data(data)
    except (IndexError, struct.error, ValueError):
        end = -1
    if end < 0 or end > len(data):
        raise _undecodable(image_format)
    return end


def _decode_fully(path: Path, image_format: _ImageFormat, limits: Limits) -> tuple[int, int]:
    """Open with only the sniffed decoder, refuse oversized headers, then decode every pixel.
    Returns the size as displayed, i.e. after the EXIF orientation."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice its limit; that is still a bomb.
            # (The filter is process-wide; should another thread reset it meanwhile,
            # _check_pixels still refuses anything over our limit before decoding.)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=(image_format.pillow,)) as im:
                _check_pixels(im.width, im.height, limits)
                im.load()
                return _displayed_size(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow refused from the header alone (its own cap can be lower than ours).
        raise MediaRejected(
            "media_too_many_pixels", TOO_MANY_PIXELS_MESSAGE,
            limit_mp=_millions(limits.max_image_pixels),
        ) from None
    except MediaRejected:
        raise
    except _DECODER_ERRORS as exc:
        raise _undecodable(image_format) from exc


# What Pillow's decoders raise on damaged input, fuzzing included: a refusal, never a 500.
_DECODER_ERRORS = (
    OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
    IndexError, KeyError, TypeError,
)


def _check_pixels(width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_image_pixels:
        raise MediaRejected(
            "media_too_many_pixels", TOO_MANY_PIXELS_MESSAGE,
            width=width, height=height, limit_mp=_millions(limits.max_image_pixels),
        )


def _displayed_size(im: Image.Image) -> tuple[int, int]:
    # EXIF orientations 5-8 turn the picture a quarter, so it shows as height x width.
    if im.getexif().get(0x0112) in (5, 6, 7, 8):
        return im.height, im.width
    return im.width, im.height


# --- where each format ends ---------------------------------------------------------

def _png_end(data: mmap.mmap) -> int:
    """Walk the chunks to just after IEND's CRC; -1 when the file stops first."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        pos += 8 + length + 4
        if kind == b"IEND":
            return pos
    return -1


def _jpeg_end(data: mmap.mmap) -> int:
    """Just after the last JPEG in the file. Phone cameras append more JPEG images
    after the first (MPF: depth maps, HDR gain maps); those are pictures, not payloads,
    so they are walked the same way. Anything else after them is trailing data."""
    end = _one_jpeg_end(data, 0)
    while 0 < end < len(data) - 3 and data[end:end + 3] == b"\xff\xd8\xff":
        end = _one_jpeg_end(data, end)
    return end


def _one_jpeg_end(data: mmap.mmap, start: int) -> int:
    """Follow the markers (and the entropy-coded scans) to just after EOI; -1 when missing."""
    pos = start + 2
    while pos < len(data):
        if data[pos] != 0xFF:
            return -1
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes may precede any marker
            pos += 1
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            return pos
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        (length,) = struct.unpack(">H", data[pos:pos + 2])
        pos += length
        if marker == 0xDA:
            pos = _after_scan(data, pos)
    return -1


def _after_scan(data: mmap.mmap, pos: int) -> int:
    """Skip entropy-coded data: 0xFF is either stuffed (FF00), a restart marker or a real marker."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return len(data) + 1  # no marker before the end: truncated
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


def _webp_end(data: mmap.mmap) -> int:
    (riff_size,) = struct.unpack("<I", data[4:8])
    return 8 + riff_size + (riff_size & 1)  # RIFF chunks are padded to an even length


JPEG = _ImageFormat("jpeg", "JPEG", "image/jpeg", "JPEG", _jpeg_end)
PNG = _ImageFormat("png", "PNG", "image/png", "PNG", _png_end)
WEBP = _ImageFormat("webp", "WEBP", "image/webp", "WebP", _webp_end)


# --- rejections ---------------------------------------------------------------------

def _check_size(size: int, limit: int, kind: str) -> None:
    if size > limit:
        raise MediaRejected(
            "media_too_large", TOO_LARGE_MESSAGE,
            size_mb=_megabytes(size), limit_mb=_megabytes(limit), kind=kind,
        )


def _unsupported(what: str) -> MediaRejected:
    return MediaRejected("media_unsupported_type", UNSUPPORTED_MESSAGE, what=what)


def _undecodable(image_format: _ImageFormat) -> MediaRejected:
    return MediaRejected("media_undecodable", UNDECODABLE_MESSAGE, format=image_format.label)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _millions(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f}".removesuffix(".0")


def _shorten(name: str, limit: int) -> str:
    """Cut to `limit` characters, keeping a short extension so the kind stays visible."""
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) <= 10:
        return stem[: limit - len(extension) - 1].rstrip() + "." + extension
    return name[:limit].rstrip()
