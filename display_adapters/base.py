"""What every board driver offers the scheduler, and how it says a push went wrong.

A push either lands (`PushResult.accepted`), is answered with the board's own
newer version (`accepted=False`: the board keeps what it has, never an older
manifest), or fails: `RetryLater` for what time may cure (unreachable, timeout,
busy) and `Rejected` for what it will not (bad options, refused signature).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class AdapterError(Exception):
    """A push that did not land; `retry` says whether trying again later may help."""

    retry = False

    def __init__(self, message: str, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


class RetryLater(AdapterError):
    retry = True


class Rejected(AdapterError):
    retry = False


@dataclass(frozen=True)
class BoardRef:
    """The board as a driver needs it: who it is and the options of its kind."""

    board_id: int
    code: str
    kind: str
    width: int
    height: int
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PushResult:
    """`current_version` is what the board plays now (its own report when it gave one)."""

    accepted: bool
    current_version: int
    detail: str = ""


class DisplayAdapter(ABC):
    kind: str = ""

    def __init__(self, board: BoardRef, timeout: float) -> None:
        self.board, self.timeout = board, timeout

    @abstractmethod
    def push_manifest(self, manifest: Mapping[str, Any]) -> PushResult:
        """Hand the board a manifest; raise RetryLater or Rejected when it did not land."""


class NotYetAvailable(DisplayAdapter):
    """A kind whose driver is not part of this version: every push is refused, saying so."""

    def push_manifest(self, manifest: Mapping[str, Any]) -> PushResult:
        raise Rejected(f"no driver for board kind {self.board.kind!r} in this version")


def adapter_for(board: BoardRef, timeout: float) -> DisplayAdapter:
    from display_adapters.simulator import SimulatorAdapter

    drivers: dict[str, type[DisplayAdapter]] = {"simulator": SimulatorAdapter}
    return drivers.get(board.kind, NotYetAvailable)(board, timeout)
