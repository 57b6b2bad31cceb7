"""No IDOR: every route that takes an id in its path, tried with another person's or another
board's objects, and by every role that may not use it, with the ids of real objects.

The routes come from the app's URL map, so a route added later is swept too; each one
must be classified in ROUTE_OWNERS (whose objects its ids name), or the first test fails.
Objects of the department (plans, campaigns, media, playlists, rules, boards, posts) are
shared by everyone whose role may act on them: roles govern them. What belongs to one
person (their API tokens), to one board (its manifest, media, heartbeats, play logs),
to a playlist (its items) or to its maker (approving one's own upload, interrupt or post)
is checked against the caller. Every refused request must leave the database as it was.

Also here: rotating a board's secret locks the old secret out of every board route.
"""
from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import media_files
from board_calls import bearer, make_manifest, new_board, post_signed
from conftest import Accounts, csrf_token
from cms.access import BOARD, PUBLIC, access_of
from cms.config import ROLES
from cms.extensions import db
from cms.models import ApiToken, AuditEvent, MediaAsset, Screen, User
from cms.services.derivatives import work_until_idle
from display_adapters.signing import board_key

# Whose objects a route's ids name, and so how the sweep attacks it.
DEPARTMENT = "department"  # shared by the department; the route's roles decide (checked for every route)
OWN_TOKEN = "own token"  # the signed-in person's own API tokens only
USERS_TOKEN = "user's token"  # an admin acting on one account: only that account's tokens
BOARD_ROUTE = "board"  # the board of the URL, by its own secret; its media only as its manifests name them
BOARD_SHELL = "board shell"  # the web player's page: public, holds nothing of the board
PLAYLIST_ITEM = "playlist item"  # an item only through its own playlist
MADE_BY = "made by"  # approving: never what the caller uploaded, wrote or asked for
PUBLIC_PAGE = "public"  # the website: only what is public, every other id answers like a missing one
APP_FILE = "app file"  # the app's own static files, no object behind the path

ROUTE_OWNERS: dict[str, str] = {
    "/account/tokens/<int:token_id>/revoke": OWN_TOKEN,
    "/admin/users/<int:user_id>": DEPARTMENT,
    "/admin/users/<int:user_id>/reset-password": DEPARTMENT,
    "/admin/users/<int:user_id>/tokens/<int:token_id>/revoke": USERS_TOKEN,
    "/api/v1/campaigns/<int:campaign_id>": DEPARTMENT,
    "/api/v1/campaigns/<int:campaign_id>/history": DEPARTMENT,
    "/api/v1/campaigns/<int:campaign_id>/transitions": DEPARTMENT,
    "/api/v1/media/<int:asset_id>": DEPARTMENT,
    "/api/v1/media/<int:asset_id>/transitions": MADE_BY,
    "/api/v1/plans/<int:plan_id>": DEPARTMENT,
    "/api/v1/playlists/<int:playlist_id>": DEPARTMENT,
    "/api/v1/playlists/<int:playlist_id>/items": DEPARTMENT,
    "/api/v1/playlists/<int:playlist_id>/items/<int:item_id>": PLAYLIST_ITEM,
    "/api/v1/playlists/<int:playlist_id>/publish": DEPARTMENT,
    "/api/v1/rules/<int:rule_id>": DEPARTMENT,
    "/api/v1/rules/<int:rule_id>/approve": MADE_BY,
    "/api/v1/screens/<int:screen_id>": DEPARTMENT,
    "/api/v1/screens/<int:screen_id>/fallback": DEPARTMENT,
    "/api/v1/screens/<int:screen_id>/heartbeat": BOARD_ROUTE,
    "/api/v1/screens/<int:screen_id>/manifest": BOARD_ROUTE,
    "/api/v1/screens/<int:screen_id>/media/<int:asset_id>": BOARD_ROUTE,
    "/api/v1/screens/<int:screen_id>/playlogs": BOARD_ROUTE,
    "/api/v1/screens/<int:screen_id>/secret": DEPARTMENT,
    "/api/v1/screens/<int:screen_id>/timeline": DEPARTMENT,
    "/campaigns/<int:campaign_id>": DEPARTMENT,
    "/campaigns/<int:campaign_id>/edit": DEPARTMENT,
    "/campaigns/<int:campaign_id>/media": DEPARTMENT,
    "/campaigns/<int:campaign_id>/media/banner": DEPARTMENT,
    "/campaigns/<int:campaign_id>/media/upload": DEPARTMENT,
    "/campaigns/<int:campaign_id>/playlists": DEPARTMENT,
    "/campaigns/<int:campaign_id>/status": DEPARTMENT,
    "/campaigns/<int:campaign_id>/website": DEPARTMENT,
    "/campaigns/<int:campaign_id>/website/export.zip": DEPARTMENT,
    "/campaigns/<int:campaign_id>/website/posts": DEPARTMENT,
    "/media/<int:asset_id>": DEPARTMENT,
    "/media/<int:asset_id>/file/<what>": DEPARTMENT,
    "/media/<int:asset_id>/file/<what>/<profile_key>": DEPARTMENT,
    "/media/<int:asset_id>/fit": DEPARTMENT,
    "/media/<int:asset_id>/replace": DEPARTMENT,
    "/media/<int:asset_id>/status": MADE_BY,
    "/media/<int:asset_id>/status.json": DEPARTMENT,
    "/media/<int:asset_id>/website": DEPARTMENT,
    "/plans/<int:plan_id>": DEPARTMENT,
    "/plans/<int:plan_id>/website/export.zip": DEPARTMENT,
    "/player/<int:screen_id>": BOARD_SHELL,
    "/playlists/<int:playlist_id>": DEPARTMENT,
    "/playlists/<int:playlist_id>/items": DEPARTMENT,
    "/playlists/<int:playlist_id>/items/<int:item_id>/duration": PLAYLIST_ITEM,
    "/playlists/<int:playlist_id>/items/<int:item_id>/move": PLAYLIST_ITEM,
    "/playlists/<int:playlist_id>/items/<int:item_id>/remove": PLAYLIST_ITEM,
    "/playlists/<int:playlist_id>/publish": DEPARTMENT,
    "/public/campaigns/<int:campaign_id>": PUBLIC_PAGE,
    "/public/campaigns/<int:campaign_id>/feed.atom": PUBLIC_PAGE,
    "/public/campaigns/<int:campaign_id>/feed.json": PUBLIC_PAGE,
    "/public/media/<token>/<variant>": PUBLIC_PAGE,
    "/public/plans/<int:plan_id>": PUBLIC_PAGE,
    "/public/plans/<int:plan_id>/feed.atom": PUBLIC_PAGE,
    "/public/plans/<int:plan_id>/feed.json": PUBLIC_PAGE,
    "/public/posts/<int:post_id>": PUBLIC_PAGE,
    "/public/widget/campaigns/<int:campaign_id>": PUBLIC_PAGE,
    "/schedule/<int:rule_id>/approve": MADE_BY,
    "/schedule/<int:rule_id>/delete": DEPARTMENT,
    "/schedule/boards/<int:screen_id>/week": DEPARTMENT,
    "/schedule/groups/<path:name>/week": DEPARTMENT,
    "/screens/<int:screen_id>": DEPARTMENT,
    "/screens/<int:screen_id>/edit": DEPARTMENT,
    "/screens/<int:screen_id>/fallback": DEPARTMENT,
    "/screens/<int:screen_id>/screenshot": DEPARTMENT,
    "/screens/<int:screen_id>/screenshot.png": DEPARTMENT,
    "/screens/<int:screen_id>/secret": DEPARTMENT,
    "/static/<path:filename>": APP_FILE,
    "/website/posts/<int:post_id>": DEPARTMENT,
    "/website/posts/<int:post_id>/move": MADE_BY,
}

