"""Video uploads: inspection, a still frame, thumbnails and H.264 renditions for boards.

Everything goes through PyAV (its wheel bundles FFmpeg with libx264), on local files
only: a path is checked to be a regular file, its first bytes must look like
ISO-BMFF (MP4/QuickTime) or EBML (WebM/Matroska), and FFmpeg is then told which
demuxer to use and that the only protocol it may open is `file`. So a URL, a
playlist or a `concat:` string never reaches the network or another file.

`probe_video` decides whether an upload is taken and raises `MediaRejected`
(codes below) for anything else; every PyAV/FFmpeg error is turned into one.
The other functions work on files `probe_video` accepted and raise
`MediaProcessingError` when a derivative cannot be made.

Rejection codes: media_unsupported_type (not MP4/MOV/WebM, unknown codec, not a
local file), media_no_video, media_undecodable (empty, truncated, damaged),
media_video_too_long, media_video_too_big (resolution).

Truncated files: an MP4 without its index (`moov`) cannot be opened and is
rejected. An MP4 with its index at the front but cut short is rejected too: the
index says where the last video sample lies, and it must lie inside the file.
WebM keeps no such index up front, so a cut WebM is only rejected when its first
frame cannot be decoded; its rendition then simply ends where the data ends.

Formats: ISO-BMFF files are "mp4", or "mov" when the `ftyp` major brand is QuickTime's
`qt  ` (or there is no `ftyp`, as in old QuickTime files); every Matroska file is
reported as "webm", the one Matroska flavour boards and browsers are asked to play.

Sizes are what a viewer sees: the display rotation (phone videos) and the pixel
aspect ratio are applied to `MediaInfo.width/height`, to frames and to renditions.
Resolution limits are checked on the coded size, in either orientation, since
they exist to bound the cost of decoding.
"""
from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import av.error
import numpy as np
from av.container import InputContainer, OutputContainer
from av.video.stream import VideoStream
from PIL import Image, ImageColor

from media.errors import MediaProcessingError, MediaRejected
from media.types import FIT_MODES, Fit, Limits, MediaInfo

# Everything PyAV and FFmpeg raise for bad input; nothing else is caught.
# (UnicodeDecodeError is a ValueError; EOFError covers av.error.EOFError.)
_AV_ERRORS: tuple[type[BaseException], ...] = (
    av.error.FFmpegError,
    av.error.InvalidDataError,
    OSError,
    EOFError,
    StopIteration,
    ValueError,
    OverflowError,
    ZeroDivisionError,
)

_ISO_BMFF_FIRST_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_QUICKTIME_BRAND = "qt  "
_MIME = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
_FORMAT_OPTIONS = {"mov": {"protocol_whitelist": "file", "enable_drefs": "0"},
                   "matroska": {"protocol_whitelist": "file"}}

_MAX_PACKETS_TO_FIRST_FRAME = 600  # a decodable stream yields a picture long before this
_MAX_FRAMES_AFTER_SEEK = 1200  # longest keyframe interval we walk to reach a target time
_MAX_PIXEL_ASPECT = 4  # anything wider is a broken header, not anamorphic video
_TIME_TOLERANCE = 1e-4  # seconds; frame times are rounded from rational timestamps
_PROGRESS_STEP = 0.01
_JPEG_QUALITY = 85
_X264_OPTIONS = {"preset": "veryfast", "crf": "23"}


# --- inspection -----------------------------------------------------------------


def probe_video(path: Path, limits: Limits) -> MediaInfo:
    """What a video upload is, or `MediaRejected` saying why it cannot be taken.

    The first video frame is decoded, so a file that only has valid headers is refused.
    """
    path = _local_file(path)
    demuxer = _sniff_demuxer(path)
    try:
        with _open_input(path, demuxer) as container:
            return _inspect(container, path, limits)
    except _AV_ERRORS as exc:
        raise _undecodable() from exc


def _local_file(path: Path | str) -> Path:
    """The path as a regular local file; URLs, protocol strings and directories are refused."""
    text = os.fspath(path)
    if "://" in text or _looks_like_protocol(text):
        raise MediaRejected("media_unsupported_type", "Only an uploaded file can be inspected.")
    local = Path(text)
    if not local.is_file():
        raise MediaRejected("media_unsupported_type", "Only an uploaded file can be inspected.")
    return local.resolve()


