"""Account endpoints of the REST API: who am I, and user administration (admin only)."""
from __future__ import annotations

from typing import Any

from flask import current_app, g

from cms.access import roles_required, signed_in
from cms.api import actor, api_blueprint, json_body, text_field
from cms.extensions import db
from cms.services.accounts import NewAccount, create_user, describe_user, list_users

bp = api_blueprint("users_api", __name__)


@bp.get("/me")
@signed_in
def me() -> dict[str, Any]:
    return describe_user(g.api_user)


@bp.get("/users")
@roles_required("admin")
def user_list() -> dict[str, Any]:
    return {"users": [describe_user(u) for u in list_users()]}


@bp.post("/users")
@roles_required("admin")
def user_create() -> tuple[dict[str, Any], int]:
    body = json_body()
    user = create_user(
        NewAccount(email=text_field(body, "email", max_length=254), role=text_field(body, "role", max_length=20),
                   password=text_field(body, "password", max_length=1024),
                   display_name=text_field(body, "display_name", max_length=200)),
        current_app.config["PANOLED"].security, actor(),
    )
    db.session.commit()
    return describe_user(user), 201
