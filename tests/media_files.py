"""Builders of real media files for the tests: pictures with Pillow, clips with PyAV."""
from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

from PIL import Image, ImageDraw


def png_bytes(width: int = 1200, height: int = 800, colour: tuple[int, int, int] = (20, 120, 60)) -> bytes:
    image = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(image).rectangle((width // 3, height // 3, 2 * width // 3, 2 * height // 3), fill=(240, 200, 30))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(width: int = 1600, height: int = 900, colour: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def mp4_file(path: Path, seconds: float = 2.0, width: int = 320, height: int = 240, fps: int = 25) -> Path:
    """A short H.264 clip whose colour changes over time."""
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for index in range(int(seconds * fps)):
            shade = int(255 * index / max(1, seconds * fps - 1))
            array = np.zeros((height, width, 3), dtype=np.uint8)
            array[:, :, 0], array[:, :, 2] = shade, 255 - shade
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
