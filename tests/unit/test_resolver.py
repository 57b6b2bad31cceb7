"""The schedule resolver: invariants over generated schedules, then the cases operators meet.

The property tests check the resolver against a small oracle written here from the
rules in `scheduler.resolver`'s docstring (local wall times to instants with
fold=0, a window crossing midnight belongs to the day it starts), with boards in
Asia/Ho_Chi_Minh and in Europe/Berlin around both of its 2024 DST changes.
"""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scheduler.model import (
    Board,
    DailyWindow,
    Item,
    Playlist,
    Rule,
    Segment,
    Timeline,
)
from scheduler.resolver import resolve

HCM = "Asia/Ho_Chi_Minh"
BERLIN = "Europe/Berlin"
HOUR = timedelta(hours=1)

# -- building blocks ----------------------------------------------------------------


def at(tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz))


def hcm(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """An instant in June 2024, Vietnamese time (3 June 2024 is a Monday)."""
    return datetime(2024, 6, day, hour, minute, second, tzinfo=ZoneInfo(HCM))


def window(start: str, end: str) -> DailyWindow:
    return DailyWindow(time.fromisoformat(start), time.fromisoformat(end))


def playlist(playlist_id: int, *durations: float, campaign: int | None = None) -> Playlist:
    return Playlist(
        playlist_id,
        tuple(Item(playlist_id * 100 + n, campaign, d) for n, d in enumerate(durations)),
    )


def rule(rule_id: int, plays: Playlist, **overrides) -> Rule:
    fields = dict(
        rule_id=rule_id, playlist=plays, date_from=date(2024, 1, 1),
        date_to=date(2024, 12, 31), board_ids=(1,),
    )
    fields.update(overrides)
    return Rule(**fields)


FALLBACK = playlist(900, 10)


def one_board(
    rules: list[Rule], start: datetime, end: datetime, **board_fields
) -> Timeline:
    board_fields.setdefault("board_id", 1)
    board_fields.setdefault("time_zone", HCM)
    return resolve([Board(**board_fields)], rules, start, end)[board_fields["board_id"]]


def segments_of(timeline: Timeline, rule_id: int) -> list[Segment]:
    return [s for s in timeline.segments if s.rule_id == rule_id]


def local_hm(moment: datetime, tz: str = HCM) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%d %H:%M:%S")


def airtime(timeline: Timeline, rule_id: int, start: datetime, end: datetime) -> float:
    return sum(
        (min(s.end, end) - max(s.start, start)).total_seconds()
        for s in segments_of(timeline, rule_id) if s.end > start and s.start < end
    )


# -- the oracle ---------------------------------------------------------------------

Span = tuple[datetime, datetime]


def merged(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for begin, end in sorted(spans):
        if out and begin <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((begin, end))
    return out


def intersect(first: list[Span], second: list[Span]) -> list[Span]:
    return merged([
        (max(a, c), min(b, d)) for a, b in first for c, d in second if max(a, c) < min(b, d)
    ])


def daily_spans(tz: str, daily: DailyWindow | None, days: list[date]) -> list[Span]:
    zone = ZoneInfo(tz)
    spans = []
    for day in days:
        if daily is None:
            begin = datetime.combine(day, time(0), tzinfo=zone)
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        else:
            begin = datetime.combine(day, daily.start, tzinfo=zone)
            end_day = day + timedelta(days=1) if daily.end <= daily.start else day
            end = datetime.combine(end_day, daily.end, tzinfo=zone)
        begin, end = begin.astimezone(UTC), end.astimezone(UTC)
        if begin < end:
            spans.append((begin, end))
    return spans


def local_days(tz: str, start: datetime, end: datetime) -> list[date]:
    first = start.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)
    last = end.astimezone(ZoneInfo(tz)).date() + timedelta(days=1)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def lit_spans(board: Board, start: datetime, end: datetime) -> list[Span]:
    days = local_days(board.time_zone, start, end)
    return intersect(merged(daily_spans(board.time_zone, board.operating_hours, days)),
                     [(start, end)])


def rule_spans(one: Rule, board: Board, start: datetime, end: datetime) -> list[Span]:
    days = [
        d for d in local_days(board.time_zone, start, end)
        if one.date_from <= d <= one.date_to and d.weekday() in one.weekdays
    ]
    spans: list[Span] = []
    for daily in one.windows or (None,):
        spans.extend(daily_spans(board.time_zone, daily, days))
    return intersect(merged(spans), lit_spans(board, start, end))


def inside(spans: list[Span], begin: datetime, end: datetime) -> bool:
    return any(a <= begin and end <= b for a, b in spans)


def overlaps(spans: list[Span], begin: datetime, end: datetime) -> bool:
    return any(a < end and begin < b for a, b in spans)


def targeted(one: Rule, board: Board) -> bool:
    return board.board_id in one.board_ids or board.group in one.groups


# -- generated schedules ------------------------------------------------------------

WINDOW_STARTS = [  # a week in Vietnam, and Berlin's spring-forward and fall-back nights
    datetime(2024, 6, 3, 0, 0, tzinfo=UTC),
    datetime(2024, 3, 30, 18, 0, tzinfo=UTC),
    datetime(2024, 10, 26, 17, 30, tzinfo=UTC),
]
times_of_day = st.builds(
    time, st.integers(0, 23), st.sampled_from([0, 0, 15, 30, 45, 59]), st.sampled_from([0, 0, 30])
)
durations = st.sampled_from([5, 8, 10, 10, 15, 20, 30, 45, 60, 12.5, 90])


@st.composite
def daily_window(draw) -> DailyWindow:
    start = draw(times_of_day)
    end = draw(times_of_day.filter(lambda t: t != start))
    return DailyWindow(start, end)


@st.composite
def playlists(draw, playlist_id: int, max_items: int = 4) -> Playlist:
    items = draw(st.lists(durations, min_size=1, max_size=max_items))
    return playlist(playlist_id, *items, campaign=playlist_id % 7)


@st.composite
def schedules(draw, interrupts: bool = True) -> tuple[list[Board], list[Rule], datetime, datetime]:
    start = draw(st.sampled_from(WINDOW_STARTS)) + timedelta(minutes=draw(st.integers(0, 600)))
    end = start + timedelta(minutes=draw(st.integers(30, 30 * 60)))
    groups = ["district-1", "district-2"]
    boards = []
    for board_id in range(1, draw(st.integers(1, 3)) + 1):
        boards.append(Board(
            board_id=board_id,
            time_zone=draw(st.sampled_from([HCM, BERLIN])),
            operating_hours=draw(st.none() | daily_window()),
            group=draw(st.sampled_from([*groups, None])),
            fallback=draw(st.none() | playlists(800 + board_id, 2)),
        ))
    first_day = (start - timedelta(days=1)).date()
    rules = []
    for rule_id in range(1, draw(st.integers(0, 6)) + 1):
        mode = draw(st.sampled_from(
            ["plays_per_hour", "share_of_voice", "fill", "interrupt"] if interrupts
            else ["plays_per_hour", "share_of_voice", "fill"]
        ))
        date_from = first_day + timedelta(days=draw(st.integers(0, 2)))
        board_ids = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        rule_groups = tuple(draw(st.lists(st.sampled_from(groups), max_size=1)))
        if not board_ids and not rule_groups:
            board_ids = (1,)
        rules.append(Rule(
            rule_id=rule_id,
            playlist=draw(playlists(rule_id)),
            date_from=date_from,
            date_to=date_from + timedelta(days=draw(st.integers(0, 2))),
            board_ids=board_ids,
            groups=rule_groups,
            weekdays=tuple(draw(st.sets(st.integers(0, 6), min_size=1))),
            windows=tuple(draw(st.lists(daily_window(), max_size=2))),
            priority=draw(st.integers(0, 3)),
            plays_per_hour=draw(st.integers(1, 8)) if mode == "plays_per_hour" else None,
            share_of_voice=(
                draw(st.sampled_from([0.05, 0.1, 0.25, 0.5, 0.9, 1.0]))
                if mode == "share_of_voice" else None
            ),
            interrupt=mode == "interrupt",
        ))
    return boards, rules, start, end


PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def resolved(schedule) -> tuple[list[Board], list[Rule], dict[int, Timeline]]:
    boards, rules, start, end = schedule
    return boards, rules, resolve(boards, rules, start, end)


# -- properties -----------------------------------------------------------------------


@PROPERTY
@given(schedules())
def test_segments_are_sorted_and_never_overlap(schedule):
    boards, _, timelines = resolved(schedule)
    assert sorted(timelines) == sorted(b.board_id for b in boards)
    for timeline in timelines.values():
        for segment in timeline.segments:
            assert segment.start < segment.end
            assert segment.start.utcoffset() == timedelta(0)
        for before, after in zip(timeline.segments, timeline.segments[1:]):
            assert before.end <= after.start


@PROPERTY
@given(schedules())
def test_plays_follow_the_playlist_inside_their_segment_without_overlap(schedule):
    _, _, timelines = resolved(schedule)
    for timeline in timelines.values():
        previous_end = None
        for segment in timeline.segments:
            plays = segment.plays
            if segment.kind == "idle":
                assert plays == () and segment.rule_id is None
                continue
            items = segment.playlist.items
            assert plays[0].start == segment.start and plays[-1].end == segment.end
            for before, after in zip(plays, plays[1:]):
                assert before.end == after.start
                assert after.item_index == (before.item_index + 1) % len(items)
                assert not before.truncated
            for play in plays:
                assert segment.start <= play.start < play.end <= segment.end
                item = items[play.item_index]
                natural = timedelta(seconds=item.duration)
                assert (play.asset_id, play.campaign_id) == (item.asset_id, item.campaign_id)
                assert (play.rule_id, play.playlist_id) == (segment.rule_id, segment.playlist_id)
                if play.truncated:
                    assert play.end - play.start < natural
                else:
                    assert abs((play.end - play.start) - natural) <= timedelta(microseconds=1)
            assert plays[-1].truncated == segment.truncated
            if previous_end is not None:
                assert previous_end <= plays[0].start
            previous_end = plays[-1].end


@PROPERTY
@given(schedules())
def test_operating_hours_are_covered_without_gap_and_nothing_shows_outside_them(schedule):
    boards, _, timelines = resolved(schedule)
    start, end = schedule[2], schedule[3]
    for board in boards:
        lit = lit_spans(board, start, end)
        covered = merged([(s.start, s.end) for s in timelines[board.board_id].segments])
        assert covered == lit


@PROPERTY
@given(schedules())
def test_a_rule_plays_only_on_its_dates_weekdays_and_windows(schedule):
    boards, rules, timelines = resolved(schedule)
    start, end = schedule[2], schedule[3]
    by_id = {r.rule_id: r for r in rules}
    for board in boards:
        for segment in timelines[board.board_id].segments:
            if segment.rule_id is None:
                assert segment.kind in ("fallback", "idle")
                assert (segment.kind == "fallback") == (board.fallback is not None)
                continue
            one = by_id[segment.rule_id]
            assert targeted(one, board)
            assert inside(rule_spans(one, board, start, end), segment.start, segment.end)


@PROPERTY
@given(schedules())
def test_interrupts_win_whenever_they_are_active(schedule):
    boards, rules, timelines = resolved(schedule)
    start, end = schedule[2], schedule[3]
    for board in boards:
        alarms = [r for r in rules if r.interrupt and targeted(r, board)]
        spans = {r.rule_id: rule_spans(r, board, start, end) for r in alarms}
        everywhere = merged([s for r in alarms for s in spans[r.rule_id]])
        timeline = timelines[board.board_id]
        interrupted = merged([(s.start, s.end) for s in timeline.segments
                              if s.kind == "interrupt"])
        assert interrupted == everywhere
        for segment in timeline.segments:
            if segment.kind != "interrupt":
                continue
            winner = next(r for r in alarms if r.rule_id == segment.rule_id)
            assert inside(spans[winner.rule_id], segment.start, segment.end)
            for other in alarms:
                if (other.priority, -other.rule_id) > (winner.priority, -winner.rule_id):
                    assert not overlaps(spans[other.rule_id], segment.start, segment.end)


@st.composite
def plays_per_hour_schedules(draw):
    """One board whose best-ranked rule asks for n passes an hour that fit with room to spare."""
    boards, rules, start, end = draw(schedules(interrupts=False))
    board = boards[0]
    n = draw(st.integers(1, 6))
    top = Rule(
        rule_id=99, playlist=draw(playlists(99, 3)), date_from=date(2024, 1, 1),
        date_to=date(2024, 12, 31), board_ids=(board.board_id,),
        windows=tuple(draw(st.lists(daily_window(), max_size=1))), priority=10,
        plays_per_hour=n,
    )
    return board, [*rules, top], start, end


def longest_hold(board: Board, rules: list[Rule], top: Rule) -> float:
    """How long something lower can keep the screen once started: an item, or a whole pass."""
    holds = [item.duration for item in board.fallback.items] if board.fallback else []
    for one in rules:
        if one is not top and targeted(one, board):
            if one.plays_per_hour is not None:
                holds.append(one.playlist.pass_seconds)
            else:
                holds.extend(item.duration for item in one.playlist.items)
    return max(holds, default=0)


@PROPERTY
@given(plays_per_hour_schedules())
def test_plays_per_hour_hold_within_one_in_every_fully_active_hour(case):
    """For the best-ranked rule, if n·(pass + longest lower hold) fits in an hour, every
    clock hour wholly inside its window, the operating hours and the resolved window,
    with no interrupt, starts n ± 1 passes (a pass can slip across an hour's edge)."""
    board, rules, start, end = case
    top = rules[-1]
    n = top.plays_per_hour
    assume(n * (top.playlist.pass_seconds + longest_hold(board, rules, top)) <= 3600)
    timeline = resolve([board], rules, start, end)[board.board_id]
    spans = rule_spans(top, board, start, end)
    passes = [s.start for s in segments_of(timeline, top.rule_id)]
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    checked = 0
    while hour < end:
        if inside(spans, hour, hour + HOUR):
            count = sum(hour <= p < hour + HOUR for p in passes)
            assert n - 1 <= count <= n + 1, (hour, count, n)
            checked += 1
        hour += HOUR
    if checked == 0:
        assume(False)


@st.composite
def lone_quota_schedules(draw):
    """One board, one quota rule with room to spare, perhaps a fill rule, no interrupts."""
    boards, _, start, end = draw(schedules(interrupts=False))
    board = boards[0]
    plays = draw(playlists(1, 3))
    if draw(st.booleans()):
        quota = dict(plays_per_hour=draw(st.integers(1, 6)))
    else:
        quota = dict(share_of_voice=draw(st.sampled_from([0.05, 0.25, 0.5, 1.0])))
    rules = [Rule(rule_id=1, playlist=plays, date_from=date(2024, 1, 1),
                  date_to=date(2024, 12, 31), board_ids=(board.board_id,),
                  windows=tuple(draw(st.lists(daily_window(), max_size=2))),
                  priority=draw(st.integers(0, 3)), **quota)]
    if draw(st.booleans()):
        rules.append(Rule(rule_id=2, playlist=draw(playlists(2, 3)), date_from=date(2024, 1, 1),
                          date_to=date(2024, 12, 31), board_ids=(board.board_id,),
                          windows=tuple(draw(st.lists(daily_window(), max_size=1))),
                          priority=draw(st.integers(0, 3))))
    return board, rules, start, end


@PROPERTY
@given(lone_quota_schedules())
def test_a_rule_without_competition_is_never_listed_as_starved(case):
    board, rules, start, end = case
    quota = rules[0]
    if quota.plays_per_hour is not None:
        hold = longest_hold(board, rules, quota)
        assume(2 * quota.plays_per_hour * (quota.playlist.pass_seconds + hold) <= 3600)
    timeline = resolve([board], rules, start, end)[board.board_id]
    assert timeline.starved == ()


@PROPERTY
@given(schedules(), st.randoms(use_true_random=False))
def test_same_input_in_any_order_resolves_to_the_same_timelines(schedule, rnd):
    boards, rules, start, end = schedule
    first = resolve(boards, rules, start, end)
    assert resolve(boards, rules, start, end) == first
    shuffled_boards, shuffled_rules = boards[:], rules[:]
    rnd.shuffle(shuffled_boards)
    rnd.shuffle(shuffled_rules)
    again = resolve(shuffled_boards, shuffled_rules, start.astimezone(ZoneInfo(BERLIN)), end)
    assert again == first
    assert list(again) == list(first)
    for board_id, timeline in first.items():
        assert again[board_id].plays == timeline.plays


# -- the cases operators meet -----------------------------------------------------------


def test_window_crossing_midnight_runs_into_the_next_morning_and_belongs_to_its_start_day():
    # Friday 7 June is the campaign's last day and the only weekday chosen.
    night = rule(1, playlist(1, 30), windows=(window("22:00", "02:00"),), weekdays=(4,),
                 date_to=date(2024, 6, 7))
    timeline = one_board([night], hcm(6, 20), hcm(9, 4), fallback=FALLBACK)
    spans = merged([(s.start, s.end) for s in segments_of(timeline, 1)])
    assert spans == [(hcm(7, 22).astimezone(UTC), hcm(8, 2).astimezone(UTC))]
    assert all(s.kind == "fill" for s in segments_of(timeline, 1))
    # Thursday night (not chosen) and Saturday night (after the range) show the fallback.
    assert {s.kind for s in timeline.segments if s.end <= hcm(7, 22)} == {"fallback"}
    assert {s.kind for s in timeline.segments if s.start >= hcm(8, 2)} == {"fallback"}


def test_interrupt_in_the_middle_of_plays_per_hour_pauses_the_rule_and_it_resumes_after():
    campaign = rule(1, playlist(1, 10, 20), plays_per_hour=4, windows=(window("08:00", "12:00"),))
    storm = rule(2, playlist(2, 45, 20), interrupt=True, priority=0,
                 windows=(window("10:20", "10:40"),))
    timeline = one_board([campaign, storm], hcm(3, 9), hcm(3, 12), fallback=FALLBACK)

    passes = [local_hm(s.start) for s in segments_of(timeline, 1)]
    assert passes[:6] == ["03 09:00:00", "03 09:15:00", "03 09:30:00", "03 09:45:00",
                          "03 10:00:00", "03 10:15:00"]
    # The 10:30 slot falls inside the storm warning; it is played as soon as it ends.
    assert passes[6:] == ["03 10:40:00", "03 10:45:00", "03 11:00:00", "03 11:15:00",
                          "03 11:30:00", "03 11:45:00"]
    during = [s for s in timeline.segments if s.start < hcm(3, 10, 40) and s.end > hcm(3, 10, 20)]
    assert [(s.kind, s.rule_id) for s in during] == [("interrupt", 2)]
    assert (during[0].start, during[0].end) == (hcm(3, 10, 20), hcm(3, 10, 40))
    assert {p.playlist_id for p in during[0].plays} == {2}
    assert during[0].plays[-1].truncated  # 20 min is not a whole number of 65 s passes
    # The fallback item on screen at 10:20 is cut by the warning; nothing else is.
    before = next(s for s in timeline.segments if s.end == hcm(3, 10, 20))
    assert before.kind == "fallback"
    assert not any(p.truncated for s in timeline.segments for p in s.plays
                   if s.kind != "interrupt" and s is not before)
    assert timeline.starved == ()


def test_campaign_ending_mid_window_leaves_only_fill_and_fallback_the_next_day():
    campaign = rule(1, playlist(1, 30), plays_per_hour=2, date_to=date(2024, 6, 3),
                    windows=(window("06:00", "20:00"),), priority=5)
    standing = rule(2, playlist(2, 20, 20), windows=(window("08:00", "18:00"),))
    timeline = one_board([campaign, standing], hcm(3, 12), hcm(4, 18),
                         operating_hours=window("05:30", "22:00"), fallback=FALLBACK)
    last = segments_of(timeline, 1)[-1]
    assert local_hm(last.start) == "03 19:30:00"
    next_day = [s for s in timeline.segments if s.start >= hcm(4, 0)]
    assert [(s.kind, s.rule_id, local_hm(s.start), local_hm(s.end)) for s in next_day] == [
        ("fallback", None, "04 05:30:00", "04 08:00:00"),
        ("fill", 2, "04 08:00:00", "04 18:00:00"),
    ]


def test_campaign_ending_mid_day_stops_at_the_boards_midnight_though_the_board_stays_lit():
    # All day, ending Wednesday 5 June, on a board lit 18:00-02:00: the night of the
    # 5th is cut at local midnight (17:00 UTC), not at UTC's, nor at 02:00 as a window
    # crossing midnight would be.
    campaign = rule(1, playlist(1, 7), date_to=date(2024, 6, 5))
    timeline = one_board([campaign], hcm(4, 12), hcm(6, 12), fallback=FALLBACK,
                         operating_hours=window("18:00", "02:00"))
    assert [(s.kind, s.rule_id, local_hm(s.start), local_hm(s.end)) for s in timeline.segments] == [
        ("fill", 1, "04 18:00:00", "05 02:00:00"),
        ("fill", 1, "05 18:00:00", "06 00:00:00"),
        ("fallback", None, "06 00:00:00", "06 02:00:00"),
    ]
    # 6 h is not a whole number of 7 s plays: the one on screen at midnight is cut there.
    last = segments_of(timeline, 1)[-1].plays[-1]
    assert last.end == hcm(6, 0) and last.truncated
    assert last.end - last.start == timedelta(seconds=21600 % 7)
    assert timeline.starved == ()


def test_rule_window_longer_than_operating_hours_plays_only_while_the_board_is_lit():
    early = rule(1, playlist(1, 30, 30), plays_per_hour=4, windows=(window("04:00", "23:00"),))
    timeline = one_board([early], hcm(3, 0), hcm(4, 0), operating_hours=window("05:30", "22:00"))
    passes = segments_of(timeline, 1)
    assert local_hm(passes[0].start) == "03 05:30:00"
    assert local_hm(passes[1].start) == "03 05:45:00"  # the half hour gets n·½ = 2 slots
    assert local_hm(passes[-1].start) == "03 21:45:00"
    assert len(passes) == 2 + 16 * 4
    assert timeline.segments[0].start == hcm(3, 5, 30)
    assert timeline.segments[-1].end == hcm(3, 22)
    assert {s.kind for s in timeline.segments} == {"scheduled", "idle"}


def test_share_of_voice_rules_split_each_hour_by_priority():
    major = rule(1, playlist(1, 20, 10), share_of_voice=0.5, priority=5)
    minor = rule(2, playlist(2, 15), share_of_voice=0.25, priority=3)
    timeline = one_board([major, minor], hcm(3, 8), hcm(3, 12), fallback=FALLBACK)
    for hour in range(8, 12):
        begin, end = hcm(3, hour), hcm(3, hour + 1)
        assert airtime(timeline, 1, begin, end) == pytest.approx(1800, abs=30)
        assert airtime(timeline, 2, begin, end) == pytest.approx(900, abs=30)
    assert timeline.starved == ()

    # Asking for 80 % above 50 % leaves the lower rule short, and that is reported.
    greedy = rule(1, playlist(1, 20, 10), share_of_voice=0.8, priority=5)
    squeezed = rule(2, playlist(2, 15), share_of_voice=0.5, priority=3)
    timeline = one_board([greedy, squeezed], hcm(3, 8), hcm(3, 12), fallback=FALLBACK)
    assert airtime(timeline, 1, hcm(3, 8), hcm(3, 12)) == pytest.approx(4 * 2880, abs=60)
    assert airtime(timeline, 2, hcm(3, 8), hcm(3, 12)) == pytest.approx(4 * 720, abs=120)
    [conflict] = timeline.starved
    assert conflict.rule_id == 2
    assert conflict.asked_seconds == pytest.approx(4 * 1800)
    assert conflict.got_seconds == pytest.approx(4 * 720, abs=120)


def test_starved_low_priority_rules_are_listed_as_conflicts():
    takeover = rule(1, playlist(1, 30), share_of_voice=1.0, priority=9,
                    windows=(window("08:00", "10:00"),))
    quota = rule(2, playlist(2, 20, 10), plays_per_hour=3, priority=1)
    district_fill = rule(3, playlist(3, 15), priority=2, windows=(window("10:00", "11:00"),))
    standing_fill = rule(4, playlist(4, 15), priority=0)
    timeline = one_board([takeover, quota, district_fill, standing_fill], hcm(3, 8), hcm(3, 12))

    assert airtime(timeline, 1, hcm(3, 8), hcm(3, 10)) == 7200
    assert segments_of(timeline, 2)[0].start == hcm(3, 10)
    by_rule = {s.rule_id: s for s in timeline.starved}
    assert set(by_rule) == {2, 4}
    # The plays-per-hour rule asked for 12 passes and got the 6 after the takeover.
    assert (by_rule[2].asked_plays, by_rule[2].got_plays) == (12, 6)
    assert (by_rule[2].asked_seconds, by_rule[2].got_seconds) == (12 * 30, 6 * 30)
    # The standing fill lost to the better-ranked district fill from 10:00 to 11:00.
    district = airtime(timeline, 3, hcm(3, 8), hcm(3, 12))
    assert district == pytest.approx(3600 - 3 * 30, abs=30)
    assert by_rule[4].got_seconds == airtime(timeline, 4, hcm(3, 8), hcm(3, 12))
    assert by_rule[4].asked_seconds - by_rule[4].got_seconds == pytest.approx(district)


def test_fill_rule_gives_way_to_a_lower_priority_quota_rule():
    loud_fill = rule(1, playlist(1, 10), priority=9)
    quota = rule(2, playlist(2, 30), plays_per_hour=2, priority=0)
    timeline = one_board([loud_fill, quota], hcm(3, 8), hcm(3, 10))
    assert [local_hm(s.start) for s in segments_of(timeline, 2)] == [
        "03 08:00:00", "03 08:30:00", "03 09:00:00", "03 09:30:00"
    ]
    assert timeline.starved == ()


def test_share_of_voice_turn_gives_way_between_items_to_a_better_ranked_slot():
    share = rule(1, playlist(1, 20), share_of_voice=0.9, priority=1)
    quota = rule(2, playlist(2, 30), plays_per_hour=1, priority=5,
                 windows=(window("08:12:10", "09:00"),))
    timeline = one_board([share, quota], hcm(3, 8), hcm(3, 9), fallback=FALLBACK)
    # The share's 08:10 turn owes 270 s; the quota slot at 08:12:10 waits only for
    # the 20 s item on screen, and the turn picks up again after the pass.
    [quota_pass] = segments_of(timeline, 2)
    assert (quota_pass.start, quota_pass.end) == (hcm(3, 8, 12, 20), hcm(3, 8, 12, 50))
    before = next(s for s in timeline.segments if s.end == quota_pass.start)
    after = next(s for s in timeline.segments if s.start == quota_pass.end)
    assert (before.rule_id, before.start) == (1, hcm(3, 8, 10))
    assert after.rule_id == 1
    assert airtime(timeline, 1, hcm(3, 8), hcm(3, 9)) == pytest.approx(0.9 * 3600, abs=30)
    assert timeline.starved == ()


def test_several_interrupts_go_to_the_highest_priority_then_the_lowest_rule_id():
    def alarm(rule_id: int, priority: int, start: str, end: str) -> Rule:
        return rule(rule_id, playlist(rule_id, 30), interrupt=True, priority=priority,
                    windows=(window(start, end),))

    flood = alarm(5, 1, "09:00", "11:00")
    storm = alarm(7, 3, "09:30", "10:00")
    twin = alarm(6, 3, "09:45", "10:30")
    timeline = one_board([flood, storm, twin], hcm(3, 8), hcm(3, 12))
    assert [(s.rule_id, local_hm(s.start), local_hm(s.end)) for s in timeline.segments] == [
        (None, "03 08:00:00", "03 09:00:00"),
        (5, "03 09:00:00", "03 09:30:00"),
        (7, "03 09:30:00", "03 09:45:00"),
        (6, "03 09:45:00", "03 10:30:00"),
        (5, "03 10:30:00", "03 11:00:00"),
        (None, "03 11:00:00", "03 12:00:00"),
    ]
    by_rule = {s.rule_id: s for s in timeline.starved}
    assert set(by_rule) == {5, 7}
    assert (by_rule[5].asked_seconds, by_rule[5].got_seconds) == (7200, 3600)
    assert (by_rule[7].asked_seconds, by_rule[7].got_seconds) == (1800, 900)


def test_after_a_long_interrupt_only_the_latest_missed_slot_is_made_up():
    campaign = rule(1, playlist(1, 30), plays_per_hour=4)
    storm = rule(2, playlist(2, 60), interrupt=True, windows=(window("10:05", "10:50"),))
    timeline = one_board([campaign, storm], hcm(3, 10), hcm(3, 11), fallback=FALLBACK)
    assert [local_hm(s.start) for s in segments_of(timeline, 1)] == [
        "03 10:00:00", "03 10:50:00"
    ]
    assert timeline.starved == ()  # slots due inside an interrupt are not owed


def test_partial_hours_get_plays_per_hour_pro_rated_from_the_start_of_the_window():
    rules = [
        rule(1, playlist(1, 10), plays_per_hour=1, windows=(window("10:05", "11:00"),)),
        rule(2, playlist(2, 10), plays_per_hour=1, windows=(window("12:50", "13:00"),)),
        rule(3, playlist(3, 10), plays_per_hour=6, windows=(window("14:00", "14:30"),)),
    ]
    timeline = one_board(rules, hcm(3, 0), hcm(4, 0))
    assert [local_hm(s.start) for s in segments_of(timeline, 1)] == ["03 10:05:00"]
    assert segments_of(timeline, 2) == []
    assert [local_hm(s.start) for s in segments_of(timeline, 3)] == [
        "03 14:00:00", "03 14:10:00", "03 14:20:00"
    ]


def test_berlin_rule_windows_follow_the_wall_clock_through_both_dst_changes():
    night = rule(1, playlist(1, 60), windows=(window("02:00", "03:00"),))
    autumn = one_board([night], at(BERLIN, 2024, 10, 27), at(BERLIN, 2024, 10, 27, 6),
                       time_zone=BERLIN)
    # 02:00-03:00 happens twice on 27 October: the window runs from the first 02:00.
    assert [(s.start, s.end) for s in segments_of(autumn, 1)] == [
        (datetime(2024, 10, 27, 0, tzinfo=UTC), datetime(2024, 10, 27, 2, tzinfo=UTC))
    ]
    spring = one_board([night], at(BERLIN, 2024, 3, 31), at(BERLIN, 2024, 3, 31, 6),
                       time_zone=BERLIN)
    assert segments_of(spring, 1) == []  # 02:00-03:00 does not exist on 31 March
    assert {s.kind for s in spring.segments} == {"idle"}


def test_board_lit_across_midnight_shows_each_night_as_one_stretch():
    evening = rule(1, playlist(1, 20), windows=(window("18:00", "23:00"),))
    timeline = one_board([evening], hcm(3, 12), hcm(5, 12), fallback=FALLBACK,
                         operating_hours=window("17:00", "02:00"))
    lit = merged([(s.start, s.end) for s in timeline.segments])
    assert lit == [
        (hcm(3, 17).astimezone(UTC), hcm(4, 2).astimezone(UTC)),
        (hcm(4, 17).astimezone(UTC), hcm(5, 2).astimezone(UTC)),
    ]
    assert [(local_hm(s.start), local_hm(s.end)) for s in segments_of(timeline, 1)] == [
        ("03 18:00:00", "03 23:00:00"), ("04 18:00:00", "04 23:00:00")
    ]


def test_nothing_scheduled_and_no_fallback_shows_idle_for_the_lit_hours():
    timeline = one_board([], hcm(3, 0), hcm(4, 0), operating_hours=window("05:30", "22:00"))
    assert [(s.kind, s.start, s.end) for s in timeline.segments] == [
        ("idle", hcm(3, 5, 30), hcm(3, 22))
    ]
    assert timeline.plays == ()


def test_play_crossing_the_end_of_operating_hours_is_cut_and_marked():
    long_clip = rule(1, playlist(1, 45), windows=(window("21:00", "23:00"),))
    timeline = one_board([long_clip], hcm(3, 21), hcm(4, 0),
                         operating_hours=window("05:30", "21:59:50"))
    last = timeline.plays[-1]
    assert last.end == hcm(3, 21, 59, 50)
    # 21:00 to 21:59:50 holds 79 whole 45 s plays; the 80th gets 35 s.
    assert last.truncated and last.end - last.start == timedelta(seconds=35)
    assert not any(p.truncated for p in timeline.plays[:-1])


def test_a_pass_stopped_between_two_items_cuts_nothing():
    quota = rule(1, playlist(1, 30, 30, 30), plays_per_hour=1)
    timeline = one_board([quota], hcm(3, 8), hcm(3, 8, 1))
    [one_pass] = timeline.segments
    assert not one_pass.truncated
    assert [(p.item_index, p.truncated) for p in one_pass.plays] == [(0, False), (1, False)]


def test_lower_items_finish_before_a_plays_per_hour_slot_starts():
    quota = rule(1, playlist(1, 30), plays_per_hour=2, priority=5)
    filler = rule(2, playlist(2, 25), priority=1)
    timeline = one_board([quota, filler], hcm(3, 8, 0, 10), hcm(3, 9))
    # From 08:00:10 the filler's 25 s items end at :35 and :00 in turn; the 08:30 slot
    # waits for the one on screen (08:29:45 to 08:30:10).
    slot = segments_of(timeline, 1)[0]
    assert slot.start == hcm(3, 8, 30, 10)
    assert [p for p in timeline.plays if p.truncated] == [timeline.plays[-1]]
    assert timeline.plays[-1].end == hcm(3, 9)


def test_output_is_utc_whatever_zone_the_window_is_given_in():
    timeline = one_board([rule(1, playlist(1, 10))], at(BERLIN, 2024, 6, 3, 3), hcm(3, 12))
    assert timeline.start == datetime(2024, 6, 3, 1, tzinfo=UTC)
    assert all(s.start.tzinfo is UTC and s.end.tzinfo is UTC for s in timeline.segments)


def test_berlin_board_keeps_its_local_operating_hours_across_the_spring_change():
    board = dict(time_zone=BERLIN, operating_hours=window("06:00", "22:00"))
    timeline = one_board([], at(BERLIN, 2024, 3, 30), at(BERLIN, 2024, 4, 1), **board)
    assert [(s.start, s.end) for s in timeline.segments] == [
        (at(BERLIN, 2024, 3, 30, 6), at(BERLIN, 2024, 3, 30, 22)),
        (at(BERLIN, 2024, 3, 31, 6), at(BERLIN, 2024, 3, 31, 22)),
    ]
    assert timeline.segments[1].end - timeline.segments[1].start == 16 * HOUR


def test_boards_are_reached_through_their_group():
    boards = [Board(1, group="district-1"), Board(2, group="district-2"), Board(3)]
    district = rule(1, playlist(1, 10), board_ids=(), groups=("district-1",))
    timelines = resolve(boards, [district], hcm(3, 8), hcm(3, 9))
    assert {s.kind for s in timelines[1].segments} == {"fill"}
    assert {s.kind for s in timelines[2].segments} == {"idle"}
    assert {s.kind for s in timelines[3].segments} == {"idle"}


@PROPERTY
@given(schedules())
def test_every_segment_passes_the_checked_constructor(schedule):
    _, _, timelines = resolved(schedule)
    for timeline in timelines.values():
        for segment in timeline.segments:
            fields = {name: getattr(segment, name) for name in Segment.__dataclass_fields__}
            rebuilt = Segment(**fields)
            assert rebuilt == segment and rebuilt.playlist is segment.playlist
            assert rebuilt.plays == segment.plays


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: window("08:00", "08:00"), "zero length"),
        (lambda: DailyWindow(time(8, tzinfo=UTC), time(9)), "local time"),
        (lambda: Playlist(1, ()), "at least one item"),
        (lambda: Item(1, 1, 0), "positive"),
        (lambda: Item(1, 1, -5), "positive"),
        (lambda: Item(1, 1, float("nan")), "positive"),
        (lambda: rule(1, FALLBACK, plays_per_hour=4, share_of_voice=0.5), "not both"),
        (lambda: rule(1, FALLBACK, share_of_voice=0), "more than 0"),
        (lambda: rule(1, FALLBACK, share_of_voice=1.5), "at most 1"),
        (lambda: rule(1, FALLBACK, plays_per_hour=0), ">= 1"),
        (lambda: rule(1, FALLBACK, interrupt=True, plays_per_hour=2), "interrupt"),
        (lambda: rule(1, FALLBACK, board_ids=(), groups=()), "at least one board"),
        (lambda: rule(1, FALLBACK, weekdays=(7,)), "weekdays"),
        (lambda: rule(1, FALLBACK, weekdays=()), "at least one weekday"),
        (lambda: rule(1, FALLBACK, date_from=date(2024, 6, 2), date_to=date(2024, 6, 1)),
         "before it starts"),
        (lambda: Board(1, time_zone="Asia/Saigon-Nowhere"), "unknown time zone"),
        (lambda: resolve([], [], datetime(2024, 6, 3), hcm(4)), "aware"),
        (lambda: resolve([], [], hcm(4), hcm(3)), "after start"),
        (lambda: resolve([Board(1), Board(1)], [], hcm(3), hcm(4)), "board 1 is given twice"),
        (lambda: resolve([], [rule(1, FALLBACK), rule(1, FALLBACK)], hcm(3), hcm(4)),
         "rule 1 is given twice"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_collections_given_in_any_order_make_equal_rules():
    one = rule(1, FALLBACK, board_ids=(3, 1, 3), weekdays=(6, 0),
               windows=(window("18:00", "20:00"), window("06:00", "08:00")))
    other = rule(1, FALLBACK, board_ids=(1, 3), weekdays=(0, 6),
                 windows=(window("06:00", "08:00"), window("18:00", "20:00")))
    assert one == other and hash(one) == hash(other)
    assert one.board_ids == (1, 3)


def test_rule_order_in_the_input_does_not_change_the_timeline():
    rules = [rule(n, playlist(n, 10 + n), priority=n % 2, plays_per_hour=1 + n % 3)
             for n in range(1, 9)]
    base = one_board(rules, hcm(3, 8), hcm(3, 14), fallback=FALLBACK)
    random.Random(7).shuffle(rules)
    assert one_board(rules, hcm(3, 8), hcm(3, 14), fallback=FALLBACK) == base


def test_boundaries_are_exact_to_the_microsecond():
    odd = rule(1, playlist(1, 7.000001, 0.333333), plays_per_hour=1)
    timeline = one_board([odd], hcm(3, 8), hcm(3, 9), fallback=FALLBACK)
    [one_pass] = segments_of(timeline, 1)
    assert one_pass.end - one_pass.start == timedelta(seconds=7, microseconds=333334)
    assert [p.end - p.start for p in one_pass.plays] == [
        timedelta(seconds=7, microseconds=1), timedelta(microseconds=333333)
    ]


def test_share_of_voice_comes_in_at_most_six_turns_an_hour():
    share = rule(1, playlist(1, 10), share_of_voice=0.5)
    timeline = one_board([share], hcm(3, 8), hcm(3, 9), fallback=FALLBACK)
    assert [(local_hm(s.start), s.seconds) for s in segments_of(timeline, 1)] == [
        (f"03 08:{minute:02d}:00", 300.0) for minute in range(0, 60, 10)
    ]


def test_a_pass_still_waiting_when_the_window_ends_is_not_a_conflict() -> None:
    """Found by hypothesis: a 90 s fallback item holds the screen past the slot due at
    00:30 until the window's end at 00:31; the pass may play right after, so the rule
    is not starved."""
    board = Board(board_id=1, fallback=Playlist(801, (Item(80100, 3, 90),)))
    rule = Rule(rule_id=1, playlist=Playlist(1, (Item(100, 1, 5),)), date_from=date(2024, 1, 1),
                date_to=date(2024, 12, 31), board_ids=(1,), plays_per_hour=2)
    start = datetime(2024, 6, 3, 0, 1, tzinfo=UTC)
    timeline = resolve([board], [rule], start, start + timedelta(minutes=30))[1]
    assert [s.kind for s in timeline.segments] == ["fallback"] and timeline.starved == ()
    longer = resolve([board], [rule], start, start + timedelta(minutes=35))[1]
    assert [s.kind for s in longer.segments] == ["fallback", "scheduled", "fallback"] and longer.starved == ()
