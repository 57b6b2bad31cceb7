"""The web player's page shell and its service worker.

Both are public: the page holds no schedule, only the board id from its URL. The
browser asks once for the board's secret and then reads the manifest, media and
everything else through the board API (cms.screens.board_api), which only that
secret opens. The player itself lives in cms/static/player/.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, send_from_directory

from cms.access import public

bp = Blueprint("player", __name__, url_prefix="/player")

SCOPE = "/player/"


@bp.route("/<int:screen_id>")
@public
def page(screen_id: int) -> str:
    return render_template("player/player.html", screen_id=screen_id, scope=SCOPE)


@bp.route("/sw.js")
@public
def service_worker() -> Response:
    """The service worker, served from the player's own path so its scope is /player/ and the
    pages there keep working while the CMS cannot be reached."""
    response = send_from_directory(current_app.static_folder or "static", "player/sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = SCOPE
    response.headers["Cache-Control"] = "no-cache"
    return response
