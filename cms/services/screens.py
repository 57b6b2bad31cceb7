"""Boards: registering them, their secrets, and what the resolver needs to know of them."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update

from cms.errors import Conflict, NotFound, ValidationFailed
from cms.extensions import db
from cms.models import BoardSync, Screen
from cms.models.types import utcnow
from cms.services.audit import Actor, record
from cms.services.units import clean_text
from display_adapters.signing import board_key
from display_adapters.options import KINDS, SECRET_OPTIONS, AdapterOptionsInvalid, validate_options

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


@dataclass(frozen=True)
class ScreenInput:
    name: str
    width: int
    height: int
    adapter_kind: str
    adapter_options: dict[str, str] = field(default_factory=dict)
    code: str = ""
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    group_name: str = ""
    pixel_pitch_mm: float = 10.0
    viewing_distance_m: float = 50.0
    opens_at: time = time(5, 30)
    closes_at: time = time(22, 0)
    timezone: str = "Asia/Ho_Chi_Minh"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return "pnb_" + secrets.token_urlsafe(32)


def parse_hours(text: str) -> tuple[time, time]:
    """'05:30-22:00' (or '18:00-02:00' across midnight, '00:00-24:00' all day)."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise ValidationFailed("Operating hours are written like 05:30-22:00.", code="screen_hours_invalid")
    h1, m1, h2, m2 = map(int, match.groups())
    if h2 == 24 and m2 == 0:
        h2 = 0
    if not (0 <= h1 < 24 and 0 <= h2 < 24 and m1 < 60 and m2 < 60):
        raise ValidationFailed("Operating hours are written like 05:30-22:00.", code="screen_hours_invalid")
    return time(h1, m1), time(h2, m2)


def create_screen(data: ScreenInput, actor: Actor) -> tuple[Screen, str]:
    """A new board and its secret, which is returned once and stored only as a hash."""
    screen = Screen(adapter_kind=data.adapter_kind, secret_hash="")
    _apply(screen, data)
    secret = new_secret()
    _set_secret(screen, secret)
    db.session.add(screen)
    db.session.flush()
    if not screen.code:
        screen.code = f"PNL-{screen.id:03d}"
    record(actor, "screen.create", "screen", screen.id, name=screen.name, code=screen.code, adapter=screen.adapter_kind)
    return screen, secret


def screen_input(screen: Screen) -> ScreenInput:
    """The board as it stands, as the input that would make it: where an edit starts."""
    return ScreenInput(
        name=screen.name, width=screen.width, height=screen.height, adapter_kind=screen.adapter_kind,
        adapter_options=dict(screen.adapter_options or {}), code=screen.code, address=screen.address,
        latitude=screen.latitude, longitude=screen.longitude, group_name=screen.group_name,
        pixel_pitch_mm=screen.pixel_pitch_mm, viewing_distance_m=screen.viewing_distance_m,
        opens_at=screen.opens_at, closes_at=screen.closes_at, timezone=screen.timezone)


def update_screen(screen: Screen, data: ScreenInput, actor: Actor, active: bool | None = None) -> list[str]:
    """Change what is known of a board (all checked as when it was registered) and say which
    fields changed. A secret option given as its mask keeps the value stored (for the same
    kind; a new kind needs its secrets given anew). A board whose
    kind or options changed (a new controller, a new address) has acknowledged and reported
    nothing there yet: its newest manifest is pushed to it again."""
    stored = dict(screen.adapter_options or {})
    masked = sorted(key for key, value in data.adapter_options.items() if value == MASKED)
    if masked and data.adapter_kind != screen.adapter_kind:
        raise ValidationFailed("The kind of board changed: give the option %(key)s anew.", code="adapter_option_masked",
                               key=", ".join(masked))
    options = {key: stored.get(key, "") if value == MASKED and key in SECRET_OPTIONS else value
               for key, value in data.adapter_options.items()}
    before, adapter_before = describe_screen(screen), (screen.adapter_kind, stored)
    _apply(screen, replace(data, adapter_options=options))
    if active is not None:
        screen.active = active
    after = describe_screen(screen)
    changed = [key for key in after if after[key] != before[key]]
    if (screen.adapter_kind, dict(screen.adapter_options or {})) != adapter_before:
        if "adapter_options" not in changed:
            changed.append("adapter_options")  # a secret option changed: its mask hides it
        db.session.execute(update(BoardSync).where(BoardSync.screen_id == screen.id)
                           .values(acknowledged_version=0, reported_version=0, failures=0, next_attempt_at=None,
                                   controller_changed_at=utcnow()))
    if changed:
        record(actor, "screen.update", "screen", screen.id, code=screen.code,
               before={key: before[key] for key in changed}, after={key: after[key] for key in changed})
    return changed


