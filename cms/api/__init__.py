"""REST API under /api/v1/ (bearer tokens, same roles as the web) and its OpenAPI document."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
openapi_bp = Blueprint("openapi", __name__, url_prefix="/api")

from cms.api import campaigns, openapi, plans, users  # noqa: E402,F401  (routes register on import)
