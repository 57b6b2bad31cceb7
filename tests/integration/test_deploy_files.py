"""The production files in deploy/ work with this release: gunicorn starts the app from
deploy/gunicorn.conf.py on 127.0.0.1 and answers; the environment example passes the
configuration checks and names nginx's internal location; every command the systemd
units run exists."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from itertools import takewhile
from pathlib import Path
from typing import Any

import requests

from cms.cli import main
from cms.config import load_config
from wordpress_site import free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_gunicorn_serves_the_app_with_the_shipped_settings(settings: Any, tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2", GUNICORN_THREADS="2",
               PANOLED_DATABASE__URL=settings.database_url, PANOLED_STORAGE__DATA_DIR=str(settings.data_dir))
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen([str(gunicorn), "-c", str(DEPLOY / "gunicorn.conf.py"), "cms:create_app()"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        answer = None
        for _ in range(150):
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30, proxies={"http": ""})
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200, server.poll()
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors.decode()[-2000:]
    assert "Booting worker" in errors.decode()


def test_the_environment_example_passes_the_checks_and_matches_nginx(tmp_path: Path) -> None:
    environ = {}
    for line in (DEPLOY / "panoled.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            environ[key] = value
    environ.pop("PANOLED_CONFIG")
    config = load_config(Path(__file__).resolve().parents[2] / "config.toml", environ=environ)
    assert config.web.https and config.web.trusted_proxies == 1
    nginx = (DEPLOY / "nginx" / "panoled.conf").read_text()
    location = re.search(r"location (\S+) \{\s*internal;\s*alias (\S+);", nginx)
    assert location is not None
    assert location.group(1) == config.storage.accel_redirect
    assert location.group(2).rstrip(";").rstrip("/") == str(config.data_dir)


def test_every_command_the_units_run_exists(runner: Any) -> None:
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in unit.read_text().splitlines():
            if not line.startswith(("ExecStart=", "ExecStartPre=")) or "/panoled " not in line:
                continue
            words = shlex.split(line.split("=", 1)[1].replace("sh -c '", "").rstrip("'"))
            start = next(i for i, word in enumerate(words) if word.endswith("/panoled"))
            command = list(takewhile(lambda word: not word.startswith("-"), words[start + 1:]))
            assert command, (unit.name, line)
            answer = runner.invoke(main, [*command, "--help"])
            assert answer.exit_code == 0, (unit.name, line, answer.output)
