"""How long the acceptance report takes over 10 million plays (500 boards x 60 days) on
PostgreSQL (target: <= 3 s).

Run: .venv/bin/python bench/bench_report.py [--database-url postgresql:///panoled] [--boards 500] [--days 60]
     [--plays-per-day 334] [--runs 5] [--chain-sample 20000]
On a fresh `<name>_bench` database (dropped afterwards) it makes one plan with five
campaigns and the boards, then writes the raw plays with one INSERT … SELECT over
generate_series (15 s plays spread from 06:00 local, campaigns in turn, and one
board-day in 50 dark for three hours) and the kept counts from them (play_daily and
play_hourly grouped on the board's local day and hour, as ingestion keeps them) and
the plan (planned_hourly, planned_daily and plan_hours: every play, outages included), so the tables
have the size and shape of two months of a province's boards. Then it times, each in a new app
context:
  - `build_report` for one campaign and for the whole plan over the 60 days, figures
    only (check_chains=False): the measured figure, median and max of `--runs`;
  - the chain re-check, which reads every play of the report's boards: the raw rows
    written above carry no chain, so its rate is measured on `--chain-sample` plays
    stored through `ingest_plays` on one more board and scaled to the report's plays.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert, text  # noqa: E402

from serving import database  # noqa: E402
from cms import create_app  # noqa: E402
from cms.config import load_config  # noqa: E402
from cms.extensions import db  # noqa: E402
from cms.models import Campaign, Plan, Screen  # noqa: E402
from cms.services.acceptance import build_report, scope_for  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIRST_DAY = date(2024, 7, 1)
ZONE = "Asia/Ho_Chi_Minh"


def seed(boards: int, days: int, per_day: int) -> tuple[int, int]:
    """Plan, campaigns, boards, raw plays and kept counts; returns (plan id, first campaign id)."""
    plan = db.session.execute(insert(Plan).values(number="81/KH-STNMT", title="Kế hoạch tuyên truyền bảo vệ môi trường",
                                                  issuing_body="Sở Tài nguyên và Môi trường", year=2024)
                              .returning(Plan.id)).scalar_one()
    campaigns = [db.session.execute(insert(Campaign).values(plan_id=plan, number=n, title=f"Nhiệm vụ tuyên truyền số {n}",
                                                            status="running").returning(Campaign.id)).scalar_one()
                 for n in range(1, 6)]
    db.session.execute(insert(Screen), [{
        "name": f"Bảng LED số {n}", "code": f"B-{n:04d}", "width": 960, "height": 320, "adapter_kind": "simulator",
        "adapter_options": {}, "secret_hash": "x", "group_name": f"Quận {n % 20}", "timezone": ZONE} for n in range(boards)])
    db.session.commit()
    first_screen = db.session.execute(text("SELECT min(id) FROM screens")).scalar_one()
    db.session.execute(text("SET TIME ZONE 'UTC'"))  # the generated local times below are turned into UTC instants
    started = time.perf_counter()
    # Plays every GAP seconds from 06:00 local, campaigns in turn; one board-day in 50 has a
    # three-hour outage (07:00-10:00) in which the plan stands and nothing is played.
    every = (16 * 3600) // per_day
    plays = f"""
        SELECT s, d, p, CAST(:c0 AS int) + (p % 5) AS campaign,
               CAST((CAST(:day0 AS date) + d) + time '06:00' + p * interval '{every} seconds' - interval '7 hours'
                    AS timestamptz) AS started,
               (s * 31 + d * 7) % 50 = 0 AND p * {every} >= 3600 AND p * {every} < 4 * 3600 AS outage
        FROM generate_series(CAST(:s0 AS int), CAST(:s1 AS int)) s, generate_series(0, CAST(:d1 AS int)) d,
             generate_series(0, CAST(:p1 AS int)) p"""
    values = {"c0": campaigns[0], "day0": FIRST_DAY, "s0": first_screen, "s1": first_screen + boards - 1,
              "d1": days - 1, "p1": per_day - 1}
    db.session.execute(text(f"""
        INSERT INTO playback_events (screen_id, event_id, asset_id, asset_name, campaign_id, campaign_title, screen_code,
                                     screen_name, manifest_version, started_at, ended_at, received_at, flags, chain_hash)
        SELECT s, md5(s::text || ':' || d::text || ':' || p::text), 1, 'poster.png', campaign, '', '', '', 1,
               started, started + interval '15 seconds', now(), '[]', ''
        FROM ({plays}) x WHERE NOT outage"""), values)
    raw = time.perf_counter() - started
    local = f"(started_at AT TIME ZONE '{ZONE}')"
    db.session.execute(text(f"""
        INSERT INTO play_daily (screen_id, campaign_id, day, plays, airtime_seconds, first_start, last_end)
        SELECT screen_id, campaign_id, {local}::date, count(*),
               sum(extract(epoch FROM ended_at - started_at)), min(started_at), max(ended_at)
        FROM playback_events GROUP BY 1, 2, 3"""))
    db.session.execute(text(f"""
        INSERT INTO play_hourly (screen_id, campaign_id, day, hour, plays, airtime_seconds)
        SELECT screen_id, campaign_id, {local}::date, extract(hour FROM {local})::int, count(*),
               sum(extract(epoch FROM ended_at - started_at))
        FROM playback_events GROUP BY 1, 2, 3, 4"""))
    planned_local = f"(started AT TIME ZONE '{ZONE}')"
    db.session.execute(text(f"""
        INSERT INTO planned_hourly (screen_id, campaign_id, hour_start, day, hour, plays, seconds)
        SELECT s, campaign, date_trunc('hour', started), {planned_local}::date, extract(hour FROM {planned_local})::int,
               count(*), count(*) * 15.0
        FROM ({plays}) x GROUP BY 1, 2, 3, 4, 5"""), values)
    db.session.execute(text("""
        INSERT INTO planned_daily (screen_id, campaign_id, day, plays, seconds)
        SELECT screen_id, campaign_id, day, sum(plays), sum(seconds) FROM planned_hourly GROUP BY 1, 2, 3"""))
    db.session.execute(text("""
        INSERT INTO plan_hours (screen_id, hour_start, day, hour, lit_seconds)
        SELECT DISTINCT screen_id, hour_start, day, hour, 3600.0 FROM planned_hourly"""))
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    total = db.session.execute(text("SELECT count(*) FROM playback_events")).scalar_one()
    print(f"seeded {total:,} plays on {boards} boards over {days} days in {raw:.0f} s (raw rows), "
          f"{time.perf_counter() - started:.0f} s with the kept counts")
    return plan, campaigns[0]


def chain_rate(app, sample: int) -> float:  # type: ignore[no-untyped-def]
    """Plays per second `playlog_chain.verify` re-checks, on plays stored through ingestion."""
    from cms.services.playback import Play, ingest_plays
    from cms.services.playlog_chain import verify

    with app.app_context():
        screen_id = db.session.execute(insert(Screen).values(
            name="Chain", code="CHAIN", width=960, height=320, adapter_kind="simulator", adapter_options={},
            secret_hash="x", timezone=ZONE).returning(Screen.id)).scalar_one()
        db.session.commit()
        screen = db.session.get(Screen, screen_id)
        start = datetime(2024, 7, 1, tzinfo=UTC)
        for batch in range(0, sample, 1000):
            plays = [Play(str(uuid.uuid4()), 1, 1, start + timedelta(seconds=15 * n), start + timedelta(seconds=15 * n + 15),
                          None) for n in range(batch, min(batch + 1000, sample))]
            ingest_plays(screen, plays, datetime(2024, 9, 1, tzinfo=UTC))
        db.session.commit()
        began = time.perf_counter()
        result = verify(screen)
        seconds = time.perf_counter() - began
        assert result.problem is None and result.entries == sample
        db.session.remove()
    return sample / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("PANOLED_DATABASE__URL", "postgresql:///panoled"))
    parser.add_argument("--boards", type=int, default=500)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--plays-per-day", type=int, default=334)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chain-sample", type=int, default=20_000)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("the benchmark is for PostgreSQL: pass --database-url postgresql:///NAME")
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    with database(args.database_url) as url, __import__("tempfile").TemporaryDirectory() as folder:
        config = load_config(REPO / "config.toml", overrides={"database": {"url": url}, "storage": {"data_dir": folder}})
        app = create_app(config)
        with app.app_context():
            plan_id, campaign_id = seed(args.boards, args.days, args.plays_per_day)
        last_day = FIRST_DAY + timedelta(days=args.days - 1)
        for label, scope_args in (("one campaign", {"campaign_id": campaign_id}), ("whole plan", {"plan_id": plan_id})):
            times = []
            for _ in range(args.runs):
                with app.app_context():
                    scope = scope_for(config, FIRST_DAY, last_day, **scope_args)
                    began = time.perf_counter()
                    report = build_report(config, scope, datetime.now(UTC), check_chains=False)
                    times.append(time.perf_counter() - began)
                    db.session.remove()
            print(f"report, {label}: {report.totals.delivered:,} plays on {len(report.boards)} boards, "
                  f"{len(report.days)} days, {len(report.gaps):,} gaps: median {statistics.median(times):.2f} s, "
                  f"max {max(times):.2f} s (target <= 3 s)")
        rate = chain_rate(app, args.chain_sample)
        total = args.boards * args.days * args.plays_per_day
        print(f"chain re-check: {rate:,.0f} plays/s on {args.chain_sample:,} plays; the whole plan's {total:,} plays "
              f"would take about {total / rate:.0f} s")


if __name__ == "__main__":
    main()
