"""What every board driver offers the scheduler, and how it says something went wrong.

A driver is a `DisplayAdapter` subclass for one board kind. It declares what the
kind needs (`required_options`, `optional_options`, `secret_options`) and can do
(`capabilities`, out of `CAPABILITIES`); the registry (`display_adapters.registry`)
checks that each declared capability has its method and no undeclared one does.

A push either lands (`PushResult.accepted`), is answered with the board's own
newer version (`accepted=False`: the board keeps what it has, never an older
manifest), or fails: `RetryLater` for what time may cure (unreachable, timeout,
busy) and `Rejected` for what it will not (bad options, refused signature).
`NotSupported` is a `Rejected` for asking a kind what it cannot do.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

# push: takes manifests from the CMS; status: can be asked whether it is online and
# what it plays; playlog: its plays can be polled; screenshot: can send what it shows.
CAPABILITIES = frozenset({"push", "status", "playlog", "screenshot"})
# The method each capability stands for (screenshots come with the heartbeat, no method).
CAPABILITY_METHODS = {"push": "push_manifest", "status": "fetch_status", "playlog": "fetch_playlog"}


def N_(message: str) -> str:
    """Marks a string for the translation catalogue; the web layer translates it."""
    return message


class AdapterOptionsInvalid(ValueError):
    """Options a board kind cannot use; the message names the option."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code, self.message, self.params = code, message, params


class AdapterError(Exception):
    """Something asked of a board that did not happen; `retry` says whether trying again later may help."""

    retry = False

    def __init__(self, message: str, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


class RetryLater(AdapterError):
    retry = True


class Rejected(AdapterError):
    retry = False


class NotSupported(Rejected):
    """The board kind cannot do this at all (say, pushing to a web player, which pulls)."""


@dataclass(frozen=True)
class BoardRef:
    """The board as a driver needs it: who it is, the options of its kind, and the key
    its messages are signed with (hex; "" for a board whose secret predates signing)."""

    board_id: int
    code: str
    kind: str
    width: int
    height: int
    options: Mapping[str, str] = field(default_factory=dict)
    signing_key: str = ""


@dataclass(frozen=True)
class PushResult:
    """`current_version` is what the board plays now (its own report when it gave one)."""

    accepted: bool
    current_version: int
    detail: str = ""


@dataclass(frozen=True)
class BoardStatus:
    """What a board says of itself: reachable or not, the manifest version and asset it plays."""

    online: bool
    current_version: int | None = None
    asset_id: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class PlayRecord:
    """One complete play a board reports, as the CMS keeps it (times are aware, UTC)."""

    event_id: str
    asset_id: int
    manifest_version: int | None
    start: datetime
    end: datetime
    frame_hash: str | None = None


class DisplayAdapter:
    """One board kind's driver; an instance serves one board for one call or a few."""

    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    required_options: ClassVar[tuple[str, ...]] = ()
    optional_options: ClassVar[tuple[str, ...]] = ()
    secret_options: ClassVar[frozenset[str]] = frozenset()  # never shown back after saving
    capabilities: ClassVar[frozenset[str]] = frozenset()
    # Whether the board itself calls the CMS (heartbeats, plays); one that cannot is heard of only through
    # the scheduler's status polls (with "status"), and without them never "offline" by silence.
    calls_in: ClassVar[bool] = True

    def __init__(self, board: BoardRef, timeout: float) -> None:
        self.board, self.timeout = board, timeout

    @classmethod
    def check_options(cls, options: Mapping[str, str]) -> None:
        """Refuses unknown and missing options; kinds add checks of the values."""
        unknown = sorted(set(options) - set(cls.required_options) - set(cls.optional_options))
        if unknown:
            raise AdapterOptionsInvalid("adapter_option_unknown", "The board kind %(kind)s has no option %(key)s.",
                                        kind=cls.kind, key=", ".join(unknown))
        missing = [key for key in cls.required_options if not options.get(key)]
        if missing:
            raise AdapterOptionsInvalid("adapter_option_missing", "The board kind %(kind)s needs the option %(key)s.",
                                        kind=cls.kind, key=", ".join(missing))

    def push_manifest(self, manifest: Mapping[str, Any]) -> PushResult:
        """Hand the board a manifest; raise RetryLater or Rejected when it did not land."""
        raise NotSupported(f"boards of kind {self.kind!r} are not pushed to")

    def fetch_status(self) -> BoardStatus:
        """Ask the board whether it is online and what it plays. A board that does not
        answer is an answer (`online=False`); refused credentials raise Rejected."""
        raise NotSupported(f"boards of kind {self.kind!r} cannot be asked for their status")

    def fetch_playlog(self, since: datetime) -> list[PlayRecord]:
        """The plays the board recorded since `since`, for kinds whose plays are polled."""
        raise NotSupported(f"boards of kind {self.kind!r} report their plays themselves")


def implemented_capabilities(cls: type[DisplayAdapter]) -> frozenset[str]:
    """The capabilities whose method the class overrides (what it can really do)."""
    return frozenset(name for name, method in CAPABILITY_METHODS.items()
                     if getattr(cls, method) is not getattr(DisplayAdapter, method))


def check_http_url(options: Mapping[str, str], key: str) -> None:
    value = options.get(key)
    if value is None:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AdapterOptionsInvalid("adapter_option_invalid", "%(key)s must be an http:// or https:// address.", key=key)


def adapter_for(board: BoardRef, timeout: float) -> DisplayAdapter:
    """The driver for the board's kind (a kind no longer installed is refused on every call)."""
    from display_adapters.registry import UnknownKind, adapter_class

    try:
        return adapter_class(board.kind)(board, timeout)
    except UnknownKind:
        return _Missing(board, timeout)


class _Missing(DisplayAdapter):
    """A board whose kind's driver is not installed: every call is refused, saying so."""

    capabilities = frozenset({"push", "status"})

    def push_manifest(self, manifest: Mapping[str, Any]) -> PushResult:
        raise Rejected(f"no driver for board kind {self.board.kind!r} is installed")

    def fetch_status(self) -> BoardStatus:
        raise Rejected(f"no driver for board kind {self.board.kind!r} is installed")
