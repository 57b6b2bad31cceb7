"""WordPress through its REST API (wp/v2), signed in with an application password.

Posts: created or changed with POST /wp/v2/posts[/<id>] and status "publish"; taken
down by setting status "draft". Files: uploaded to /wp/v2/media (the body is the file,
named by Content-Disposition), then described (alt text); deleted with force=true so
they leave the portal's uploads folder rather than a trash. Routes are addressed as
`?rest_route=/wp/v2/...`, which every WordPress answers whatever its permalink settings.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from cms.publishers import PostContent, Publisher, PublishError, RemoteFile, RemotePost

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
GONE_STATUSES = frozenset({404, 410})


class _Gone(Exception):
    """The portal has no such post or file (any more)."""


class WordPressPublisher(Publisher):
    kind = "wordpress"

    def __init__(self, url: str, user: str, application_password: str, timeout: float = 30.0,
                 session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/") + "/"
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.auth = (user, application_password)
        self.session.headers["User-Agent"] = "Panoled"

    def __repr__(self) -> str:
        return f"WordPressPublisher({self.url!r})"

    # Files ------------------------------------------------------------------------------------

    def upload(self, path: Path, file_name: str, mime: str, alt_text: str) -> RemoteFile:
        with path.open("rb") as body:
            answer = self._call("POST", "/wp/v2/media", data=body, headers={
                "Content-Type": mime, "Content-Disposition": f'attachment; filename="{file_name}"'})
        remote_id = str(answer["id"])
        try:
            self._call("POST", f"/wp/v2/media/{remote_id}", json={"alt_text": alt_text, "caption": alt_text,
                                                                  "title": alt_text[:200]})
        except BaseException:
            self._forget(remote_id)  # nothing left behind undescribed
            raise
        return RemoteFile(remote_id, str(answer.get("source_url") or ""))

    def delete_file(self, remote_id: str) -> None:
        try:
            self._call("DELETE", f"/wp/v2/media/{int(remote_id)}", params={"force": "true"})
        except _Gone:
            pass

    def _forget(self, remote_id: str) -> None:
        try:
            self.delete_file(remote_id)
        except PublishError:
            pass

    # Posts ------------------------------------------------------------------------------------

    def publish(self, remote_id: str, content: PostContent) -> RemotePost:
        fields = {"title": content.title, "content": content.html, "excerpt": content.summary, "status": "publish",
                  "featured_media": int(content.featured) if content.featured else 0}
        if remote_id:
            try:
                return self._post(self._call("POST", f"/wp/v2/posts/{int(remote_id)}", json=fields))
            except _Gone:
                pass  # deleted on the portal: published again as a new post
        return self._post(self._call("POST", "/wp/v2/posts", json=fields))

    def withdraw(self, remote_id: str) -> None:
        try:
            self._call("POST", f"/wp/v2/posts/{int(remote_id)}", json={"status": "draft"})
        except _Gone:
            pass

    @staticmethod
    def _post(answer: dict[str, Any]) -> RemotePost:
        return RemotePost(str(answer["id"]), str(answer.get("link") or ""))

    # HTTP -------------------------------------------------------------------------------------

    def _call(self, method: str, route: str, params: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
        try:
            answer = self.session.request(method, self.url, params={"rest_route": route, **(params or {})},
                                          timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.RequestException as error:
            raise PublishError(f"WordPress at {self.url} could not be reached: {type(error).__name__}",
                               retry=True) from None
        if answer.status_code in GONE_STATUSES and "/" in route.removeprefix("/wp/v2/"):
            raise _Gone(route)
        if not 200 <= answer.status_code < 300:
            raise PublishError(f"WordPress answered {answer.status_code} to {method} {route}: {_reason(answer)}",
                               retry=answer.status_code in RETRY_STATUSES)
        try:
            body = answer.json()
        except ValueError:
            raise PublishError(f"WordPress answered {method} {route} with something that is not JSON",
                               retry=True) from None
        if not isinstance(body, dict):
            raise PublishError(f"WordPress answered {method} {route} with unexpected JSON", retry=False)
        return body


def _reason(answer: requests.Response) -> str:
    """WordPress's own code and message, short (never the request, which carries the password)."""
    try:
        body = answer.json()
    except ValueError:
        return answer.reason or "no reason given"
    if isinstance(body, dict):
        return f"{body.get('code', '')}: {str(body.get('message', ''))[:300]}".strip(": ")
    return answer.reason or "no reason given"
