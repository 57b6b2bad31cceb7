"""WordPress through its REST API (wp/v2), signed in with an application password.

Posts: created or changed with POST /wp/v2/posts[/<id>] and status "publish"; taken
down by setting status "draft". Files: uploaded to /wp/v2/media (the body is the file,
named by Content-Disposition), then described (alt text); deleted with force=true so
they leave the portal's uploads folder rather than a trash. Routes are addressed as
`?rest_route=/wp/v2/...`, which every WordPress answers whatever its permalink settings.
"""
from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import requests

from cms.publishers import PostContent, Publisher, PublishError, RemoteFile, RemotePost

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
GONE_STATUSES = frozenset({404, 410})


class _Gone(PublishError):
    """The portal has no such post or file (any more)."""

    def __init__(self, route: str) -> None:
        super().__init__(f"WordPress has no {route} (any more)", retry=True)


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
        """The file keeps its name as its title in WordPress (so `find_files` finds it); the
        alt text describes it, and is its caption, escaped: WordPress shows captions as markup."""
        with path.open("rb") as body:
            answer = self._call("POST", "/wp/v2/media", data=body, headers={
                "Content-Type": mime, "Content-Disposition": f'attachment; filename="{file_name}"'})
        remote_id = str(answer["id"])
        try:
            self._call("POST", f"/wp/v2/media/{remote_id}", json={"alt_text": alt_text, "caption": escape(alt_text)})
        except BaseException:
            self._forget(remote_id)  # nothing left behind undescribed (and if this fails, the name finds it)
            raise
        return RemoteFile(remote_id, str(answer.get("source_url") or ""))

    def find_files(self, file_name: str) -> list[RemoteFile]:
        stem = file_name.rsplit(".", 1)[0]
        found = self._call_list("GET", "/wp/v2/media", params={"search": stem, "per_page": "100",
                                                                "context": "edit"})
        return [RemoteFile(str(item["id"]), str(item.get("source_url") or "")) for item in found
                if isinstance(item, dict) and (item.get("title") or {}).get("raw") == stem]

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
        # WordPress takes titles and excerpts as markup: plain text is escaped to stay text.
        fields = {"title": escape(content.title, quote=False), "content": content.html,
                  "excerpt": escape(content.summary, quote=False), "status": "publish",
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
        body = self._request(method, route, params, **kwargs)
        if not isinstance(body, dict):
            raise PublishError(f"WordPress answered {method} {route} with unexpected JSON", retry=False)
        return body

    def _call_list(self, method: str, route: str, params: dict[str, str] | None = None) -> list[Any]:
        body = self._request(method, route, params)
        if not isinstance(body, list):
            raise PublishError(f"WordPress answered {method} {route} with unexpected JSON", retry=False)
        return body

    def _request(self, method: str, route: str, params: dict[str, str] | None = None, **kwargs: Any) -> Any:
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
            return answer.json()
        except ValueError:
            raise PublishError(f"WordPress answered {method} {route} with something that is not JSON",
                               retry=True) from None


def _reason(answer: requests.Response) -> str:
    """WordPress's own code and message, short (never the request, which carries the password)."""
    try:
        body = answer.json()
    except ValueError:
        return answer.reason or "no reason given"
    if isinstance(body, dict):
        return f"{body.get('code', '')}: {str(body.get('message', ''))[:300]}".strip(": ")
    return answer.reason or "no reason given"
