"""Upload throughput and memory: a 1 GB videoclip through the running app vs a raw disk copy.

Starts `panoled run` on 127.0.0.1 in a child process with a throwaway data folder,
creates an editor and an API token, builds a valid 1 GB MP4 (a short real clip plus
a 1 GB `free` box, which players skip), then:
  - copies the file in 4 MiB blocks with fsync (the raw disk copy, same filesystem);
  - uploads it as the raw body of POST /api/v1/media (streamed by requests);
and prints both rates, their ratio (target >= 70 %), and the server's peak memory
(VmHWM) before and after the upload (target: flat, i.e. not growing with the file).

    .venv/bin/python bench/bench_upload.py [--size-mb 1024]
"""
from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import media_files  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("panoled")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def big_mp4(path: Path, size_mb: int) -> None:
    media_files.mp4_file(path, seconds=1.0)
    padding = size_mb * 1024 * 1024
    chunk = b"\0" * (8 * 1024 * 1024)
    with path.open("ab") as out:
        out.write(struct.pack(">I4sQ", 1, b"free", padding + 16))  # 64-bit box size
        written = 0
        while written < padding:
            out.write(chunk[: min(len(chunk), padding - written)])
            written += min(len(chunk), padding - written)


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run(size_mb: int) -> None:
    with tempfile.TemporaryDirectory(dir=REPO / "var" if (REPO / "var").exists() else None) as folder:
        work = Path(folder)
        env = dict(os.environ, PANOLED_STORAGE__DATA_DIR=str(work / "data"), PANOLED_DATABASE__URL="",
                   PANOLED_MEDIA__WORKERS="0")
        subprocess.run([str(EXE), "init"], env=env, check=True, capture_output=True)
        subprocess.run([str(EXE), "plan", "import", str(REPO / "cms/demo/ke-hoach-81-KH-STNMT-2024.txt")],
                       env=env, check=True, capture_output=True)
        subprocess.run([str(EXE), "user", "add", "bench@example.org", "--role", "editor", "--password-stdin"],
                       env=env, input="do-thi-xanh-sach-dep-2024\n", text=True, check=True, capture_output=True)
        token = subprocess.run([str(EXE), "token", "create", "bench@example.org", "--name", "bench"], env=env,
                               check=True, capture_output=True, text=True).stdout.strip()
        clip = work / "clip.mp4"
        big_mp4(clip, size_mb)
        size = clip.stat().st_size

        # The raw copy reads and writes every byte through user space, as an upload must,
        # and ends with fsync like the upload. (shutil.copyfile may hand the work to the
        # kernel's copy_file_range, which on some filesystems writes no data at all.)
        started = time.perf_counter()
        with clip.open("rb") as source, (work / "copy.mp4").open("wb") as target:
            shutil.copyfileobj(source, target, 4 * 1024 * 1024)
            target.flush()
            os.fsync(target.fileno())
        copy_seconds = time.perf_counter() - started
        (work / "copy.mp4").unlink()

        port = free_port()
        server = subprocess.Popen([str(EXE), "run", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            before = peak_kib(server.pid)
            started = time.perf_counter()
            # http.client with 1 MiB blocks: requests would send the file 8 KiB at a time.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=1024 * 1024)
            with clip.open("rb") as body:
                connection.request("POST", "/api/v1/media?campaign_id=1&filename=clip.mp4", body=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream",
                    "Content-Length": str(size)})
                answer = connection.getresponse()
                status, text = answer.status, answer.read().decode("utf-8", "replace")
            connection.close()
            os.sync()
            upload_seconds = time.perf_counter() - started
            after = peak_kib(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        if status != 201:
            raise SystemExit(f"upload failed: {status} {text[:300]}")
        mb = size / 1024 / 1024
        print(f"file: {mb:.0f} MB (valid MP4)")
        print(f"raw disk copy:  {copy_seconds:6.2f} s  {mb / copy_seconds:7.1f} MB/s")
        print(f"upload via app: {upload_seconds:6.2f} s  {mb / upload_seconds:7.1f} MB/s  "
              f"(stream to disk + sha256 + probe + row)")
        print(f"ratio: {copy_seconds / upload_seconds * 100:.0f} % of the raw copy (target >= 70 %)")
        print(f"server peak memory: {before / 1024:.0f} MB before, {after / 1024:.0f} MB after "
              f"(+{(after - before) / 1024:.0f} MB for a {mb:.0f} MB upload; target: flat)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    run(parser.parse_args().size_mb)
