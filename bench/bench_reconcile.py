"""How long the scheduler's reconcile takes when nothing changed (target: 1,000 boards
and 2,000 rules <= 1 s).

Run: .venv/bin/python bench/bench_reconcile.py [--seed N] [--runs 7] [--database-url URL] [--profile]
Creates the app on a throwaway, migrated SQLite database (or, when `--database-url` or
PANOLED_DATABASE__URL names a PostgreSQL server, on a fresh `<name>_bench` database
there, dropped afterwards) and seeds it in bulk with Core inserts, the same mix as
bench_resolver.py: one plan with a few campaigns; 200 approved posters, each with a
done rendition for every board size; 400 published playlists of 1-5 items; 1,000
boards (960x320, 768x384, 1920x1080) in 50 groups, lit 05:30-22:00, 70 % with a
fallback playlist; 2,000 rules targeting a group (10 %) or one to five boards, with
rule or campaign dates (some over, some not begun), weekdays, one or two daily
windows, priorities, plays per hour, share of voice or fill, and about 1 % approved
interrupts. Then it times, each in its own app context as the scheduler runs it:
  - the first reconcile, which resolves and writes a manifest for every board;
  - `--runs` reconciles later in the same refresh step with nothing changed (the
    measured figure: median and max);
  - a reconcile after moving one board rule to another playlist, and one after the same
    for a group rule (how many boards were rebuilt and got a new manifest, and the time).
Each time is the reconcile's own wall-clock figure, with the CPU time this process
spent beside it (the machine's load average is printed first: wall time on a busy
machine says little). `--profile` adds a cProfile of one more nothing-changed
reconcile. The process's peak memory (ru_maxrss) is printed at the end.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask  # noqa: E402
from sqlalchemy import insert, select, update  # noqa: E402

from cms import create_app  # noqa: E402
from cms.config import load_config  # noqa: E402
from cms.extensions import db  # noqa: E402
from cms.models import (  # noqa: E402
    Campaign, MediaAsset, MediaDerivative, Plan, Playlist, PlaylistItem, ScheduleRule, Screen,
)
from cms.services.manifests import ReconcileReport, reconcile, window_for  # noqa: E402
from serving import database  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 6, 5, 1, 0, tzinfo=UTC)  # 08:00 in Vũng Tàu, one hour into a 6 h refresh step
BOARDS, RULES, ASSETS, PLAYLISTS, BOARDS_PER_GROUP = 1_000, 2_000, 200, 400, 20
SIZES = [(960, 320), (768, 384), (1920, 1080)]
TARGET_SECONDS = 1.0

WINDOWS = [["06:00", "09:00"], ["11:00", "13:30"], ["16:30", "21:00"], ["07:00", "19:00"], ["19:00", "01:00"],
           ["04:00", "23:00"]]
CAMPAIGN_PERIODS = [  # month, quarter, year, ended, not begun, ends mid-window (as bench_resolver.py)
    (date(2024, 6, 1), date(2024, 6, 30)),
    (date(2024, 4, 1), date(2024, 6, 30)),
    (date(2024, 1, 1), date(2024, 12, 31)),
    (date(2024, 3, 1), date(2024, 3, 31)),
    (date(2024, 9, 1), date(2024, 9, 30)),
    (date(2024, 5, 20), date(2024, 6, 5)),
]


def seed(rng: random.Random) -> None:
    """Everything a reconcile reads, in a few bulk inserts (ids are given, so rows can refer to each other)."""
    def rows(table: Any, values: list[dict[str, Any]]) -> None:
        db.session.execute(insert(table), values)

    rows(Plan, [{"id": 1, "number": "81/KH-BENCH", "year": 2024}])
    rows(Campaign, [{"id": n, "plan_id": 1, "number": n, "title": f"Campaign {n}", "status": "running",
                     "period_start": first, "period_end": last}
                    for n, (first, last) in enumerate(CAMPAIGN_PERIODS, start=1)])
    campaign_of_asset = {a: rng.randint(1, len(CAMPAIGN_PERIODS)) for a in range(1, ASSETS + 1)}
    rows(MediaAsset, [{"id": a, "campaign_id": c, "kind": "poster", "display_name": f"poster-{a}.jpg",
                       "storage_key": f"bench/{a}", "sha256": hashlib.sha256(b"%d" % a).hexdigest(), "size": 100_000,
                       "mime": "image/jpeg", "format": "jpeg", "width": 1920, "height": 1080, "duration": None,
                       "status": "approved"} for a, c in campaign_of_asset.items()])
    rows(MediaDerivative, [{"asset_id": a, "kind": "rendition", "profile_key": f"{w}x{h}", "width": w, "height": h,
                            "state": "done", "progress": 1.0, "storage_key": f"bench/{a}-{w}x{h}", "generation": 1,
                            "notes": {"sha256": hashlib.sha256(b"%d-%d" % (a, w)).hexdigest(), "bytes": 50_000}}
                           for a in campaign_of_asset for w, h in SIZES])
    playlist_ids = range(1, PLAYLISTS + 4)  # the last three are fallbacks
    rows(Playlist, [{"id": p, "campaign_id": rng.randint(1, len(CAMPAIGN_PERIODS)), "name": f"Playlist {p}",
                     "status": "published", "published_at": NOW - timedelta(days=7)} for p in playlist_ids])
    rows(PlaylistItem, [{"playlist_id": p, "position": position, "asset_id": rng.randint(1, ASSETS),
                         "duration": rng.choice([8, 10, 10, 15, 20, 30, 45, 60])}
                        for p in playlist_ids for position in range(rng.randint(1, 5))])
    fallbacks = list(playlist_ids)[-3:]
    groups = [f"district-{n:03d}" for n in range(BOARDS // BOARDS_PER_GROUP)]
    rows(Screen, [{"id": b, "name": f"Board {b}", "code": f"B-{b:05d}", "group_name": groups[b % len(groups)],
                   "width": w, "height": h, "opens_at": clock(5, 30), "closes_at": clock(22, 0), "timezone": "Asia/Ho_Chi_Minh",
                   "adapter_kind": "simulator", "adapter_options": {}, "secret_hash": "0" * 64,
                   "fallback_playlist_id": rng.choice(fallbacks) if rng.random() < 0.7 else None}
                  for b in range(1, BOARDS + 1) for w, h in [rng.choice(SIZES)]])
    rules = []
    for rule_id in range(1, RULES + 1):
        interrupt = rng.random() < 0.01
        kind = rng.random()
        own_dates = rng.random() < 0.5  # else the campaign's period
        first, last = rng.choice(CAMPAIGN_PERIODS) if own_dates else (None, None)
        if interrupt:
            begin = rng.randrange(6, 20)
            windows = [[f"{begin:02d}:00", f"{begin + rng.randint(1, 3):02d}:00"]]
            first = last = NOW.date() + timedelta(days=rng.randint(0, 1))
        else:
            windows = rng.sample(WINDOWS, rng.choice([1, 1, 2]))
        on_group = interrupt or rng.random() < 0.10
        rules.append({
            "id": rule_id, "playlist_id": rng.randint(1, PLAYLISTS), "date_from": first, "date_to": last,
            "board_ids": [] if on_group else sorted({rng.randint(1, BOARDS) for _ in range(rng.randint(1, 5))}),
            "groups": [rng.choice(groups)] if on_group else [],
            "weekdays": rng.choice([[0, 1, 2, 3, 4, 5, 6]] * 7 + [[0, 1, 2, 3, 4]] * 2 + [[5, 6]]),
            "windows": windows, "priority": 100 if interrupt else rng.randint(0, 10),
            "plays_per_hour": rng.choice([1, 2, 3, 4, 6]) if not interrupt and kind < 0.45 else None,
            "share_of_voice": (rng.choice([0.05, 0.1, 0.2, 0.3, 0.5])
                               if not interrupt and 0.45 <= kind < 0.65 else None),
            "interrupt": interrupt, "approved_at": NOW - timedelta(hours=1) if interrupt else None,
        })
    rows(ScheduleRule, rules)
    db.session.commit()


def timed_reconcile(app: Flask, now: datetime) -> tuple[ReconcileReport, float]:
    """One reconcile in its own app context, as the scheduler service runs it; the
    report (its wall-clock seconds) and the CPU seconds this process spent on it."""
    cpu = time.process_time()
    with app.app_context():
        try:
            report = reconcile(app.config["PANOLED"], now)
        finally:
            db.session.remove()
    return report, time.process_time() - cpu


def change_rule(app: Flask, on_group: bool) -> int:
    """Move the first rule of that kind whose own dates cover NOW to the next playlist; its id."""
    today = NOW.date()
    with app.app_context():
        rules = db.session.scalars(select(ScheduleRule).where(
            ScheduleRule.interrupt.is_(False), ScheduleRule.date_from <= today, ScheduleRule.date_to >= today)
            .order_by(ScheduleRule.id)).all()
        rule_id, playlist_id = next((r.id, r.playlist_id) for r in rules if bool(r.groups) == on_group)
        db.session.execute(update(ScheduleRule).where(ScheduleRule.id == rule_id)
                           .values(playlist_id=playlist_id % PLAYLISTS + 1))
        db.session.commit()
        db.session.remove()
        return rule_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--runs", type=int, default=7, help="nothing-changed reconciles to time")
    parser.add_argument("--database-url", default=os.environ.get("PANOLED_DATABASE__URL") or None,
                        help="a PostgreSQL server to use instead of a temporary SQLite file")
    parser.add_argument("--profile", action="store_true",
                        help="also print where one more nothing-changed reconcile spends its time (cProfile)")
    args = parser.parse_args()
    server = args.database_url if args.database_url and args.database_url.startswith("postgresql") else None

    with database(server) as url, tempfile.TemporaryDirectory() as data:
        config = load_config(REPO / "config.toml", overrides={
            "database": {"url": url}, "storage": {"data_dir": data}, "media": {"workers": 0}})
        app = create_app(config)
        began = time.perf_counter()
        with app.app_context():
            seed(random.Random(args.seed))
            db.session.remove()
        kind = "PostgreSQL" if server else "SQLite"
        # Wall-clock figures on a busy machine say little: the load and the CPU time say how busy.
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{kind}: seeded {BOARDS:,} boards, {RULES:,} rules, {PLAYLISTS} playlists, {ASSETS} assets "
              f"in {time.perf_counter() - began:.2f} s")
        start, end = window_for(NOW, config.scheduler)
        print(f"window {start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M} UTC ({(end - start).total_seconds() / 3600:.0f} h)")

        first, cpu = timed_reconcile(app, NOW)
        print(f"first reconcile (builds every board): {first.seconds:.2f} s (CPU {cpu:.2f} s); "
              f"{first.rebuilt:,} rebuilt, {len(first.new_versions):,} new manifests")

        timings, cpus, rebuilt = [], [], 0
        for minute in range(1, args.runs + 1):
            report, cpu = timed_reconcile(app, NOW + timedelta(minutes=minute))
            timings.append(report.seconds)
            cpus.append(cpu)
            rebuilt += report.rebuilt + len(report.new_versions)
        median, worst = statistics.median(timings), max(timings)
        verdict = "met" if median <= TARGET_SECONDS and worst <= TARGET_SECONDS else "NOT met"
        print(f"nothing changed, {args.runs} runs: median {median:.3f} s, max {worst:.3f} s "
              f"(target <= {TARGET_SECONDS:.1f} s: {verdict}); CPU median {statistics.median(cpus):.3f} s; "
              f"{rebuilt} boards rebuilt")

        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(timed_reconcile, app, NOW + timedelta(minutes=args.runs))
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

        for on_group in (False, True):
            rule_id = change_rule(app, on_group)
            report, cpu = timed_reconcile(app, NOW + timedelta(minutes=args.runs + 1 + on_group))
            print(f"one {'group' if on_group else 'board'} rule changed (rule {rule_id}): {report.seconds:.3f} s "
                  f"(CPU {cpu:.3f} s); "
                  f"{report.rebuilt} boards rebuilt, {len(report.new_versions)} new manifests")
        with app.app_context():
            db.engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the process (seeding included): {peak:.0f} MB")


if __name__ == "__main__":
    main()
