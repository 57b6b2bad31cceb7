"""The board kinds Panoled knows and the options each needs, checked before a board is saved."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


def N_(message: str) -> str:
    """Marks a description for the translation catalogue; the web layer translates it."""
    return message


class AdapterOptionsInvalid(ValueError):
    """Options a board kind cannot use; the message names the option."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code, self.message, self.params = code, message, params


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    check: Callable[[dict[str, str]], None] | None = None


def _http_url(key: str) -> Callable[[dict[str, str]], None]:
    def check(options: dict[str, str]) -> None:
        value = options.get(key)
        if value is None:
            return
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AdapterOptionsInvalid("adapter_option_invalid", "%(key)s must be an http:// or https:// address.", key=key)

    return check


KINDS: dict[str, Kind] = {
    "simulator": Kind("simulator", N_("Simulated Panoled controller (for demos and tests)"), (), ("url", "screen")),
    "webplayer": Kind("webplayer", N_("A PC with a kiosk browser driving the LED sending card"), (), ()),
    "http-json": Kind("http-json", N_("A controller speaking Panoled's signed JSON push protocol"), ("url",), (), _http_url("url")),
    "novastar-vnnox": Kind("novastar-vnnox", N_("NovaStar VNNOX / NovaCloud player"), ("app_key", "app_secret", "player_id"),
                           ("region", "base_url"), _http_url("base_url")),
}

SECRET_OPTIONS = frozenset({"app_secret"})  # never shown back after saving


def validate_options(kind: str, options: Mapping[str, str]) -> dict[str, str]:
    """The options cleaned for `kind`, or AdapterOptionsInvalid naming what is wrong."""
    spec = KINDS.get(kind)
    if spec is None:
        raise AdapterOptionsInvalid("adapter_unknown", "Unknown board kind %(kind)s; use one of %(kinds)s.",
                                    kind=kind, kinds=", ".join(KINDS))
    cleaned = {str(k).strip(): str(v).strip() for k, v in options.items()}
    unknown = sorted(set(cleaned) - set(spec.required) - set(spec.optional))
    if unknown:
        raise AdapterOptionsInvalid("adapter_option_unknown", "The board kind %(kind)s has no option %(key)s.",
                                    kind=kind, key=", ".join(unknown))
    missing = [key for key in spec.required if not cleaned.get(key)]
    if missing:
        raise AdapterOptionsInvalid("adapter_option_missing", "The board kind %(kind)s needs the option %(key)s.",
                                    kind=kind, key=", ".join(missing))
    if spec.check is not None:
        spec.check(cleaned)
    return cleaned
