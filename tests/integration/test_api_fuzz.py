"""API fuzzing: schemathesis sends generated requests, valid and invalid, to every operation of
the OpenAPI document, against the real app on a database holding a plan, campaigns, media,
playlists, rules and boards.

Every answer must be one the document promises: never a 5xx, a documented status code, the
documented content type and a body matching the documented schema (errors included). The boards'
operations are fuzzed as the board itself, signing what it sends, and without the board's secret
(refused); people's operations with an admin's token (reaching the parsers) and with an auditor's
(refused with 4xx). Generation is derandomized with a fixed seed, so a run is repeatable.

The document fuzzed is the one /api/openapi.json serves (cms.api.openapi.DOCUMENT), loaded
eagerly so each operation is its own pytest item. One seeded app serves the module (per xdist
worker) and the fuzzed requests change it as they go, as real callers would; the board's own
calls come first, while its manifest and media are as seeded.
"""
from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from sqlalchemy import select

from board_calls import bearer, make_manifest, new_board, post_signed
from cms import create_app
from cms.api import LARGEST_WHOLE
from cms.api.openapi import DOCUMENT
from cms.config import load_config
from cms.extensions import db
from conftest import PLAN_FILE, REPO, Accounts, _fresh_database
from display_adapters.signing import board_key, signed_headers
from schedule_setup import published_playlist

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")
SEED = 81
# Slow answers and big bodies are expected here; `answers` and `board_secret` live across a test's examples on purpose.
FUZZ_SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])


def fuzz_config(max_examples: int) -> schemathesis.Config:
    """Repeatable, bounded generation: the coverage phase's edge cases (boundaries, missing and wrong-typed
    fields, unexpected methods) plus `max_examples` generated requests per operation, valid and invalid."""
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True, "database": "none"},
        "phases": {"examples": {"enabled": False}, "stateful": {"enabled": False}},
        "checks": {"enabled": False} | {name: {"enabled": True} for name in CHECKS},
    })


def is_board_operation(ctx: Any) -> bool:
    """The operations the boards call with their own secret (security scheme `board`)."""
    return any("board" in requirement for requirement in ctx.operation.definition.raw.get("security", []))


board_api = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_config(25)).include(is_board_operation)
board_api_light = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_config(8)).include(is_board_operation)
people_api = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_config(25)).exclude(is_board_operation)
people_api_light = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_config(8)).exclude(is_board_operation)


@dataclass
class FuzzSite:
    """The app the fuzzed requests reach, the tokens they carry and the board they may speak for."""

    app: Flask
    admin: dict[str, str]
    auditor: dict[str, str]
    operator: dict[str, str]
    board_id: int


def _seed(app: Flask) -> FuzzSite:
    """A department a few weeks in: the imported plan, an approved poster in a published playlist,
    a banner waiting in a draft playlist, two boards (one with a manifest naming the poster),
    a rule and an interrupt waiting for approval."""
    from cms.services.audit import Actor
    from cms.services.plan_import import heading_of, import_plan
    from cms.services.plan_reader import read_plan

    with app.app_context():
        document = read_plan(PLAN_FILE.read_bytes(), PLAN_FILE.name)
        import_plan(document, heading_of(document), Actor.command_line(), PLAN_FILE.name)
        db.session.commit()
    client = app.test_client()
    assert client.get("/api/openapi.json").get_json() == DOCUMENT
    accounts = Accounts(app, client)
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    published = published_playlist(client, app, editor, approver, campaign_id=4)
    banner = client.post("/api/v1/media/banners", headers=editor, json={
        "campaign_id": 5, "title": "Giờ Trái Đất 2024", "body": "Tắt đèn 20h30–21h30"}).get_json()["id"]
    client.post(f"/api/v1/media/{banner}/transitions", headers=editor, json={"to": "pending"})
    draft = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": 5, "name": "Nháp"}).get_json()["id"]
    client.post(f"/api/v1/playlists/{draft}/items", headers=editor, json={"asset_id": banner, "duration": 8})
    board, secret = new_board(client, operator, "FUZZ-1")
    new_board(client, operator, "FUZZ-2", kind="simulator")
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": published, "board_ids": [board], "windows": ["06:00-22:00"]})
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": published, "groups": ["Vũng Tàu"], "interrupt": True,
                                                          "note": "Cảnh báo triều cường"})
    poster = client.get(f"/api/v1/playlists/{published}", headers=editor).get_json()["items"][0]["asset_id"]
    make_manifest(app, board, 1, (poster,))
    assert post_signed(client, f"/api/v1/screens/{board}/heartbeat", secret, {"version": 1, "asset_id": poster}).status_code == 200
    return FuzzSite(app=app, admin=accounts.token("admin"), auditor=accounts.token("auditor"), operator=operator, board_id=board)


