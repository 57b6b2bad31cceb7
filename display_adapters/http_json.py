"""The `http-json` kind: integrators' controllers that speak Panoled's signed JSON push protocol.

The protocol is written down in docs/http-json-protocol.md, and
`display_adapters.http_json_receiver` is its reference receiver. In short:
`POST {url}/manifest` with the manifest as the JSON body (plus a `push_id`
unique to the request), signed with the board
key (`X-Panoled-Timestamp`, `X-Panoled-Signature`); the controller answers 200
`{"current_version": n}` when it took it (or already had it), 409 with its own
newer version, 401 when the signature does not verify. `GET {url}/status`
(signed over an empty body) answers `{"online", "current_version", "asset_id"}`.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import requests

from display_adapters.base import (N_, BoardStatus, DisplayAdapter, PushResult, Rejected, RetryLater,
                                   check_http_url)
from display_adapters.signing import signed_headers

BOARD_HEADER = "X-Panoled-Board"


class HttpJsonAdapter(DisplayAdapter):
    kind = "http-json"
    description = N_("A controller speaking Panoled's signed JSON push protocol")
    required_options = ("url",)
    capabilities = frozenset({"push", "status"})

    @classmethod
    def check_options(cls, options: Mapping[str, str]) -> None:
        super().check_options(options)
        check_http_url(options, "url")

    def _target(self, path: str) -> str:
        return f"{self.board.options['url'].rstrip('/')}/{path}"

    def _headers(self, body: bytes) -> dict[str, str]:
        if not self.board.signing_key:
            raise Rejected("the board has no signing key yet: rotate its secret and give the controller the new one")
        return {"Content-Type": "application/json", BOARD_HEADER: self.board.code,
                **signed_headers(self.board.signing_key, body)}

    def push_manifest(self, manifest: Mapping[str, Any]) -> PushResult:
        target = self._target("manifest")
        # A fresh push_id makes every request's signature unique, so a retry of the same
        # version within the same second is not mistaken for a replay.
        body = json.dumps({**manifest, "push_id": uuid.uuid4().hex}, ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")
        response = self._call("POST", target, body)
        answer = _json(response)
        version = answer.get("current_version")
        if response.status_code in (200, 409) and isinstance(version, int) and not isinstance(version, bool):
            return PushResult(response.status_code == 200, version, str(answer.get("detail", ""))[:500])
        raise Rejected(f"{target} answered {response.status_code}: {str(answer.get('error', ''))[:200]}")

    def fetch_status(self) -> BoardStatus:
        target = self._target("status")
        try:
            response = self._call("GET", target, b"")
        except RetryLater as error:
            return BoardStatus(False, detail=str(error))
        answer = _json(response)
        version, asset = answer.get("current_version"), answer.get("asset_id")
        if response.status_code != 200 or not isinstance(version, int):
            raise Rejected(f"{target} answered {response.status_code}: {str(answer.get('error', ''))[:200]}")
        return BoardStatus(bool(answer.get("online", True)), version, asset if isinstance(asset, int) else None,
                           str(answer.get("detail", ""))[:500])

    def _call(self, method: str, target: str, body: bytes) -> requests.Response:
        headers = self._headers(body)
        try:
            response = requests.request(method, target, data=body or None, headers=headers, timeout=self.timeout,
                                        allow_redirects=False)
        except requests.Timeout:
            raise RetryLater(f"no answer from {target} within {self.timeout:g} s", timeout=True) from None
        except requests.RequestException as error:
            raise RetryLater(f"cannot reach {target}: {type(error).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryLater(f"{target} answered {response.status_code}")
        if response.status_code == 401:
            raise Rejected(f"{target} refused the signature: {str(_json(response).get('error', ''))[:200]}")
        return response


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