EVERYONE = frozenset(ROLES)
ADMINS = frozenset({"admin"})
EDITORS = frozenset({"admin", "editor"})
APPROVERS = frozenset({"admin", "approver"})
OPERATORS = frozenset({"admin", "operator"})
WRITERS_AND_APPROVERS = frozenset({"admin", "editor", "approver"})

# Who may use each id-bearing route of the staff side: the reviewed matrix. The routes'
# declarations must say the same, and every other role is refused with 403.
ROUTE_ROLES: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/account/tokens/<int:token_id>/revoke"): EVERYONE,
    ("GET", "/admin/users/<int:user_id>"): ADMINS,
    ("POST", "/admin/users/<int:user_id>"): ADMINS,
    ("POST", "/admin/users/<int:user_id>/reset-password"): ADMINS,
    ("POST", "/admin/users/<int:user_id>/tokens/<int:token_id>/revoke"): ADMINS,
    ("GET", "/api/v1/campaigns/<int:campaign_id>"): EVERYONE,
    ("PATCH", "/api/v1/campaigns/<int:campaign_id>"): EDITORS,
    ("GET", "/api/v1/campaigns/<int:campaign_id>/history"): EVERYONE,
    ("POST", "/api/v1/campaigns/<int:campaign_id>/transitions"): EVERYONE,
    ("GET", "/api/v1/media/<int:asset_id>"): EVERYONE,
    ("PATCH", "/api/v1/media/<int:asset_id>"): EDITORS,
    ("POST", "/api/v1/media/<int:asset_id>/transitions"): EVERYONE,
    ("GET", "/api/v1/plans/<int:plan_id>"): EVERYONE,
    ("GET", "/api/v1/playlists/<int:playlist_id>"): EVERYONE,
    ("POST", "/api/v1/playlists/<int:playlist_id>/items"): EDITORS,
    ("DELETE", "/api/v1/playlists/<int:playlist_id>/items/<int:item_id>"): EDITORS,
    ("PATCH", "/api/v1/playlists/<int:playlist_id>/items/<int:item_id>"): EDITORS,
    ("POST", "/api/v1/playlists/<int:playlist_id>/publish"): EDITORS,
    ("DELETE", "/api/v1/rules/<int:rule_id>"): EDITORS,
    ("POST", "/api/v1/rules/<int:rule_id>/approve"): APPROVERS,
    ("GET", "/api/v1/screens/<int:screen_id>"): EVERYONE,
    ("PATCH", "/api/v1/screens/<int:screen_id>"): OPERATORS,
    ("PUT", "/api/v1/screens/<int:screen_id>/fallback"): EDITORS,
    ("POST", "/api/v1/screens/<int:screen_id>/secret"): OPERATORS,
    ("GET", "/api/v1/screens/<int:screen_id>/timeline"): EVERYONE,
    ("GET", "/campaigns/<int:campaign_id>"): EVERYONE,
    ("GET", "/campaigns/<int:campaign_id>/edit"): EDITORS,
    ("POST", "/campaigns/<int:campaign_id>/edit"): EDITORS,
    ("GET", "/campaigns/<int:campaign_id>/media"): EVERYONE,
    ("GET", "/campaigns/<int:campaign_id>/media/banner"): EDITORS,
    ("POST", "/campaigns/<int:campaign_id>/media/banner"): EDITORS,
    ("POST", "/campaigns/<int:campaign_id>/media/upload"): EDITORS,
    ("GET", "/campaigns/<int:campaign_id>/playlists"): EVERYONE,
    ("POST", "/campaigns/<int:campaign_id>/playlists"): EDITORS,
    ("POST", "/campaigns/<int:campaign_id>/status"): EVERYONE,
    ("GET", "/campaigns/<int:campaign_id>/website"): EVERYONE,
    ("GET", "/campaigns/<int:campaign_id>/website/export.zip"): EVERYONE,
    ("POST", "/campaigns/<int:campaign_id>/website/posts"): EDITORS,
    ("GET", "/media/<int:asset_id>"): EVERYONE,
    ("GET", "/media/<int:asset_id>/file/<what>"): EVERYONE,
    ("GET", "/media/<int:asset_id>/file/<what>/<profile_key>"): EVERYONE,
    ("POST", "/media/<int:asset_id>/fit"): EDITORS,
    ("POST", "/media/<int:asset_id>/replace"): EDITORS,
    ("POST", "/media/<int:asset_id>/status"): EVERYONE,
    ("GET", "/media/<int:asset_id>/status.json"): EVERYONE,
    ("POST", "/media/<int:asset_id>/website"): WRITERS_AND_APPROVERS,
    ("GET", "/plans/<int:plan_id>"): EVERYONE,
    ("GET", "/plans/<int:plan_id>/website/export.zip"): EVERYONE,
    ("GET", "/playlists/<int:playlist_id>"): EVERYONE,
    ("POST", "/playlists/<int:playlist_id>/items"): EDITORS,
    ("POST", "/playlists/<int:playlist_id>/items/<int:item_id>/duration"): EDITORS,
    ("POST", "/playlists/<int:playlist_id>/items/<int:item_id>/move"): EDITORS,
    ("POST", "/playlists/<int:playlist_id>/items/<int:item_id>/remove"): EDITORS,
    ("POST", "/playlists/<int:playlist_id>/publish"): EDITORS,
    ("POST", "/schedule/<int:rule_id>/approve"): APPROVERS,
    ("GET", "/schedule/<int:rule_id>/delete"): EDITORS,
    ("POST", "/schedule/<int:rule_id>/delete"): EDITORS,
    ("GET", "/schedule/boards/<int:screen_id>/week"): EVERYONE,
    ("GET", "/schedule/groups/<path:name>/week"): EVERYONE,
    ("GET", "/screens/<int:screen_id>"): EVERYONE,
    ("GET", "/screens/<int:screen_id>/edit"): OPERATORS,
    ("POST", "/screens/<int:screen_id>/edit"): OPERATORS,
    ("POST", "/screens/<int:screen_id>/fallback"): EDITORS,
    ("POST", "/screens/<int:screen_id>/screenshot"): OPERATORS,
    ("GET", "/screens/<int:screen_id>/screenshot.png"): EVERYONE,
    ("POST", "/screens/<int:screen_id>/secret"): OPERATORS,
    ("GET", "/website/posts/<int:post_id>"): EVERYONE,
    ("POST", "/website/posts/<int:post_id>"): EDITORS,
    ("POST", "/website/posts/<int:post_id>/move"): WRITERS_AND_APPROVERS,
}

