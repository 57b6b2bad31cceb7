"""The `wordpress` fixture serves a real WordPress whose REST API takes the application password:
a post with a featured image is drafted, published (public), and unpublished (gone for visitors)."""
from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image
from wordpress_site import WordPressSite

TITLE = "Ngày Môi trường Thế giới"


@pytest.fixture
def api(wordpress: WordPressSite) -> Iterator[requests.Session]:
    """A session authenticated with the application password, ignoring proxy variables."""
    with requests.Session() as session:
        session.trust_env = False
        session.auth = (wordpress.user, wordpress.application_password)
        yield session


def anonymous_get(url: str) -> requests.Response:
    """GET as a visitor: no credentials, no cookies."""
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, timeout=30)


def jpeg_bytes() -> bytes:
    """A small green JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 140, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("route", ["/wp-json/wp/v2/users/me", "/?rest_route=/wp/v2/users/me"])
def test_application_password_authenticates(wordpress: WordPressSite, api: requests.Session, route: str) -> None:
    me = api.get(wordpress.url + route, timeout=30)
    assert me.status_code == 200, me.text
    assert me.json()["slug"] == wordpress.user
    assert anonymous_get(wordpress.url + route).status_code == 401


def test_post_with_featured_image_published_then_unpublished(wordpress: WordPressSite, api: requests.Session) -> None:
    rest = f"{wordpress.url}/wp-json/wp/v2"
    created = api.post(f"{rest}/posts", json={"title": TITLE, "content": "<p>5/6</p>", "status": "draft"}, timeout=30)
    assert created.status_code == 201, created.text
    post_id = created.json()["id"]

    media = api.post(
        f"{rest}/media",
        data=jpeg_bytes(),
        headers={"Content-Type": "image/jpeg", "Content-Disposition": 'attachment; filename="ngay-moi-truong.jpg"'},
        timeout=60,
    )
    assert media.status_code == 201, media.text
    assert media.json()["mime_type"] == "image/jpeg"
    image = anonymous_get(media.json()["source_url"])
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/jpeg")

    post = update(api, f"{rest}/posts/{post_id}", featured_media=media.json()["id"])
    assert post["featured_media"] == media.json()["id"]
    post = update(api, f"{rest}/posts/{post_id}", status="publish")
    page = anonymous_get(post["link"])
    assert page.status_code == 200
    assert TITLE in page.text

    update(api, f"{rest}/posts/{post_id}", status="draft")
    gone = anonymous_get(post["link"])
    assert gone.status_code == 404
    assert TITLE not in gone.text


def update(api: requests.Session, url: str, **fields: Any) -> dict[str, Any]:
    """POST the changed fields to an existing object; its new JSON."""
    response = api.post(url, json=fields, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())
