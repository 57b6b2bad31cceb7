"""The `webplayer` kind: a PC whose kiosk browser opens `/player/<screen id>` full screen.

Nothing is pushed to it: the player pulls its manifest from the CMS (long poll),
reports what it plays with its heartbeat and uploads its plays itself, so the
driver declares no capability and the scheduler leaves these boards out of its
pushes. The player's acknowledgement arrives with its heartbeat.
"""
from __future__ import annotations

from display_adapters.base import N_, DisplayAdapter


class WebPlayerAdapter(DisplayAdapter):
    kind = "webplayer"
    description = N_("A PC with a kiosk browser driving the LED sending card")
    # The player sends screenshots with its heartbeat when asked; no driver method is involved.
    capabilities = frozenset({"screenshot"})