# Routes every role may call whose service then decides by role and the object's state:
# the roles that can never make such a move, and a move the object's state allows to others.
NEVER_MOVE_CAMPAIGNS = frozenset({"auditor"})
NEVER_MOVE_MEDIA = frozenset({"operator", "auditor"})
SERVICE_GATED: dict[tuple[str, str], tuple[frozenset[str], dict[str, Any]]] = {
    ("POST", "/api/v1/campaigns/<int:campaign_id>/transitions"): (NEVER_MOVE_CAMPAIGNS, {"json": {"to": "approved"}}),
    ("POST", "/campaigns/<int:campaign_id>/status"): (NEVER_MOVE_CAMPAIGNS, {"data": {"to_status": "approved"}}),
    ("POST", "/api/v1/media/<int:asset_id>/transitions"): (NEVER_MOVE_MEDIA, {"json": {"to": "archived"}}),
    ("POST", "/media/<int:asset_id>/status"): (NEVER_MOVE_MEDIA, {"data": {"to_status": "archived"}}),
}

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
GROUP = "Vũng Tàu"
PLAN, CAMPAIGN = 1, 4  # the imported plan and its task 4 (World Environment Day), whose media the world uses

# What an attack on an item of another playlist sends: a real change, were it let through.
ITEM_CHANGES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/api/v1/playlists/<int:playlist_id>/items/<int:item_id>"): {"json": {"duration": 7, "move": "up"}},
    ("DELETE", "/api/v1/playlists/<int:playlist_id>/items/<int:item_id>"): {},
    ("POST", "/playlists/<int:playlist_id>/items/<int:item_id>/duration"): {"data": {"seconds": "7"}},
    ("POST", "/playlists/<int:playlist_id>/items/<int:item_id>/move"): {"data": {"direction": "up"}},
    ("POST", "/playlists/<int:playlist_id>/items/<int:item_id>/remove"): {"data": {}},
}

# What approving one's own object sends, per route: the approval itself.
OWN_APPROVALS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/media/<int:asset_id>/transitions"): {"json": {"to": "approved"}},
    ("POST", "/api/v1/rules/<int:rule_id>/approve"): {"json": {}},
    ("POST", "/media/<int:asset_id>/status"): {"data": {"to_status": "approved"}},
    ("POST", "/schedule/<int:rule_id>/approve"): {"data": {}},
    ("POST", "/website/posts/<int:post_id>/move"): {"data": {"to": "approved"}},
}