def _looks_like_protocol(text: str) -> bool:
    """`concat:a|b`, `pipe:0`, `data:...`: a scheme before the first colon, not a Windows drive."""
    scheme, colon, _rest = text.partition(":")
    return bool(colon) and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").isalnum()


def _sniff_demuxer(path: Path) -> str:
    """The FFmpeg demuxer for the file's magic bytes: `mov` (MP4/MOV) or `matroska` (WebM)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError as exc:
        raise _undecodable() from exc
    if not head:
        raise MediaRejected("media_undecodable", "The file is empty.")
    if len(head) >= 8 and head[4:8] in _ISO_BMFF_FIRST_BOXES:
        return "mov"
    if head.startswith(_EBML_MAGIC):
        return "matroska"
    raise _unsupported_type()


def _open_input(path: Path, demuxer: str) -> InputContainer:
    """Open with a fixed demuxer and the `file` protocol only (no nested URLs, no drefs)."""
    return av.open(
        f"file:{path}",
        mode="r",
        format=demuxer,
        container_options=dict(_FORMAT_OPTIONS[demuxer]),
        metadata_errors="replace",
    )


def _inspect(container: InputContainer, path: Path, limits: Limits) -> MediaInfo:
    stream = _first_video_stream(container)
    if stream is None:
        raise MediaRejected("media_no_video", "The file contains no video.")
    codec = _codec_name(stream)
    if codec is None:
        raise _unsupported_type()
    coded_w, coded_h = stream.codec_context.width, stream.codec_context.height
    if coded_w <= 0 or coded_h <= 0:
        raise _undecodable()
    duration = _duration_seconds(container, stream)
    if duration is None or duration <= 0:
        raise _undecodable()
    _check_limits(coded_w, coded_h, duration, limits)
    _require_samples_inside(stream, path.stat().st_size)
    first = _first_frame(container, stream)
    width, height = _display_size(first.width, first.height, stream, _rotation(first))
    format_name = _format_name(container)
    return MediaInfo(
        kind="video",
        format=format_name,
        mime=_MIME[format_name],
        width=width,
        height=height,
        duration=duration,
        fps=_frame_rate(stream),
        video_codec=codec,
        audio_codec=_audio_codec(container),
    )


def _first_video_stream(container: InputContainer) -> VideoStream | None:
    """The first real video stream; cover art in audio files (`attached_pic`) is not video."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _codec_name(stream: av.stream.Stream) -> str | None:
    context = stream.codec_context
    name = getattr(context, "name", None) if context is not None else None
    return name if name and name != "none" else None


def _audio_codec(container: InputContainer) -> str | None:
    for stream in container.streams.audio:
        return _codec_name(stream)
    return None


