"""The media library as comms staff and approvers use it: uploads that are all or
nothing, renditions at the boards' pixel sizes, approval rules, and authorised files."""
from __future__ import annotations

import io
import struct
import unicodedata
import zlib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

import media_files
from conftest import Accounts, csrf_token
from cms.extensions import db
from cms.models import MediaAsset
from cms.services.derivatives import work_until_idle


def upload(client, headers: dict[str, str], data: bytes, filename: str, campaign_id: int = 1, **params: str):  # type: ignore[no-untyped-def]
    query = "&".join(f"{k}={v}" for k, v in {"campaign_id": str(campaign_id), "filename": filename, **params}.items())
    return client.post(f"/api/v1/media?{query}", headers=headers | {"Content-Type": "application/octet-stream"}, data=data)


def stored_files(app: Flask) -> list[Path]:
    root = app.config["PANOLED"].data_dir / "media"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def asset_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(MediaAsset))


def make_derivatives(app: Flask) -> int:
    with app.app_context():
        return work_until_idle(app.config["PANOLED"])


def png_with_php() -> bytes:
    return media_files.png_bytes(64, 64) + b"<?php system($_GET['c']); ?>"


def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def decompression_bomb() -> bytes:
    image = Image.new("1", (12000, 12000), 0)  # 144 Mpx, a few kB compressed
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


@pytest.fixture
def editor(accounts: Accounts, imported_plan: Any) -> dict[str, str]:
    return accounts.token("editor")


def test_a_poster_upload_is_stored_under_a_generated_name_and_kept_once(client, app: Flask, editor) -> None:
    first = upload(client, editor, media_files.png_bytes(), "Áp phích Giờ Trái đất.png")
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["kind"], body["status"], body["width"], body["height"], body["duplicate"]) == ("poster", "draft", 1200, 800, False)
    assert body["display_name"] == "Áp phích Giờ Trái đất.png"
    again = upload(client, editor, media_files.png_bytes(), "copy.png")
    assert again.status_code == 200 and again.get_json()["duplicate"] is True and again.get_json()["id"] == body["id"]
    files = stored_files(app)
    assert len(files) == 1 and "Áp" not in str(files[0]) and files[0].suffix == ".png"
    assert asset_count(app) == 1


@pytest.mark.parametrize("data, filename, code", [
    (b"", "empty.png", "media_empty"),
    (png_with_php(), "poster.png", "media_trailing_data"),
    (SVG, "logo.svg", "media_unsupported_type"),
    (png_claiming(30000, 30000), "huge.png", "media_too_many_pixels"),
    (b"%PDF-1.7\n1 0 obj\n", "plan.pdf", "media_unsupported_type"),
    (media_files.jpeg_bytes(200, 100)[:-400], "cut.jpg", "media_undecodable"),
])
def test_a_hostile_file_is_refused_with_its_reason_and_leaves_nothing(client, app: Flask, editor, data: bytes,
                                                                       filename: str, code: str) -> None:
    response = upload(client, editor, data, filename)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    assert stored_files(app) == [] and asset_count(app) == 0


def test_a_decompression_bomb_is_refused(client, app: Flask, editor) -> None:
    response = upload(client, editor, decompression_bomb(), "bomb.png")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] in {"media_too_many_pixels", "media_undecodable"}
    assert stored_files(app) == [] and asset_count(app) == 0