def id_bearing_rules(app: Flask) -> list[Any]:
    """Every route with a variable part in its path."""
    return sorted((rule for rule in app.url_map.iter_rules() if rule.arguments), key=lambda rule: rule.rule)


def methods_of(rule: Any) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def build(rule: Any, values: dict[str, Any]) -> str:
    return rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]


# ---------------------------------------------------------------------------
# The database, before and after


UNTRACKED_TABLES = {"login_attempts"}  # sign-in bookkeeping: the sweep's own sign-ins write it
UNTRACKED_COLUMNS = {("api_tokens", "last_used_at")}  # stamped by every API call, whoever makes it


def snapshot(app: Flask) -> dict[str, str]:
    """A digest of every table's rows, to tell whether a request changed anything."""
    digests = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in UNTRACKED_TABLES:
                continue
            columns = [c for c in table.columns if (table.name, c.name) not in UNTRACKED_COLUMNS]
            rows = sorted(repr(tuple(row)) for row in db.session.execute(select(*columns)))
            digests[table.name] = hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()
    return digests


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


# ---------------------------------------------------------------------------
# The world: two of everything that can belong to someone


@dataclass
class Person:
    user_id: int
    email: str
    web: FlaskClient
    csrf: str
    api: dict[str, str]


@dataclass
class World:
    app: Flask
    people: dict[str, Person]
    victim: Person  # another editor, whose API token the others try to revoke
    victim_token_id: int
    anonymous: FlaskClient
    anonymous_csrf: str
    boards: dict[str, tuple[int, str]]  # "A"/"B" -> (id, secret)
    assets: dict[str, int]  # "A"/"B" -> the asset in that board's manifest
    playlists: dict[str, int]
    items: dict[str, int]
    ids: dict[str, Any]  # a real object for every path variable
    private: dict[str, Any]  # objects the website must not show
    failures: list[str] = field(default_factory=list)
    uploads: int = 10  # seeds of the pictures uploaded during the sweep, each one different

    def bearer_client(self) -> FlaskClient:
        return self.app.test_client()


def _person(app: Flask, accounts: Accounts, role: str, email: str | None = None) -> Person:
    client = app.test_client()
    user_id = accounts.login(role, email=email, client=client)
    return Person(user_id, email or f"{role}@example.org", client, csrf_token(client.get("/account/")),
                  accounts.token(role, email))


def _upload(client: FlaskClient, app: Flask, headers: dict[str, str], seed: int) -> int:
    answer = client.post(f"/api/v1/media?campaign_id={CAMPAIGN}&filename=poster-{seed}.png",
                         data=media_files.png_bytes(colour=((30 + seed * 37) % 256, 90, 60)),
                         headers=headers | {"Content-Type": "application/octet-stream"})
    assert answer.status_code == 201, answer.get_json()
    with app.app_context():
        work_until_idle(app.config["PANOLED"])
    return answer.get_json()["id"]


def _approved(client: FlaskClient, app: Flask, editor: dict[str, str], approver: dict[str, str], seed: int) -> int:
    asset = _upload(client, app, editor, seed)
    for who, status in ((editor, "pending"), (approver, "approved")):
        answer = client.post(f"/api/v1/media/{asset}/transitions", headers=who, json={"to": status})
        assert answer.status_code == 200, answer.get_json()
    return asset


def _playlist(client: FlaskClient, editor: dict[str, str], asset: int, name: str) -> tuple[int, int]:
    answer = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": CAMPAIGN, "name": name})
    playlist = answer.get_json()["id"]
    body = client.post(f"/api/v1/playlists/{playlist}/items", headers=editor, json={"asset_id": asset}).get_json()
    return playlist, body["items"][0]["id"]


def build_world(app: Flask, client: FlaskClient, accounts: Accounts) -> World:
    """People of every role (and a second editor, whose token the others go after), two boards
    with their own manifests and media, two playlists with an item each, a rule, a post of the
    admin's waiting for approval, and the public name of a medium taken off the website."""
    people = {role: _person(app, accounts, role) for role in ROLES}
    victim = _person(app, accounts, "editor", "editor2@example.org")
    with app.app_context():
        victim_token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == victim.user_id))
    editor, approver, operator = (people[r].api for r in ("editor", "approver", "operator"))
    boards = {name: new_board(client, operator, f"IDOR-{name}") for name in ("A", "B")}
    assets = {name: _approved(client, app, editor, approver, seed) for seed, name in enumerate(("A", "B"))}
    for name, (board, _secret) in boards.items():
        make_manifest(app, board, 1, (assets[name],))
    playlists, items = {}, {}
    for name in ("A", "B"):
        playlists[name], items[name] = _playlist(client, editor, assets[name], f"Danh sách {name}")
        assert client.post(f"/api/v1/playlists/{playlists[name]}/publish", headers=editor).status_code == 200
    rule = client.post("/api/v1/rules", headers=editor,
                       json={"playlist_id": playlists["A"], "board_ids": [boards["A"][0]]})
    assert rule.status_code == 201, rule.get_json()
    post = _own_pending_post(app, people["admin"])

    hidden_token = _token_of_an_asset_taken_off_the_website(app, client, people, assets["B"])
    ids = {
        "campaign_id": CAMPAIGN, "plan_id": PLAN, "asset_id": assets["B"], "playlist_id": playlists["B"],
        "item_id": items["B"], "rule_id": rule.get_json()["id"], "screen_id": boards["B"][0], "user_id": victim.user_id,
        "token_id": victim_token_id, "post_id": post, "token": hidden_token, "variant": "w480.jpg",
        "what": "original", "profile_key": "960x320", "name": GROUP, "filename": "player/player.js",
    }
    anonymous = app.test_client()
    return World(
        app=app, people=people, victim=victim, victim_token_id=victim_token_id, anonymous=anonymous,
        anonymous_csrf=csrf_token(anonymous.get("/login")), boards=boards, assets=assets, playlists=playlists,
        items=items, ids=ids,
        private={"campaign_id": CAMPAIGN, "plan_id": PLAN, "post_id": post, "token": hidden_token,
                 "variant": "w480.jpg"},
    )


