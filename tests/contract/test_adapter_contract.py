"""The contract every board kind keeps, run against every registered kind and a live peer
on 127.0.0.1: the simulator server, the http-json reference receiver, and for VNNOX a
local FAKE of the cloud (tests/fakes/vnnox_fake.py; no VNNOX account is reachable here).

A kind added to the registry without a harness here fails `test_every_kind_has_a_harness`.
"""
from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from display_adapters import registry
from display_adapters.base import (CAPABILITY_METHODS, AdapterOptionsInvalid, BoardRef, DisplayAdapter, NotSupported,
                                   Rejected, RetryLater)
from display_adapters.http_json_receiver import HttpJsonReceiver
from display_adapters.options import KINDS, SECRET_OPTIONS, validate_options
from display_adapters.signing import board_key
from display_adapters.simulator_server import SimulatorServer
from fakes.vnnox_fake import VnnoxFake
from manifest_samples import POSTER, VIDEO, sample_manifest

TIMEOUT = 2.0
SINCE = datetime(2024, 6, 1, tzinfo=UTC)
CALLS = {"push_manifest": (sample_manifest(1),), "fetch_status": (), "fetch_playlog": (SINCE,)}
KEY = board_key("pnb_contract-test-secret")
WRONG_KEY = board_key("pnb_someone-else")


@dataclass
class Harness:
    """A board of the kind, reached at a live peer; `endpoint` is the option naming where."""

    board: BoardRef
    endpoint: str | None = None
    wrong_credentials: BoardRef | None = None
    no_credential_check: str = ""  # why the peer cannot tell wrong credentials, when it cannot

    def pointed_at(self, url: str) -> BoardRef:
        assert self.endpoint is not None
        return replace(self.board, options={**self.board.options, self.endpoint: url})

    def adapter(self, board: BoardRef | None = None, timeout: float = TIMEOUT) -> DisplayAdapter:
        board = board or self.board
        return registry.adapter_class(board.kind)(board, timeout)


def _board(kind: str, options: dict[str, str], key: str = KEY) -> BoardRef:
    return BoardRef(1, "VT-01", kind, 960, 320, options, key)


def simulator_harness(request: pytest.FixtureRequest) -> Harness:
    if not hasattr(SimulatorServer, "add_board"):  # before simulated boards were provisioned with secrets
        server = SimulatorServer().start()
        request.addfinalizer(server.stop)
        return Harness(_board("simulator", {"url": server.url, "screen": "VT-01"}), "url",
                       no_credential_check="this SimulatorServer does not check signatures")
    from display_adapters.virtual_board import BoardIdentity

    # A provisioned board checks signatures; its CMS is nowhere (it only has to take manifests here).
    tmp_path = request.getfixturevalue("tmp_path")
    server = SimulatorServer(cms_url=request.getfixturevalue("closed_port_url"), state_dir=tmp_path).start()
    request.addfinalizer(server.stop)
    server.add_board(BoardIdentity("VT-01", 1, 960, 320, "pnb_contract-test-secret"))
    board = _board("simulator", {"url": server.url, "screen": "VT-01"})
    return Harness(board, "url", wrong_credentials=replace(board, signing_key=WRONG_KEY))


def webplayer_harness(request: pytest.FixtureRequest) -> Harness:
    return Harness(_board("webplayer", {}))


def http_json_harness(request: pytest.FixtureRequest) -> Harness:
    receiver = HttpJsonReceiver(KEY).start()
    request.addfinalizer(receiver.stop)
    board = _board("http-json", {"url": receiver.url})
    return Harness(board, "url", wrong_credentials=replace(board, signing_key=WRONG_KEY))


def vnnox_harness(request: pytest.FixtureRequest) -> Harness:
    fake = VnnoxFake("contract-app-key", "contract-app-secret", ["player-vt-01"]).start()
    request.addfinalizer(fake.stop)
    fake.publish("/api/v1/screens/1/media/7", POSTER)
    fake.publish("/api/v1/screens/1/media/8", VIDEO)
    options = {"app_key": "contract-app-key", "app_secret": "contract-app-secret", "player_id": "player-vt-01",
               "base_url": fake.url, "media_base_url": f"{fake.url}/files"}
    board = _board("novastar-vnnox", options, key="")
    return Harness(board, "base_url",
                   wrong_credentials=replace(board, options={**options, "app_secret": "not-the-secret"}))


