"""The play's canonical form, written out for speed, is byte for byte the JSON every
stored chain was made with: chains made before and after verify alike."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from cms.services.playlog_chain import canonical, canonical_by_json

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                        timezones=st.sampled_from((UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-5)))))


@settings(max_examples=300, deadline=None)
@given(screen_id=st.integers(1, 2**31), asset_id=st.integers(1, 2**31), version=st.integers(0, 2**31),
       start=instants, length=st.integers(0, 86_400_000_000), event=st.uuids().map(str) | st.text(max_size=45),
       frame_hash=st.none() | st.text(max_size=128))
def test_canonical_is_the_sorted_compact_json_of_the_play(screen_id: int, asset_id: int, version: int, start: datetime,
                                                          length: int, event: str, frame_hash: str | None) -> None:
    row = {"screen_id": screen_id, "event_id": event, "asset_id": asset_id, "manifest_version": version,
           "started_at": start, "ended_at": start + timedelta(microseconds=length), "frame_hash": frame_hash}
    assert canonical(row) == canonical_by_json(row)
