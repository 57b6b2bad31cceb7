"""The board kinds Panoled knows and the options each needs, checked before a board is saved.

Built from the registry (`display_adapters.registry`), so a kind added by a plugin
shows up here too; `KINDS` and `SECRET_OPTIONS` are read each time they are used.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass

from display_adapters.base import N_, AdapterOptionsInvalid
from display_adapters.registry import UnknownKind, adapter_class, kinds

__all__ = ["KINDS", "SECRET_OPTIONS", "AdapterOptionsInvalid", "Kind", "N_", "validate_options"]


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    secret: frozenset[str]
    capabilities: frozenset[str]


class _Kinds(Mapping[str, Kind]):
    """{kind name: Kind}, as the registry has them now."""

    def __getitem__(self, name: str) -> Kind:
        try:
            cls = adapter_class(name)
        except UnknownKind:
            raise KeyError(name) from None
        return Kind(name, cls.description, tuple(cls.required_options), tuple(cls.optional_options),
                    frozenset(cls.secret_options), frozenset(cls.capabilities))

    def __iter__(self) -> Iterator[str]:
        return iter(kinds())

    def __len__(self) -> int:
        return len(kinds())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in kinds()


class _SecretOptions(Set[str]):
    """The option names any kind keeps secret (never shown back after saving)."""

    def _names(self) -> frozenset[str]:
        return frozenset().union(*(adapter_class(kind).secret_options for kind in kinds()))

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names()))

    def __len__(self) -> int:
        return len(self._names())


KINDS: Mapping[str, Kind] = _Kinds()
SECRET_OPTIONS: Set[str] = _SecretOptions()


def validate_options(kind: str, options: Mapping[str, str]) -> dict[str, str]:
    """The options cleaned for `kind`, or AdapterOptionsInvalid naming what is wrong."""
    if kind not in KINDS:
        raise AdapterOptionsInvalid("adapter_unknown", "Unknown board kind %(kind)s; use one of %(kinds)s.",
                                    kind=kind, kinds=", ".join(KINDS))
    cleaned = {str(k).strip(): str(v).strip() for k, v in options.items()}
    adapter_class(kind).check_options(cleaned)
    return cleaned