def _duration_seconds(container: InputContainer, stream: VideoStream) -> float | None:
    """The video stream's own duration, else the container's (WebM only has the latter)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _frame_rate(stream: VideoStream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def _format_name(container: InputContainer) -> str:
    """mp4, mov (QuickTime brand or no `ftyp` at all) or webm (any Matroska file)."""
    if container.format.name.startswith("matroska"):
        return "webm"
    brand = container.metadata.get("major_brand")
    return "mov" if brand is None or brand == _QUICKTIME_BRAND else "mp4"


def _check_limits(width: int, height: int, duration: float, limits: Limits) -> None:
    if duration > limits.max_video_seconds:
        raise MediaRejected(
            "media_video_too_long",
            "The video lasts %(seconds)d seconds; at most %(limit)d are allowed.",
            seconds=math.ceil(duration),
            limit=int(limits.max_video_seconds),
        )
    if not _fits_either_way(width, height, limits.max_video_width, limits.max_video_height):
        raise MediaRejected(
            "media_video_too_big",
            "The video is %(width)dx%(height)d pixels; at most %(max_width)dx%(max_height)d are allowed.",
            width=width,
            height=height,
            max_width=limits.max_video_width,
            max_height=limits.max_video_height,
        )


def _fits_either_way(width: int, height: int, max_w: int, max_h: int) -> bool:
    """Portrait videos are allowed the same pixels as landscape ones."""
    return (width <= max_w and height <= max_h) or (width <= max_h and height <= max_w)


def _require_samples_inside(stream: VideoStream, file_size: int) -> None:
    """A cut MP4 whose index lies at the front still points at samples past the end.

    Samples of one stream are written in order, so the last index entries hold the
    furthest position; Matroska indexes are read lazily and give nothing here.
    """
    entries = stream.index_entries
    count = len(entries)
    tail = (entries[i] for i in range(max(0, count - 16), count))
    end = max((entry.pos + entry.size for entry in tail if entry.pos >= 0), default=0)
    if end > file_size:
        raise MediaRejected("media_undecodable", "The video file is incomplete.")


def _first_frame(container: InputContainer, stream: VideoStream) -> av.VideoFrame:
    """Decode until the first picture; single-threaded so it comes out without delay."""
    stream.codec_context.thread_count = 1
    for index, packet in enumerate(container.demux(stream)):
        if index >= _MAX_PACKETS_TO_FIRST_FRAME:
            break
        for frame in packet.decode():
            return frame
    raise _undecodable()


def _unsupported_type() -> MediaRejected:
    return MediaRejected("media_unsupported_type", "Only MP4, MOV and WebM videos are accepted.")


def _undecodable() -> MediaRejected:
    return MediaRejected("media_undecodable", "The video could not be read; it may be damaged or incomplete.")


# --- geometry -------------------------------------------------------------------


def _rotation(frame: av.VideoFrame) -> int:
    """The counter-clockwise display rotation, a multiple of 90 (0 when unknown)."""
    try:
        degrees = frame.rotation
    except (AttributeError, ValueError, av.error.FFmpegError):
        return 0
    return int(round((degrees or 0) / 90.0)) * 90 % 360


def _display_size(coded_w: int, coded_h: int, stream: VideoStream, rotation: int) -> tuple[int, int]:
    """The picture as shown: non-square pixels widened, then turned by the display rotation."""
    aspect = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    plausible = aspect and 1 / _MAX_PIXEL_ASPECT <= aspect <= _MAX_PIXEL_ASPECT and aspect != 1
    width = max(1, round(coded_w * aspect)) if plausible else coded_w
    return (coded_h, width) if rotation in (90, 270) else (width, coded_h)


@dataclass(frozen=True)
class Placement:
    """How one source picture lands on a board canvas of `target` size.

    The source is scaled to `scaled`, then either pasted at `offset` (contain, on the
    background) or cut at `offset` (cover); stretch scales straight to the target.
    """

    scaled: tuple[int, int]
    offset: tuple[int, int]
    pads: bool  # True: paste onto the canvas at offset; False: crop from the scaled picture


@lru_cache(maxsize=32)
def placement(source: tuple[int, int], target: tuple[int, int], mode: str,
              focal: tuple[float, float] = (0.5, 0.5)) -> Placement:
    """Where a `source`-sized picture goes on a `target`-sized canvas for a fit mode."""
    (src_w, src_h), (dst_w, dst_h) = source, target
    if mode == "stretch":
        return Placement((dst_w, dst_h), (0, 0), pads=False)
    if mode == "contain":
        scale = min(dst_w / src_w, dst_h / src_h)
        width = min(dst_w, max(1, round(src_w * scale)))
        height = min(dst_h, max(1, round(src_h * scale)))
        return Placement((width, height), ((dst_w - width) // 2, (dst_h - height) // 2), pads=True)
    scale = max(dst_w / src_w, dst_h / src_h)
    width, height = max(dst_w, round(src_w * scale)), max(dst_h, round(src_h * scale))
    left = _crop_start(focal[0] * width, dst_w, width)
    top = _crop_start(focal[1] * height, dst_h, height)
    return Placement((width, height), (left, top), pads=False)


def _crop_start(focus: float, window: int, total: int) -> int:
    """The window's first pixel when centred on `focus`, kept inside [0, total]."""
    return min(max(0, round(focus - window / 2)), total - window)


