"""The shipped nginx configuration (deploy/nginx/panoled.conf) in front of gunicorn on
127.0.0.1, with a throwaway certificate: nginx accepts the file as shipped (only ports,
certificate paths, the upstream and the data folder are changed), plain HTTP is sent to
HTTPS, a person signs in through the form over HTTPS, an upload streams through, and a
stored file is served by nginx after the app authorised the request (X-Accel-Redirect),
with Range, nosniff and the sandboxing CSP; a refused request gets no file, and the
internal location cannot be asked for from outside.

Needs nginx (`apt-get install nginx-light`, done by .ci/run): skipped without it on a
developer's machine, failed without it in CI."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import Accounts
from media_files import png_bytes
from processes import DEPLOY, Processes, answers, sign_in, wait_for
from wordpress_site import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ACCEL = "/_panoled_files/"


def shipped_config(upstream: int, http_port: int, https_port: int, certificate: Path, key: Path, data_dir: Path) -> str:
    """deploy/nginx/panoled.conf with this machine's ports, certificate and data folder, nothing else changed."""
    text = (DEPLOY / "nginx" / "panoled.conf").read_text()
    for old, new in (("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};"),
                     ("listen 80;", f"listen 127.0.0.1:{http_port};"),
                     ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
                     ("/etc/ssl/panoled/fullchain.pem", str(certificate)),
                     ("/etc/ssl/panoled/privkey.pem", str(key)),
                     ("alias /var/lib/panoled/;", f"alias {data_dir}/;")):
        assert text.count(old) == 1, f"deploy/nginx/panoled.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture
def nginx_site(settings: Any, tmp_path: Path) -> Iterator[tuple[str, str, Processes]]:
    """(https base, http base, processes): nginx with the shipped site before gunicorn."""
    if not os.access(NGINX, os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing: .ci/run installs it (apt-get install nginx-light)")
        pytest.skip("nginx is not installed: apt-get install nginx-light")
    folder = tmp_path / "nginx"
    for sub in ("logs", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / sub).mkdir(parents=True)
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True, timeout=60)
    upstream, http_port, https_port = free_port(), free_port(), free_port()
    site = shipped_config(upstream, http_port, https_port, certificate, key, settings.data_dir)
    # Run as whoever runs the tests (root in CI keeps root: the test's folders are private to it).
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/logs/error.log;\nevents {{}}\n"
        f"http {{\n include /etc/nginx/mime.types;\n access_log {folder}/logs/access.log;\n"
        f" client_body_temp_path {folder}/body;\n proxy_temp_path {folder}/proxy;\n"
        f" fastcgi_temp_path {folder}/fastcgi;\n uwsgi_temp_path {folder}/uwsgi;\n scgi_temp_path {folder}/scgi;\n"
        f"{site}\n}}\n")
    checked = subprocess.run([NGINX, "-t", "-p", str(folder), "-e", str(folder / "logs" / "error.log"),
                              "-c", str(folder / "nginx.conf")], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    processes = Processes(settings, tmp_path, PANOLED_STORAGE__ACCEL_REDIRECT=ACCEL, PANOLED_WEB__HTTPS="true",
                          PANOLED_WEB__TRUSTED_PROXIES="1")
    processes.gunicorn("web", upstream, workers=2, threads=4)
    processes.start("nginx", [NGINX, "-p", str(folder), "-e", str(folder / "logs" / "error.log"),
                              "-c", str(folder / "nginx.conf"), "-g", "daemon off;"])
    base = f"https://127.0.0.1:{https_port}"
    try:
        wait_for("nginx and gunicorn answer", lambda: answers(f"{base}/healthz", verify=str(certificate)), 120,
                 processes.logs("web", "nginx"))
        yield base, f"http://127.0.0.1:{http_port}", processes
    finally:
        processes.stop_all()
    assert "[emerg]" not in (folder / "logs" / "error.log").read_text()


def test_nginx_serves_stored_files_only_after_the_app_authorised_them(
        nginx_site: tuple[str, str, Processes], settings: Any, accounts: Accounts, imported_plan: Any,
        tmp_path: Path) -> None:
    base, plain, _processes = nginx_site
    certificate = str(tmp_path / "nginx" / "cert.pem")
    redirect = requests.get(f"{plain}/login", allow_redirects=False, timeout=10)
    assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")

    poster = png_bytes(1600, 900)
    upload = requests.post(f"{base}/api/v1/media?campaign_id=4&filename=poster.png", data=poster, timeout=60,
                           verify=certificate, headers=accounts.token("editor") | {
                               "Content-Type": "application/octet-stream"})
    assert upload.status_code == 201, upload.text
    asset = upload.json()["id"]

    accounts.create("auditor", "auditor@example.org")
    staff = sign_in(base, "auditor@example.org", verify=certificate)
    assert staff.cookies.get_dict() and all(cookie.secure for cookie in staff.cookies)
    original = staff.get(f"{base}/media/{asset}/file/original", timeout=30)
    assert original.status_code == 200
    assert hashlib.sha256(original.content).hexdigest() == hashlib.sha256(poster).hexdigest()
    assert original.headers["Content-Type"] == "image/png"
    assert original.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in original.headers["Content-Security-Policy"]
    assert "X-Accel-Redirect" not in original.headers  # nginx acted on it and kept it to itself

    part = staff.get(f"{base}/media/{asset}/file/original", headers={"Range": "bytes=0-99"}, timeout=30)
    assert part.status_code == 206 and part.content == poster[:100]
    again = staff.get(f"{base}/media/{asset}/file/original", headers={"If-None-Match": original.headers["ETag"]},
                      timeout=30)
    assert again.status_code == 304

    stranger = requests.get(f"{base}/media/{asset}/file/original", allow_redirects=False, timeout=30,
                            verify=certificate)
    assert stranger.status_code in (302, 401, 403) and poster[:8] not in stranger.content
    stored = sorted(p for p in settings.data_dir.rglob("*") if p.is_file() and p.read_bytes() == poster)
    assert stored, "the upload is in the data folder"
    inside = str(stored[0].relative_to(settings.data_dir))
    for path in (f"{ACCEL}{inside}", f"/{inside}", f"/%2F_panoled_files/{inside}"):
        direct = requests.get(f"{base}{path}", allow_redirects=False, timeout=30, verify=certificate)
        assert direct.status_code in (302, 401, 403, 404) and poster[:8] not in direct.content, path
    log = (tmp_path / "nginx" / "logs" / "access.log").read_text()
    assert re.search(rf'"GET /media/{asset}/file/original HTTP/1.1" 200 {len(poster)} ', log), log[-2000:]