def rotate_secret(screen: Screen, actor: Actor) -> str:
    secret = new_secret()
    _set_secret(screen, secret)
    record(actor, "screen.secret", "screen", screen.id, code=screen.code)
    return secret


def _set_secret(screen: Screen, secret: str) -> None:
    screen.secret_hash, screen.signing_key, screen.secret_rotated_at = hash_secret(secret), board_key(secret), utcnow()


def get_screen(ident: int | str) -> Screen:
    """A board by id or by code."""
    screen = db.session.get(Screen, int(ident)) if str(ident).isdigit() else None
    if screen is None:
        screen = db.session.scalar(select(Screen).where(func.lower(Screen.code) == str(ident).lower()))
    if screen is None:
        raise NotFound("No board %(ident)s.", code="screen_not_found", ident=ident)
    return screen


LIST_ORDER = (Screen.group_name, Screen.name, Screen.id)  # how every board list runs: by group, then name


def list_screens(ids: list[int] | None = None) -> list[Screen]:
    """Every board (or those named), in the lists' order."""
    query = select(Screen).order_by(*LIST_ORDER)
    return list(db.session.scalars(query if ids is None else query.where(Screen.id.in_(ids))))


BOARDS_PER_PAGE = 100


@dataclass(frozen=True)
class BoardPage:
    """One page of a board list (by group, then name), optionally of one group only."""
    ids: list[int]
    number: int
    pages: int
    total: int
    group: str | None
    groups: list[str]
    size: int = BOARDS_PER_PAGE

    @property
    def first(self) -> int:
        """The place in the list of the page's first board, from 1 (0 on an empty page)."""
        return (self.number - 1) * self.size + 1 if self.ids else 0

    @property
    def last(self) -> int:
        return self.first + len(self.ids) - 1 if self.ids else 0