def _rgb_picture(frame: av.VideoFrame, size: tuple[int, int], rotation: int) -> np.ndarray:
    """The frame as an RGB array of display size `size`, scaled first, rotated after."""
    width, height = size
    coded = (height, width) if rotation in (90, 270) else (width, height)
    array = frame.to_ndarray(width=coded[0], height=coded[1], format="rgb24")
    return np.rot90(array, k=rotation // 90) if rotation else array


# --- still frames ---------------------------------------------------------------


def video_frame(src: Path, at_fraction: float = 0.1) -> Image.Image:
    """The RGB picture shown at `at_fraction` of the video's duration, upright."""
    path = _accepted_file(src)
    try:
        with _open_input(path, _sniff_demuxer(path)) as container:
            stream = _video_stream_or_fail(container)
            frame = _frame_at(container, stream, _target_time(container, stream, at_fraction))
            rotation = _rotation(frame)
            size = _display_size(frame.width, frame.height, stream, rotation)
            return Image.fromarray(np.ascontiguousarray(_rgb_picture(frame, size, rotation)), "RGB")
    except (MediaRejected, *_AV_ERRORS) as exc:
        raise MediaProcessingError(f"no frame could be taken from {path.name}: {exc}") from exc


def video_thumbnail(src: Path, dest: Path, max_w: int = 480, max_h: int = 480) -> None:
    """A JPEG of the frame at 10 %, at most `max_w` x `max_h`, without metadata."""
    picture = video_frame(src, 0.1)
    picture.thumbnail((max_w, max_h), Image.Resampling.LANCZOS)
    temporary = _temporary_beside(dest)
    try:
        picture.save(temporary, format="JPEG", quality=_JPEG_QUALITY, optimize=True)
        os.replace(temporary, dest)
    except OSError as exc:
        raise MediaProcessingError(f"the thumbnail could not be written: {exc}") from exc
    finally:
        temporary.unlink(missing_ok=True)


def _accepted_file(src: Path) -> Path:
    try:
        return _local_file(src)
    except MediaRejected as exc:
        raise MediaProcessingError(f"not a local file: {src}") from exc


def _video_stream_or_fail(container: InputContainer) -> VideoStream:
    stream = _first_video_stream(container)
    if stream is None:
        raise MediaProcessingError("the file has no video stream")
    return stream


def _start_seconds(container: InputContainer, stream: VideoStream) -> float:
    if stream.start_time is not None and stream.time_base:
        return float(stream.start_time * stream.time_base)
    return (container.start_time or 0) / av.time_base


def _target_time(container: InputContainer, stream: VideoStream, fraction: float) -> float:
    duration = _duration_seconds(container, stream) or 0.0
    return _start_seconds(container, stream) + min(max(fraction, 0.0), 1.0) * duration


def _frame_at(container: InputContainer, stream: VideoStream, target: float) -> av.VideoFrame:
    """The last frame shown at or before `target` seconds: seek to the keyframe before
    it, then decode forward."""
    container.seek(max(0, int(target / stream.time_base)), stream=stream, backward=True)
    chosen: av.VideoFrame | None = None
    for count, frame in enumerate(container.decode(stream)):
        if chosen is not None and frame.time is not None and frame.time > target + _TIME_TOLERANCE:
            break
        chosen = frame
        if count >= _MAX_FRAMES_AFTER_SEEK:
            break
    if chosen is None:
        raise MediaProcessingError("no frame could be decoded")
    return chosen


# --- renditions -----------------------------------------------------------------


def transcode_video(src: Path, dest: Path, width: int, height: int, fit: Fit,
                    progress: Callable[[float], None] | None = None) -> None:
    """An H.264 MP4 of exactly `width` x `height` for a board, placed by `fit`.

    The frame rate is kept; audio is dropped, since LED boards play silently. The
    file is written beside `dest` and renamed over it only when complete. `progress`
    gets fractions 0..1 (by frame time over duration), rising, ending at 1.0; an
    exception it raises stops the work and propagates unchanged.
    """
    _check_target(width, height, fit)
    path = _accepted_file(src)
    temporary = _temporary_beside(dest)
    try:
        steps = _encode_rendition(path, temporary, (width, height), fit)
        with closing(steps):
            for fraction in _wrapped(steps):
                if progress is not None:
                    progress(fraction)
        _flush_to_disk(temporary)
        os.replace(temporary, dest)
    except OSError as exc:
        raise MediaProcessingError(f"the rendition could not be written: {exc}") from exc
    finally:
        temporary.unlink(missing_ok=True)


def _check_target(width: int, height: int, fit: Fit) -> None:
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"a rendition needs a positive, even size, not {width}x{height}")
    if fit.mode not in FIT_MODES:
        raise ValueError(f"unknown fit mode {fit.mode!r}")
    ImageColor.getrgb(fit.background)  # raises ValueError for a colour Pillow cannot read


def _wrapped(steps: Iterator[float]) -> Iterator[float]:
    """The encoder's progress, with PyAV's errors turned into MediaProcessingError."""
    while True:
        try:
            fraction = next(steps)
        except StopIteration:
            return
        except (MediaRejected, *_AV_ERRORS) as exc:
            raise MediaProcessingError(f"the video could not be converted: {exc}") from exc
        yield fraction


