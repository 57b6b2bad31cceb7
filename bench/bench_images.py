"""How long a board rendition of a 24-megapixel camera JPEG takes (target: 150 ms).

Run: .venv/bin/python bench/bench_images.py
Generates a 6000x4000 JPEG (gradient plus noise, quality 90, about the size a
camera writes) in a temporary folder and times `render_image` in cover mode, with
the time the JPEG decode alone takes at the reduced scale used, for comparison.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from media.images import render_image
from media.types import Fit

SOURCE_SIZE = (6000, 4000)
TARGETS = [(768, 384), (1920, 1080)]
RUNS = 5
TARGET_MS = 150.0


def make_photo(path: Path) -> None:
    width, height = SOURCE_SIZE
    y, x = np.mgrid[0:height, 0:width]
    channels = [x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)]
    gradient = np.stack(channels, axis=-1)
    noise = np.random.default_rng(2024).integers(-20, 21, gradient.shape)
    pixels = np.clip(gradient + noise, 0, 255).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(path, "JPEG", quality=90)


def median_ms(src: Path, dest: Path, size: tuple[int, int]) -> float:
    render_image(src, dest, *size, Fit(mode="cover"))  # warm-up: file cache, lazy imports
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        render_image(src, dest, *size, Fit(mode="cover"))
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def decode_ms(src: Path, size: tuple[int, int]) -> float:
    """The part no resampling choice can remove: decoding at the scale the rendition uses."""
    scale = max(size[0] / SOURCE_SIZE[0], size[1] / SOURCE_SIZE[1])
    needed = (round(SOURCE_SIZE[0] * scale), round(SOURCE_SIZE[1] * scale))
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        with Image.open(src) as im:
            im.draft(None, needed)
            im.load()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        src, dest = Path(folder) / "photo.jpg", Path(folder) / "rendition.jpg"
        make_photo(src)
        print(f"source: {SOURCE_SIZE[0]}x{SOURCE_SIZE[1]} JPEG, {src.stat().st_size / 1e6:.1f} MB")
        for size in TARGETS:
            ms = median_ms(src, dest, size)
            verdict = "ok" if ms <= TARGET_MS else "over"
            print(f"cover {size[0]}x{size[1]}: median of {RUNS} = {ms:.0f} ms "
                  f"(target {TARGET_MS:.0f} ms: {verdict}; "
                  f"decoding alone {decode_ms(src, size):.0f} ms)")


if __name__ == "__main__":
    main()
