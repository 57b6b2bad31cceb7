"""The organisation's logo, named in configuration and shown in the header."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_file
from werkzeug.wrappers import Response

from cms.access import public

bp = Blueprint("branding", __name__)
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


def logo_path() -> Path | None:
    logo = current_app.config["PANOLED"].organisation.logo
    return Path(logo) if logo else None


@bp.route("/branding/logo")
@public
def logo() -> Response:
    path = logo_path()
    if path is None or not path.is_file():
        abort(404)
    return send_file(path, mimetype=LOGO_TYPES[path.suffix.lower()], max_age=3600)
