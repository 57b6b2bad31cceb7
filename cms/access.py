"""Who may call which route.

Access is denied by default: a view without an access declaration answers 403,
so a new route cannot be forgotten open. Views declare either `public`,
`signed_in` (any role) or `roles_required(...)`; admin may do everything.
Web routes use the session; API routes use a bearer token and never the session
cookie, which is why the API can be CSRF-exempt without being CSRF-prone.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, g, jsonify, redirect, request, url_for
from flask_login import current_user

from cms.config import ROLES

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"
ANY_ROLE = frozenset(ROLES)


def public(view: F) -> F:
    view._panoled_access = PUBLIC  # type: ignore[attr-defined]
    return view


def signed_in(view: F) -> F:
    view._panoled_access = ANY_ROLE  # type: ignore[attr-defined]
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
