"""Behind nginx (`storage.accel_redirect`): after the app authorises a request for a stored
file it answers with an X-Accel-Redirect to nginx's internal location instead of the bytes;
a request it refuses gets no such header, so nginx never serves a file the app did not allow."""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Any
from urllib.parse import unquote

from flask import Flask

from cms import create_app
from cms.config import StorageConfig
from cms.extensions import db
from cms.models import MediaAsset
from cms.services import website
from conftest import STRONG_PASSWORD, csrf_token
from website_setup import people, poster_on_campaign

PREFIX = "/_panoled_files/"


def test_stored_files_go_through_nginx_only_once_authorised(app: Flask, client: Any, accounts: Any,
                                                          imported_plan: Any, settings: Any) -> None:
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 1)
    writer, _reviewer = people(app, accounts)
    with app.app_context():
        asset = db.session.get(MediaAsset, poster)
        website.set_web_public(asset, True, writer)
        db.session.commit()
        token, sha256 = asset.web_token, asset.sha256
    behind = create_app(dataclasses.replace(settings, storage=StorageConfig(
        data_dir=settings.storage.data_dir, accel_redirect=PREFIX)), {"TESTING": True})
    try:
        visitor = behind.test_client()
        refused = visitor.get(f"/media/{poster}/file/original")
        assert refused.status_code == 302 and "X-Accel-Redirect" not in refused.headers

        staff = behind.test_client()
        page = staff.get("/login")
        assert staff.post("/login", data={"email": "editor@example.org", "password": STRONG_PASSWORD,
                                          "csrf_token": csrf_token(page)}).status_code == 302
        answer = staff.get(f"/media/{poster}/file/original")
        assert answer.status_code == 200 and answer.get_data() == b""
        target = settings.data_dir / unquote(answer.headers["X-Accel-Redirect"].removeprefix(PREFIX))
        assert answer.headers["X-Accel-Redirect"].startswith(PREFIX) and target.is_file()
        assert hashlib.sha256(target.read_bytes()).hexdigest() == sha256
        assert answer.headers["Content-Type"] == "image/png" and answer.headers["ETag"]
        again = staff.get(f"/media/{poster}/file/original", headers={"If-None-Match": answer.headers["ETag"]})
        assert again.status_code == 304

        public = visitor.get(f"/public/media/{token}/w480.jpg")
        assert public.status_code == 200 and public.headers["X-Accel-Redirect"].startswith(PREFIX + "web/")
        with behind.app_context():
            db.session.get(MediaAsset, poster).status = "archived"
            db.session.commit()
        gone = visitor.get(f"/public/media/{token}/w480.jpg")
        assert gone.status_code == 404 and "X-Accel-Redirect" not in gone.headers
    finally:
        with behind.app_context():
            db.engine.dispose()
