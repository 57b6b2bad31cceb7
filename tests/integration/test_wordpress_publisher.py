"""Pushing posts to a real WordPress (Debian's package, tests/wordpress_site.py) through its
REST API with an application password: the publisher creates, updates and takes down posts,
uploads, features and deletes files; the portal round keeps WordPress showing exactly the
posts the public website shows, and removes a file as soon as its media stops being public."""
from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from PIL import Image
from wordpress_site import WordPressSite

from cms import create_app
from cms.config import PublishingConfig
from cms.extensions import db
from cms.models import MediaAsset, PortalMedia, PortalPost, WebPost
from cms.publishers import PostContent, PublishError
from cms.publishers.wordpress import WordPressPublisher
from cms.services import portal, website
from website_setup import approved, people, poster_on_campaign


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # straight to 127.0.0.1, whatever proxy the machine names
    return session


@pytest.fixture
def publisher(wordpress: WordPressSite) -> WordPressPublisher:
    return WordPressPublisher(wordpress.url, wordpress.user, wordpress.application_password, timeout=30,
                              session=_session())


@pytest.fixture
def admin_api(wordpress: WordPressSite) -> Iterator[Any]:
    """Reads what WordPress holds, as its administrator sees it."""
    session = _session()
    session.auth = (wordpress.user, wordpress.application_password)

    def get(route: str, **params: str) -> requests.Response:
        return session.get(wordpress.url + "/", params={"rest_route": route, **params}, timeout=30)

    yield get
    session.close()


def visitor(url: str) -> requests.Response:
    """What anyone on the internet gets: no credentials, no cookie."""
    with _session() as session:
        return session.get(url, timeout=30)


def _jpeg(path: Path) -> Path:
    Image.new("RGB", (320, 200), (11, 93, 59)).save(path, "JPEG")
    return path


def test_the_publisher_creates_features_updates_withdraws_and_deletes(
        publisher: WordPressPublisher, admin_api: Any, tmp_path: Path) -> None:
    picture = publisher.upload(_jpeg(tmp_path / "a.jpg"), "panoled-1-test.jpg", "image/jpeg",
                               "Áp phích Ngày Môi trường thế giới")
    assert admin_api(f"/wp/v2/media/{picture.remote_id}").json()["alt_text"] == "Áp phích Ngày Môi trường thế giới"
    shown = visitor(picture.url)
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/jpeg"

    content = PostContent(title="Hưởng ứng Ngày Môi trường thế giới 2024", summary="Tháng 6/2024.",
                          html=f'<p>Đoạn một.</p><figure><img src="{picture.url}" alt="Áp phích"></figure>',
                          featured=picture.remote_id)
    post = publisher.publish("", content)
    held = admin_api(f"/wp/v2/posts/{post.remote_id}").json()
    assert held["status"] == "publish" and held["featured_media"] == int(picture.remote_id)
    page = visitor(post.url)
    assert page.status_code == 200 and "Hưởng ứng Ngày Môi trường thế giới 2024" in page.text

    changed = publisher.publish(post.remote_id, dataclasses.replace(content, title="Tháng hành động vì môi trường"))
    assert changed.remote_id == post.remote_id
    assert admin_api(f"/wp/v2/posts/{post.remote_id}").json()["title"]["rendered"] == "Tháng hành động vì môi trường"

    publisher.withdraw(post.remote_id)
    assert admin_api(f"/wp/v2/posts/{post.remote_id}").json()["status"] == "draft"
    assert visitor(post.url).status_code == 404
    publisher.withdraw(post.remote_id)  # twice is fine

    publisher.delete_file(picture.remote_id)
    assert visitor(picture.url).status_code == 404  # gone from the uploads folder, not in a trash
    publisher.delete_file(picture.remote_id)  # gone already is fine

    # A post deleted on the portal by its webmaster is published again as a new one.
    _delete_post(admin_api, publisher, post.remote_id)
    again = publisher.publish(post.remote_id, dataclasses.replace(content, featured=""))
    assert again.remote_id != post.remote_id and visitor(again.url).status_code == 200


