"""The novastar-vnnox driver against a local FAKE of the NovaCloud Open Platform
(tests/fakes/vnnox_fake.py). NOT verified against a real VNNOX account: these tests
show the driver does what the public documentation says, as the fake reads it."""
from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Iterator

import pytest
import requests

from display_adapters.base import AdapterOptionsInvalid, BoardRef, Rejected, RetryLater
from display_adapters.options import validate_options
from display_adapters.vnnox import REGIONS, VnnoxAdapter, auth_headers, checksum
from fakes.vnnox_fake import VnnoxFake
from manifest_samples import POSTER, VIDEO, sample_manifest

APP_KEY, APP_SECRET = "fake-app-key", "fake-app-secret"


@pytest.fixture
def fake() -> Iterator[VnnoxFake]:
    cloud = VnnoxFake(APP_KEY, APP_SECRET, ["player-1", "player-asleep"]).start()
    cloud.state.players["player-asleep"] = False
    cloud.publish("/api/v1/screens/1/media/7", POSTER)
    cloud.publish("/api/v1/screens/1/media/8", VIDEO)
    yield cloud
    cloud.stop()


def driver(fake: VnnoxFake, player: str = "player-1", **options: str) -> VnnoxAdapter:
    given = {"app_key": APP_KEY, "app_secret": APP_SECRET, "player_id": player, "base_url": fake.url,
             "media_base_url": f"{fake.url}/files", **options}
    return VnnoxAdapter(BoardRef(1, "VT-01", "novastar-vnnox", 960, 320, given), timeout=2)


def test_the_checksum_is_the_documented_one() -> None:
    # The worked example of NovaCloud's "API Access Guide".
    assert checksum("87654321fedcba0987654321fedcba09", "1a2b3c4d", "1688201200") == (
        "f663157a0881e3345f20d7bcc3ee82d871ec5ac804fff2e5527c396081a8fce2")
    headers = auth_headers("ak", "as", now=1688201200, nonce="1a2b3c4d")
    assert headers == {"AppKey": "ak", "Nonce": "1a2b3c4d", "CurTime": "1688201200",
                       "CheckSum": hashlib.sha256(b"as1a2b3c4d1688201200").hexdigest()}
    assert 8 <= len(auth_headers("ak", "as")["Nonce"]) <= 64


def test_each_item_becomes_a_full_screen_page_scheduled_in_board_time(fake: VnnoxFake) -> None:
    assert driver(fake).push_manifest(sample_manifest(1)).accepted
    program = fake.state.programs["player-1"][-1]
    assert program["playerIds"] == ["player-1"]
    assert program["schedule"] == {"startDate": "2024-06-05", "endDate": "2024-06-07",
                                   "plans": [{"weekDays": [0, 1, 2, 3, 4, 5, 6], "startTime": "00:00:00",
                                              "endTime": "23:59:59"}]}
    poster, video = program["pages"]
    # 22:00-16:00 UTC is 05:00-23:00 in Vũng Tàu; 5 June 2024 is a Wednesday (VNNOX counts Sunday as 0).
    assert poster["schedules"] == [
        {"startDate": "2024-06-05", "endDate": "2024-06-05",
         "plans": [{"weekDays": [3], "startTime": "05:00:00", "endTime": "23:00:00"}]},
        {"startDate": "2024-06-06", "endDate": "2024-06-06",
         "plans": [{"weekDays": [4], "startTime": "05:00:00", "endTime": "23:00:00"}]}]
    assert [w["type"] for w in poster["widgets"] + video["widgets"]] == ["PICTURE", "VIDEO"]
    widget = poster["widgets"][0]
    assert widget["url"] == f"{fake.url}/files/api/v1/screens/1/media/7" and widget["duration"] == 10_000
    assert (widget["md5"], widget["size"]) == (hashlib.md5(POSTER).hexdigest(), len(POSTER))
    assert widget["layout"] == {"x": "0%", "y": "0%", "width": "100%", "height": "100%"}
    assert video["widgets"][0]["duration"] == 15_000


def test_a_segment_over_local_midnight_is_split_by_day(fake: VnnoxFake) -> None:
    manifest = sample_manifest(1)
    manifest["segments"] = [{**manifest["segments"][0], "start": "2024-06-05T15:00:00Z", "end": "2024-06-05T19:00:00Z"}]
    program = driver(fake).program(manifest)
    assert [(s["startDate"], s["plans"][0]["startTime"], s["plans"][0]["endTime"])
            for s in program["pages"][0]["schedules"]] == [("2024-06-05", "22:00:00", "23:59:59"),
                                                           ("2024-06-06", "00:00:00", "02:00:00")]


