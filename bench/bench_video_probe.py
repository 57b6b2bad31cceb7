"""How long `media.video.probe_video` takes on a typical upload: a 60 s 1280x720 H.264 MP4.

Run with `.venv/bin/python bench/bench_video_probe.py`. The clip is made once in
$TMPDIR/panoled-bench (about a minute on two cores) and reused by later runs; delete
it to make it again. It is then probed 20 times after one warm-up; the target is a
median under 50 ms, since probing runs inside the upload request.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from media.types import Limits
from media.video import probe_video

WIDTH, HEIGHT, FPS, SECONDS = 1280, 720, 25, 60
RUNS = 20
TARGET_MS = 50.0
CLIP_DIR = Path(tempfile.gettempdir()) / "panoled-bench"


def make_clip(path: Path) -> None:
    """Colour bands sliding sideways with a white square crossing them; fast preset, low CRF."""
    bands = _bands(WIDTH + 256)
    written = path.with_suffix(".part")
    with av.open(str(written), "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=FPS, options={"preset": "fast", "crf": "18"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(FPS * SECONDS):
            shift = (index * 4) % 256
            picture = bands[:, shift:shift + WIDTH].copy()
            left = (index * 7) % (WIDTH - 120)
            picture[300:420, left:left + 120] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    written.replace(path)


def _bands(width: int) -> np.ndarray:
    x = np.arange(width, dtype=np.uint16)[None, :]
    y = np.arange(HEIGHT, dtype=np.uint16)[:, None]
    picture = np.empty((HEIGHT, width, 3), dtype=np.uint8)
    picture[..., 0] = x % 256
    picture[..., 1] = y * 255 // HEIGHT
    picture[..., 2] = ((x + y) // 2) % 256
    return picture


def time_probes(path: Path) -> list[float]:
    probe_video(path, Limits())  # warm-up: codec tables, page cache
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        probe_video(path, Limits())
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> int:
    clip = CLIP_DIR / "clip-720p-60s.mp4"
    if not clip.exists():  # made once, kept for later runs
        CLIP_DIR.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        make_clip(clip)
        print(f"made {clip}: {clip.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
    info = probe_video(clip, Limits())
    print(f"probe: {info.format} {info.video_codec} {info.width}x{info.height} "
          f"{info.duration:.2f} s at {info.fps:g} fps, {clip.stat().st_size / 1e6:.1f} MB")
    timings = sorted(time_probes(clip))
    median = statistics.median(timings)
    p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
    verdict = "within" if median <= TARGET_MS else "OVER"
    print(f"probe_video over {RUNS} runs: median {median:.1f} ms, p95 {p95:.1f} ms, "
          f"min {timings[0]:.1f} ms, max {timings[-1]:.1f} ms ({verdict} the {TARGET_MS:.0f} ms target)")
    return 0 if median <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
