"""The "export for the portal" zip: the public pages as HTML with their images, links
relative and all inside the zip, holding only what the website shows; staff only."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from PIL import Image

from cms.extensions import db
from cms.models import MediaAsset, WebPost
from cms.services import website
from website_setup import CAMPAIGN, approved, bundle, people, poster_on_campaign

LINK = re.compile(r'(?:href|src)="([^"]+)"|srcset="([^"]+)"')


def _published(app: Flask, accounts: Any, title: str, media: list[int]) -> int:
    writer, reviewer = people(app, accounts)
    with app.app_context():
        post = approved(title, "Tóm tắt: hưởng ứng Ngày Môi trường thế giới.", "Đoạn một.\n\nĐoạn hai & ba.", media,
                        writer, reviewer, datetime.now(UTC))
        website.move(post, "published", writer, datetime.now(UTC))
        db.session.commit()
        return post.id


def _links(html: str) -> list[str]:
    found = []
    for href, srcset in LINK.findall(html):
        found += [href] if href else [part.strip().split(" ")[0] for part in srcset.split(",")]
    return found


def test_the_zip_holds_the_public_pages_and_their_images(app: Flask, client: Any, accounts: Any,
                                                         imported_plan: Any) -> None:
    editor, approver = accounts.token("editor"), accounts.token("approver")
    on_page = poster_on_campaign(client, app, editor, approver, 1, alt="Áp phích Ngày Môi trường thế giới")
    in_post = poster_on_campaign(client, app, editor, approver, 2, alt="Ảnh tuyên truyền phân loại rác")
    hidden = poster_on_campaign(client, app, editor, approver, 3, alt="Áp phích chưa đưa lên")
    writer, _reviewer = people(app, accounts)
    with app.app_context():
        website.set_web_public(db.session.get(MediaAsset, on_page), True, writer)
        db.session.commit()
    post_id = _published(app, accounts, "Hưởng ứng Ngày Môi trường thế giới 2024", [in_post])
    with app.app_context():
        draft = website.save_post(None, CAMPAIGN, "Bản nháp chưa duyệt", "", "Chưa công bố.", [hidden], writer)
        db.session.commit()
        draft_id = draft.id

    accounts.login("auditor")
    names, texts = bundle(client.get(f"/campaigns/{CAMPAIGN}/website/export.zip"))
    assert {"index.html", f"campaign-{CAMPAIGN}.html", f"post-{post_id}.html", "style.css", "README.txt"} <= set(names)
    assert f"post-{draft_id}.html" not in names
    everything = "\n".join(texts.values())
    assert "Hưởng ứng Ngày Môi trường thế giới 2024" in everything and "Đoạn hai &amp; ba." in everything
    assert 'lang="vi"' in texts["index.html"] and 'alt="Ảnh tuyên truyền phân loại rác"' in texts[f"post-{post_id}.html"]
    assert "Bản nháp chưa duyệt" not in everything and "Áp phích chưa đưa lên" not in everything
    media = {name for name in names if name.startswith("media/")}
    assert {f"media/{on_page}-w480.jpg", f"media/{in_post}-w960.jpg"} <= media
    assert not any(name.startswith(f"media/{hidden}-") for name in media)
    # Every link of every page is relative and leads to a file inside the zip.
    for name, html in texts.items():
        for link in _links(html):
            assert "://" not in link and not link.startswith("/"), (name, link)
            assert link in names, (name, link)
    with zipfile.ZipFile(io.BytesIO(client.get(f"/campaigns/{CAMPAIGN}/website/export.zip").get_data())) as archive:
        with Image.open(io.BytesIO(archive.read(f"media/{in_post}-w1600.jpg"))) as image:
            assert image.format == "JPEG" and image.width <= 1600


def test_content_taken_off_the_website_leaves_the_next_export(app: Flask, client: Any, accounts: Any,
                                                               imported_plan: Any) -> None:
    editor, approver = accounts.token("editor"), accounts.token("approver")
    poster = poster_on_campaign(client, app, editor, approver, 4)
    post_id = _published(app, accounts, "Bài sẽ được gỡ xuống", [poster])
    accounts.login("editor")
    names, _texts = bundle(client.get(f"/campaigns/{CAMPAIGN}/website/export.zip"))
    assert f"post-{post_id}.html" in names and f"media/{poster}-w960.jpg" in names
    writer, _reviewer = people(app, accounts)
    with app.app_context():
        website.move(db.session.get(WebPost, post_id), "unpublished", writer, datetime.now(UTC))
        db.session.commit()
    # Nothing of the campaign is public any more: no zip, a message instead.
    answer = client.get(f"/campaigns/{CAMPAIGN}/website/export.zip")
    assert answer.status_code == 302 and answer.location.endswith(f"/campaigns/{CAMPAIGN}/website")
    assert 'class="flash flash-error"' in client.get(answer.location).get_data(as_text=True)


def test_the_plan_export_holds_each_public_campaign(app: Flask, client: Any, accounts: Any,
                                                    imported_plan: Any) -> None:
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 5)
    writer, _reviewer = people(app, accounts)
    with app.app_context():
        website.set_web_public(db.session.get(MediaAsset, poster), True, writer)
        db.session.commit()
    accounts.login("operator")
    names, texts = bundle(client.get(f"/plans/{imported_plan.plan_id}/website/export.zip"))
    assert f"campaign-{CAMPAIGN}.html" in names and f"campaign-{CAMPAIGN}.html" in texts["index.html"]
    assert [name for name in names if name.startswith("campaign-")] == [f"campaign-{CAMPAIGN}.html"]


def test_the_export_is_for_signed_in_staff(app: Flask, client: Any, accounts: Any, imported_plan: Any) -> None:
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 6)
    writer, _reviewer = people(app, accounts)
    with app.app_context():
        website.set_web_public(db.session.get(MediaAsset, poster), True, writer)
        db.session.commit()
    answer = client.get(f"/campaigns/{CAMPAIGN}/website/export.zip")
    assert answer.status_code == 302 and "/login" in answer.location


def test_website_export_writes_the_zip_from_the_command_line(app: Flask, client: Any, accounts: Any,
                                                             imported_plan: Any, runner: Any, tmp_path: Any) -> None:
    from cms.cli import main

    out = tmp_path / "cong-thong-tin.zip"
    answer = runner.invoke(main, ["website", "export", "--campaign", str(CAMPAIGN), "-o", str(out)])
    assert answer.exit_code != 0 and not out.exists()  # nothing public yet: a clear refusal, no file
    assert "nothing to export" in answer.output
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 8)
    writer, _reviewer = people(app, accounts)
    with app.app_context():
        website.set_web_public(db.session.get(MediaAsset, poster), True, writer)
        db.session.commit()
    answer = runner.invoke(main, ["website", "export", "--plan", imported_plan.heading.number, "-o", str(out)])
    assert answer.exit_code == 0, answer.output
    with zipfile.ZipFile(out) as archive:
        assert f"campaign-{CAMPAIGN}.html" in archive.namelist() and f"media/{poster}-w960.jpg" in archive.namelist()
    assert "page(s)" in answer.output
    with zipfile.ZipFile(out) as archive:  # unpacked, a web server can read every file
        assert {info.external_attr >> 16 for info in archive.infolist()} == {0o644}
    answer = runner.invoke(main, ["website", "export", "--campaign", str(CAMPAIGN), "-o", str(tmp_path / "no" / "x.zip")])
    assert answer.exit_code != 0 and "cannot write" in answer.output and not (tmp_path / "no").exists()