def board_page(number: int = 1, group: str | None = None, size: int = BOARDS_PER_PAGE) -> BoardPage:
    """The ids of the boards on page `number` (past the last page: the last), with the
    page count and the groups one can narrow the list to. A group nobody has gives no boards."""
    groups = list(db.session.scalars(select(Screen.group_name).where(Screen.group_name != "").distinct()
                                     .order_by(Screen.group_name)))
    where = [] if group is None else [Screen.group_name == group]
    total = db.session.scalar(select(func.count()).select_from(Screen).where(*where)) or 0
    pages = max(1, -(-total // size))
    number = min(max(number, 1), pages)
    ids = list(db.session.scalars(select(Screen.id).where(*where).order_by(*LIST_ORDER)
                                  .limit(size).offset((number - 1) * size)))
    return BoardPage(ids, number, pages, total, group, groups, size)


MASKED = "••••"  # how a secret option is shown; given back in an edit, it means "keep it"


def describe_screen(screen: Screen) -> dict[str, Any]:
    return {
        "id": screen.id, "name": screen.name, "code": screen.code, "group": screen.group_name or None,
        "address": screen.address, "latitude": screen.latitude, "longitude": screen.longitude,
        "width": screen.width, "height": screen.height, "pixel_pitch_mm": screen.pixel_pitch_mm,
        "viewing_distance_m": screen.viewing_distance_m,
        "operating_hours": f"{screen.opens_at:%H:%M}-{screen.closes_at:%H:%M}", "timezone": screen.timezone,
        "adapter": screen.adapter_kind,
        "adapter_options": {k: (MASKED if k in SECRET_OPTIONS else v) for k, v in (screen.adapter_options or {}).items()},
        "fallback_playlist_id": screen.fallback_playlist_id, "active": screen.active,
    }


def _apply(screen: Screen, data: ScreenInput) -> None:
    name = clean_text(data.name)
    if not name or len(name) > 200:
        raise ValidationFailed("A board needs a name of 1 to 200 characters.", code="screen_name_invalid")
    if not (16 <= data.width <= 7680 and 16 <= data.height <= 4320):
        raise ValidationFailed("A board is between 16×16 and 7680×4320 pixels.", code="screen_size_invalid")
    if data.width % 2 or data.height % 2:
        raise ValidationFailed("Board width and height must be even numbers of pixels (H.264 needs them).",
                               code="screen_size_invalid")
    if not (0 < data.pixel_pitch_mm <= 100 and 0 < data.viewing_distance_m <= 2000):
        raise ValidationFailed("Pixel pitch and viewing distance must be positive.", code="screen_optics_invalid")
    if (data.latitude is None) != (data.longitude is None) or (
            data.latitude is not None and not (-90 <= data.latitude <= 90 and -180 <= (data.longitude or 0) <= 180)):
        raise ValidationFailed("Give both latitude and longitude, in degrees.", code="screen_location_invalid")
    if data.opens_at == data.closes_at and data.opens_at != time(0, 0):
        raise ValidationFailed("Opening and closing times are the same.", code="screen_hours_invalid")
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("Unknown time zone %(zone)s.", code="screen_timezone_invalid", zone=data.timezone) from None
    code = data.code.strip() or (f"PNL-{screen.id:03d}" if screen.id else "")  # a new board's is made once it has an id
    if code and not CODE_RE.match(code):
        raise ValidationFailed("A board code is letters, digits, '-', '_' or '.' (at most 40).", code="screen_code_invalid")
    if code and db.session.scalar(select(Screen.id).where(func.lower(Screen.code) == code.lower(), Screen.id != (screen.id or -1))):
        raise Conflict("Another board already has the code %(board_code)s.", code="screen_code_taken", board_code=code)
    try:
        options = validate_options(data.adapter_kind, data.adapter_options)
    except AdapterOptionsInvalid as error:
        raise ValidationFailed(error.message, code=error.code, **error.params) from None
    screen.name, screen.code, screen.address = name, code, data.address.strip()
    screen.latitude, screen.longitude, screen.group_name = data.latitude, data.longitude, clean_text(data.group_name)
    screen.width, screen.height = data.width, data.height
    screen.pixel_pitch_mm, screen.viewing_distance_m = data.pixel_pitch_mm, data.viewing_distance_m
    screen.opens_at, screen.closes_at, screen.timezone = data.opens_at, data.closes_at, data.timezone
    screen.adapter_kind, screen.adapter_options = data.adapter_kind, options


ADAPTER_KINDS = tuple(KINDS)


def set_fallback(screen: Screen, playlist_id: int | None, actor: Actor) -> None:
    """The playlist the board shows when no rule has anything for it (None: nothing)."""
    from cms.services.playlists import get_playlist

    if playlist_id is not None:
        get_playlist(playlist_id)
    if screen.fallback_playlist_id == playlist_id:
        return
    record(actor, "screen.fallback", "screen", screen.id, before=screen.fallback_playlist_id, after=playlist_id)
    screen.fallback_playlist_id = playlist_id


@dataclass(frozen=True)
class BoardCredentials:
    """What a board's call is checked against: enough for a manifest poll, which a thousand
    boards make every few seconds, without loading the whole board."""
    id: int
    signing_key: str
    active: bool


def board_for_secret(screen_id: int, secret: str) -> BoardCredentials | None:
    """The board whose secret this is, compared in constant time; None for a wrong secret or board."""
    row = db.session.execute(select(Screen.secret_hash, Screen.signing_key, Screen.active)
                             .where(Screen.id == screen_id)).first()
    expected = row.secret_hash if row is not None else "0" * 64
    matches = hmac.compare_digest(hash_secret(secret), expected)
    return BoardCredentials(screen_id, row.signing_key, row.active) if row is not None and matches else None