HARNESSES: dict[str, Callable[[pytest.FixtureRequest], Harness]] = {
    "simulator": simulator_harness, "webplayer": webplayer_harness,
    "http-json": http_json_harness, "novastar-vnnox": vnnox_harness,
}
KIND_NAMES = registry.kinds()


@pytest.fixture(params=KIND_NAMES)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def harness(kind: str, request: pytest.FixtureRequest) -> Harness:
    if kind not in HARNESSES:
        pytest.fail(f"board kind {kind} has no harness in the contract suite")
    return HARNESSES[kind](request)


def pushes(kind: str) -> bool:
    return "push" in registry.adapter_class(kind).capabilities


@pytest.fixture
def closed_port_url() -> str:
    """An address where nothing listens: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """An address that takes connections and never answers, like a hung controller."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        yield f"http://127.0.0.1:{silent.getsockname()[1]}"


# ---------------------------------------------------------------------- every kind


def test_every_kind_has_a_harness() -> None:
    assert set(KIND_NAMES) <= set(HARNESSES), "add a harness for the new kind"
    assert {"simulator", "webplayer", "http-json", "novastar-vnnox"} <= set(KIND_NAMES)


def test_declared_capabilities_are_the_implemented_ones(kind: str) -> None:
    cls = registry.adapter_class(kind)
    registry.check_adapter_class(kind, cls)
    assert cls.description and KINDS[kind].description == cls.description
    adapter = cls(_board(kind, {}), TIMEOUT)
    for capability, method in CAPABILITY_METHODS.items():
        if capability not in cls.capabilities:
            with pytest.raises(NotSupported):
                getattr(adapter, method)(*CALLS[method])


def test_a_missing_required_option_is_named(kind: str, harness: Harness) -> None:
    cls = registry.adapter_class(kind)
    assert validate_options(kind, dict(harness.board.options)) == dict(harness.board.options)
    for key in cls.required_options:
        options = {k: v for k, v in harness.board.options.items() if k != key}
        with pytest.raises(AdapterOptionsInvalid) as refused:
            validate_options(kind, options)
        assert refused.value.code == "adapter_option_missing" and refused.value.params["key"] == key
        with pytest.raises(AdapterOptionsInvalid, match="needs the option"):
            validate_options(kind, {**options, key: "  "})


def test_an_unknown_option_is_refused(kind: str, harness: Harness) -> None:
    with pytest.raises(AdapterOptionsInvalid) as refused:
        validate_options(kind, {**harness.board.options, "colour": "red"})
    assert refused.value.code == "adapter_option_unknown" and refused.value.params["key"] == "colour"


def test_secret_options_are_known_as_secret(kind: str) -> None:
    cls = registry.adapter_class(kind)
    assert cls.secret_options <= SECRET_OPTIONS
    assert cls.secret_options <= set(cls.required_options) | set(cls.optional_options)


# ---------------------------------------------------------------------- pushing


def test_a_push_is_taken_again_taken_and_an_older_one_refused(harness: Harness) -> None:
    adapter = harness.adapter()
    if "push" not in adapter.capabilities:
        with pytest.raises(NotSupported):
            adapter.push_manifest(sample_manifest(3))
        return
    first = adapter.push_manifest(sample_manifest(3))
    assert first.accepted and first.current_version == 3
    again = adapter.push_manifest(sample_manifest(3))  # a retried push whose answer was lost
    assert again.accepted and again.current_version == 3
    older = adapter.push_manifest(sample_manifest(2))
    assert not older.accepted and older.current_version == 3
    newer = adapter.push_manifest(sample_manifest(4))
    assert newer.accepted and newer.current_version == 4


def test_an_unreachable_board_is_retried_later_without_waiting(harness: Harness, closed_port_url: str) -> None:
    if not pushes(harness.board.kind):
        pytest.skip("not pushed to")
    adapter = harness.adapter(harness.pointed_at(closed_port_url))
    started = time.monotonic()
    with pytest.raises(RetryLater) as failed:
        adapter.push_manifest(sample_manifest(1))
    assert failed.value.retry and not failed.value.timeout
    assert time.monotonic() - started < TIMEOUT


