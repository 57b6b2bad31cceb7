"""Pushing posts to a real WordPress (Debian's package, tests/wordpress_site.py) through its
REST API with an application password: the publisher creates, updates and takes down posts,
uploads, features and deletes files; the portal round keeps WordPress showing exactly the
posts the public website shows, and removes a file as soon as its media stops being public."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from PIL import Image
from wordpress_site import WordPressSite, free_port

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


def _down(wordpress: WordPressSite) -> WordPressPublisher:
    """The portal's account, at a port nothing listens on."""
    return WordPressPublisher(f"http://127.0.0.1:{free_port()}", wordpress.user, wordpress.application_password,
                              timeout=5, session=_session())


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

    down = _down(wordpress)
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
    down = _down(wordpress)
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


class LostAnswers(WordPressPublisher):
    """WordPress that takes an upload but whose answer never arrives (a timeout after the body
    was sent), as a slow portal making image sizes of a large poster does."""

    def upload(self, path: Path, file_name: str, mime: str, alt_text: str) -> Any:
        super().upload(path, file_name, mime, alt_text)
        raise PublishError("WordPress could not be reached: ReadTimeout", retry=True)


class RefusesPosts(WordPressPublisher):
    def publish(self, remote_id: str, content: PostContent) -> Any:
        raise PublishError("WordPress answered 400 to POST /wp/v2/posts: rest_invalid_param", retry=False)


def _published_post(app: Flask, accounts: Any, title: str, media: list[int], summary: str = "") -> int:
    writer, reviewer = people(app, accounts)
    with app.app_context():
        post = approved(title, summary, "Nội dung.", media, writer, reviewer, datetime.now(UTC))
        website.move(post, "published", writer, datetime.now(UTC))
        db.session.commit()
        return post.id


def _copies(admin_api: Any, app: Flask, asset_id: int) -> list[int]:
    """WordPress's files uploaded for this medium's still (by their exact name: the site is shared
    by the tests of a session, whose databases reuse ids)."""
    with app.app_context():
        stem = f"panoled-{asset_id}-still-{db.session.get(MediaAsset, asset_id).sha256[:12]}"
    found = admin_api("/wp/v2/media", search=stem, context="edit", per_page="100").json()
    return [item["id"] for item in found if item["title"]["raw"] == stem]


def test_plain_text_stays_text_on_the_portal(app: Flask, client: Any, accounts: Any, imported_plan: Any,
                                             publisher: WordPressPublisher, admin_api: Any) -> None:
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 2,
                                alt='Áp phích <img src=x onerror=alert(9)> "A & B"')
    post_id = _published_post(app, accounts, 'Rác thải <script>alert("t")</script> & nhựa', [poster],
                              summary="Tóm tắt <img src=x onerror=alert(8)>")
    with app.app_context():
        assert portal.sync(app.config["PANOLED"], datetime.now(UTC), publisher).published == [post_id]
        row = db.session.scalar(db.select(PortalPost))
        file_id = db.session.scalar(db.select(PortalMedia)).remote_id
    page = visitor(row.remote_url).text
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "onerror=alert(8)>" not in page and "<img src=x" not in page
    held = admin_api(f"/wp/v2/media/{file_id}", context="edit").json()
    assert "<img" not in held["alt_text"] and '"A & B"' in held["alt_text"]  # WordPress strips tags from alt text
    assert "<img src=x" not in held["caption"]["rendered"]


def test_an_upload_whose_answer_was_lost_is_found_again_never_doubled_or_forgotten(
        app: Flask, client: Any, accounts: Any, imported_plan: Any, wordpress: WordPressSite,
        publisher: WordPressPublisher, admin_api: Any) -> None:
    lossy = LostAnswers(wordpress.url, wordpress.user, wordpress.application_password, session=_session())
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 3,
                                alt="Áp phích giữ lại")
    post_id = _published_post(app, accounts, "Bài có áp phích giữ lại", [poster])
    config = app.config["PANOLED"]
    with app.app_context():
        done = portal.sync(config, datetime.now(UTC), lossy)
        assert done.unreachable and done.published == []
        assert [(m.asset_id, m.remote_id) for m in db.session.scalars(db.select(PortalMedia))] == [(poster, "")]
        later = db.session.scalar(db.select(PortalPost)).retry_at
    assert len(_copies(admin_api, app, poster)) == 1  # it arrived, though nobody heard

    with app.app_context():
        done = portal.sync(config, later, publisher)
        assert done.published == [post_id] and not done.failed
        copy = db.session.scalar(db.select(PortalMedia))
        assert copy.remote_id and done.uploaded == 0  # adopted, not sent twice
    assert _copies(admin_api, app, poster) == [int(copy.remote_id)]


