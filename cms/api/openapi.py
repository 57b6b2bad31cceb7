"""The OpenAPI 3.1 document for /api/v1/. A test checks it lists exactly the routes that exist."""
from __future__ import annotations

from typing import Any

from cms.access import public
from flask import Blueprint
from cms.models import ASSET_STATUSES, CAMPAIGN_STATUSES
from cms.services.channels import CHANNELS
from display_adapters.options import KINDS

ERROR = {"$ref": "#/components/responses/Error"}
NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _op(summary: str, ok: dict[str, Any], *, status: str = "200", body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None, roles: str = "any role",
        extra: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": f"Roles: {roles}.",
        "responses": {status: ok, "400": ERROR, "401": ERROR, "403": ERROR, "404": ERROR, "422": ERROR} | (extra or {}),
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    if params:
        operation["parameters"] = params
    return operation


def _board_op(summary: str, ok: dict[str, Any], *, params: list[dict[str, Any]], body: dict[str, Any] | None = None,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """An endpoint for the boards: the board's secret as bearer token, never a person's token."""
    operation = _op(summary, ok, body=body, params=params, roles="the board itself (its secret)", extra=extra)
    operation["security"] = [{"board": []}]
    operation["responses"]["403"] = ERROR  # the board is switched off in the CMS
    return operation


def _with_refusals(paths: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Answers every operation of a kind may give: a person's change may conflict with the current state
    (409: a taken email or board code, a status step not allowed from here), and any body may be too large (413)."""
    for operations in paths.values():
        for method, operation in operations.items():
            if method != "get" and "security" not in operation:
                operation["responses"]["409"] = ERROR
            if "requestBody" in operation:
                operation["responses"]["413"] = ERROR
    return paths


SIGNATURE = [
    {"name": "X-Panoled-Timestamp", "in": "header", "required": True, "schema": {"type": "integer"},
     "description": "Unix seconds; refused more than 300 s from the CMS clock"},
    {"name": "X-Panoled-Signature", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "sha256=<hex HMAC-SHA256 of \"<timestamp>.\" + body, keyed by the board key>; each signature is accepted once"},
]

# A stored picture or clip, with its own type (image/jpeg, video/mp4, ...).
MEDIA_FILE = {kind: {"schema": {"type": "string", "format": "binary"}} for kind in ("image/*", "video/*", "application/octet-stream")}
DUPLICATE = {"200": _json(_ref("Media"), "Already in the campaign: the existing asset, duplicate=true")}
ID = [{"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
PLAYLIST_ID = [{"name": "playlist_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
PLAYLIST_ITEM_ID = PLAYLIST_ID + [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
SCREEN_ID = [{"name": "screen_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
MEDIA_ID = [{"name": "asset_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
# What a board is registered with, and what an edit may change.
SCREEN_FIELDS = {
    "name": {"type": "string", "maxLength": 200}, "code": {"type": "string", "maxLength": 40},
    "width": {"type": "integer"}, "height": {"type": "integer"},
    "adapter": {"enum": list(KINDS)}, "adapter_options": {"type": "object"},
    "group": {"type": "string"}, "address": {"type": "string"},
    "latitude": {"type": ["number", "null"]}, "longitude": {"type": ["number", "null"]},
    "pixel_pitch_mm": {"type": "number"}, "viewing_distance_m": {"type": "number"},
    "operating_hours": {"type": "string", "example": "05:30-22:00"},
    "timezone": {"type": "string"}}

CAMPAIGN_INPUT = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 2000},
        "plan_id": {"type": ["integer", "null"]},
        "number": {"type": ["integer", "null"], "minimum": 1},
        "lead_unit": {"type": ["string", "null"]},
        "partner_units": {"type": "array", "items": {"type": "string"}},
        "form_text": {"type": "string"},
        "channels": {"type": "array", "items": {"enum": list(CHANNELS)}},
        "period_text": {"type": "string", "maxLength": 300},
        "period_start": NULLABLE_DATE,
        "period_end": NULLABLE_DATE,
        "description": {"type": "string"},
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Panoled API",
        "version": "1",
        "description": "Plans, campaigns and their media. Authenticate with "
        "`Authorization: Bearer <token>`; tokens are created on the account page.",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": _with_refusals({
        "/api/v1/me": {"get": _op("The token's owner", _json(_ref("User")))},
        "/api/v1/users": {
            "get": _op("List accounts", _json({"type": "object", "properties": {"users": {"type": "array", "items": _ref("User")}}}), roles="admin"),
            "post": _op("Create an account", _json(_ref("User"), "Created"), status="201", roles="admin", body={"application/json": {"schema": {
                "type": "object", "required": ["email", "role", "password"],
                "properties": {"email": {"type": "string", "format": "email", "maxLength": 254},
                               "role": {"enum": ["admin", "editor", "approver", "operator", "auditor"]},
                               "password": {"type": "string", "minLength": 12, "maxLength": 1024},
                               "display_name": {"type": "string", "maxLength": 200}},
            }}}),
        },
        "/api/v1/plans": {"get": _op("List plans", _json({"type": "object", "properties": {"plans": {"type": "array", "items": _ref("Plan")}}}))},
        "/api/v1/plans/{plan_id}": {"get": _op("One plan", _json(_ref("Plan")), params=[
            {"name": "plan_id", "in": "path", "required": True, "schema": {"type": "integer"}}])},
        "/api/v1/plans/import": {"post": _op(
            "Import a plan file (.docx, .xlsx, .csv, .tsv, .txt); dry_run=true previews", _json(_ref("ImportSummary")),
            roles="editor, admin", body={"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}, "number": {"type": "string"},
                               "dry_run": {"type": "string", "enum": ["true", "false"]}},
            }}})},
        "/api/v1/campaigns": {
            "get": _op("List campaigns", _json({"type": "object", "properties": {"campaigns": {"type": "array", "items": _ref("Campaign")}}}),
                       params=[
                           {"name": "plan_id", "in": "query", "schema": {"type": "integer"}},
                           {"name": "status", "in": "query", "schema": {"enum": list(CAMPAIGN_STATUSES)}},
                           {"name": "channel", "in": "query", "schema": {"enum": list(CHANNELS)}},
                           {"name": "q", "in": "query", "schema": {"type": "string"}},
                       ]),
            "post": _op("Create a campaign by hand", _json(_ref("Campaign"), "Created"), status="201", roles="editor, admin",
                        body={"application/json": {"schema": CAMPAIGN_INPUT | {"required": ["title"]}}}),
        },
        "/api/v1/campaigns/{campaign_id}": {
            "get": _op("One campaign, with the status changes the caller may make", _json(_ref("Campaign")), params=ID),
            "patch": _op("Edit a campaign", _json(_ref("Campaign")), params=ID, roles="editor, admin",
                         body={"application/json": {"schema": CAMPAIGN_INPUT}}),
        },
        "/api/v1/campaigns/{campaign_id}/transitions": {"post": _op(
            "Change the status (draft → planned → approved → running → done → accepted)", _json(_ref("Campaign")),
            params=ID, roles="depends on the step: approver approves and accepts, editor plans and runs",
            body={"application/json": {"schema": {"type": "object", "required": ["to"], "properties": {
                "to": {"enum": list(CAMPAIGN_STATUSES)}, "note": {"type": "string", "maxLength": 1000}}}}})},
        "/api/v1/media": {
            "get": _op("List media", _json({"type": "object", "properties": {"media": {"type": "array", "items": _ref("Media")}}}),
                       params=[{"name": "campaign_id", "in": "query", "schema": {"type": "integer"}},
                               {"name": "status", "in": "query", "schema": {"enum": list(ASSET_STATUSES)}}]),
            "post": _op(
                "Upload a videoclip, poster or banner: the file as the raw body (streamed), or multipart field `file`. "
                "The same file again in the campaign answers 200 with the existing asset and duplicate=true.",
                _json(_ref("Media"), "Created"), status="201", roles="editor, admin", extra=DUPLICATE,
                params=[{"name": "campaign_id", "in": "query", "required": True, "schema": {"type": "integer"}},
                        {"name": "filename", "in": "query", "schema": {"type": "string"}},
                        {"name": "kind", "in": "query", "schema": {"enum": ["poster", "banner"]}}],
                body={"application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                      "multipart/form-data": {"schema": {"type": "object", "properties": {
                          "file": {"type": "string", "format": "binary"}}}}}),
        },
        "/api/v1/media/banners": {"post": _op(
            "Create a generated text banner; the same banner again in the campaign answers 200 with the existing asset "
            "and duplicate=true", _json(_ref("Media"), "Created"), status="201", roles="editor, admin", extra=DUPLICATE,
            body={"application/json": {"schema": {"type": "object", "required": ["campaign_id", "title"], "properties": {
                "campaign_id": {"type": "integer"}, "title": {"type": "string", "maxLength": 200},
                "body": {"type": "string", "maxLength": 1000}, "text_color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
                "background_color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"}}}}})},
        "/api/v1/media/{asset_id}": {
            "get": _op("One media asset with its derivatives", _json(_ref("Media")), params=MEDIA_ID),
            "patch": _op("Change the fit (mode, focal point, band colour) or alt text; a changed fit needs approval again",
                         _json(_ref("Media")), params=MEDIA_ID, roles="editor, admin",
                         body={"application/json": {"schema": {"type": "object", "properties": {
                             "fit_mode": {"enum": ["contain", "cover", "stretch"]},
                             "focal_x": {"type": "number", "minimum": 0, "maximum": 1},
                             "focal_y": {"type": "number", "minimum": 0, "maximum": 1},
                             "background": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
                             "alt_text": {"type": "string", "maxLength": 1000}}}}}),
        },
        "/api/v1/media/{asset_id}/transitions": {"post": _op(
            "Change the approval status (draft → pending → approved | rejected → archived); nobody approves their own upload",
            _json(_ref("Media")), params=MEDIA_ID, roles="editor sends for approval and archives; approver approves and rejects",
            body={"application/json": {"schema": {"type": "object", "required": ["to"], "properties": {
                "to": {"enum": list(ASSET_STATUSES)}, "reason": {"type": "string", "maxLength": 2000}}}}})},
        "/api/v1/playlists": {
            "get": _op("List playlists", _json({"type": "object", "properties": {"playlists": {"type": "array", "items": _ref("Playlist")}}}),
                       params=[{"name": "campaign_id", "in": "query", "schema": {"type": "integer"}}]),
            "post": _op("Create a playlist for a campaign", _json(_ref("Playlist"), "Created"), status="201", roles="editor, admin",
                        body={"application/json": {"schema": {"type": "object", "required": ["campaign_id", "name"], "properties": {
                            "campaign_id": {"type": "integer"}, "name": {"type": "string", "maxLength": 200}}}}}),
        },
        "/api/v1/playlists/{playlist_id}": {"get": _op("One playlist with its items and loop length", _json(_ref("Playlist")), params=PLAYLIST_ID)},
        "/api/v1/playlists/{playlist_id}/items": {"post": _op(
            "Append a medium of the campaign (duration: seconds; default its length, or 10 s for pictures)",
            _json(_ref("Playlist"), "Created"), status="201", params=PLAYLIST_ID, roles="editor, admin",
            body={"application/json": {"schema": {"type": "object", "required": ["asset_id"], "properties": {
                "asset_id": {"type": "integer"}, "duration": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 3600}}}}})},
        "/api/v1/playlists/{playlist_id}/items/{item_id}": {
            "delete": _op("Remove an item", _json(_ref("Playlist")), roles="editor, admin", params=PLAYLIST_ITEM_ID),
            "patch": _op("Change an item's duration (null: its own length, or 10 s for pictures) or move it up or down",
                         _json(_ref("Playlist")), roles="editor, admin", params=PLAYLIST_ITEM_ID,
                         body={"application/json": {"schema": {"type": "object", "properties": {
                             "duration": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 3600},
                             "move": {"enum": ["up", "down"]}}}}}),
        },
        "/api/v1/playlists/{playlist_id}/publish": {"post": _op(
            "Publish: refused unless every item is approved", _json(_ref("Playlist")), params=PLAYLIST_ID, roles="editor, admin")},
        "/api/v1/rules": {
            "get": _op("List schedule rules", _json({"type": "object", "properties": {"rules": {"type": "array", "items": _ref("Rule")}}})),
            "post": _op("Create a schedule rule (interrupts wait for an approver)", _json(_ref("Rule"), "Created"), status="201",
                        roles="editor, operator, admin", body={"application/json": {"schema": {
                            "type": "object", "required": ["playlist_id"], "properties": {
                                "playlist_id": {"type": "integer"}, "board_ids": {"type": "array", "items": {"type": "integer"}},
                                "groups": {"type": "array", "items": {"type": "string"}},
                                "date_from": NULLABLE_DATE, "date_to": NULLABLE_DATE,
                                "weekdays": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 6}},
                                "windows": {"type": "array", "items": {"type": "string", "example": "07:00-09:00"}},
                                "priority": {"type": "integer"}, "plays_per_hour": {"type": ["integer", "null"]},
                                "share_of_voice": {"type": ["number", "null"]}, "interrupt": {"type": "boolean"},
                                "note": {"type": "string"}}}}}),
        },
        "/api/v1/rules/{rule_id}": {"delete": _op(
            "Delete a schedule rule (the audit log keeps what it was)", {"description": "Deleted"}, status="204",
            roles="editor, admin", params=[{"name": "rule_id", "in": "path", "required": True, "schema": {"type": "integer"}}])},
        "/api/v1/rules/{rule_id}/approve": {"post": _op(
            "Approve an interrupt rule (not one's own)", _json(_ref("Rule")), roles="approver, admin",
            params=[{"name": "rule_id", "in": "path", "required": True, "schema": {"type": "integer"}}])},
        "/api/v1/screens": {
            "get": _op("List boards", _json({"type": "object", "properties": {"screens": {"type": "array", "items": _ref("Screen")}}})),
            "post": _op("Register a board; the answer holds its secret, shown this once", _json(_ref("Screen"), "Created"),
                        status="201", roles="operator, admin", body={"application/json": {"schema": {
                            "type": "object", "required": ["name", "width", "height", "adapter"],
                            "properties": SCREEN_FIELDS}}}),
        },
        "/api/v1/screens/{screen_id}": {
            "get": _op("One board", _json(_ref("Screen")), params=SCREEN_ID),
            "patch": _op("Change a board: the fields given, checked as when registering; a secret option given as "
                         "•••• keeps its value; a changed kind or option sends the newest manifest again",
                         _json(_ref("Screen")), params=SCREEN_ID, roles="operator, admin", body={"application/json": {
                             "schema": {"type": "object", "properties": SCREEN_FIELDS | {"active": {"type": "boolean"}}}}}),
        },
        "/api/v1/screens/{screen_id}/secret": {"post": _op(
            "Make a new secret for the board (the old one stops working)", _json({"type": "object", "properties": {
                "id": {"type": "integer"}, "secret": {"type": "string"}}}), params=SCREEN_ID, roles="operator, admin")},
        "/api/v1/screens/{screen_id}/fallback": {"put": _op(
            "Set the playlist the board shows when no rule has anything for it (null: none)", _json(_ref("Screen")),
            params=SCREEN_ID, roles="editor, admin", body={"application/json": {"schema": {
                "type": "object", "required": ["playlist_id"], "properties": {"playlist_id": {"type": ["integer", "null"]}}}}})},
        "/api/v1/screens/status": {"get": _op(
            "On air now: every board's newest manifest version, what it acknowledged, its last push and what it shows",
            _json({"type": "object", "properties": {"boards": {"type": "array", "items": _ref("BoardStatus")}}}))},
        "/api/v1/screens/{screen_id}/timeline": {"get": _op(
            "What plays when on the board, resolved", _json({"type": "object"}),
            params=SCREEN_ID + [{"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date-time"}},
                                {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date-time"}}])},
        "/api/v1/screens/alerts": {"get": _op(
            "Board alerts: offline over the configured minutes (or never heard from), newest manifest not taken, "
            "showing media its manifest does not name",
            _json({"type": "object", "properties": {"alerts": {"type": "array", "items": _ref("BoardAlert")}}}))},
        "/api/v1/screens/{screen_id}/manifest": {"get": _board_op(
            "The board's newest manifest (ETag \"v<version>\"; If-None-Match with the same tag answers 304; with "
            "wait=N, up to 25 s, answers as soon as a newer version is made, else 304). The answer is signed.",
            _json({"type": "object", "description": "the manifest, `version` inside"}),
            params=SCREEN_ID + [{"name": "wait", "in": "query", "schema": {"type": "number", "minimum": 0, "maximum": 25}},
                                {"name": "If-None-Match", "in": "header", "schema": {"type": "string", "example": "\"v3\""}}],
            extra={"304": {"description": "No newer version"}})},
        "/api/v1/screens/{screen_id}/media/{asset_id}": {"get": _board_op(
            "A media file in the rendition for the board's size; only media named by the board's newest or "
            "acknowledged manifest. ETag is the file's sha256; Range requests are served.",
            {"description": "The file", "content": MEDIA_FILE},
            params=SCREEN_ID + MEDIA_ID, extra={"206": {"description": "Part of the file", "content": MEDIA_FILE},
                                                "304": {"description": "Unchanged"}, "416": ERROR})},
        "/api/v1/screens/{screen_id}/heartbeat": {"post": _board_op(
            "The board calls in: the manifest version it plays (acknowledges it), the media on screen, and a "
            "screenshot when one was asked for", _json({"type": "object", "properties": {
                "screenshot_wanted": {"type": "boolean"},
                "manifest_version": {"type": "integer", "description": "our newest version for the board; 0 for none"}}}),
            params=SCREEN_ID + SIGNATURE, body={"application/json": {"schema": {"type": "object", "properties": {
                "version": {"type": ["integer", "null"]}, "asset_id": {"type": ["integer", "null"]},
                "at": {"type": ["string", "null"], "format": "date-time", "description": "the board's clock"},
                "screenshot": {"type": ["string", "null"], "description": "base64 PNG, at most 8 MB"}}}}})},
        "/api/v1/screens/{screen_id}/playlogs": {"post": _board_op(
            "Report complete plays (at most 1000). Each play is stored once per (board, event_id): the answer says which "
            "were new and which were already stored. One invalid play refuses the whole batch (422) and stores nothing.",
            _json({"type": "object", "properties": {"new": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                                                    "duplicates": {"type": "array", "items": {"type": "string", "format": "uuid"}}}}),
            params=SCREEN_ID + SIGNATURE, body={"application/json": {"schema": {"type": "object", "required": ["plays"], "properties": {
                "plays": {"type": "array", "maxItems": 1000, "items": {"type": "object",
                          "required": ["event_id", "asset_id", "manifest_version", "start", "end"], "properties": {
                              "event_id": {"type": "string", "format": "uuid"}, "asset_id": {"type": "integer"},
                              "manifest_version": {"type": "integer"},
                              "start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"},
                              "frame_hash": {"type": ["string", "null"], "maxLength": 128}}}}}}}})},
        "/api/v1/campaigns/{campaign_id}/history": {"get": _op("Who changed what and when", _json({
            "type": "object", "properties": {"history": {"type": "array", "items": {"type": "object", "properties": {
                "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"},
                "action": {"type": "string"}, "details": {"type": "object"}}}}}}), params=ID)},
    }),
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                            "board": {"type": "http", "scheme": "bearer",
                                      "description": "The board's own secret (pnb_…), shown when it was registered"}},
        "responses": {"Error": _json({"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}, "Error with a stable code")},
        "schemas": {
            "BoardStatus": {"type": "object", "properties": {
                "screen_id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
                "group": {"type": ["string", "null"]},
                "latest_version": {"type": "integer"}, "acknowledged_version": {"type": "integer"},
                "in_sync": {"type": "boolean"}, "failures": {"type": "integer"},
                "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
                "last_result": {"type": "string", "description": "ok, stale, retry, timeout, rejected, or empty before any push"},
                "last_error": {"type": "string"}, "last_attempt_at": {"type": ["string", "null"], "format": "date-time"},
                "last_latency_ms": {"type": ["number", "null"]},
                "now": {"type": ["object", "null"], "properties": {
                    "kind": {"type": "string"}, "rule_id": {"type": ["integer", "null"]},
                    "playlist_id": {"type": ["integer", "null"]}, "asset_id": {"type": ["integer", "null"]},
                    "campaign_id": {"type": ["integer", "null"]}, "name": {"type": "string"},
                    "campaign": {"type": ["string", "null"]}}},
                "health": _ref("BoardHealth")}},
            "BoardHealth": {"type": "object", "properties": {
                "online": {"type": "boolean", "description": "a heartbeat within three heartbeat intervals"},
                "last_seen_at": {"type": ["string", "null"], "format": "date-time"},
                "heartbeat_version": {"type": ["integer", "null"]}, "current_asset_id": {"type": ["integer", "null"]},
                "last_play_at": {"type": ["string", "null"], "format": "date-time"},
                "screenshot_at": {"type": ["string", "null"], "format": "date-time"},
                "screenshot_requested_at": {"type": ["string", "null"], "format": "date-time"},
                "screenshot_wanted": {"type": "boolean"}}},
            "BoardAlert": {"type": "object", "properties": {
                "kind": {"enum": ["offline", "manifest_not_acknowledged", "unexpected_content"]},
                "screen_id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
                "since": {"type": ["string", "null"], "format": "date-time", "description": "null: never heard from"},
                "detail": {"type": "object"}}},
            "User": {"type": "object", "properties": {
                "id": {"type": "integer"}, "email": {"type": "string"}, "display_name": {"type": "string"},
                "role": {"type": "string"}, "active": {"type": "boolean"}}},
            "Plan": {"type": "object", "properties": {
                "id": {"type": "integer"}, "number": {"type": "string"}, "title": {"type": "string"},
                "issuing_body": {"type": "string"}, "issued_on": NULLABLE_DATE, "place": {"type": "string"},
                "basis": {"type": "string"}, "year": {"type": ["integer", "null"]}, "campaign_count": {"type": "integer"}}},
            "Campaign": {"type": "object", "required": [
                "id", "number", "title", "lead_unit", "partner_units", "channels", "period_text", "period_start", "period_end", "status"],
                "properties": {
                    "id": {"type": "integer"}, "plan_id": {"type": ["integer", "null"]}, "plan_number": {"type": ["string", "null"]},
                    "number": {"type": ["integer", "null"]}, "title": {"type": "string"}, "lead_unit": {"type": ["string", "null"]},
                    "partner_units": {"type": "array", "items": {"type": "string"}},
                    "form_text": {"type": "string"}, "channels": {"type": "array", "items": {"enum": list(CHANNELS)}},
                    "period_text": {"type": "string"}, "period_start": NULLABLE_DATE, "period_end": NULLABLE_DATE,
                    "period_flagged": {"type": "boolean", "description": "the period phrase could not be read; a person must set the dates"},
                    "description": {"type": "string"}, "status": {"enum": list(CAMPAIGN_STATUSES)},
                    "allowed_transitions": {"type": "array", "items": {"enum": list(CAMPAIGN_STATUSES)}},
                    "changes": {"type": "object"}}},
            "Media": {"type": "object", "properties": {
                "id": {"type": "integer"}, "campaign_id": {"type": "integer"}, "kind": {"enum": ["video", "poster", "banner"]},
                "display_name": {"type": "string"}, "status": {"enum": list(ASSET_STATUSES)},
                "rejection_reason": {"type": ["string", "null"]}, "sha256": {"type": "string"}, "size": {"type": "integer"},
                "mime": {"type": "string"}, "format": {"type": "string"}, "width": {"type": "integer"}, "height": {"type": "integer"},
                "duration": {"type": ["number", "null"]}, "fps": {"type": ["number", "null"]},
                "video_codec": {"type": ["string", "null"]}, "audio_codec": {"type": ["string", "null"]},
                "fit": {"type": "object"}, "banner": {"type": ["object", "null"]}, "alt_text": {"type": "string"},
                "uploaded_by": {"type": "string"}, "created_at": {"type": ["string", "null"], "format": "date-time"},
                "duplicate": {"type": "boolean"},
                "allowed_transitions": {"type": "array", "items": {"enum": list(ASSET_STATUSES)}},
                "derivatives": {"type": "array", "items": {"type": "object", "properties": {
                    "kind": {"enum": ["thumbnail", "rendition"]}, "profile_key": {"type": ["string", "null"]},
                    "width": {"type": "integer"}, "height": {"type": "integer"},
                    "state": {"enum": ["pending", "running", "done", "failed"]}, "progress": {"type": "number"},
                    "error": {"type": ["string", "null"]}, "notes": {"type": "object"}}}}}},
            "Playlist": {"type": "object", "properties": {
                "id": {"type": "integer"}, "campaign_id": {"type": "integer"}, "name": {"type": "string"},
                "status": {"enum": ["draft", "published"]}, "published_at": {"type": ["string", "null"], "format": "date-time"},
                "loop_seconds": {"type": "number"}, "publishable": {"type": "boolean"},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "position": {"type": "integer"}, "asset_id": {"type": "integer"},
                    "display_name": {"type": "string"}, "kind": {"type": "string"}, "asset_status": {"type": "string"},
                    "duration": {"type": ["number", "null"]}, "seconds": {"type": "number"}}}}}},
            "Rule": {"type": "object", "properties": {
                "id": {"type": "integer"}, "playlist_id": {"type": "integer"},
                "board_ids": {"type": "array", "items": {"type": "integer"}}, "groups": {"type": "array", "items": {"type": "string"}},
                "date_from": NULLABLE_DATE, "date_to": NULLABLE_DATE, "weekdays": {"type": "array", "items": {"type": "integer"}},
                "windows": {"type": "array"}, "priority": {"type": "integer"}, "plays_per_hour": {"type": ["integer", "null"]},
                "share_of_voice": {"type": ["number", "null"]}, "interrupt": {"type": "boolean"}, "approved": {"type": "boolean"},
                "in_effect": {"type": "boolean"}, "note": {"type": "string"}}},
            "Screen": {"type": "object", "properties": {
                "id": {"type": "integer"}, "name": {"type": "string"}, "code": {"type": "string"},
                "group": {"type": ["string", "null"]}, "address": {"type": "string"},
                "latitude": {"type": ["number", "null"]}, "longitude": {"type": ["number", "null"]},
                "width": {"type": "integer"}, "height": {"type": "integer"}, "pixel_pitch_mm": {"type": "number"},
                "viewing_distance_m": {"type": "number"}, "operating_hours": {"type": "string"}, "timezone": {"type": "string"},
                "adapter": {"type": "string"}, "adapter_options": {"type": "object"}, "active": {"type": "boolean"},
                "secret": {"type": "string", "description": "only when made or rotated"}}},
            "ImportSummary": {"type": "object", "properties": {
                "dry_run": {"type": "boolean"}, "plan_id": {"type": "integer"}, "plan_number": {"type": "string"},
                "plan_exists": {"type": "boolean"}, "created": {"type": "integer"}, "updated": {"type": "integer"},
                "unchanged": {"type": "integer"}, "flagged": {"type": "array", "items": {"type": "integer"}},
                "missing_numbers": {"type": "array", "items": {"type": "integer"}}}},
        },
    },
}


bp = Blueprint("openapi", __name__, url_prefix="/api")


@bp.get("/openapi.json")
@public
def document() -> dict[str, Any]:
    return DOCUMENT
