"""Panoled's own processes started by a test on 127.0.0.1, as production runs them:
`panoled scheduler run`, gunicorn with deploy/gunicorn.conf.py, `panoled simulator run`.
Each writes its output to a log file in the test's folder, shown when a wait fails,
and every process is stopped (SIGTERM, then SIGKILL) when the test ends."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

BIN = Path(sys.executable).parent
DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def wait_for(what: str, check: Callable[[], bool], seconds: float, logs: Callable[[], str] | None = None) -> float:
    """Polls until `check()`; returns how long it took, fails after `seconds` (with the logs)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            pytest.fail(f"{what}: not within {seconds} s\n{logs() if logs else ''}")
        time.sleep(0.2)
    return time.monotonic() - started


def answers(url: str, verify: bool | str = True) -> bool:
    try:
        return requests.get(url, timeout=2, verify=verify).status_code == 200
    except requests.RequestException:
        return False


def sign_in(base: str, email: str, verify: bool | str = True) -> requests.Session:
    """A person signed in through the login form (CSRF token and all), as a browser would."""
    from conftest import STRONG_PASSWORD, csrf_token

    http = requests.Session()
    http.trust_env = False  # 127.0.0.1 only: no proxy, and no CA bundle from the environment overriding `verify`
    http.verify = verify
    token = csrf_token(http.get(f"{base}/login", timeout=30).text)
    # A browser names the page a form was sent from; over HTTPS, Flask-WTF refuses a form without it.
    answer = http.post(f"{base}/login", data={"csrf_token": token, "email": email, "password": STRONG_PASSWORD},
                       headers={"Referer": f"{base}/login"}, timeout=30)
    assert answer.status_code == 200 and answer.url == f"{base}/", (answer.status_code, answer.text[:500])
    return http


class Processes:
    """Named processes sharing one environment: the test's database and data folder."""

    def __init__(self, config: Any, tmp_path: Path, **settings: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PANOLED_")} | {
            "PANOLED_DATABASE__URL": config.database_url, "PANOLED_STORAGE__DATA_DIR": str(config.data_dir)} | settings
        self.tmp_path, self.processes = tmp_path, {}

    def start(self, name: str, command: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(command, env=self.env | env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def scheduler(self, name: str, media_workers: int = 0) -> subprocess.Popen[bytes]:
        return self.start(name, [str(BIN / "panoled"), "scheduler", "run", "--name", name,
                                 "--media-workers", str(media_workers)])

    def gunicorn(self, name: str, port: int, workers: int, threads: int = 4) -> subprocess.Popen[bytes]:
        return self.start(name, [str(BIN / "gunicorn"), "-c", str(DEPLOY / "gunicorn.conf.py"), "cms:create_app()"],
                          GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS=str(workers),
                          GUNICORN_THREADS=str(threads))

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def logs(self, *names: str, tail: int = 3000) -> Callable[[], str]:
        return lambda: "\n".join(f"--- {name} ---\n{self.log(name)[-tail:]}" for name in names)

    def kill(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait(timeout=10)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> int:
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)