def _own_pending_post(app: Flask, admin: Person) -> int:
    from cms.services import website
    from cms.services.audit import Actor

    with app.app_context():
        actor = Actor.of(db.session.get(User, admin.user_id))
        post = website.save_post(None, CAMPAIGN, "Bài viết của quản trị", "Tóm tắt.", "Nội dung.", [], actor)
        website.move(post, "pending", actor, datetime.now(UTC))
        db.session.commit()
        return post.id


def _token_of_an_asset_taken_off_the_website(app: Flask, client: FlaskClient, people: dict[str, Person],
                                             asset: int) -> str:
    """The public name of an asset that was on the website and is no longer."""
    editor = people["editor"].api
    assert client.patch(f"/api/v1/media/{asset}", headers=editor, json={"alt_text": "Áp phích"}).status_code == 200
    from cms.services import website
    from cms.services.audit import Actor

    with app.app_context():
        medium = db.session.get(MediaAsset, asset)
        actor = Actor.of(db.session.get(User, people["editor"].user_id))
        website.set_web_public(medium, True, actor)
        db.session.commit()
        token = medium.web_token
    assert client.get(f"/public/media/{token}/w480.jpg").status_code == 200
    with app.app_context():
        website.set_web_public(db.session.get(MediaAsset, asset), False, actor)
        db.session.commit()
    return token


# ---------------------------------------------------------------------------
# Asking, and telling a refusal


