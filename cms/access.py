"""Who may call which route.

Access is denied by default: a view without an access declaration answers 403,
so a new route cannot be forgotten open. Views declare either `public`,
`signed_in` (any role) or `roles_required(...)`; admin may do everything.
Web routes use the session; API routes use a bearer token and never the session
cookie, which is why the API can be CSRF-exempt without being CSRF-prone.

Board routes (`board_only`) take no person's token: the board named in the URL
authenticates with its own secret (`Authorization: Bearer pnb_…`), and a body it
sends must also carry its HMAC signature (display_adapters.signing), checked
against replays. A user's token never works there, nor a board's secret anywhere else.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, g, jsonify, redirect, request, url_for
from flask_login import current_user

from cms.config import ROLES

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"
BOARD = "board"
ANY_ROLE = frozenset(ROLES)


def public(view: F) -> F:
    view._panoled_access = PUBLIC  # type: ignore[attr-defined]
    return view


def signed_in(view: F) -> F:
    view._panoled_access = ANY_ROLE  # type: ignore[attr-defined]
    return view


def board_only(view: F) -> F:
    """For the boards themselves: the URL's `screen_id` board, by its secret (and signature on bodies)."""
    view._panoled_access = BOARD  # type: ignore[attr-defined]
    return view


def roles_required(*roles: str) -> Callable[[F], F]:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def mark(view: F) -> F:
        view._panoled_access = frozenset(roles) | {"admin"}  # type: ignore[attr-defined]
        return view

    return mark


def access_of(app: Flask, endpoint: str) -> str | frozenset[str] | None:
    view = app.view_functions.get(endpoint)
    view = getattr(view, "view_class", view)
    return getattr(view, "_panoled_access", None)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def user_has_role(user: Any, *roles: str) -> bool:
    return user is not None and (user.role == "admin" or user.role in roles)


def enforce_access() -> Any:
    """before_request hook: authenticate API tokens, then check the route's declaration."""
    from flask import current_app

    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return None
    access = access_of(current_app, endpoint)
    if access == PUBLIC:
        return None
    if access == BOARD:
        return _authenticate_board()
    if is_api_request():
        from cms.services.tokens import user_for_token

        g.api_user = user_for_token(request.headers.get("Authorization", ""))
        user = g.api_user
        if user is None:
            response = jsonify(error={"code": "unauthorized", "message": "A valid API token is required (Authorization: Bearer …)."})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="panoled"'
            return response
    else:
        user = current_user if current_user.is_authenticated else None
        if user is None:
            return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    if access is None or user.role not in access:
        current_app.logger.info("access denied: %s to %s", user.role, endpoint)
        abort(403)
    return None


def _board_refusal(code: str, message: str, status: int = 401) -> Any:
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="panoled-board"'
    return response


def _authenticate_board() -> Any:
    """The board of the URL by its secret; on a request with a body, its signature too.
    Sets `g.board` (cms.services.screens.BoardCredentials)."""
    import time

    from flask import current_app

    from cms.services.screens import board_for_secret
    from display_adapters.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, ReplayGuard, SignatureError, verify

    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    screen_id = (request.view_args or {}).get("screen_id")
    board = None
    if scheme.lower() == "bearer" and secret.strip() and isinstance(screen_id, int):
        board = board_for_secret(screen_id, secret.strip())
    if board is None:
        return _board_refusal("board_unauthorized", "This board's secret is required (Authorization: Bearer pnb_…).")
    if not board.active:
        return _board_refusal("board_inactive", "This board is switched off in the CMS.", 403)
    if request.method not in ("GET", "HEAD"):
        now = time.time()
        try:
            stamp = verify(board.signing_key, request.headers.get(TIMESTAMP_HEADER),
                           request.headers.get(SIGNATURE_HEADER), request.get_data(cache=True), now)
            guard = current_app.extensions.setdefault("panoled_board_replays", ReplayGuard())
            guard.check(request.headers.get(SIGNATURE_HEADER, "").strip(), stamp, now)
        except SignatureError as error:
            return _board_refusal("signature_invalid", str(error))
        g.board_signed_at = int(stamp)  # kept with what the board sent (cms.services.playback.SignedBatch)
    g.board = board
    return None
