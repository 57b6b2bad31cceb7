"""The board kinds Panoled can drive: the built-in drivers and those other packages add.

Built-in kinds are named here with the module and class that implement them and are
imported only when first asked for (as Libcloud's driver table does). Other
packages add a kind with an entry point in the group `panoled.display_adapters`:

    [project.entry-points."panoled.display_adapters"]
    acme-led = "acme_panoled.driver:AcmeAdapter"

The entry point's name is the kind. A class is accepted only if it is a
`DisplayAdapter` whose `kind` is that name and whose declared capabilities are
exactly the ones it implements; a plugin that fails to load or to pass is left
out and logged, never allowed to stop the CMS. A plugin cannot replace a built-in kind.
"""
from __future__ import annotations

import importlib
import logging
import threading
from importlib.metadata import EntryPoint, entry_points

from display_adapters.base import CAPABILITIES, DisplayAdapter, implemented_capabilities

ENTRY_POINT_GROUP = "panoled.display_adapters"

BUILT_IN: dict[str, tuple[str, str]] = {
    "simulator": ("display_adapters.simulator", "SimulatorAdapter"),
    "webplayer": ("display_adapters.webplayer", "WebPlayerAdapter"),
    "http-json": ("display_adapters.http_json", "HttpJsonAdapter"),
    "novastar-vnnox": ("display_adapters.vnnox", "VnnoxAdapter"),
}

log = logging.getLogger("panoled.display_adapters")
_lock = threading.Lock()
_classes: dict[str, type[DisplayAdapter]] = {}
_plugins: dict[str, EntryPoint] | None = None


class UnknownKind(LookupError):
    """No installed driver has this kind."""


class InvalidAdapter(TypeError):
    """A class offered as a driver that does not keep the DisplayAdapter contract."""


def kinds() -> list[str]:
    """Every kind a board may have here: the built-in ones first, then plugins that load."""
    names = list(BUILT_IN)
    for name in sorted(_entry_points()):
        try:
            adapter_class(name)
        except (UnknownKind, InvalidAdapter):
            continue
        names.append(name)
    return names


def adapter_class(kind: str) -> type[DisplayAdapter]:
    """The driver class of `kind`, loaded and checked on first use."""
    with _lock:
        found = _classes.get(kind)
    if found is not None:
        return found
    if kind in BUILT_IN:
        module, name = BUILT_IN[kind]
        cls = getattr(importlib.import_module(module), name)
    else:
        point = _entry_points().get(kind)
        if point is None:
            raise UnknownKind(kind)
        try:
            cls = point.load()
        except Exception as error:  # a broken plugin must not take the CMS down
            log.error("board kind %s from %s does not load: %s: %s", kind, point.value, type(error).__name__, error)
            raise UnknownKind(kind) from error
    try:
        check_adapter_class(kind, cls)
    except InvalidAdapter as error:
        log.error("board kind %s is not usable: %s", kind, error)
        raise
    with _lock:
        _classes[kind] = cls
    return cls


def check_adapter_class(kind: str, cls: object) -> None:
    """Raises InvalidAdapter unless `cls` is a driver for `kind` that does what it declares."""
    if not (isinstance(cls, type) and issubclass(cls, DisplayAdapter)):
        raise InvalidAdapter(f"{cls!r} is not a DisplayAdapter")
    if cls.kind != kind:
        raise InvalidAdapter(f"{cls.__name__}.kind is {cls.kind!r}, registered as {kind!r}")
    if not cls.capabilities <= CAPABILITIES:
        raise InvalidAdapter(f"{cls.__name__} declares unknown capabilities {sorted(cls.capabilities - CAPABILITIES)}")
    implemented = implemented_capabilities(cls)
    methods = cls.capabilities - {"screenshot"}  # screenshots come with the heartbeat: no method
    if methods != implemented:
        raise InvalidAdapter(f"{cls.__name__} declares {sorted(methods)} but implements {sorted(implemented)}")
    if not cls.secret_options <= set(cls.required_options) | set(cls.optional_options):
        raise InvalidAdapter(f"{cls.__name__} has secret options that are not among its options")


def refresh() -> None:
    """Forget the plugins found so far (after installing one, and in tests)."""
    global _plugins
    with _lock:
        _plugins = None
        for kind in [k for k in _classes if k not in BUILT_IN]:
            del _classes[kind]


def _entry_points() -> dict[str, EntryPoint]:
    global _plugins
    with _lock:
        if _plugins is None:
            found: dict[str, EntryPoint] = {}
            for point in entry_points(group=ENTRY_POINT_GROUP):
                if point.name in BUILT_IN:
                    log.warning("ignoring %s from %s: a built-in kind has that name", point.name, point.value)
                elif point.name not in found:
                    found[point.name] = point
            _plugins = found
        return _plugins


def pull_only_kinds() -> list[str]:
    """Installed kinds without the "push" capability: their boards fetch manifests themselves."""
    return [kind for kind in kinds() if "push" not in adapter_class(kind).capabilities]


def polled_kinds() -> list[str]:
    """Installed kinds whose boards cannot call in but can be asked whether they are online:
    the leading scheduler polls their status, and that is all their health is made of."""
    classes = {kind: adapter_class(kind) for kind in kinds()}
    return [kind for kind, cls in classes.items() if not cls.calls_in and "status" in cls.capabilities]