def ask(world: World, who: str | None, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """A request as `who` (a role, or None for nobody): the API with that person's token,
    pages with their signed-in session and its CSRF token."""
    body = dict(body or {})
    if url.startswith("/api/"):
        headers = world.people[who].api if who else {}
        if method in WRITES and "json" not in body:
            body["json"] = {}
        return world.bearer_client().open(url, method=method, headers=headers, **body)
    client = world.people[who].web if who else world.anonymous
    if method in WRITES:
        body["data"] = {"csrf_token": world.people[who].csrf if who else world.anonymous_csrf} | body.get("data", {})
    return client.open(url, method=method, **body)


def refused(world: World, who: str | None, answer: Any) -> bool:
    """Refused as the product refuses: an error status, or a page that comes back with an error message."""
    if answer.status_code in (401, 403, 404, 409):
        return True
    if answer.status_code in (302, 303) and who is not None:
        page = world.people[who].web.get(answer.headers["Location"])
        return "flash flash-error" in page.get_data(as_text=True)
    return False


def attempt(world: World, label: str, act: Callable[[], Any], accept: Callable[[Any], bool]) -> Any:
    """Make one attack: it must be refused and leave every table as it was."""
    before = snapshot(world.app)
    answer = act()
    after = snapshot(world.app)
    if not accept(answer):
        world.failures.append(f"{label}: answered {answer.status_code}")
    if changed_tables(before, after):
        world.failures.append(f"{label}: changed {changed_tables(before, after)}")
    return answer


def assert_no_failures(world: World) -> None:
    assert not world.failures, "\n".join(world.failures)


# ---------------------------------------------------------------------------
# The sweep


def test_every_id_bearing_route_is_classified(app: Flask) -> None:
    """A route added with an id in its path fails here until someone says whose objects it names."""
    paths = {rule.rule for rule in id_bearing_rules(app)}
    assert sorted(paths - set(ROUTE_OWNERS)) == [], "classify these routes in ROUTE_OWNERS"
    assert sorted(set(ROUTE_OWNERS) - paths) == [], "these routes are gone: remove them from ROUTE_OWNERS"
    by_kind = {kind: {r for r, k in ROUTE_OWNERS.items() if k == kind} for kind in set(ROUTE_OWNERS.values())}
    assert {rule for _method, rule in ITEM_CHANGES} == by_kind[PLAYLIST_ITEM]
    assert {rule for _method, rule in OWN_APPROVALS} == by_kind[MADE_BY]
    declared: dict[tuple[str, str], frozenset[str]] = {}
    for rule in id_bearing_rules(app):
        access = access_of(app, rule.endpoint)
        kind = ROUTE_OWNERS[rule.rule]
        assert (access == BOARD) == (kind == BOARD_ROUTE), rule.rule
        assert (access == PUBLIC) == (kind in (PUBLIC_PAGE, BOARD_SHELL)), rule.rule
        if kind == PLAYLIST_ITEM:
            assert {(m, rule.rule) for m in methods_of(rule)} <= set(ITEM_CHANGES), rule.rule
        if isinstance(access, frozenset):
            declared |= {(method, rule.rule): access for method in methods_of(rule)}
    assert declared == ROUTE_ROLES, "a route's roles differ from the reviewed matrix ROUTE_ROLES"
    open_writes = {key for key, roles in ROUTE_ROLES.items() if roles == EVERYONE and key[0] in WRITES}
    assert open_writes == set(SERVICE_GATED) | {("POST", r) for r, k in ROUTE_OWNERS.items() if k == OWN_TOKEN}


def test_roles_and_strangers_are_refused_on_every_id_bearing_route_with_real_ids(app: Flask, client: FlaskClient,
                                                                                accounts: Accounts,
                                                                                imported_plan: Any) -> None:
    """Every role a route does not name gets 403 with the ids of existing objects, and nobody
    signed out gets anything but the way to the sign-in page; nothing changes either way."""
    world = build_world(app, client, accounts)
    tried = 0
    for rule in id_bearing_rules(app):
        url = build(rule, world.ids)
        api = url.startswith("/api/")
        for method in methods_of(rule):
            if (method, rule.rule) not in ROUTE_ROLES:
                continue  # the boards' and the website's routes: see the next test
            for role in sorted(EVERYONE - ROUTE_ROLES[(method, rule.rule)]):
                attempt(world, f"{role} {method} {url}", lambda: ask(world, role, method, url),
                        lambda answer: answer.status_code == 403)
                tried += 1
            never, move = SERVICE_GATED.get((method, rule.rule), (frozenset(), {}))
            for role in sorted(never):
                attempt(world, f"{role} {method} {url} (a move the role never makes)",
                        lambda: ask(world, role, method, url, move), lambda answer: refused(world, role, answer))
                tried += 1
            attempt(world, f"signed out {method} {url}", lambda: ask(world, None, method, url),
                    (lambda answer: answer.status_code == 401) if api else
                    (lambda answer: answer.status_code == 302 and "/login" in answer.headers["Location"]))
    assert_no_failures(world)
    assert tried > 100


def test_nobody_reaches_another_persons_boards_or_playlists_objects(app: Flask, client: FlaskClient,
                                                                     accounts: Accounts, imported_plan: Any) -> None:
    """The id-bearing routes of objects that belong to someone, tried with someone else's."""
    world = build_world(app, client, accounts)
    checks = {OWN_TOKEN: _own_token, USERS_TOKEN: _users_token, BOARD_ROUTE: _board_route, BOARD_SHELL: _board_shell,
              PLAYLIST_ITEM: _playlist_item, MADE_BY: _made_by, PUBLIC_PAGE: _public_page}
    swept = 0
    for rule in id_bearing_rules(app):
        check = checks.get(ROUTE_OWNERS[rule.rule])
        if check is not None:
            for method in methods_of(rule):
                check(world, rule, method)
                swept += 1
    assert_no_failures(world)
    assert swept >= 25
    victim = world.bearer_client().get("/api/v1/me", headers=world.victim.api)
    assert victim.status_code == 200 and victim.get_json()["email"] == world.victim.email


def accepted(world: World, who: str, answer: Any) -> bool:
    """The control: the same request by the object's own person (or on its own playlist) goes through."""
    return answer.status_code < 400 and not refused(world, who, answer)


def _fresh_token(world: World, person: Person) -> int:
    from cms.services.audit import Actor
    from cms.services.tokens import create_token

    with world.app.app_context():
        user = db.session.get(User, person.user_id)
        token, _plain = create_token(user, f"token {uuid.uuid4().hex[:6]}", Actor.of(user))
        db.session.commit()
        return token.id


def _own_token(world: World, rule: Any, method: str) -> None:
    """Everyone, admins too, revokes only their own tokens from their own account page."""
    url = build(rule, world.ids | {"token_id": _fresh_token(world, world.victim)})
    for role in ROLES:
        attempt(world, f"{role} {method} {url} (another person's token)", lambda: ask(world, role, method, url),
                lambda answer: refused(world, role, answer))
    answer = world.victim.web.post(url, data={"csrf_token": world.victim.csrf})
    page = world.victim.web.get(answer.headers["Location"]).get_data(as_text=True) if answer.status_code == 302 else ""
    if "flash flash-success" not in page:
        world.failures.append(f"{url}: its owner could not revoke it ({answer.status_code})")


def _users_token(world: World, rule: Any, method: str) -> None:
    """An admin on one account's page cannot revoke another account's token through it."""
    token_id = _fresh_token(world, world.victim)
    url = build(rule, world.ids | {"user_id": world.people["auditor"].user_id, "token_id": token_id})
    attempt(world, f"admin {method} {url} (token of another account)", lambda: ask(world, "admin", method, url),
            lambda answer: refused(world, "admin", answer))
    own_url = build(rule, world.ids | {"user_id": world.victim.user_id, "token_id": token_id})
    if not accepted(world, "admin", ask(world, "admin", method, own_url)):
        world.failures.append(f"{own_url}: the admin could not revoke the account's own token")


def _board_call(world: World, method: str, url: str, secret: str, screen_id: int) -> Any:
    client = world.bearer_client()
    if method == "GET":
        return client.get(url, headers=bearer(secret))
    body = _board_body(world, url, screen_id)
    return post_signed(client, url, secret, body)


def _board_body(world: World, url: str, screen_id: int) -> dict[str, Any]:
    asset = world.assets["A" if screen_id == world.boards["A"][0] else "B"]
    if url.endswith("/heartbeat"):
        return {"version": 1, "asset_id": asset, "at": datetime.now(UTC).isoformat()}
    start = datetime.now(UTC) - timedelta(minutes=5)
    return {"plays": [{"event_id": str(uuid.uuid4()), "asset_id": asset, "manifest_version": 1,
                       "start": start.isoformat(), "end": (start + timedelta(seconds=15)).isoformat(),
                       "frame_hash": None}]}


def _board_route(world: World, rule: Any, method: str) -> None:
    """Board A's secret (and signature) on board B's URL is refused and shows nothing of B;
    on its own URL, B's media is not A's to fetch; people's tokens never open a board route."""
    (a_id, a_secret), (b_id, b_secret) = world.boards["A"], world.boards["B"]
    b_url = build(rule, world.ids | {"screen_id": b_id, "asset_id": world.assets["B"]})
    b_secrets = _manifest_words(world, b_id)
    answer = attempt(world, f"board A {method} {b_url}", lambda: _board_call(world, method, b_url, a_secret, b_id),
                     lambda answer: answer.status_code == 401)
    body = answer.get_data(as_text=True)
    if any(word in body for word in b_secrets):
        world.failures.append(f"board A {method} {b_url}: the answer shows board B's manifest")
    for role in ("admin", "operator"):
        attempt(world, f"{role}'s token {method} {b_url}",
                lambda: _board_call(world, method, b_url, world.people[role].api["Authorization"].split()[1], b_id),
                lambda answer: answer.status_code == 401)
    if "asset_id" in rule.arguments:
        a_url = build(rule, world.ids | {"screen_id": a_id, "asset_id": world.assets["B"]})
        attempt(world, f"board A {method} {a_url} (board B's media)",
                lambda: _board_call(world, method, a_url, a_secret, a_id), lambda answer: answer.status_code == 404)
    own = _board_call(world, method, b_url, b_secret, b_id)  # the same call by its own board works
    if own.status_code != 200:
        world.failures.append(f"board B {method} {b_url}: its own call answered {own.status_code}")


def _manifest_words(world: World, screen_id: int) -> list[str]:
    """What would give a board's manifest away: its content hash and the media it names."""
    from cms.models import Manifest

    with world.app.app_context():
        manifest = db.session.scalar(select(Manifest).where(Manifest.screen_id == screen_id))
        return [manifest.content_hash] + [item["name"] for item in manifest.body["media"]]


def _board_shell(world: World, rule: Any, method: str) -> None:
    """The web player's page is public: it names the board and holds nothing else of it."""
    b_id, b_secret = world.boards["B"]
    url = build(rule, world.ids | {"screen_id": b_id})
    answer = attempt(world, f"signed out {method} {url}", lambda: ask(world, None, method, url),
                     lambda answer: answer.status_code == 200)
    body = answer.get_data(as_text=True)
    leaked = [word for word in [b_secret, board_key(b_secret), *_manifest_words(world, b_id)] if word in body]
    if leaked or "pnb_" in body:
        world.failures.append(f"{url}: the player's page shows {leaked or 'a board secret'}")


def _fresh_item(world: World) -> int:
    """A new item on playlist B."""
    url = f"/api/v1/playlists/{world.playlists['B']}/items"
    answer = world.bearer_client().post(url, headers=world.people["editor"].api, json={"asset_id": world.assets["B"]})
    return answer.get_json()["items"][-1]["id"]


def _playlist_item(world: World, rule: Any, method: str) -> None:
    """An item of playlist B, named under playlist A, is not found there: editors included."""
    item = _fresh_item(world)
    url = build(rule, world.ids | {"playlist_id": world.playlists["A"], "item_id": item})
    change = ITEM_CHANGES[(method, rule.rule)]
    for role in ("editor", "admin"):
        attempt(world, f"{role} {method} {url} (another playlist's item)",
                lambda: ask(world, role, method, url, change), lambda answer: refused(world, role, answer))
    own_url = build(rule, world.ids | {"playlist_id": world.playlists["B"], "item_id": item})
    if not accepted(world, "editor", ask(world, "editor", method, own_url, change)):
        world.failures.append(f"{own_url}: the change on its own playlist was refused")


def _fresh_own(world: World, rule: Any) -> dict[str, int]:
    """A new object of the admin's, waiting for approval, for the route's id."""
    admin = world.people["admin"].api
    client = world.bearer_client()
    if "asset_id" in rule.arguments:
        world.uploads += 1
        asset = _upload(client, world.app, admin, world.uploads)
        pending = client.post(f"/api/v1/media/{asset}/transitions", headers=admin, json={"to": "pending"})
        assert pending.status_code == 200, pending.get_json()
        return {"asset_id": asset}
    if "rule_id" in rule.arguments:
        answer = client.post("/api/v1/rules", headers=admin, json={
            "playlist_id": world.playlists["B"], "board_ids": [world.boards["B"][0]], "interrupt": True,
            "windows": ["07:00-08:00"]})
        return {"rule_id": answer.get_json()["id"]}
    return {"post_id": _own_pending_post(world.app, world.people["admin"])}


def _made_by(world: World, rule: Any, method: str) -> None:
    """Whoever uploaded, wrote or asked for something never approves it, admins included;
    another approver does."""
    url = build(rule, world.ids | _fresh_own(world, rule))
    approval = OWN_APPROVALS[(method, rule.rule)]
    attempt(world, f"admin {method} {url} (approving their own)", lambda: ask(world, "admin", method, url, approval),
            lambda answer: refused(world, "admin", answer))
    if not accepted(world, "approver", ask(world, "approver", method, url, approval)):
        world.failures.append(f"{url}: another approver could not approve it")


def _public_page(world: World, rule: Any, method: str) -> None:
    """The website answers for what is not public exactly as for what does not exist."""
    url = build(rule, world.ids | world.private)
    answer = attempt(world, f"signed out {method} {url} (not public)", lambda: ask(world, None, method, url),
                     lambda answer: answer.status_code == 404)
    body = answer.get_data(as_text=True)
    if "Bài viết của quản trị" in body or "Áp phích" in body:
        world.failures.append(f"{url}: a page that is not public shows its content")


# ---------------------------------------------------------------------------
# Board secret rotation


def _rotate_on_the_page(client: FlaskClient, app: Flask, accounts: Accounts, board: int) -> str:
    web = app.test_client()
    accounts.login("operator", client=web)
    page = web.get(f"/screens/{board}")
    answer = web.post(f"/screens/{board}/secret", data={"csrf_token": csrf_token(page)})
    match = re.search(r'<code class="secret">([^<]+)</code>', answer.get_data(as_text=True))
    assert answer.status_code == 200 and match, answer.status_code
    return match.group(1)


def _rotate_through_the_api(client: FlaskClient, app: Flask, accounts: Accounts, board: int) -> str:
    answer = client.post(f"/api/v1/screens/{board}/secret", headers=accounts.token("operator"))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["secret"]


BOARD_CALLS = ("manifest", "media", "heartbeat", "playlogs")


def _every_board_call(client: FlaskClient, board: int, asset: int, secret: str,
                      key: str | None = None) -> dict[str, int]:
    """What each board route answers to this secret (and signing key): the calls the web player makes too."""
    start = datetime.now(UTC) - timedelta(minutes=2)
    play = {"event_id": str(uuid.uuid4()), "asset_id": asset, "manifest_version": 1, "start": start.isoformat(),
            "end": (start + timedelta(seconds=15)).isoformat(), "frame_hash": None}
    base = f"/api/v1/screens/{board}"
    return {
        "manifest": client.get(f"{base}/manifest", headers=bearer(secret)).status_code,
        "media": client.get(f"{base}/media/{asset}", headers=bearer(secret)).status_code,
        "heartbeat": post_signed(client, f"{base}/heartbeat", secret, {"version": 1, "asset_id": asset},
                                 key=key).status_code,
        "playlogs": post_signed(client, f"{base}/playlogs", secret, {"plays": [play]}, key=key).status_code,
    }


@pytest.mark.parametrize("rotate", [_rotate_on_the_page, _rotate_through_the_api], ids=["page", "api"])
def test_a_rotated_secret_locks_the_old_one_out_of_every_board_route(app: Flask, client: FlaskClient,
                                                                     accounts: Accounts, imported_plan: Any,
                                                                     caplog: pytest.LogCaptureFixture,
                                                                     rotate: Callable[..., str]) -> None:
    """After a rotation the old secret opens nothing (manifest, media, heartbeat, play logs: all the
    web player uses), the new one opens everything, and the log says who rotated which board when,
    without the secret in it or in the application's logs."""
    operator_id = accounts.ensure("operator")
    board, old = new_board(client, accounts.token("operator"), "ROT-ALL")
    asset = _approved(client, app, accounts.token("editor"), accounts.token("approver"), 3)
    make_manifest(app, board, 1, (asset,))
    assert _every_board_call(client, board, asset, old) == dict.fromkeys(BOARD_CALLS, 200)
    with app.app_context():
        last_event = db.session.scalar(select(db.func.max(AuditEvent.id)))
    caplog.set_level(logging.WARNING, logger="sqlalchemy")  # the SQL echo, off unless database.echo is set
    caplog.set_level(logging.DEBUG)  # after: this also sets the capturing handler's level
    started = datetime.now(UTC)
    new = rotate(client, app, accounts, board)
    finished = datetime.now(UTC)

    assert new != old and new.startswith("pnb_")
    assert set(_every_board_call(client, board, asset, old).values()) == {401}
    assert _every_board_call(client, board, asset, new, key=board_key(old)) == {
        "manifest": 200, "media": 200, "heartbeat": 401, "playlogs": 401}  # bodies signed with the old key
    assert _every_board_call(client, board, asset, new) == dict.fromkeys(BOARD_CALLS, 200)
    assert "pnb_" not in client.get(f"/player/{board}").get_data(as_text=True)

    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > last_event)))
        screen = db.session.get(Screen, board)
        rotated = [e for e in events if e.action == "screen.secret"]
        assert len(rotated) == 1, [e.action for e in events]
        event = rotated[0]
        assert (event.object_type, event.object_id, event.user_id, event.actor) == (
            "screen", board, operator_id, "operator@example.org")
        assert started <= event.at <= finished and started <= screen.secret_rotated_at <= finished
        recorded = repr([(e.details, e.actor, e.action) for e in events])
    admin = app.test_client()
    accounts.login("admin", client=admin)
    audit_page = admin.get("/admin/audit").get_data(as_text=True)
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for secret in (old, new):
        for trace in (secret, board_key(secret), secret.removeprefix("pnb_")):
            assert trace not in recorded and trace not in audit_page and trace not in logged


def test_a_role_that_may_not_rotate_leaves_the_secret_as_it_was(app: Flask, client: FlaskClient,
                                                                accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "ROT-NO")
    for role in ("editor", "approver", "auditor"):
        assert client.post(f"/api/v1/screens/{board}/secret", headers=accounts.token(role)).status_code == 403
        web = app.test_client()
        accounts.login(role, client=web)
        token = csrf_token(web.get(f"/screens/{board}"))
        assert web.post(f"/screens/{board}/secret", data={"csrf_token": token}).status_code == 403
    still = client.get(f"/api/v1/screens/{board}/manifest", headers=bearer(secret))
    assert still.get_json()["error"]["code"] == "manifest_not_found"  # the secret still opens the board
    with app.app_context():
        rotations = select(db.func.count()).select_from(AuditEvent).where(AuditEvent.action == "screen.secret")
        assert db.session.scalar(rotations) == 0
