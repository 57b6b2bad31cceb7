"""Blueprints, error pages and template helpers."""
from __future__ import annotations

from datetime import date, datetime, timezone
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, flash, jsonify, render_template, request
from flask_babel import format_date, format_datetime, format_decimal, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, NotFound

from cms.access import is_api_request, user_has_role
from cms.api import LARGEST_WHOLE
from cms.errors import PanoledError
from cms.labels import (
    action_label, channel_label, gap_label, push_result_label, segment_label, field_label, media_action_label, media_kind_label, media_status_label, post_status_label, role_label, status_label,
)

T = TypeVar("T")


def init_app(app: Flask) -> None:
    from cms.account.views import bp as account_bp
    from cms.assets.api import bp as media_api
    from cms.assets.views import bp as assets_bp
    from cms.admin.api import bp as users_api
    from cms.admin.views import bp as admin_bp
    from cms.api.openapi import bp as openapi_bp
    from cms.auth.views import bp as auth_bp
    from cms.branding import bp as branding_bp
    from cms.campaigns.api import bp as campaigns_api
    from cms.campaigns.playlists_api import bp as playlists_api
    from cms.campaigns.playlist_views import bp as playlists_bp
    from cms.campaigns.views import bp as campaigns_bp
    from cms.extensions import csrf
    from cms.plans.api import bp as plans_api
    from cms.plans.views import bp as plans_bp
    from cms.player.views import bp as player_bp
    from cms.reports.views import bp as reports_bp
    from cms.screens.api import bp as screens_api
    from cms.screens.board_api import bp as board_api
    from cms.screens.calendar_views import bp as calendar_bp
    from cms.screens.rules_api import bp as rules_api
    from cms.screens.rule_views import bp as rules_bp
    from cms.screens.views import bp as screens_bp
    from cms.website.public import bp as public_bp
    from cms.website.views import bp as website_bp

    for blueprint in (auth_bp, branding_bp, campaigns_bp, plans_bp, assets_bp, playlists_bp, screens_bp, rules_bp, calendar_bp, account_bp, admin_bp, openapi_bp, player_bp, reports_bp, public_bp, website_bp):
        app.register_blueprint(blueprint)
    for blueprint in (campaigns_api, plans_api, media_api, playlists_api, rules_api, screens_api, users_api, board_api):
        csrf.exempt(blueprint)  # bearer tokens only, never the session cookie: see cms.access
        app.register_blueprint(blueprint)

    from cms.assets.views import raise_upload_limit

    app.before_request_funcs.setdefault(None, []).insert(0, raise_upload_limit)
    app.url_value_preprocessor(_no_row_beyond_integer)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(PanoledError, _domain_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.globals.update(
        has_role=user_has_role, org=lambda: app.config["PANOLED"].organisation,
        status_label=status_label, channel_label=channel_label, role_label=role_label,
        media_status_label=media_status_label, media_kind_label=media_kind_label, media_action_label=media_action_label,
        segment_label=segment_label, post_status_label=post_status_label, push_result_label=push_result_label, gap_label=gap_label,
    )
    app.jinja_env.filters.update(local_date=_local_date, local_datetime=_local_datetime, decimal=format_decimal,
                                 field_label=field_label, field_value=_field_value, action_label=action_label)


def _no_row_beyond_integer(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An `<int:…>` in a URL names a row: a number larger than an INTEGER column holds names none (404),
    and never reaches the database, which could not even look it up."""
    if values and any(isinstance(value, int) and value > LARGEST_WHOLE for value in values.values()):
        raise NotFound()


def flash_error(error: PanoledError) -> None:
    flash(translated(error), "error")


def commit_or_flash(action: Callable[[], T]) -> tuple[bool, T | None]:
    """Run a service call and commit; on a domain error roll back and flash it instead.

    The one place where views turn domain errors into messages.
    """
    from cms.extensions import db

    try:
        result = action()
        db.session.commit()
    except PanoledError as error:
        db.session.rollback()
        flash_error(error)
        return False, None
    return True, result


# Parameters that hold stored codes are shown with their words, not the code.
_PARAM_LABELS = {"from": status_label, "to": status_label, "status": status_label, "role": role_label, "channel": channel_label}


# Words media puts into its messages' parameters.
_PARAM_WORDS = {("kind", "image"): _l("picture"), ("kind", "video"): _l("video"), ("what", "unknown"): _l("an unknown kind of file")}


def translated(error: PanoledError) -> str:
    """The error's message in the user's language, with its parameters filled in."""
    params = {}
    for key, value in error.params.items():
        if key in _PARAM_LABELS and isinstance(value, str):
            value = _PARAM_LABELS[key](value)
        elif (key, value) in _PARAM_WORDS:
            value = str(_PARAM_WORDS[(key, value)])
        params[key] = value
    return gettext(error.message, **params)


def local_today(now: datetime | None = None) -> date:
    """Today's date where the department is, not where the server's clock is set."""
    from flask import current_app

    return (now or datetime.now(timezone.utc)).astimezone(current_app.config["PANOLED"].tz).date()


def _local_date(value: date | None) -> str:
    return format_date(value, "dd/MM/yyyy") if value else "—"


def _local_datetime(value: datetime | str | None) -> str:
    """A moment in the configured zone; ISO text (as API answers carry it) is read first."""
    if isinstance(value, str) and value:
        value = datetime.fromisoformat(value)
    return format_datetime(value, "dd/MM/yyyy HH:mm") if value else "—"


def _field_value(value: Any, key: str = "") -> str:
    """A recorded value (from describe()) as a person reads it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        return ", ".join(channel_label(v) if key == "channels" else str(v) for v in value)
    if key in ("period_start", "period_end") and isinstance(value, str):
        try:
            return _local_date(date.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def _api_error(status: int, code: str, message: str, **extra: Any) -> Any:
    response = jsonify(error={"code": code, "message": message, **extra})
    response.status_code = status
    return response


def _csrf_error(error: CSRFError) -> Any:
    if is_api_request():
        return _api_error(400, "csrf_failed", error.description)
    return render_template("error.html", status=400, message=gettext(
        "The form expired or was sent from another site. Go back, reload the page and try again."
    )), 400


def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if is_api_request():
        return _api_error(status, (error.name or "error").lower().replace(" ", "_"), error.description or "")
    messages = {
        400: gettext("The request could not be understood. Go back and try again."),
        401: gettext("Please sign in."),
        403: gettext("Your role does not allow this page."),
        404: gettext("This page does not exist."),
        405: gettext("This action is not available here."),
        413: gettext("The file is too large."),
        429: gettext("Too many requests. Wait a moment and try again."),
    }
    fallback = gettext("Something went wrong on the server. It has been logged; try again later.")
    return render_template("error.html", status=status, message=messages.get(status, fallback)), status


def _domain_error(error: PanoledError) -> Any:
    from cms.extensions import db

    db.session.rollback()
    if is_api_request():
        return _api_error(error.http_status, error.code, str(error))
    return render_template("error.html", status=error.http_status, message=translated(error)), error.http_status


def _unexpected_error(error: Exception) -> Any:
    from flask import current_app

    from cms.extensions import db

    if isinstance(error, HTTPException):
        return _http_error(error)
    db.session.rollback()
    current_app.logger.exception("unexpected error on %s %s", request.method, request.path)
    if current_app.testing and current_app.config.get("PROPAGATE_EXCEPTIONS"):
        raise error
    if is_api_request():
        return _api_error(500, "internal_error", "Something went wrong on the server; it has been logged.")
    return render_template("error.html", status=500, message=gettext(
        "Something went wrong on the server. It has been logged; try again later."
    )), 500
