"""Boards served by a Panoled simulator (`panoled simulator run`, `panoled demo`).

At each start a simulator's boards get fresh secrets (a secret is shown only
once, so the simulator cannot read an old one back) and the simulator's address;
their identities go to the simulator in memory, never to a log or the terminal.
The CMS forgets what those boards acknowledged, so the scheduler hands each one
its newest manifest again (a board that still holds it just says so).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import time

from sqlalchemy import func, select, update

from cms.extensions import db
from cms.models import BoardSync, Screen
from cms.services.audit import Actor, record
from cms.services.screens import ScreenInput, create_screen, rotate_secret
from display_adapters.options import validate_options
from display_adapters.virtual_board import BoardIdentity

# Sizes of real Panoled boards, given in turn to SIM-01, SIM-02, ...
SIZES = ((1920, 1080), (960, 320), (768, 384), (1440, 480))
SIMULATOR_GROUP = "Simulator"


def simulator_code(n: int) -> str:
    return f"SIM-{n:02d}"


def ensure_simulator_boards(count: int, url: str, actor: Actor) -> list[Screen]:
    """Boards SIM-01 .. SIM-<count> of kind simulator, made when missing (lit all day)."""
    screens = []
    for n in range(1, count + 1):
        code = simulator_code(n)
        screen = db.session.scalar(select(Screen).where(func.lower(Screen.code) == code.lower()))
        if screen is None:
            width, height = SIZES[(n - 1) % len(SIZES)]
            screen, _secret = create_screen(ScreenInput(
                name=f"Simulator {code}", code=code, width=width, height=height, adapter_kind="simulator",
                adapter_options={"url": url, "screen": code}, group_name=SIMULATOR_GROUP,
                opens_at=time(0, 0), closes_at=time(0, 0)), actor)  # the new secret is rotated below anyway
        screens.append(screen)
    return screens


def connect_boards(screens: Sequence[Screen], url: str | None, actor: Actor) -> list[BoardIdentity]:
    """Points the boards at the simulator at `url`, with new secrets, and returns their
    identities for it (commits). With `url=None` they live in the CMS process instead
    (the in-process simulator: no secrets needed) and nothing is returned."""
    identities = []
    for screen in screens:
        if screen.adapter_kind != "simulator":
            continue
        options = dict(screen.adapter_options or {})
        if url is None:
            options.pop("url", None)
        else:
            options.update(url=url, screen=screen.code)
        options = validate_options("simulator", options)
        if options != (screen.adapter_options or {}):
            record(actor, "screen.update", "screen", screen.id, adapter_options=options)
            screen.adapter_options = options
        if url is not None:
            secret = rotate_secret(screen, actor)
            identities.append(BoardIdentity(screen.code, screen.id, screen.width, screen.height, secret, screen.name))
    ids = [screen.id for screen in screens if screen.adapter_kind == "simulator"]
    if ids:
        # A board in a new simulator holds only what its state folder kept: push again.
        db.session.execute(update(BoardSync).where(BoardSync.screen_id.in_(ids)).values(
            acknowledged_version=0, reported_version=0, failures=0, next_attempt_at=None))
    db.session.commit()
    return identities


def boards_by_code(codes: Sequence[str]) -> list[Screen]:
    wanted = [code.lower() for code in codes]
    return list(db.session.scalars(select(Screen).where(func.lower(Screen.code).in_(wanted)).order_by(Screen.id)))