@pytest.fixture(scope="module")
def fuzz_site(database_template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzSite]:
    """One seeded app for the whole module, on its own database and media folder."""
    folder = tmp_path_factory.mktemp("fuzz")
    settings = load_config(REPO / "config.toml", overrides={
        "database": {"url": _fresh_database(database_template, folder)}, "storage": {"data_dir": str(folder / "data")}})
    app = create_app(settings, {"TESTING": True})
    yield _seed(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def answers() -> Iterator[Counter[int]]:
    """The status codes an operation's own method got; at the end, proof that the fuzzing got past
    authentication (a run answered only 401 would have tried nothing)."""
    seen: Counter[int] = Counter()
    yield seen
    assert set(seen) - {401}, f"every request was refused as unauthenticated: {dict(seen)}"


@pytest.fixture
def no_stray_media_file(fuzz_site: FuzzSite) -> Iterator[None]:
    """At the end, every file in the media folder belongs to a stored asset or derivative, and no
    upload is left half-received: a refused upload leaves nothing behind."""
    yield
    from cms.models import MediaAsset, MediaDerivative

    root = fuzz_site.app.config["PANOLED"].data_dir / "media"
    with fuzz_site.app.app_context():
        keys = set(db.session.scalars(select(MediaAsset.storage_key))) | set(db.session.scalars(select(MediaDerivative.storage_key)))
        keys |= set(db.session.scalars(select(MediaDerivative.preview_key)))
    files = {path.name for path in root.rglob("*") if path.is_file()}
    assert files <= keys, f"files no asset names: {sorted(files - keys)}"


def _record(answers: Counter[int], case: Any, response: Any) -> None:
    if case.method.upper() == case.operation.method.upper():  # not one of the coverage phase's unexpected methods
        answers[response.status_code] += 1


def _routable(case: Any) -> bool:
    """Whether every id in the path is one a route takes: a whole number an INTEGER column can hold."""
    return all(str(value).isascii() and str(value).isdigit() and int(value) <= LARGEST_WHOLE
               for value in case.path_parameters.values())


def _wire_body(case: Any) -> bytes:
    """The bytes schemathesis sends for the case's body, so the board can sign exactly those."""
    sent = case.as_transport_kwargs()
    if "json" in sent:
        return json.dumps(sent["json"]).encode("utf-8")
    data = sent.get("data") or b""
    return data.encode("utf-8") if isinstance(data, str) else data


@pytest.fixture
def board_secret(fuzz_site: FuzzSite) -> str:
    """A fresh secret for the seeded board (fuzzing the people's API may have rotated it)."""
    answer = fuzz_site.app.test_client().post(f"/api/v1/screens/{fuzz_site.board_id}/secret", headers=fuzz_site.operator)
    assert answer.status_code == 200
    return answer.get_json()["secret"]


_stamp_offsets = itertools.count()


@board_api.parametrize()
@FUZZ_SETTINGS
def test_a_board_signing_its_calls_gets_only_documented_answers(case: Any, fuzz_site: FuzzSite, board_secret: str,
                                                                 answers: Counter[int]) -> None:
    """The board calls its own URLs with its secret and signs every body, so generated bodies reach the parsers.
    Timestamps step back a second at a time (within the window) so equal bodies are not refused as replays,
    and a long poll is cut to no wait."""
    case.path_parameters["screen_id"] = fuzz_site.board_id
    if isinstance(case.query, dict) and "wait" in case.query:
        case.query["wait"] = "0"
    headers = bearer(board_secret)
    if case.method.upper() == "POST":
        body = _wire_body(case)
        headers |= signed_headers(board_key(board_secret), body, time.time() - next(_stamp_offsets) % 250)
        response = case.call_and_validate(app=fuzz_site.app, headers=headers, data=body)
    else:
        response = case.call_and_validate(app=fuzz_site.app, headers=headers)
    _record(answers, case, response)


@board_api_light.parametrize()
@FUZZ_SETTINGS
def test_board_calls_without_the_boards_secret_are_refused(case: Any, fuzz_site: FuzzSite) -> None:
    """A person's token, or whatever the generator puts in Authorization, is never a board's secret."""
    response = case.call_and_validate(app=fuzz_site.app, headers=fuzz_site.admin)
    if case.method.upper() == case.operation.method.upper() and _routable(case):
        assert response.status_code == 401
    else:  # another method than the route's (401 for OPTIONS, else 405), or a path no route matches (404)
        assert response.status_code in (401, 404, 405)


@people_api.parametrize()
@FUZZ_SETTINGS
def test_an_admin_gets_only_documented_answers(case: Any, fuzz_site: FuzzSite, answers: Counter[int],
                                               no_stray_media_file: None) -> None:
    _record(answers, case, case.call_and_validate(app=fuzz_site.app, headers=fuzz_site.admin))


@people_api_light.parametrize()
@FUZZ_SETTINGS
def test_an_auditor_gets_only_documented_answers(case: Any, fuzz_site: FuzzSite, answers: Counter[int]) -> None:
    _record(answers, case, case.call_and_validate(app=fuzz_site.app, headers=fuzz_site.auditor))


# Edge values the generator seldom builds (a valid row next to an absurd number, a far year), each once a 500.
EDGES = [
    ("POST", "/api/v1/users", {"email": "passphrase@example.org", "role": "editor",
                               "password": "song xanh ven biển, Bà Rịa – Vũng Tàu, mùa triều cường năm 2024 " * 2}, 201, None),
    ("POST", "/api/v1/rules", {"playlist_id": 1, "board_ids": [2**40]}, 422, "field_invalid"),
    ("POST", "/api/v1/playlists", {"campaign_id": 2**40, "name": "Tràn số"}, 422, "field_invalid"),
    ("POST", "/api/v1/media?campaign_id=%C2%B2", b"\x89PNG", 422, "field_invalid"),
    ("GET", "/api/v1/campaigns?plan_id=99999999999999999999", None, 422, "field_invalid"),
    ("GET", "/api/v1/campaigns/99999999999999999999", None, 404, "not_found"),
    ("GET", "/api/v1/screens/{board}/timeline?from=0001-01-01T00:00:00%2B14:00&to=0001-01-02T00:00:00%2B14:00",
     None, 422, "timeline_out_of_range"),
    ("GET", "/api/v1/screens/{board}/timeline?from=9999-12-30T00:00:00-12:00&to=9999-12-31T00:00:00-12:00",
     None, 422, "timeline_out_of_range"),
    ("PATCH", "/api/v1/playlists/1/items/999999", {}, 404, "playlist_item_not_found"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), EDGES, ids=[f"{m} {p}" for m, p, *_ in EDGES])
def test_edge_values_get_a_clear_answer(fuzz_site: FuzzSite, method: str, path: str, body: Any, status: int,
                                        code: str | None) -> None:
    kwargs = {"data": body, "content_type": "application/octet-stream"} if isinstance(body, bytes) else {"json": body}
    answer = fuzz_site.app.test_client().open(path.format(board=fuzz_site.board_id), method=method,
                                              headers=fuzz_site.admin, **kwargs)
    assert answer.status_code == status, answer.get_data(as_text=True)
    if code is not None:
        assert answer.get_json()["error"]["code"] == code
