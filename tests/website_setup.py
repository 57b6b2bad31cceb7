"""Shared setup for the website tests: an approved, described poster, the people who
write and approve posts, and a post approved by another person."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

import media_files
from cms.extensions import db
from cms.models import MediaAsset, WebPost
from cms.services import website
from cms.services.audit import Actor
from cms.services.derivatives import work_until_idle

CAMPAIGN = 4  # World Environment Day 2024 in the imported plan


def poster_on_campaign(client: FlaskClient, app: Flask, editor: dict[str, str], approver: dict[str, str], seed: int,
                       alt: str = "Áp phích Giờ Trái Đất 2024") -> int:
    """An approved poster of CAMPAIGN with alt text, its derivatives made."""
    asset = client.post(f"/api/v1/media?campaign_id={CAMPAIGN}&filename=poster-{seed}.png",
                        data=media_files.png_bytes(colour=(20 + seed * 40 % 200, 120, 60)),
                        headers=editor | {"Content-Type": "application/octet-stream"}).get_json()["id"]
    with app.app_context():
        work_until_idle(app.config["PANOLED"])
        db.session.get(MediaAsset, asset).alt_text = alt
        db.session.commit()
    client.post(f"/api/v1/media/{asset}/transitions", headers=editor, json={"to": "pending"})
    assert client.post(f"/api/v1/media/{asset}/transitions", headers=approver, json={"to": "approved"}).status_code == 200
    return asset


def people(app: Flask, accounts: Any) -> tuple[Actor, Actor]:
    """The editor who writes posts and the approver who reviews them."""
    from cms.models import User

    editor_id, approver_id = accounts.ensure("editor"), accounts.ensure("approver")
    with app.app_context():
        return Actor.of(db.session.get(User, editor_id)), Actor.of(db.session.get(User, approver_id))


def approved(title: str, summary: str, body: str, media: list[int], writer: Actor, reviewer: Actor,
             now: datetime) -> WebPost:
    """A post written, submitted and approved by another person (inside an app context)."""
    post = website.save_post(None, CAMPAIGN, title, summary, body, media, writer)
    website.move(post, "pending", writer, now)
    website.move(post, "approved", reviewer, now)
    return post


def bundle(answer: Any) -> tuple[list[str], dict[str, str]]:
    """The names in an "export for the portal" zip and the text of its pages."""
    import io
    import zipfile

    assert answer.status_code == 200 and answer.mimetype == "application/zip", answer.status_code
    with zipfile.ZipFile(io.BytesIO(answer.get_data())) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        texts = {name: archive.read(name).decode("utf-8") for name in names if name.endswith((".html", ".txt"))}
    return names, texts
