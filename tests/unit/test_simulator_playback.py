"""What a simulated board plays at any instant, from its manifest alone, agrees with
the scheduler's own `Segment.plays` to the microsecond."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from display_adapters.playback import Programme, iso
from scheduler.model import Item, Playlist, Segment

START = datetime(2024, 6, 5, 1, 0, tzinfo=UTC)


def manifest_of(segments: list[Segment], version: int = 3) -> dict:
    playlists = {s.playlist.playlist_id: s.playlist for s in segments if s.playlist is not None}
    return {
        "version": version,
        "playlists": [{"playlist_id": p.playlist_id,
                       "items": [{"asset_id": i.asset_id, "campaign_id": i.campaign_id, "duration": i.duration}
                                 for i in p.items]} for p in playlists.values()],
        "segments": [{"start": iso(s.start), "end": iso(s.end), "kind": s.kind, "rule_id": s.rule_id,
                      "playlist_id": s.playlist_id, "first_item": s.first_item, "truncated": s.truncated}
                     for s in segments],
    }


def as_tuples(plays) -> list[tuple]:
    return [(p.start, p.end, p.asset_id, p.item_index, p.truncated) for p in plays]


def three_items() -> Playlist:
    return Playlist(7, (Item(11, 4, 10), Item(12, 4, 7.5), Item(13, 5, 2.25)))


def test_the_play_at_an_instant_is_the_one_segment_plays_lists() -> None:
    segment = Segment(START, START + timedelta(minutes=5), "fill", rule_id=3, playlist_id=7, first_item=1,
                      truncated=True, playlist=three_items())
    programme = Programme(manifest_of([segment]))
    for play in segment.plays:
        for instant in (play.start, play.start + (play.end - play.start) / 2, play.end - timedelta(microseconds=1)):
            found = programme.play_at(instant)
            assert found is not None
            assert (found.start, found.end, found.asset_id, found.item_index, found.truncated) == (
                play.start, play.end, play.asset_id, play.item_index, play.truncated)
            assert (found.rule_id, found.playlist_id, found.kind, found.campaign_id) == (3, 7, "fill", play.campaign_id)


def test_nothing_plays_before_after_between_segments_or_in_an_idle_one() -> None:
    playing = Segment(START, START + timedelta(minutes=1), "scheduled", rule_id=1, playlist_id=7, first_item=0,
                      playlist=three_items())
    idle = Segment(START + timedelta(minutes=2), START + timedelta(minutes=3), "idle")
    programme = Programme(manifest_of([playing, idle]))
    for instant in (START - timedelta(seconds=1), START + timedelta(minutes=1), START + timedelta(seconds=90),
                    START + timedelta(minutes=2, seconds=30), START + timedelta(minutes=3)):
        assert programme.play_at(instant) is None


def test_plays_between_lists_only_whole_plays_inside_the_span() -> None:
    segment = Segment(START, START + timedelta(minutes=2), "fill", rule_id=None, playlist_id=7, first_item=0,
                      truncated=True, playlist=three_items())
    programme = Programme(manifest_of([segment]))
    everything = as_tuples(segment.plays)
    assert as_tuples(programme.plays_between(START - timedelta(hours=1), START + timedelta(hours=1))) == everything
    inside = as_tuples(programme.plays_between(START + timedelta(seconds=5), START + timedelta(seconds=40)))
    assert inside == [t for t in everything if t[0] >= START + timedelta(seconds=5) and t[1] <= START + timedelta(seconds=40)]
    assert inside and inside[0][0] == START + timedelta(seconds=10)  # the play under way at 5 s is not whole


def test_a_long_segment_is_answered_without_listing_the_day() -> None:
    day = Segment(START, START + timedelta(days=2), "fill", rule_id=None, playlist_id=7, first_item=2,
                  playlist=three_items())
    programme = Programme(manifest_of([day]))
    late = START + timedelta(days=1, hours=13, seconds=0.3)
    found = programme.play_at(late)
    expected = next(p for p in day.plays if p.start <= late < p.end)
    assert found is not None and (found.start, found.end, found.item_index) == (expected.start, expected.end, expected.item_index)


durations = st.lists(st.sampled_from([0.5, 1, 2.25, 3.333333, 7.5, 10, 15]), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(first=durations, second=durations, first_item=st.integers(0, 3), cut_at=st.integers(1, 900),
       gap=st.integers(0, 30))
def test_plays_agree_with_the_scheduler_for_any_playlists(first: list[float], second: list[float], first_item: int,
                                                         cut_at: int, gap: int) -> None:
    one = Playlist(1, tuple(Item(100 + n, 1, d) for n, d in enumerate(first)))
    two = Playlist(2, tuple(Item(200 + n, None, d) for n, d in enumerate(second)))
    middle = START + timedelta(seconds=cut_at / 3)
    segments = [
        Segment(START, middle, "scheduled", rule_id=1, playlist_id=1, first_item=first_item % len(first), playlist=one),
        Segment(middle + timedelta(seconds=gap), middle + timedelta(seconds=gap + 300), "interrupt", rule_id=2,
                playlist_id=2, first_item=0, playlist=two),
    ]
    programme = Programme(manifest_of(segments))
    expected = [p for s in segments for p in s.plays]
    assert as_tuples(programme.plays_between(START, START + timedelta(hours=1))) == as_tuples(expected)
    for play in expected:
        found = programme.play_at(play.start + (play.end - play.start) / 3)
        assert found is not None and (found.start, found.asset_id) == (play.start, play.asset_id)
