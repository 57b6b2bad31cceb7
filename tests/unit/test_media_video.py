"""Video uploads: what probing accepts and refuses, still frames, and board renditions.

Every test video is made here with PyAV. Each frame shows its own index as six
black/white bars across the top (so a still says which moment it came from) and a
magenta square near the bottom right (so a crop can be checked for it).
"""
from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from media.errors import MediaProcessingError, MediaRejected
from media.types import Fit, Limits
from media.video import placement, probe_video, transcode_video, video_frame, video_thumbnail

WIDTH, HEIGHT, FPS, SECONDS = 320, 240, 25, 2
FRAMES = FPS * SECONDS
BAR_WIDTH, BAR_HEIGHT, BITS = 40, 60, 6
MARKER = (250, 190, 30)  # left, top, side of the magenta square
MARKER_CENTRE = (MARKER[0] + MARKER[2] // 2, MARKER[1] + MARKER[2] // 2)
MAGENTA = (255, 0, 255)
GREY = (96, 96, 96)
BOARD_SIZES = [(1920, 1080), (960, 320), (768, 384)]
HAS_VP9 = "libvpx-vp9" in av.codecs_available


# --- making test videos -----------------------------------------------------------


def frame_picture(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    picture = np.empty((height, width, 3), dtype=np.uint8)
    picture[:] = GREY
    for bit in range(BITS):
        on = (index >> (BITS - 1 - bit)) & 1
        picture[:BAR_HEIGHT, bit * BAR_WIDTH:(bit + 1) * BAR_WIDTH] = 255 if on else 0
    left, top, side = MARKER
    picture[top:top + side, left:left + side] = MAGENTA
    return picture


def write_video(path: Path, *, container: str = "mp4", codec: str = "libx264", seconds: float = SECONDS,
                rotation: int = 0, audio: bool = False, video: bool = True, faststart: bool = False) -> Path:
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format=container, container_options=options) as output:
        if video:
            _write_picture_track(output, codec, round(seconds * FPS), rotation, audio)
        else:
            _write_silence(output, output.add_stream("aac", rate=48000), seconds)
    return path


def _write_picture_track(output: av.container.OutputContainer, codec: str, frames: int,
                         rotation: int, audio: bool) -> None:
    stream = output.add_stream(codec, rate=FPS, options={"g": "12"})  # keyframes every 12 frames
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    if rotation:
        stream.set_display_rotation(rotation)
    sound = output.add_stream("aac", rate=48000) if audio else None
    for index in range(frames):
        frame = av.VideoFrame.from_ndarray(frame_picture(index), format="rgb24")
        frame.pts = index
        output.mux(stream.encode(frame))
    output.mux(stream.encode(None))
    if sound is not None:
        _write_silence(output, sound, frames / FPS)


def _write_silence(output: av.container.OutputContainer, stream: av.audio.stream.AudioStream, seconds: float) -> None:
    for index in range(int(seconds * 48000 / 1024)):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, index * 1024
        output.mux(stream.encode(frame))
    output.mux(stream.encode(None))


def frame_index(picture: Image.Image) -> int:
    """The index a frame shows in its bars (read from a picture at source size)."""
    pixels = np.asarray(picture.convert("L"))
    bits = [pixels[BAR_HEIGHT // 2, bit * BAR_WIDTH + BAR_WIDTH // 2] > 128 for bit in range(BITS)]
    return sum(1 << (BITS - 1 - position) for position, on in enumerate(bits) if on)


def looks_like(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 60) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel[:3], colour))


def contains_marker(picture: Image.Image) -> bool:
    rgb = np.asarray(picture.convert("RGB")).astype(int)
    magenta = (rgb[..., 0] > 180) & (rgb[..., 1] < 90) & (rgb[..., 2] > 180)
    return int(magenta.sum()) >= 100


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    made = {
        "mp4": write_video(folder / "clip.mp4"),
        "faststart": write_video(folder / "faststart.mp4", faststart=True),
        "mov": write_video(folder / "clip.mov", container="mov"),
        "with_audio": write_video(folder / "with-audio.mp4", audio=True),
        "rotated": write_video(folder / "rotated.mp4", rotation=90),
        "audio_only": write_video(folder / "voice.m4a", container="mp4", video=False),
    }
    if HAS_VP9:
        made["webm"] = write_video(folder / "clip.webm", container="webm", codec="libvpx-vp9")
    return made


def rejection(path: Path | str, limits: Limits = Limits()) -> str:
    with pytest.raises(MediaRejected) as caught:
        probe_video(path, limits)  # type: ignore[arg-type]
    return caught.value.code


# --- probing ----------------------------------------------------------------------


def test_probe_describes_an_h264_mp4(videos: dict[str, Path]) -> None:
    info = probe_video(videos["mp4"], Limits())

    assert (info.kind, info.format, info.mime) == ("video", "mp4", "video/mp4")
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    assert info.duration == pytest.approx(SECONDS, abs=0.05)
    assert info.fps == pytest.approx(FPS)
    assert (info.video_codec, info.audio_codec) == ("h264", None)


def test_probe_names_the_audio_codec(videos: dict[str, Path]) -> None:
    assert probe_video(videos["with_audio"], Limits()).audio_codec == "aac"


def test_probe_tells_quicktime_from_mp4_by_its_brand(videos: dict[str, Path]) -> None:
    info = probe_video(videos["mov"], Limits())

    assert (info.format, info.mime, info.video_codec) == ("mov", "video/quicktime", "h264")


@pytest.mark.skipif(not HAS_VP9, reason="this FFmpeg build has no VP9 encoder")
def test_probe_describes_a_vp9_webm(videos: dict[str, Path]) -> None:
    info = probe_video(videos["webm"], Limits())

    assert (info.format, info.mime, info.video_codec) == ("webm", "video/webm", "vp9")
    assert (info.width, info.height, info.fps) == (WIDTH, HEIGHT, pytest.approx(FPS))
    assert info.duration == pytest.approx(SECONDS, abs=0.05)


def test_probe_reports_a_phone_video_in_its_upright_size(videos: dict[str, Path]) -> None:
    info = probe_video(videos["rotated"], Limits())

    assert (info.width, info.height) == (HEIGHT, WIDTH)


def test_probe_accepts_a_path_given_as_text(videos: dict[str, Path]) -> None:
    assert probe_video(str(videos["mp4"]), Limits()).format == "mp4"  # type: ignore[arg-type]


@pytest.mark.parametrize("cut", ["first 40 % (index at the end)", "first 40 % (index at the front)",
                                 "index but no pictures", "only the ftyp box"])
def test_truncated_mp4_is_rejected(videos: dict[str, Path], tmp_path: Path, cut: str) -> None:
    whole = videos["faststart" if "front" in cut or "index but" in cut else "mp4"].read_bytes()
    mdat = whole.find(b"mdat") - 4
    ftyp_size = int.from_bytes(whole[:4], "big")
    length = {"only the ftyp box": ftyp_size, "index but no pictures": mdat + 16}.get(cut, len(whole) * 4 // 10)
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(whole[:length])

    assert rejection(truncated) == "media_undecodable"


def test_jpeg_renamed_to_mp4_is_rejected(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(buffer, "JPEG")
    fake = tmp_path / "photo.mp4"
    fake.write_bytes(buffer.getvalue())

    assert rejection(fake) == "media_unsupported_type"


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")

    assert rejection(empty) == "media_undecodable"


def test_text_file_is_rejected(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("Kế hoạch tuyên truyền bảo vệ môi trường\n" * 20, encoding="utf-8")

    assert rejection(text) == "media_unsupported_type"


def test_mp4_without_video_is_rejected(videos: dict[str, Path]) -> None:
    assert rejection(videos["audio_only"]) == "media_no_video"


@pytest.mark.parametrize("where", ["http://127.0.0.1:9/clip.mp4", "concat:a.mp4|b.mp4", "pipe:0",
                                   "file:///etc/hostname"])
def test_urls_and_protocol_strings_are_refused(where: str) -> None:
    assert rejection(where) == "media_unsupported_type"
    assert rejection(Path(where)) == "media_unsupported_type"


def test_folders_and_missing_paths_are_refused(tmp_path: Path) -> None:
    assert rejection(tmp_path) == "media_unsupported_type"
    assert rejection(tmp_path / "missing.mp4") == "media_unsupported_type"


def test_video_longer_than_the_limit_is_rejected(videos: dict[str, Path]) -> None:
    with pytest.raises(MediaRejected) as caught:
        probe_video(videos["mp4"], Limits(max_video_seconds=1.5))

    assert caught.value.code == "media_video_too_long"
    assert caught.value.params == {"seconds": 2, "limit": 1}


def test_video_larger_than_the_limit_is_rejected(videos: dict[str, Path]) -> None:
    assert rejection(videos["mp4"], Limits(max_video_width=160, max_video_height=120)) == "media_video_too_big"


def test_portrait_limits_allow_the_same_pixels_as_landscape(videos: dict[str, Path]) -> None:
    assert probe_video(videos["mp4"], Limits(max_video_width=HEIGHT, max_video_height=WIDTH)).width == WIDTH


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_mp4_is_accepted_or_rejected_never_crashes(videos: dict[str, Path], tmp_path: Path,
                                                           data: st.DataObject) -> None:
    damaged = bytearray(videos["faststart"].read_bytes())
    for _ in range(data.draw(st.integers(1, 12), label="flips")):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    damaged = damaged[:data.draw(st.integers(8, len(damaged)), label="length")]
    target = tmp_path / "damaged.mp4"
    target.write_bytes(bytes(damaged))

    try:
        info = probe_video(target, Limits())
    except MediaRejected as rejected:
        assert rejected.code in {"media_undecodable", "media_no_video", "media_unsupported_type",
                                 "media_video_too_long", "media_video_too_big"}
    else:
        assert info.width > 0 and info.height > 0 and info.duration and info.duration > 0


# --- still frames -----------------------------------------------------------------


def test_thumbnail_is_the_frame_at_ten_percent(videos: dict[str, Path], tmp_path: Path) -> None:
    thumbnail = tmp_path / "thumb.jpg"

    video_thumbnail(videos["mp4"], thumbnail)

    with Image.open(thumbnail) as picture:
        assert picture.format == "JPEG"
        assert picture.size == (WIDTH, HEIGHT)  # already within 480x480: not enlarged
        assert frame_index(picture) == FRAMES // 10


def test_thumbnail_fits_the_box_and_carries_no_metadata(videos: dict[str, Path], tmp_path: Path) -> None:
    thumbnail = tmp_path / "thumb.jpg"

    video_thumbnail(videos["mp4"], thumbnail, max_w=160, max_h=160)

    with Image.open(thumbnail) as picture:
        assert picture.size == (160, 120)
        assert "exif" not in picture.info and not picture.getexif()
    assert [p.name for p in tmp_path.iterdir()] == ["thumb.jpg"]


@pytest.mark.parametrize(("fraction", "expected"), [(0.0, 0), (0.5, 25), (0.73, 36)])
def test_video_frame_is_the_picture_shown_at_that_moment(videos: dict[str, Path], fraction: float,
                                                        expected: int) -> None:
    picture = video_frame(videos["mp4"], fraction)  # frame 36 is shown from 1.44 s to 1.48 s

    assert picture.mode == "RGB"
    assert frame_index(picture) == expected


@pytest.mark.skipif(not HAS_VP9, reason="this FFmpeg build has no VP9 encoder")
def test_thumbnail_of_a_webm_is_the_frame_at_ten_percent(videos: dict[str, Path]) -> None:
    assert frame_index(video_frame(videos["webm"])) == FRAMES // 10


def test_video_frame_turns_a_phone_video_upright(videos: dict[str, Path]) -> None:
    picture = video_frame(videos["rotated"], 0.1)

    # Turned 90 degrees counter-clockwise: the top edge is now the left edge.
    assert picture.size == (HEIGHT, WIDTH)
    x, y = MARKER_CENTRE
    assert looks_like(picture.getpixel((y, WIDTH - 1 - x)), MAGENTA)


def test_video_frame_of_a_non_video_is_a_processing_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video", encoding="utf-8")

    with pytest.raises(MediaProcessingError):
        video_frame(text)


# --- renditions -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["contain", "cover", "stretch"])
@pytest.mark.parametrize("size", BOARD_SIZES, ids=[f"{w}x{h}" for w, h in BOARD_SIZES])
def test_rendition_is_h264_mp4_of_exactly_the_board_size(videos: dict[str, Path], tmp_path: Path,
                                                        size: tuple[int, int], mode: str) -> None:
    rendition = tmp_path / "board.mp4"

    transcode_video(videos["with_audio"], rendition, *size, Fit(mode=mode))

    info = probe_video(rendition, Limits())
    assert (info.format, info.video_codec, info.audio_codec) == ("mp4", "h264", None)
    assert (info.width, info.height) == size
    assert info.fps == pytest.approx(FPS)
    assert info.duration == pytest.approx(SECONDS, abs=0.1)
    with av.open(str(rendition)) as written:
        assert written.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert written.streams.video[0].frames == FRAMES


def test_rendition_is_faststart(videos: dict[str, Path], tmp_path: Path) -> None:
    rendition = tmp_path / "board.mp4"

    transcode_video(videos["mp4"], rendition, 960, 320, Fit())

    data = rendition.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")


def test_contain_letterboxes_in_the_background_colour(videos: dict[str, Path], tmp_path: Path) -> None:
    rendition = tmp_path / "board.mp4"

    transcode_video(videos["mp4"], rendition, 960, 320, Fit(mode="contain", background="#00C000"))

    picture = video_frame(rendition, 0.5)
    assert looks_like(picture.getpixel((40, 160)), (0, 192, 0))
    assert looks_like(picture.getpixel((920, 160)), (0, 192, 0))
    assert looks_like(picture.getpixel((480, 200)), GREY)  # the source sits in the middle, whole
    assert contains_marker(picture)


def test_cover_keeps_the_focal_point_in_the_frame(videos: dict[str, Path], tmp_path: Path) -> None:
    focal = Fit(mode="cover", focal_x=MARKER_CENTRE[0] / WIDTH, focal_y=MARKER_CENTRE[1] / HEIGHT)
    centred = tmp_path / "centred.mp4"
    on_marker = tmp_path / "marker.mp4"

    transcode_video(videos["mp4"], centred, 960, 320, Fit(mode="cover"))
    transcode_video(videos["mp4"], on_marker, 960, 320, focal)

    assert not contains_marker(video_frame(centred, 0.5))
    assert contains_marker(video_frame(on_marker, 0.5))


def test_stretch_shows_the_whole_source(videos: dict[str, Path], tmp_path: Path) -> None:
    rendition = tmp_path / "board.mp4"

    transcode_video(videos["mp4"], rendition, 768, 384, Fit(mode="stretch"))

    picture = video_frame(rendition, 0.5)
    x, y = MARKER_CENTRE
    assert looks_like(picture.getpixel((x * 768 // WIDTH, y * 384 // HEIGHT)), MAGENTA)
    assert looks_like(picture.getpixel((767, 383)), GREY)


def test_rendition_of_a_phone_video_is_upright(videos: dict[str, Path], tmp_path: Path) -> None:
    rendition = tmp_path / "board.mp4"

    transcode_video(videos["rotated"], rendition, 768, 384, Fit(mode="contain", background="#0000FF"))

    picture = video_frame(rendition, 0.5)
    # An upright 240x320 picture scaled to 288x384 in the middle, blue on both sides.
    assert looks_like(picture.getpixel((200, 192)), (0, 0, 255))
    assert looks_like(picture.getpixel((568, 192)), (0, 0, 255))
    assert looks_like(picture.getpixel((384, 10)), GREY)


def test_progress_rises_to_one(videos: dict[str, Path], tmp_path: Path) -> None:
    reported: list[float] = []

    transcode_video(videos["mp4"], tmp_path / "board.mp4", 768, 384, Fit(), reported.append)

    assert len(reported) > 10
    assert all(0.0 <= value <= 1.0 for value in reported)
    assert reported == sorted(reported)
    assert reported[-1] == pytest.approx(1.0)


def test_incomplete_source_leaves_no_file(videos: dict[str, Path], tmp_path: Path) -> None:
    whole = videos["faststart"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[:len(whole) * 6 // 10])
    out = tmp_path / "out"
    out.mkdir()

    with pytest.raises(MediaProcessingError):
        transcode_video(cut, out / "board.mp4", 768, 384, Fit())

    assert list(out.iterdir()) == []


def _stop_halfway(value: float) -> None:
    if value >= 0.5:
        raise KeyboardInterrupt("worker stopped")


@pytest.mark.parametrize("previous", [None, b"the last good rendition"])
def test_interrupted_transcode_leaves_dest_as_it_was(videos: dict[str, Path], tmp_path: Path,
                                                    previous: bytes | None) -> None:
    dest = tmp_path / "board.mp4"
    if previous is not None:
        dest.write_bytes(previous)

    with pytest.raises(KeyboardInterrupt):
        transcode_video(videos["mp4"], dest, 768, 384, Fit(), _stop_halfway)

    assert [p.name for p in tmp_path.iterdir()] == (["board.mp4"] if previous else [])
    if previous is not None:
        assert dest.read_bytes() == previous


@pytest.mark.parametrize("size", [(961, 320), (0, 320), (960, -2)])
def test_rendition_size_must_be_positive_and_even(videos: dict[str, Path], tmp_path: Path,
                                                 size: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        transcode_video(videos["mp4"], tmp_path / "board.mp4", *size, Fit())


def test_unknown_fit_mode_is_a_programming_error(videos: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        transcode_video(videos["mp4"], tmp_path / "board.mp4", 960, 320, Fit(mode="zoom"))


# --- placement geometry -------------------------------------------------------------

sizes = st.tuples(st.integers(16, 8000), st.integers(16, 8000))
focal_points = st.tuples(st.floats(0, 1), st.floats(0, 1))


@given(source=sizes, target=sizes)
def test_contain_fits_inside_and_is_centred(source: tuple[int, int], target: tuple[int, int]) -> None:
    where = placement(source, target, "contain")
    (width, height), (left, top) = where.scaled, where.offset

    assert where.pads and 0 < width <= target[0] and 0 < height <= target[1]
    assert width == target[0] or height == target[1]
    assert abs(left - (target[0] - width - left)) <= 1 and abs(top - (target[1] - height - top)) <= 1


@given(source=sizes, target=sizes, focal=focal_points)
def test_cover_fills_and_crops_around_the_focal_point(source: tuple[int, int], target: tuple[int, int],
                                                      focal: tuple[float, float]) -> None:
    where = placement(source, target, "cover", focal)
    (width, height), (left, top) = where.scaled, where.offset

    assert not where.pads and width >= target[0] and height >= target[1]
    assert 0 <= left <= width - target[0] and 0 <= top <= height - target[1]
    assert left - 1 <= focal[0] * width <= left + target[0] + 1
    assert top - 1 <= focal[1] * height <= top + target[1] + 1


def test_stretch_scales_straight_to_the_board() -> None:
    where = placement((320, 240), (960, 320), "stretch")

    assert (where.scaled, where.offset, where.pads) == ((960, 320), (0, 0), False)