def test_a_board_that_never_answers_costs_one_timeout(harness: Harness, silent_url: str) -> None:
    if not pushes(harness.board.kind):
        pytest.skip("not pushed to")
    adapter = harness.adapter(harness.pointed_at(silent_url), timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RetryLater) as failed:
        adapter.push_manifest(sample_manifest(1))
    assert failed.value.timeout and time.monotonic() - started < 2.5


def test_wrong_credentials_are_rejected_not_retried(harness: Harness) -> None:
    if not pushes(harness.board.kind):
        pytest.skip("not pushed to")
    if harness.wrong_credentials is None:
        pytest.skip(harness.no_credential_check)
    with pytest.raises(Rejected) as refused:
        harness.adapter(harness.wrong_credentials).push_manifest(sample_manifest(1))
    assert not refused.value.retry
    assert harness.adapter().push_manifest(sample_manifest(1)).accepted  # the peer still takes good ones


# ---------------------------------------------------------------------- status and plays


def test_status_tells_the_version_the_board_took(harness: Harness, closed_port_url: str) -> None:
    adapter = harness.adapter()
    if "status" not in adapter.capabilities:
        with pytest.raises(NotSupported):
            adapter.fetch_status()
        return
    adapter.push_manifest(sample_manifest(5))
    status = adapter.fetch_status()
    assert status.online and status.current_version == 5
    assert not harness.adapter(harness.pointed_at(closed_port_url)).fetch_status().online


def test_plays_are_polled_only_where_declared(harness: Harness) -> None:
    adapter = harness.adapter()
    if "playlog" in adapter.capabilities:
        assert all(play.start >= SINCE for play in adapter.fetch_playlog(SINCE))
    else:
        with pytest.raises(NotSupported):
            adapter.fetch_playlog(SINCE)


# ---------------------------------------------------------------------- plugins


PLUGIN = '''
from display_adapters.base import DisplayAdapter, PushResult


class AcmeAdapter(DisplayAdapter):
    kind = "acme-led"
    description = "ACME LED controller"
    required_options = ("host",)
    capabilities = frozenset({"push"})

    def push_manifest(self, manifest):
        return PushResult(True, manifest["version"])


class Boasting(DisplayAdapter):
    kind = "acme-boast"
    capabilities = frozenset({"push", "status"})  # and implements neither
'''


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A real distribution on sys.path: a module and a .dist-info with entry points."""
    (tmp_path / "acme_panoled.py").write_text(PLUGIN, encoding="utf-8")
    info = tmp_path / "acme_panoled-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-panoled\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[panoled.display_adapters]\nacme-led = acme_panoled:AcmeAdapter\nacme-boast = acme_panoled:Boasting\n"
        "simulator = acme_panoled:AcmeAdapter\nacme-missing = acme_panoled:NoSuchClass\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.refresh()
    yield
    monkeypatch.delitem(sys.modules, "acme_panoled", raising=False)
    monkeypatch.undo()
    registry.refresh()


def test_a_kind_installed_through_an_entry_point_is_offered(installed_plugin: None) -> None:
    assert "acme-led" in registry.kinds() and "acme-led" in KINDS
    assert KINDS["acme-led"].required == ("host",)
    assert validate_options("acme-led", {"host": "10.0.0.5"}) == {"host": "10.0.0.5"}
    board = BoardRef(9, "ACME-1", "acme-led", 64, 32, {"host": "10.0.0.5"})
    from display_adapters.base import adapter_for

    assert adapter_for(board, TIMEOUT).push_manifest({"version": 2}).current_version == 2
    # One that does not do what it declares, one that does not load, and one that
    # would replace a built-in kind are all left out; the built-in stays.
    assert "acme-boast" not in registry.kinds() and "acme-missing" not in registry.kinds()
    assert registry.adapter_class("simulator").__module__ == "display_adapters.simulator"
    with pytest.raises(AdapterOptionsInvalid, match="Unknown board kind"):
        validate_options("acme-boast", {})