def test_media_not_ready_for_the_board_is_left_out(fake: VnnoxFake) -> None:
    manifest = sample_manifest(1)
    manifest["media"][1]["ready"] = False
    assert [p["widgets"][0]["type"] for p in driver(fake).program(manifest)["pages"]] == ["PICTURE"]
    manifest["media"][0]["ready"] = False
    with pytest.raises(Rejected, match="nothing the player could show"):
        driver(fake).program(manifest)


def test_media_urls_from_a_template(fake: VnnoxFake) -> None:
    manifest = sample_manifest(1)
    sha = manifest["media"][0]["sha256"]
    fake.publish(f"/cdn/{sha}", POSTER)
    fake.publish(f"/cdn/{manifest['media'][1]['sha256']}", VIDEO)
    adapter = driver(fake, media_base_url=f"{fake.url}/files/cdn/{{sha256}}")
    assert adapter.push_manifest(manifest).accepted
    assert fake.state.programs["player-1"][-1]["pages"][0]["widgets"][0]["url"] == f"{fake.url}/files/cdn/{sha}"


def test_without_a_public_media_address_nothing_is_sent(fake: VnnoxFake) -> None:
    options = {"app_key": APP_KEY, "app_secret": APP_SECRET, "player_id": "player-1", "base_url": fake.url}
    adapter = VnnoxAdapter(BoardRef(1, "VT-01", "novastar-vnnox", 960, 320, options), timeout=2)
    with pytest.raises(Rejected, match="media_base_url"):
        adapter.push_manifest(sample_manifest(1))
    assert fake.state.programs == {}


def test_a_media_file_the_player_could_not_fetch_is_retried(fake: VnnoxFake) -> None:
    manifest = copy.deepcopy(sample_manifest(1))
    for entry in manifest["media"]:
        entry["sha256"], entry["path"] = "0" * 64, "/nowhere"
    with pytest.raises(RetryLater, match="404"):
        driver(fake).push_manifest(manifest)


def test_an_offline_player_or_a_busy_cloud_is_retried(fake: VnnoxFake) -> None:
    with pytest.raises(RetryLater, match="offline or unbound"):
        driver(fake, "player-asleep").push_manifest(sample_manifest(1))
    with pytest.raises(RetryLater, match="offline or unbound"):
        driver(fake, "player-unknown").push_manifest(sample_manifest(1))
    fake.state.unavailable = True
    with pytest.raises(RetryLater, match="503"):
        driver(fake).push_manifest(sample_manifest(1))


def test_status_is_the_cloud_online_flag(fake: VnnoxFake) -> None:
    assert driver(fake).fetch_status().online
    assert not driver(fake, "player-asleep").fetch_status().online
    unknown = driver(fake, "player-unknown").fetch_status()
    assert not unknown.online and "does not know" in unknown.detail


def test_the_fake_is_strict_about_credentials(fake: VnnoxFake) -> None:
    url, body = f"{fake.url}/v2/player/current/online-status", {"playerIds": ["player-1"]}
    stale = auth_headers(APP_KEY, APP_SECRET, now=time.time() - 301)
    assert requests.post(url, json=body, headers=stale, timeout=2).status_code == 401
    fresh = auth_headers(APP_KEY, APP_SECRET)
    assert requests.post(url, json=body, headers=fresh, timeout=2).status_code == 200
    assert requests.post(url, json=body, headers=fresh, timeout=2).status_code == 401  # nonce used twice
    assert requests.post(url, json=body, headers={**auth_headers(APP_KEY, APP_SECRET), "CheckSum": "0" * 64},
                         timeout=2).status_code == 401
    assert fake.state.refused[0].startswith("CurTime") and fake.state.refused[1:] == [
        "nonce already used", "CheckSum does not match"]


def test_region_and_addresses_are_checked() -> None:
    base = {"app_key": "k", "app_secret": "s", "player_id": "p"}
    assert validate_options("novastar-vnnox", {**base, "region": "in"})["region"] == "in"
    with pytest.raises(AdapterOptionsInvalid, match="must be one of"):
        validate_options("novastar-vnnox", {**base, "region": "mars"})
    with pytest.raises(AdapterOptionsInvalid, match="http"):
        validate_options("novastar-vnnox", {**base, "media_base_url": "ftp://x"})
    assert VnnoxAdapter(BoardRef(1, "A", "novastar-vnnox", 64, 32, base), 1).base_url == REGIONS["us"]