def test_a_truncated_mp4_is_refused(client, app: Flask, editor, tmp_path: Path) -> None:
    clip = media_files.mp4_file(tmp_path / "clip.mp4").read_bytes()
    response = upload(client, editor, clip[: len(clip) * 2 // 5], "clip.mp4")
    assert response.status_code == 422 and response.get_json()["error"]["code"].startswith("media_")
    assert stored_files(app) == [] and asset_count(app) == 0


def test_a_picture_named_like_a_video_is_refused(client, app: Flask, editor) -> None:
    response = upload(client, editor, media_files.jpeg_bytes(), "clip.mp4")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "media_name_mismatch"
    assert stored_files(app) == []


@pytest.mark.parametrize("filename, shown", [
    ("../../etc/passwd.png", "passwd.png"),
    ("..\\..\\windows\\win.ini.png", "win.ini.png"),
    (unicodedata.normalize("NFD", "Áp phích môi trường.png"), "Áp phích môi trường.png"),
])
def test_odd_file_names_are_shown_safely_and_stored_under_generated_names(client, app: Flask, editor, filename: str,
                                                                         shown: str) -> None:
    from urllib.parse import quote

    response = upload(client, editor, media_files.png_bytes(300, 200), quote(filename))
    assert response.status_code == 201
    assert response.get_json()["display_name"] == shown
    assert unicodedata.is_normalized("NFC", response.get_json()["display_name"])
    root = app.config["PANOLED"].data_dir / "media"
    assert all(root in p.parents for p in stored_files(app))
    assert not (app.config["PANOLED"].data_dir.parent / "etc").exists()


def test_renditions_have_exactly_each_boards_pixel_size(client, app: Flask, editor) -> None:
    asset_id = upload(client, editor, media_files.jpeg_bytes(1600, 900), "poster.jpg").get_json()["id"]
    assert make_derivatives(app) == 4
    body = client.get(f"/api/v1/media/{asset_id}", headers=editor).get_json()
    assert [d["state"] for d in body["derivatives"]] == ["done"] * 4
    for key, size in {"1920x1080": (1920, 1080), "960x320": (960, 320), "768x384": (768, 384)}.items():
        rendition = client.get(f"/media/{asset_id}/file/rendition/{key}", headers=editor)
        assert rendition.status_code in (302, 401)  # the web route needs a signed-in session, not a token
    accounts_client_login(client, app)
    for key, size in {"1920x1080": (1920, 1080), "960x320": (960, 320), "768x384": (768, 384)}.items():
        rendition = client.get(f"/media/{asset_id}/file/rendition/{key}")
        assert rendition.status_code == 200
        assert Image.open(io.BytesIO(rendition.data)).size == size
        preview = client.get(f"/media/{asset_id}/file/preview/{key}")
        assert preview.status_code == 200 and preview.mimetype == "image/png"
        assert Image.open(io.BytesIO(preview.data)).size[0] > size[0] or size[0] >= 1920


def accounts_client_login(client, app: Flask) -> None:  # type: ignore[no-untyped-def]
    Accounts(app, client).login("auditor")


def test_a_video_gets_a_thumbnail_and_h264_renditions(client, app: Flask, editor, tmp_path: Path) -> None:
    import av

    clip = media_files.mp4_file(tmp_path / "clip.mp4", seconds=1.0).read_bytes()
    body = upload(client, editor, clip, "Videoclip 4R.mp4").get_json()
    assert (body["kind"], body["video_codec"], body["width"], body["height"]) == ("video", "h264", 320, 240)
    make_derivatives(app)
    accounts_client_login(client, app)
    rendition = client.get(f"/media/{body['id']}/file/rendition/960x320")
    path = tmp_path / "out.mp4"
    path.write_bytes(rendition.data)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 960, 320)


def test_files_are_served_with_etag_range_and_nosniff_to_signed_in_people_only(client, app: Flask, editor) -> None:
    asset_id = upload(client, editor, media_files.png_bytes(), "poster.png").get_json()["id"]
    assert client.get(f"/media/{asset_id}/file/original").status_code == 302
    accounts_client_login(client, app)
    whole = client.get(f"/media/{asset_id}/file/original")
    assert whole.status_code == 200 and whole.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in whole.headers["Content-Security-Policy"]
    assert client.get(f"/media/{asset_id}/file/original", headers={"If-None-Match": whole.headers["ETag"]}).status_code == 304
    part = client.get(f"/media/{asset_id}/file/original", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.data) == 100 and part.data == whole.data[:100]
    assert client.get(f"/media/{asset_id}/file/secret").status_code == 404


def test_nobody_approves_their_own_upload(client, app: Flask, accounts: Accounts, imported_plan) -> None:
    approver = accounts.token("approver")
    asset_id = upload(client, approver | {}, media_files.png_bytes(), "own.png").get_json().get("id")
    assert asset_id is None  # an approver may not upload at all
    editor_headers = accounts.token("editor")
    asset_id = upload(client, editor_headers, media_files.png_bytes(), "p.png").get_json()["id"]
    make_derivatives(app)
    go = lambda headers, to, reason="": client.post(f"/api/v1/media/{asset_id}/transitions", headers=headers, json={"to": to, "reason": reason})  # noqa: E731
    assert go(editor_headers, "approved").status_code == 409
    assert go(editor_headers, "pending").get_json()["status"] == "pending"
    admin_id = accounts.create("admin", "boss@example.org")
    from cms.services.media import get_asset
    with app.app_context():
        asset = get_asset(asset_id)
        asset.uploaded_by_id = admin_id
        db.session.commit()
    boss = accounts.token("admin", "boss@example.org")
    refused = go(boss, "approved")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "approval_own_upload"
    assert go(approver, "approved").get_json()["status"] == "approved"


def test_rejecting_needs_a_reason_and_a_change_needs_approval_again(client, app: Flask, accounts: Accounts, imported_plan) -> None:
    editor_headers, approver = accounts.token("editor"), accounts.token("approver")
    asset_id = upload(client, editor_headers, media_files.png_bytes(), "p.png").get_json()["id"]
    make_derivatives(app)
    go = lambda headers, to, reason="": client.post(f"/api/v1/media/{asset_id}/transitions", headers=headers, json={"to": to, "reason": reason})  # noqa: E731
    go(editor_headers, "pending")
    no_reason = go(approver, "rejected")
    assert no_reason.status_code == 422 and no_reason.get_json()["error"]["code"] == "media_reason_required"
    rejected = go(approver, "rejected", "Sai logo của Sở").get_json()
    assert rejected["status"] == "rejected" and rejected["rejection_reason"] == "Sai logo của Sở"
    go(editor_headers, "pending")
    assert go(approver, "approved").get_json()["status"] == "approved"
    cropped = client.patch(f"/api/v1/media/{asset_id}", headers=editor_headers, json={"fit_mode": "cover", "focal_x": 0.2, "focal_y": 0.3})
    assert cropped.get_json()["status"] == "pending"
    assert go(approver, "approved").get_json()["error"]["code"] == "approval_renditions_pending"
    make_derivatives(app)
    assert go(approver, "approved").get_json()["status"] == "approved"
    with app.app_context():
        from cms.services.audit import Actor
        from cms.services.media import get_asset, replace_file
        from cms.models import User
        user = db.session.scalar(select(User).where(User.email == "editor@example.org"))
        replace_file(get_asset(asset_id), io.BytesIO(media_files.png_bytes(800, 600, (10, 10, 200))), "v2.png",
                     Actor.of(user), app.config["PANOLED"])
    assert client.get(f"/api/v1/media/{asset_id}", headers=approver).get_json()["status"] == "pending"
    history = [e for e in _history(app, asset_id) if e.action == "media.status"]
    assert [(e.details["before"], e.details["after"]) for e in history] == [
        ("draft", "pending"), ("pending", "rejected"), ("rejected", "pending"), ("pending", "approved"),
        ("approved", "pending"), ("pending", "approved"), ("approved", "pending")]


def _history(app: Flask, asset_id: int) -> list[Any]:
    from cms.services.audit import history
    with app.app_context():
        return history("media", asset_id)


def test_a_changed_crop_remakes_the_renditions(client, app: Flask, editor) -> None:
    asset_id = upload(client, editor, media_files.jpeg_bytes(1600, 900), "p.jpg").get_json()["id"]
    make_derivatives(app)
    client.patch(f"/api/v1/media/{asset_id}", headers=editor, json={"fit_mode": "stretch"})
    states = [d["state"] for d in client.get(f"/api/v1/media/{asset_id}", headers=editor).get_json()["derivatives"]]
    assert states == ["done", "pending", "pending", "pending"]
    assert make_derivatives(app) == 3


def test_a_text_banner_is_rendered_for_every_board_with_a_readability_verdict(client, app: Flask, editor) -> None:
    response = client.post("/api/v1/media/banners", headers=editor, json={
        "campaign_id": 1, "title": "Giờ Trái đất 2024", "body": "Tắt đèn, bật tương lai — 20:30 ngày 23/3",
        "text_color": "#FFFFFF", "background_color": "#0F6B4A"})
    assert response.status_code == 201
    asset_id = response.get_json()["id"]
    make_derivatives(app)
    body = client.get(f"/api/v1/media/{asset_id}", headers=editor).get_json()
    renditions = [d for d in body["derivatives"] if d["kind"] == "rendition"]
    assert all(d["state"] == "done" and "readable" in d["notes"] for d in renditions)
    accounts_client_login(client, app)
    image = Image.open(io.BytesIO(client.get(f"/media/{asset_id}/file/rendition/960x320").data))
    assert image.size == (960, 320)


def test_the_cli_adds_media_and_refuses_junk(runner, app: Flask, imported_plan, tmp_path: Path) -> None:
    import json

    from cms.cli import main

    poster = tmp_path / "Áp phích.png"
    poster.write_bytes(media_files.png_bytes())
    result = runner.invoke(main, ["media", "add", str(poster), "--campaign", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["kind"] == "poster"
    junk = tmp_path / "not-an-image.png"
    junk.write_bytes(b"<?php echo 1; ?>")
    refused = runner.invoke(main, ["media", "add", str(junk), "--campaign", "1"])
    assert refused.exit_code == 1 and "media_unsupported_type" in refused.output


def test_the_upload_page_takes_a_raw_body_with_the_csrf_header(client, app: Flask, accounts: Accounts, imported_plan) -> None:
    accounts.login("editor")
    page = client.get("/campaigns/1/media")
    token = csrf_token(page)
    refused = client.post("/campaigns/1/media/upload", data=media_files.png_bytes(), headers={"X-Filename": "a.png", "Content-Type": "application/octet-stream"})
    assert refused.status_code == 400
    ok = client.post("/campaigns/1/media/upload", data=media_files.png_bytes(),
                     headers={"X-Filename": "a.png", "X-CSRFToken": token, "Content-Type": "application/octet-stream"})
    assert ok.status_code == 201 and ok.get_json()["ok"] is True
    bad = client.post("/campaigns/1/media/upload", data=SVG,
                      headers={"X-Filename": "a.svg", "X-CSRFToken": token, "Content-Type": "application/octet-stream"})
    assert bad.status_code == 422 and bad.get_json()["ok"] is False
    assert "SVG" in bad.get_json()["message"]
    for url in ("/campaigns/1/media", f"/media/{ok.get_json()['id']}", "/campaigns/1/media/banner"):
        assert client.get(url).status_code == 200, url
    assert client.get("/media/review").status_code == 403


def test_work_left_running_by_a_dead_worker_is_taken_up_again(client, app: Flask, editor) -> None:
    from datetime import timedelta

    from cms.models import MediaDerivative
    from cms.models.types import utcnow
    from cms.services.derivatives import STALE_AFTER, claim_next

    upload(client, editor, media_files.png_bytes(), "p.png")
    with app.app_context():
        derivative = claim_next()  # a worker takes the thumbnail, then its process dies
        assert derivative is not None and derivative.kind == "thumbnail"
        assert all(d.kind != "thumbnail" for d in iter(claim_next, None))  # nobody else gets it meanwhile
        stuck = db.session.get(MediaDerivative, derivative.id)
        stuck.claimed_at = utcnow() - STALE_AFTER - timedelta(seconds=1)
        db.session.commit()
        for d in db.session.scalars(select(MediaDerivative).where(MediaDerivative.id != derivative.id)):
            d.state = "done"
        db.session.commit()
        again = claim_next()
        assert again is not None and again.id == derivative.id
        from cms.services.derivatives import process
        process(again, app.config["PANOLED"])
        assert db.session.get(MediaDerivative, derivative.id).state == "done"


def test_an_approval_of_what_the_approver_did_not_see_is_refused(client, app: Flask, accounts: Accounts, imported_plan) -> None:
    editor_headers, approver = accounts.token("editor"), accounts.token("approver")
    asset_id = upload(client, editor_headers, media_files.png_bytes(), "p.png").get_json()["id"]
    make_derivatives(app)
    client.post(f"/api/v1/media/{asset_id}/transitions", headers=editor_headers, json={"to": "pending"})
    seen = client.get(f"/api/v1/media/{asset_id}", headers=approver).get_json()["revision"]
    client.patch(f"/api/v1/media/{asset_id}", headers=editor_headers, json={"fit_mode": "stretch"})
    make_derivatives(app)
    stale = client.post(f"/api/v1/media/{asset_id}/transitions", headers=approver, json={"to": "approved", "revision": seen})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "approval_stale"
    fresh = client.get(f"/api/v1/media/{asset_id}", headers=approver).get_json()["revision"]
    ok = client.post(f"/api/v1/media/{asset_id}/transitions", headers=approver, json={"to": "approved", "revision": fresh})
    assert ok.get_json()["status"] == "approved"


def test_whoever_changed_the_crop_cannot_approve_it(client, app: Flask, accounts: Accounts, imported_plan) -> None:
    editor_headers, admin = accounts.token("editor"), accounts.token("admin")
    asset_id = upload(client, editor_headers, media_files.png_bytes(), "p.png").get_json()["id"]
    client.post(f"/api/v1/media/{asset_id}/transitions", headers=editor_headers, json={"to": "pending"})
    client.patch(f"/api/v1/media/{asset_id}", headers=admin, json={"fit_mode": "cover", "focal_x": 0.1})
    make_derivatives(app)
    refused = client.post(f"/api/v1/media/{asset_id}/transitions", headers=admin, json={"to": "approved"})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "approval_own_upload"


def test_replacing_with_a_file_the_campaign_already_has_is_refused(client, app: Flask, editor) -> None:
    first = upload(client, editor, media_files.png_bytes(), "a.png").get_json()["id"]
    second = upload(client, editor, media_files.png_bytes(400, 300), "b.png").get_json()["id"]
    from cms.errors import MediaNotAccepted
    from cms.models import User
    from cms.services.audit import Actor
    from cms.services.media import get_asset, replace_file
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "editor@example.org"))
        with pytest.raises(MediaNotAccepted) as refused:
            replace_file(get_asset(second), io.BytesIO(media_files.png_bytes()), "a.png", Actor.of(user), app.config["PANOLED"])
        assert refused.value.code == "media_duplicate"
    assert first != second and len(stored_files(app)) == 2


def test_a_banner_too_long_for_the_boards_is_refused_at_once(client, app: Flask, editor) -> None:
    import dataclasses

    from cms.config import BoardProfileConfig

    tiny = BoardProfileConfig("128x32", "LED 128×32", 128, 32, 10.0, 30.0)
    app.config["PANOLED"] = dataclasses.replace(app.config["PANOLED"], board_profiles=(tiny,))
    response = client.post("/api/v1/media/banners", headers=editor, json={
        "campaign_id": 1, "title": ("Tuyên truyền " * 15).strip(), "body": ("Bảo vệ môi trường là bảo vệ cuộc sống. " * 25)[:990]})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "media_banner_too_long"
    assert asset_count(app) == 0


def test_a_picture_larger_than_the_plan_import_limit_can_replace_a_file_through_the_form(
        client, app: Flask, accounts: Accounts, imported_plan) -> None:
    import numpy as np

    accounts.login("editor")
    token = csrf_token(client.get("/campaigns/1/media"))
    first = client.post("/campaigns/1/media/upload", data=media_files.png_bytes(),
                        headers={"X-Filename": "a.png", "X-CSRFToken": token, "Content-Type": "application/octet-stream"})
    asset_id = first.get_json()["id"]
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (2200, 2200, 3), dtype=np.uint8), "RGB")
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > app.config["PANOLED"].imports.max_bytes + 1024 * 1024
    page = client.get(f"/media/{asset_id}")
    response = client.post(f"/media/{asset_id}/replace", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(buffer.getvalue()), "big.png")})
    assert response.status_code == 302
    with app.app_context():
        from cms.services.media import get_asset
        assert get_asset(asset_id).width == 2200
