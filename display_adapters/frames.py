"""Pictures of what a simulated board shows, at the board's pixel size.

A picture rendition is shown as it is (scaled when its size differs); a video
shows its frame at the moment of the play (PyAV); anything the board cannot show
(no file yet, undecodable) becomes a placeholder naming the asset. PNG bytes out.
"""
from __future__ import annotations

import io
import unicodedata
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (8, 10, 12)
TEXT = (235, 235, 235)
DIM = (130, 130, 130)


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    candidates = ["DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]
    try:
        import matplotlib

        candidates.insert(0, str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"))
    except ImportError:
        pass
    for candidate in candidates:
        try:
            return ImageFont.truetype(candidate, size, layout_engine=ImageFont.Layout.BASIC)
        except OSError:
            continue
    return ImageFont.load_default(size)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)  # shown for a moment: speed over size
    return out.getvalue()


def placeholder(size: tuple[int, int], title: str, detail: str = "") -> Image.Image:
    """A dark board with `title` (the asset's name) and a smaller line of detail."""
    width, height = size
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    title = unicodedata.normalize("NFC", title)
    px = max(10, min(height // 6, width // max(len(title), 1) * 2))
    font = _font(px)
    while px > 10 and draw.textlength(title, font=font) > width * 0.9:
        px = max(10, int(px * 0.85))
        font = _font(px)
    draw.text((width / 2, height / 2), title, fill=TEXT, font=font, anchor="mm")
    if detail:
        small = _font(max(9, px // 2))
        draw.text((width / 2, height / 2 + px), unicodedata.normalize("NFC", detail), fill=DIM, font=small, anchor="ma")
    return image


def still(path: Path, size: tuple[int, int]) -> Image.Image:
    """A picture file at the board's size; OSError/ValueError when it is not a picture."""
    with Image.open(path) as opened:
        opened.load()
        image = opened.convert("RGB")
    return image if image.size == size else image.resize(size, Image.Resampling.BILINEAR)


def video_frame(path: Path, seconds: float, size: tuple[int, int]) -> Image.Image:
    """The frame shown `seconds` into a video (the last one when it is shorter)."""
    import av

    with av.open(str(path), mode="r", options={"protocol_whitelist": "file"}) as container:
        stream = container.streams.video[0]
        if seconds > 0 and stream.time_base:
            container.seek(int(seconds / stream.time_base), stream=stream, backward=True, any_frame=False)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is None or frame.time >= seconds:
                break
        if chosen is None:
            raise ValueError("no frame could be decoded")
        image = chosen.to_image().convert("RGB")
    return image if image.size == size else image.resize(size, Image.Resampling.BILINEAR)


def render(path: Path | None, kind: str, seconds: float, size: tuple[int, int], name: str) -> Image.Image:
    """What the board shows of one asset `seconds` into its play."""
    if path is not None and path.is_file():
        try:
            if kind == "video":
                return video_frame(path, seconds, size)
            return still(path, size)
        except Exception as error:  # noqa: BLE001 - any decoding failure shows as a placeholder, as a board would
            return placeholder(size, name, f"cannot show: {type(error).__name__}")
    return placeholder(size, name, "not downloaded" if path is None else "missing file")