_OVERRUN_SECONDS = 5.0


def _encode_rendition(src: Path, dest: Path, size: tuple[int, int], fit: Fit) -> Iterator[float]:
    """Decode `src`, place every frame on the board canvas, encode to `dest`; yields progress."""
    with _open_input(src, _sniff_demuxer(src)) as source:
        stream = _video_stream_or_fail(source)
        _require_samples_inside(stream, src.stat().st_size)
        stream.codec_context.thread_type = "AUTO"
        rate = _output_rate(stream)
        start = _start_seconds(source, stream)
        duration = _duration_seconds(source, stream) or 0.0
        with _open_output(dest) as output:
            encoder = _add_h264_stream(output, size, rate)
            time_base = encoder.codec_context.time_base
            board = _BoardCanvas(size, fit, stream)
            reported = 0.0
            last_pts = -1
            for frame in source.decode(stream):
                if duration and frame.time is not None and frame.time - start > duration + _OVERRUN_SECONDS:
                    # The header promised `duration`; a file that goes on and on is not
                    # transcoded without end (the limits were checked against the header).
                    break
                pts = _output_pts(frame, start, time_base, last_pts)
                if pts is None:
                    continue  # a second frame in the same output slot (variable-rate source)
                picture = board.place(frame)
                picture.pts, picture.time_base, last_pts = pts, time_base, pts
                output.mux(encoder.encode(picture))
                fraction = _fraction(frame.time, start, duration)
                if fraction - reported >= _PROGRESS_STEP:
                    reported = fraction
                    yield fraction
            output.mux(encoder.encode(None))
            if last_pts < 0:
                raise MediaProcessingError("no frame could be decoded")
    yield 1.0


def _open_output(dest: Path) -> OutputContainer:
    return av.open(str(dest.resolve()), mode="w", format="mp4", container_options={"movflags": "+faststart"})


def _add_h264_stream(output: OutputContainer, size: tuple[int, int], rate: Fraction) -> VideoStream:
    stream = output.add_stream("libx264", rate=rate, options=dict(_X264_OPTIONS))
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = 1 / rate
    return stream


def _output_rate(stream: VideoStream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return Fraction(rate) if rate and 0 < rate <= 240 else Fraction(25)


def _output_pts(frame: av.VideoFrame, start: float, time_base: Fraction, last_pts: int) -> int | None:
    """The frame's slot in the output timeline, or None if that slot is already taken."""
    if frame.time is None:
        return last_pts + 1
    pts = max(0, round((frame.time - start) / time_base))
    return pts if pts > last_pts else None


def _fraction(time: float | None, start: float, duration: float) -> float:
    if time is None or duration <= 0:
        return 0.0
    return min(1.0, max(0.0, (time - start) / duration))


class _BoardCanvas:
    """Turns decoded frames into board-sized frames for one fit."""

    def __init__(self, size: tuple[int, int], fit: Fit, stream: VideoStream) -> None:
        self._size = size
        self._fit = fit
        self._stream = stream
        self._background = ImageColor.getrgb(fit.background)[:3]
        self._canvas = np.empty((size[1], size[0], 3), dtype=np.uint8)
        self._painted: Placement | None = None

    def place(self, frame: av.VideoFrame) -> av.VideoFrame:
        rotation = _rotation(frame)
        shown = _display_size(frame.width, frame.height, self._stream, rotation)
        where = placement(shown, self._size, self._fit.mode, (self._fit.focal_x, self._fit.focal_y))
        if where.scaled == self._size and not rotation:
            return frame.reformat(width=self._size[0], height=self._size[1], format="yuv420p")
        picture = _rgb_picture(frame, where.scaled, rotation)
        (width, height), (left, top) = self._size, where.offset
        if where.pads:
            if where != self._painted:  # only the picture area changes from frame to frame
                self._canvas[:] = self._background
                self._painted = where
            self._canvas[top:top + picture.shape[0], left:left + picture.shape[1]] = picture
            board = self._canvas
        else:
            board = np.ascontiguousarray(picture[top:top + height, left:left + width])
        return av.VideoFrame.from_ndarray(board, format="rgb24")


# --- files ----------------------------------------------------------------------


def _temporary_beside(dest: Path) -> Path:
    """A hidden name in dest's folder, so the final rename stays on one file system."""
    return dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")


def _flush_to_disk(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())