def _delete_post(admin_api: Any, publisher: WordPressPublisher, remote_id: str) -> None:
    answer = publisher.session.delete(publisher.url, params={"rest_route": f"/wp/v2/posts/{remote_id}", "force": "true"},
                                      timeout=30)
    assert answer.status_code == 200
    assert admin_api(f"/wp/v2/posts/{remote_id}").status_code == 404


def test_a_wrong_password_is_refused_and_a_portal_that_is_down_is_retried(wordpress: WordPressSite) -> None:
    wrong = WordPressPublisher(wordpress.url, wordpress.user, "abcd efgh ijkl mnop qrst uvwx", session=_session())
    with pytest.raises(PublishError) as refused:
        wrong.publish("", PostContent(title="Thử", summary="", html="<p>Thử</p>"))
    assert not refused.value.retry and "401" in str(refused.value)
    assert "abcd efgh" not in str(refused.value)

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = WordPressPublisher(f"http://127.0.0.1:{port}", wordpress.user, wordpress.application_password, timeout=5,
                              session=_session())
    with pytest.raises(PublishError) as unreachable:
        down.withdraw("1")
    assert unreachable.value.retry


def test_the_portal_shows_exactly_what_the_website_shows(app: Flask, client: Any, accounts: Any, imported_plan: Any,
                                                        publisher: WordPressPublisher, admin_api: Any) -> None:
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 1,
                                alt="Áp phích: phân loại rác tại nguồn")
    writer, reviewer = people(app, accounts)
    with app.app_context():
        post = approved("Phân loại rác tại nguồn từ năm 2025", "Hướng dẫn cho hộ gia đình.",
                        "Rác hữu cơ, rác tái chế & rác còn lại.", [poster], writer, reviewer, datetime.now(UTC))
        website.move(post, "published", writer, datetime.now(UTC))
        db.session.commit()
        post_id = post.id
        config = app.config["PANOLED"]

        done = portal.sync(config, datetime.now(UTC), publisher)
        assert done.published == [post_id] and done.uploaded == 1 and not done.failed
        row = db.session.scalar(db.select(PortalPost))
        remote_id, remote_url = row.remote_id, row.remote_url
        still = db.session.scalar(db.select(PortalMedia))
        file_id, file_url = still.remote_id, still.remote_url
    held = admin_api(f"/wp/v2/posts/{remote_id}").json()
    assert held["status"] == "publish" and held["featured_media"] == int(file_id)
    assert f'src="{file_url}"' in held["content"]["rendered"]
    assert 'alt="Áp phích: phân loại rác tại nguồn"' in held["content"]["rendered"]
    page = visitor(remote_url)
    assert page.status_code == 200 and "Phân loại rác tại nguồn từ năm 2025" in page.text
    assert visitor(file_url).status_code == 200

    with app.app_context():  # nothing changed: nothing is sent
        done = portal.sync(config, datetime.now(UTC), publisher)
        assert (done.published, done.withdrawn, done.uploaded, done.deleted) == ([], [], 0, 0)

        # The poster is rejected after all: the post stays, without it, and the file leaves the portal.
        db.session.get(MediaAsset, poster).status = "rejected"
        db.session.commit()
        done = portal.sync(config, datetime.now(UTC), publisher)
        assert done.published == [post_id] and done.deleted == 1
        assert db.session.scalar(db.select(PortalMedia)) is None
    held = admin_api(f"/wp/v2/posts/{remote_id}").json()
    assert "<img" not in held["content"]["rendered"] and held["featured_media"] == 0
    assert visitor(file_url).status_code == 404

    with app.app_context():  # taken down here: taken down there
        website.move(db.session.get(WebPost, post_id), "unpublished", writer, datetime.now(UTC))
        db.session.commit()
        assert portal.sync(config, datetime.now(UTC), publisher).withdrawn == [post_id]
    assert visitor(remote_url).status_code == 404

    with app.app_context():  # approved and published again: the same post on the portal is public again
        post = db.session.get(WebPost, post_id)
        for to, actor in (("pending", writer), ("approved", reviewer), ("published", writer)):
            website.move(post, to, actor, datetime.now(UTC))
        db.session.commit()
        assert portal.sync(config, datetime.now(UTC), publisher).published == [post_id]
        assert db.session.scalar(db.select(PortalPost)).remote_id == remote_id
    assert visitor(remote_url).status_code == 200


