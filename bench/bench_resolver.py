"""How long resolving 48 h of schedule takes (target: 1,000 boards and 2,000 rules ≤ 2 s;
10× the boards and rules ≤ 11× the time).

Run: .venv/bin/python bench/bench_resolver.py [--seed N] [--plays]
Builds a seeded random province: boards in groups of 50 (districts/sites) with a
few kinds of operating hours (some crossing midnight, some 24 h) and most with a
fallback playlist; rules that each target a group (10 %) or one to five boards,
with campaign date ranges (some over, some not begun), weekdays, one or two daily
windows (some crossing midnight), priorities, a mix of plays per hour, share of
voice and fill, and about 1 % storm/flood interrupts of an hour or three;
playlists of 1–8 items of 8–60 s. The 1,000-board set is resolved three times
and the 10,000-board set twice; the best time of each is kept (the first run
pays for time-zone loading). The time per segment shows the work is linear even
where the two random sets differ in how busy their boards are. `--plays` also
times building every Play object of the 1,000-board result (a segment computes
its plays only when asked).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduler.model import Board, DailyWindow, Item, Playlist, Rule  # noqa: E402
from scheduler.resolver import resolve  # noqa: E402

TIME_ZONE = "Asia/Ho_Chi_Minh"
START = datetime(2024, 6, 3, 0, 0, tzinfo=ZoneInfo(TIME_ZONE))  # a Monday
HOURS = 48
BOARDS_PER_GROUP = 50
TARGET_SECONDS = 2.0
TARGET_RATIO = 11.0

OPERATING_HOURS = [
    (DailyWindow(clock(5, 30), clock(22, 0)), 50),
    (DailyWindow(clock(6, 0), clock(23, 0)), 20),
    (DailyWindow(clock(17, 0), clock(2, 0)), 10),
    (DailyWindow(clock(5, 0), clock(0, 0)), 10),
    (None, 10),
]
WINDOWS = [
    DailyWindow(clock(6, 0), clock(9, 0)),
    DailyWindow(clock(11, 0), clock(13, 30)),
    DailyWindow(clock(16, 30), clock(21, 0)),
    DailyWindow(clock(7, 0), clock(19, 0)),
    DailyWindow(clock(19, 0), clock(1, 0)),
    DailyWindow(clock(4, 0), clock(23, 0)),
]
CAMPAIGN_PERIODS = [  # month, quarter, year, ended, not begun, ends mid-window
    (date(2024, 6, 1), date(2024, 6, 30)),
    (date(2024, 4, 1), date(2024, 6, 30)),
    (date(2024, 1, 1), date(2024, 12, 31)),
    (date(2024, 3, 1), date(2024, 3, 31)),
    (date(2024, 9, 1), date(2024, 9, 30)),
    (date(2024, 5, 20), date(2024, 6, 3)),
]


def build(boards: int, rules: int, seed: int) -> tuple[list[Board], list[Rule]]:
    rng = random.Random(seed)
    groups = [f"district-{n:03d}" for n in range(max(1, boards // BOARDS_PER_GROUP))]
    asset = iter(range(1, 10**9))

    def playlist(playlist_id: int) -> Playlist:
        items = tuple(
            Item(next(asset), rng.randint(1, 16), rng.choice([8, 10, 10, 15, 20, 30, 45, 60]))
            for _ in range(rng.randint(1, 8))
        )
        return Playlist(playlist_id, items)

    playlists = [playlist(n) for n in range(1, rules // 4 + 2)]
    fallbacks = [playlist(10**6 + n) for n in range(3)]
    hours = [h for h, weight in OPERATING_HOURS for _ in range(weight)]
    board_list = [
        Board(
            board_id=n,
            time_zone=TIME_ZONE,
            operating_hours=rng.choice(hours),
            group=groups[n % len(groups)],
            fallback=rng.choice(fallbacks) if rng.random() < 0.7 else None,
        )
        for n in range(1, boards + 1)
    ]
    rule_list = []
    for rule_id in range(1, rules + 1):
        interrupt = rng.random() < 0.01
        kind = rng.random()
        first, last = rng.choice(CAMPAIGN_PERIODS)
        if interrupt:
            begin = rng.randrange(6, 20)
            windows = (DailyWindow(clock(begin), clock(begin + rng.randint(1, 3))),)
            first = last = START.date() + timedelta(days=rng.randint(0, 1))
        else:
            windows = tuple(rng.sample(WINDOWS, rng.choice([1, 1, 2])))
        weekdays = rng.choice([(0, 1, 2, 3, 4, 5, 6)] * 7 + [(0, 1, 2, 3, 4)] * 2 + [(5, 6)])
        on_group = interrupt or rng.random() < 0.10
        rule_list.append(
            Rule(
                rule_id=rule_id,
                playlist=rng.choice(playlists),
                date_from=first,
                date_to=last,
                board_ids=() if on_group else tuple(
                    rng.randint(1, boards) for _ in range(rng.randint(1, 5))
                ),
                groups=(rng.choice(groups),) if on_group else (),
                weekdays=weekdays,
                windows=windows,
                priority=100 if interrupt else rng.randint(0, 10),
                plays_per_hour=(
                    rng.choice([1, 2, 3, 4, 6]) if not interrupt and kind < 0.45 else None
                ),
                share_of_voice=(
                    rng.choice([0.05, 0.1, 0.2, 0.3, 0.5])
                    if not interrupt and 0.45 <= kind < 0.65 else None
                ),
                interrupt=interrupt,
            )
        )
    return board_list, rule_list


def best_time(boards: list[Board], rules: list[Rule], runs: int = 3) -> tuple[float, dict]:
    end = START + timedelta(hours=HOURS)
    timings = []
    result: dict = {}
    for _ in range(runs):
        began = time.perf_counter()
        result = resolve(boards, rules, START, end)
        timings.append(time.perf_counter() - began)
    return min(timings), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--plays", action="store_true", help="also time building every Play")
    args = parser.parse_args()

    boards, rules = build(1_000, 2_000, args.seed)
    small, timelines = best_time(boards, rules)
    segments = sum(len(t.segments) for t in timelines.values())
    starved = sum(len(t.starved) for t in timelines.values())
    small_per_segment = small / segments * 1e6
    print(f"1,000 boards, 2,000 rules, {HOURS} h: {small:.3f} s "
          f"(target <= {TARGET_SECONDS:.1f} s); {segments:,} segments, "
          f"{small_per_segment:.2f} µs each; {starved:,} starved rule-board pairs")
    if args.plays:
        began = time.perf_counter()
        plays = sum(len(t.plays) for t in timelines.values())
        print(f"  building all {plays:,} plays of that result: {time.perf_counter() - began:.3f} s")
    del timelines

    boards, rules = build(10_000, 20_000, args.seed)
    large, timelines = best_time(boards, rules, runs=2)
    segments = sum(len(t.segments) for t in timelines.values())
    large_per_segment = large / segments * 1e6
    print(f"10,000 boards, 20,000 rules, {HOURS} h: {large:.3f} s; "
          f"{segments:,} segments, {large_per_segment:.2f} µs each")
    print(f"ratio: {large / small:.2f}x the time for 10x the boards "
          f"(target <= {TARGET_RATIO:.0f}x); "
          f"{large_per_segment / small_per_segment:.2f}x the time per segment")


if __name__ == "__main__":
    main()