def test_a_lost_upload_of_a_medium_that_leaves_the_website_is_deleted_from_the_portal(
        app: Flask, client: Any, accounts: Any, imported_plan: Any, wordpress: WordPressSite,
        publisher: WordPressPublisher, admin_api: Any) -> None:
    lossy = LostAnswers(wordpress.url, wordpress.user, wordpress.application_password, session=_session())
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 5,
                                alt="Áp phích tải lên dở")
    _published_post(app, accounts, "Bài sẽ mất áp phích", [poster])
    with app.app_context():
        portal.sync(app.config["PANOLED"], datetime.now(UTC), lossy)
    assert len(_copies(admin_api, app, poster)) == 1
    with app.app_context():
        db.session.get(MediaAsset, poster).status = "archived"
        db.session.commit()
        done = portal.sync(app.config["PANOLED"], datetime.now(UTC), publisher)
        assert done.deleted == 1 and db.session.scalar(db.select(PortalMedia)) is None
    assert _copies(admin_api, app, poster) == []


def test_a_post_that_cannot_be_sent_without_a_rejected_medium_is_taken_down(
        app: Flask, client: Any, accounts: Any, imported_plan: Any, wordpress: WordPressSite,
        publisher: WordPressPublisher, admin_api: Any) -> None:
    refusing = RefusesPosts(wordpress.url, wordpress.user, wordpress.application_password, session=_session())
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 6,
                                alt="Áp phích sẽ bị từ chối sau khi đăng")
    post_id = _published_post(app, accounts, "Bài sẽ phải gỡ", [poster])
    with app.app_context():
        portal.sync(app.config["PANOLED"], datetime.now(UTC), publisher)
        remote_url = db.session.scalar(db.select(PortalPost)).remote_url
        db.session.get(MediaAsset, poster).status = "rejected"
        db.session.commit()
        done = portal.sync(app.config["PANOLED"], datetime.now(UTC), refusing)
        assert done.withdrawn == [post_id] and done.deleted == 1
    assert visitor(remote_url).status_code == 404 and _copies(admin_api, app, poster) == []


def test_a_broken_medium_holds_up_only_its_own_post(app: Flask, client: Any, accounts: Any, imported_plan: Any,
                                                    publisher: WordPressPublisher, admin_api: Any) -> None:
    editor, approver = accounts.token("editor"), accounts.token("approver")
    good = poster_on_campaign(client, app, editor, approver, 7, alt="Áp phích tốt")
    broken = poster_on_campaign(client, app, editor, approver, 8, alt="Áp phích hỏng tệp")
    with app.app_context():  # the broken one's file damaged on disk, its website copies never made
        from cms.services import media as media_service

        media_service.file_path(db.session.get(MediaAsset, broken), app.config["PANOLED"], "original").write_bytes(
            b"not a picture")
    first = _published_post(app, accounts, "Bài tốt", [good])
    second = _published_post(app, accounts, "Bài có tệp hỏng", [broken])
    with app.app_context():
        done = portal.sync(app.config["PANOLED"], datetime.now(UTC), publisher)
        assert done.published == [first] and not done.unreachable
        assert "post " + str(second) in " ".join(done.failed)
        assert db.session.scalar(db.select(PortalPost).where(PortalPost.post_id == second)).error


def test_two_rounds_never_run_at_once(app: Flask, client: Any, accounts: Any, imported_plan: Any,
                                      publisher: WordPressPublisher) -> None:
    _published_post(app, accounts, "Bài chờ lượt", [])
    with app.app_context():
        config = app.config["PANOLED"]
        with portal._round_lock(config) as held:  # as another process's round would hold it
            assert held
            done = portal.sync(config, datetime.now(UTC), publisher)
            assert done.busy and done.published == [] and db.session.scalar(db.select(PortalPost)) is None
        assert portal.sync(config, datetime.now(UTC), publisher).published