def test_a_portal_that_is_down_is_tried_again_and_the_error_shows(app: Flask, client: Any, accounts: Any,
                                                                   imported_plan: Any, wordpress: WordPressSite,
                                                                   publisher: WordPressPublisher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = WordPressPublisher(f"http://127.0.0.1:{port}", wordpress.user, wordpress.application_password, timeout=5,
                              session=_session())
    writer, reviewer = people(app, accounts)
    now = datetime.now(UTC)
    with app.app_context():
        post = approved("Tuần lễ Biển và Hải đảo", "", "Từ 1/6 đến 8/6.", [], writer, reviewer, now)
        website.move(post, "published", writer, now)
        db.session.commit()
        post_id = post.id
        done = portal.sync(app.config["PANOLED"], now, down)
        assert done.unreachable and done.published == []
        row = db.session.scalar(db.select(PortalPost))
        assert row.state == "waiting" and row.attempts == 1 and "could not be reached" in row.error
        assert row.retry_at is not None and row.retry_at > now
        # Before its next try nothing is attempted; at it, the portal (back now) gets the post.
        assert portal.sync(app.config["PANOLED"], now, publisher).published == []
        assert portal.sync(app.config["PANOLED"], row.retry_at, publisher).published == [post_id]
        assert db.session.scalar(db.select(PortalPost)).error == ""

    accounts.login("editor")
    page = client.get(f"/website/posts/{post_id}")
    assert 'id="portal-state"' not in page.get_data(as_text=True)  # no portal configured for this app


def test_the_scheduler_pushes_with_the_configured_portal(settings: Any, wordpress: WordPressSite, accounts: Any,
                                                         imported_plan: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An app configured with [publishing] (on the same database as the `app` fixture)."""
    from scheduler.service import SchedulerService

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    configured = dataclasses.replace(settings, publishing=PublishingConfig(
        kind="wordpress", url=wordpress.url, user=wordpress.user, application_password=wordpress.application_password))
    app = create_app(configured, {"TESTING": True})
    writer, reviewer = people(app, accounts)
    with app.app_context():
        post = approved("Ngày Đa dạng sinh học 22/5", "", "Nội dung.", [], writer, reviewer, datetime.now(UTC))
        website.move(post, "published", writer, datetime.now(UTC))
        db.session.commit()
        post_id = post.id
    service = SchedulerService(app, name="portal-test", clock=lambda: datetime.now(UTC))
    service.leading.set()  # the job body alone: leadership is tested with the scheduler
    service.push_to_portal()
    with app.app_context():
        row = db.session.scalar(db.select(PortalPost).where(PortalPost.post_id == post_id))
        assert row is not None and row.state == "published", row and row.error
        remote_url = row.remote_url
    assert visitor(remote_url).status_code == 200
    client = app.test_client()
    accounts.login("editor", client=client)
    text = client.get(f"/website/posts/{post_id}").get_data(as_text=True)
    assert 'id="portal-state"' in text and remote_url in text
    with app.app_context():
        db.engine.dispose()


def test_website_push_runs_one_round_from_the_command_line(settings: Any, wordpress: WordPressSite, accounts: Any,
                                                           imported_plan: Any, runner: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from cms.cli import main

    answer = runner.invoke(main, ["website", "push"])  # the `app` fixture has no portal configured
    assert answer.exit_code != 0 and "no portal is configured" in answer.output

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    app = create_app(dataclasses.replace(settings, publishing=PublishingConfig(
        kind="wordpress", url=wordpress.url, user=wordpress.user, application_password=wordpress.application_password)),
        {"TESTING": True})
    writer, reviewer = people(app, accounts)
    with app.app_context():
        post = approved("Chiến dịch Làm cho thế giới sạch hơn", "", "Tháng 9.", [], writer, reviewer, datetime.now(UTC))
        website.move(post, "published", writer, datetime.now(UTC))
        db.session.commit()
    answer = app.test_cli_runner().invoke(main, ["website", "push"])
    assert answer.exit_code == 0, answer.output
    assert "published 1, taken down 0" in answer.output
    assert wordpress.application_password not in answer.output
    with app.app_context():
        db.engine.dispose()
