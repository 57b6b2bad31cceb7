"""The acceptance report (báo cáo kết quả thực hiện, khối lượng): what was planned and
what the boards played, for one campaign or a whole plan over a date range.

`build_report` reads only the kept counts (play_daily, play_hourly, planned_hourly,
plan_hours) and the chain heads, so its cost does not grow with the number of raw
plays; the chains themselves are re-checked (`playlog_chain.verify`) for the boards
in the report. Exports (CSV, XLSX, PDF) are in `report_exports` and take the
`AcceptanceReport` built here, so every format shows the same figures.

Days are each board's local days. A campaign's plays count on the board-local day
their start falls on. "Planned" is what the scheduler's manifests told the board
to play (complete plays), recorded when each manifest was made (`plan_record`).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, and_, cast, func, literal, null, select, tuple_, union_all
from sqlalchemy.dialects.postgresql import ARRAY

from cms.config import Config
from cms.errors import NotFound, ValidationFailed
from cms.extensions import db
from cms.models import (BoardHealth, Campaign, Plan, PlanHour, PlannedDaily, PlannedHourly, PlayDaily, PlayHourly,
                        PlaylogChainDay, Screen)

MAX_DAYS = 366  # one report covers at most a year of days
MAX_FRAMES = 6
MAX_LISTED = 5_000  # short board-days named in the gap query; more and it reads the whole range
GAP_KINDS = ("offline", "not_reported", "short")


@dataclass(frozen=True)
class Scope:
    """What the report covers and the heading of the document."""

    plan_number: str  # e.g. "81/KH-STNMT"
    plan_title: str
    task: str  # the campaign's title, or the plan's title for a whole plan
    lead_unit: str  # "" when the plan names none
    period_text: str  # the campaign's period as the plan words it ("Quý III/2024"), or the plan's year
    date_from: date
    date_to: date  # inclusive
    campaign_id: int | None  # None: every campaign of the plan
    campaigns: tuple[tuple[int, str], ...]  # (id, title) of the campaigns counted
    organisation: str  # the department, from [organisation] name
    province: str


@dataclass(frozen=True)
class Totals:
    planned: int  # complete plays the manifests asked for
    delivered: int  # plays the boards reported (kept exactly once)
    airtime_seconds: float
    boards_reached: int  # boards with at least one play
    boards: int  # boards in the report (planned or played)
    first_start: datetime | None
    last_end: datetime | None

    @property
    def delivery_rate(self) -> float | None:
        """Delivered over planned (may pass 1.0 when boards played more); None when nothing was planned."""
        return self.delivered / self.planned if self.planned else None


@dataclass(frozen=True)
class BoardRow:
    screen_id: int
    code: str
    name: str
    group: str
    address: str
    totals: Totals  # boards/boards_reached are 1 or 0 here
    days_played: int  # local days with at least one play


@dataclass(frozen=True)
class DayRow:
    day: date
    totals: Totals


@dataclass(frozen=True)
class Gap:
    """Plays planned but not (yet) reported on one board and local day, with the reason.

    kind: "offline" (the board reported no plays at all in the hours where plays are
    missing: switched off or cut off), "not_reported" (the hours are after the last
    play the board has sent: it may still send them), "short" (the
    board was on and reporting, but played fewer of this campaign's plays).
    """

    screen_id: int
    code: str
    name: str
    day: date
    kind: str
    hours: str  # local clock hours, e.g. "08:00–10:00, 14:00–15:00"
    planned: int
    delivered: int
    dark_hours: float  # the board's scheduled dark time that day (operating hours), for context


@dataclass(frozen=True)
class ChainRow:
    screen_id: int
    code: str
    name: str
    ok: bool
    entries: int
    head_hash: str
    problem: str  # "" when ok; else the first altered, missing, inserted or cut-off entry
    day_heads: tuple[tuple[date, int, str], ...] = ()  # (UTC day, seq, head) inside the range
    checked_from: int = 0  # 0: every entry re-checked now; N: entries after N (1..N were checked before)
    whole_checked_at: datetime | None = None  # when the whole chain was last found intact


@dataclass(frozen=True)
class Frame:
    screen_id: int
    code: str
    name: str
    taken_at: datetime
    png: bytes


@dataclass(frozen=True)
class AcceptanceReport:
    scope: Scope
    generated_at: datetime
    totals: Totals
    boards: tuple[BoardRow, ...]
    days: tuple[DayRow, ...]  # every day of the range, also days without plays
    hours: tuple[int, ...]  # delivered plays per local clock hour 0-23 over the range
    gaps: tuple[Gap, ...]
    chains: tuple[ChainRow, ...]
    frames: tuple[Frame, ...] = field(default=())

    @property
    def chains_ok(self) -> bool:
        return all(row.ok for row in self.chains)


# -- building ---------------------------------------------------------------


@dataclass
class _Sum:
    planned: int = 0
    delivered: int = 0
    airtime: float = 0.0
    first: datetime | None = None
    last: datetime | None = None
    boards: set[int] = field(default_factory=set)
    reached: set[int] = field(default_factory=set)

    def plan(self, screen_id: int, plays: int) -> None:
        self.planned += plays
        self.boards.add(screen_id)

    def play(self, screen_id: int, plays: int, airtime: float, first: datetime, last: datetime) -> None:
        self.delivered += plays
        self.airtime += airtime
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)
        self.boards.add(screen_id)
        if plays:
            self.reached.add(screen_id)

    def totals(self) -> Totals:
        return Totals(self.planned, self.delivered, self.airtime, len(self.reached), len(self.boards), self.first, self.last)


def _utc(value: datetime | str | None) -> datetime | None:
    """Grouped min()/max() over a UTC column come back untyped on SQLite (a string)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def plan_by_number(number: str) -> Plan:
    plan = db.session.scalar(select(Plan).where(Plan.number == number.strip()))
    if plan is None:
        raise NotFound("No plan numbered %(number)s.", code="plan_not_found", number=number)
    return plan


def scope_for(config: Config, date_from: date, date_to: date, campaign_id: int | None = None,
              plan_id: int | None = None) -> Scope:
    """The heading of a report on one campaign, or on every campaign of a plan."""
    if date_to < date_from:
        raise ValidationFailed("The end date is before the start date.", code="report_dates")
    if (date_to - date_from).days >= MAX_DAYS:
        raise ValidationFailed("A report covers at most %(days)d days.", code="report_dates", days=MAX_DAYS)
    organisation = config.organisation
    if campaign_id is not None:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound("No such campaign.", code="campaign_not_found")
        plan = campaign.plan
        return Scope(plan.number if plan else "", plan.title if plan else "", campaign.title,
                     campaign.lead_unit.name if campaign.lead_unit else "", campaign.period_text, date_from, date_to,
                     campaign.id, ((campaign.id, campaign.title),), organisation.name, organisation.province)
    plan = db.session.get(Plan, plan_id) if plan_id is not None else None
    if plan is None:
        raise NotFound("No such plan.", code="plan_not_found")
    return Scope(plan.number, plan.title, plan.title, plan.issuing_body, f"Năm {plan.year}" if plan.year else "",
                 date_from, date_to, None, tuple((c.id, c.title) for c in plan.campaigns),
                 organisation.name, organisation.province)


def build_report(config: Config, scope: Scope, now: datetime, check_chains: bool = True,
                 since_last_check: bool = False) -> AcceptanceReport:
    """The report's figures from the kept counts; the chains of its boards re-checked, all
    of each or (`since_last_check`, for pages) the entries after the last verification."""
    ids = [campaign_id for campaign_id, _ in scope.campaigns]
    in_range = (PlayDaily.day >= scope.date_from, PlayDaily.day <= scope.date_to, PlayDaily.campaign_id.in_(ids))
    played = db.session.execute(select(
        PlayDaily.screen_id, PlayDaily.day, func.sum(PlayDaily.plays), func.sum(PlayDaily.airtime_seconds),
        func.min(PlayDaily.first_start), func.max(PlayDaily.last_end)).where(*in_range)
        .group_by(PlayDaily.screen_id, PlayDaily.day)).all()
    planned = db.session.execute(select(PlannedDaily.screen_id, PlannedDaily.day, func.sum(PlannedDaily.plays))
                                 .where(PlannedDaily.day >= scope.date_from, PlannedDaily.day <= scope.date_to,
                                        PlannedDaily.campaign_id.in_(ids))
                                 .group_by(PlannedDaily.screen_id, PlannedDaily.day)).all()
    everything, per_board, per_day = _Sum(), defaultdict(_Sum), defaultdict(_Sum)
    days_played: dict[int, int] = defaultdict(int)
    for screen_id, day, plays, airtime, first, last in played:
        first, last = _utc(first), _utc(last)
        assert first is not None and last is not None
        for tally in (everything, per_board[screen_id], per_day[day]):
            tally.play(screen_id, int(plays), float(airtime), first, last)
        days_played[screen_id] += 1
    planned_by: dict[tuple[int, date], int] = {}
    for screen_id, day, plays in planned:
        planned_by[(screen_id, day)] = int(plays)
        for tally in (everything, per_board[screen_id], per_day[day]):
            tally.plan(screen_id, int(plays))
    screens = {s.id: s for s in db.session.scalars(select(Screen).where(Screen.id.in_(list(per_board))))}
    boards = tuple(BoardRow(screen_id, screens[screen_id].code, screens[screen_id].name, screens[screen_id].group_name,
                            screens[screen_id].address, per_board[screen_id].totals(), days_played[screen_id])
                   for screen_id in sorted(per_board, key=lambda i: (screens[i].code, i)))
    days = tuple(DayRow(day, per_day[day].totals()) for day in _days(scope.date_from, scope.date_to))
    hours = [0] * 24
    for hour, plays in db.session.execute(select(PlayHourly.hour, func.sum(PlayHourly.plays)).where(
            PlayHourly.day >= scope.date_from, PlayHourly.day <= scope.date_to, PlayHourly.campaign_id.in_(ids))
            .group_by(PlayHourly.hour)):
        hours[hour] = int(plays)
    delivered_by = {(screen_id, day): int(plays) for screen_id, day, plays, *_ in played}
    short = sorted(key for key, plays in planned_by.items() if plays > delivered_by.get(key, 0))
    gaps = _gaps(screens, short, ids, scope.date_from, scope.date_to, delivered_by, planned_by)
    chains = _chains(screens, scope, since_last_check, now) if check_chains else ()
    return AcceptanceReport(scope, now, everything.totals(), boards, days, tuple(hours), gaps, chains,
                            _frames(config, screens, scope))


def _days(first: date, last: date) -> Iterable[date]:
    return (first + timedelta(days=n) for n in range((last - first).days + 1))


def _gaps(screens: dict[int, Screen], short: list[tuple[int, date]], ids: list[int], first: date, last: date,
          delivered_by: dict[tuple[int, date], int], planned_by: dict[tuple[int, date], int]) -> tuple[Gap, ...]:
    """Each short board-day's missing plays by hour, with the reason (see `Gap`). The
    database compares plan and plays hour by hour and returns only the short hours."""
    if not short:
        return ()
    in_days = (first, last)
    planned_hours = select(PlannedHourly.screen_id, PlannedHourly.day, PlannedHourly.hour, PlannedHourly.hour_start,
                           PlannedHourly.plays.label("planned"), literal(0).label("played")).where(
        PlannedHourly.day.between(*in_days), PlannedHourly.campaign_id.in_(ids))
    played_hours = select(PlayHourly.screen_id, PlayHourly.day, PlayHourly.hour, null().label("hour_start"),
                          literal(0).label("planned"), PlayHourly.plays.label("played")).where(
        PlayHourly.day.between(*in_days), PlayHourly.campaign_id.in_(ids))
    if len(short) <= MAX_LISTED:  # only the short board-days, looked up by board and day
        planned_hours = _only(planned_hours, PlannedHourly, short)
        played_hours = _only(played_hours, PlayHourly, short)
    # One grouping over plan and plays side by side (not a join of two groupings, which
    # PostgreSQL may plan as a nested loop over hundreds of thousands of hours).
    both = union_all(planned_hours, played_hours).subquery()
    short_hours = (select(both.c.screen_id, both.c.day, both.c.hour, func.min(both.c.hour_start).label("hour_start"),
                          func.sum(both.c.planned).label("planned"), func.sum(both.c.played).label("played"))
                   .group_by(both.c.screen_id, both.c.day, both.c.hour)
                   .having(func.sum(both.c.planned) > func.sum(both.c.played)).subquery())
    anything = (select(func.count()).where(PlayHourly.screen_id == short_hours.c.screen_id,
                                           PlayHourly.day == short_hours.c.day, PlayHourly.hour == short_hours.c.hour,
                                           PlayHourly.plays > 0)
                .correlate(short_hours).scalar_subquery())
    hours = db.session.execute(select(short_hours.c.screen_id, short_hours.c.day, short_hours.c.hour,
                                      short_hours.c.hour_start, short_hours.c.planned, short_hours.c.played,
                                      anything)).all()
    boards = sorted({screen_id for screen_id, _ in short})
    dark = {(s, d): float(v) / 3600 for s, d, v in db.session.execute(
        select(PlanHour.screen_id, PlanHour.day, func.sum(3600 - PlanHour.lit_seconds))
        .where(PlanHour.day.between(*in_days), PlanHour.screen_id.in_(boards))
        .group_by(PlanHour.screen_id, PlanHour.day))}
    last_sent = {screen_id: _utc(at) for screen_id, at in db.session.execute(
        select(BoardHealth.screen_id, BoardHealth.last_play_at).where(BoardHealth.screen_id.in_(boards)))}
    newest = {screen_id: _utc(at) for screen_id, at in db.session.execute(
        select(PlayDaily.screen_id, func.max(PlayDaily.last_end)).where(PlayDaily.screen_id.in_(boards))
        .group_by(PlayDaily.screen_id))}
    by_day: dict[tuple[int, date], dict[str, list[tuple[int, int, int]]]] = defaultdict(lambda: defaultdict(list))
    for screen_id, day, hour, hour_start, plays, ours_plays, others in hours:
        seen = [t for t in (last_sent.get(screen_id), newest.get(screen_id)) if t is not None]
        reported = max(seen) if seen else None
        start = _utc(hour_start)
        if reported is None or (start is not None and start >= reported):  # nothing sent from this hour on
            kind = "not_reported"
        elif not others:
            kind = "offline"
        else:
            kind = "short"
        by_day[(screen_id, day)][kind].append((hour, int(plays), int(ours_plays)))
    out: list[Gap] = []
    for screen_id, day in short:
        screen, kinds = screens[screen_id], by_day.get((screen_id, day), {})
        for kind in GAP_KINDS:
            if kinds.get(kind):
                rows = kinds[kind]
                out.append(Gap(screen_id, screen.code, screen.name, day, kind, _spans([h for h, _, _ in rows]),
                               sum(p for _, p, _ in rows), sum(o for _, _, o in rows), dark.get((screen_id, day), 0.0)))
        if not kinds:  # short over the day, but no hour is (plays counted on another hour)
            out.append(Gap(screen_id, screen.code, screen.name, day, "short", "", planned_by[(screen_id, day)],
                           delivered_by.get((screen_id, day), 0), dark.get((screen_id, day), 0.0)))
    return tuple(out)


def _only(query: Any, model: Any, board_days: list[tuple[int, date]]) -> Any:
    """`query` narrowed to these (board, day) pairs. PostgreSQL joins them as two arrays
    zipped by unnest, so it looks each pair up by index; a list of row values there
    becomes an OR filter tried on every row of the range."""
    if db.session.get_bind().dialect.name != "postgresql":
        return query.where(tuple_(model.screen_id, model.day).in_(board_days))
    pairs = select(func.unnest(cast([s for s, _ in board_days], ARRAY(Integer))).label("screen_id"),
                   func.unnest(cast([d for _, d in board_days], ARRAY(Date))).label("day")).subquery()
    return query.join(pairs, and_(model.screen_id == pairs.c.screen_id, model.day == pairs.c.day))


def _spans(hours: list[int]) -> str:
    """[8, 9, 14] -> "08:00–10:00, 14:00–15:00"."""
    spans: list[list[int]] = []
    for hour in sorted(hours):
        if spans and spans[-1][1] == hour:
            spans[-1][1] = hour + 1
        else:
            spans.append([hour, hour + 1])
    return ", ".join(f"{a:02d}:00–{b:02d}:00" for a, b in spans)


def _chains(screens: dict[int, Screen], scope: Scope, since_last_check: bool, now: datetime) -> tuple[ChainRow, ...]:
    from cms.services.playlog_chain import verify_many

    order = sorted(screens, key=lambda i: (screens[i].code, i))
    results = verify_many([screens[i] for i in order], since_last_check, now)
    heads: dict[int, list[tuple[date, int, str]]] = {}
    for day in db.session.scalars(select(PlaylogChainDay).where(
            PlaylogChainDay.screen_id.in_(order), PlaylogChainDay.day >= scope.date_from,
            PlaylogChainDay.day <= scope.date_to).order_by(PlaylogChainDay.screen_id, PlaylogChainDay.day)):
        heads.setdefault(day.screen_id, []).append((day.day, day.seq, day.head_hash))
    rows = []
    for screen_id in order:
        screen, result = screens[screen_id], results[screen_id]
        problem = result.problem
        rows.append(ChainRow(screen_id, screen.code, screen.name, problem is None, result.head_seq, result.head_hash,
                             "" if problem is None else _problem_text(problem), tuple(heads.get(screen_id, ())),
                             result.checked_from if result.checked_from > result.archived else 0,
                             result.whole_checked_at))
    db.session.commit()  # the boards' check marks moved on
    return tuple(rows)


def _problem_text(problem: Any) -> str:
    where = f"entry {problem.seq}" if problem.seq is not None else "an entry"
    event = f" (event {problem.event_id})" if problem.event_id else ""
    return f"{problem.kind}: {where}{event}: {problem.detail}"


def _frames(config: Config, screens: dict[int, Screen], scope: Scope) -> tuple[Frame, ...]:
    """The newest screenshot of each board in the report, when it was taken inside the range."""
    from cms.services.media import storage

    if not screens:
        return ()
    store, frames = storage(config), []
    for health in db.session.scalars(select(BoardHealth).where(BoardHealth.screen_id.in_(list(screens)),
                                                               BoardHealth.screenshot_key.is_not(None))
                                     .order_by(BoardHealth.screenshot_at.desc())):
        taken = _utc(health.screenshot_at)
        if taken is None or not (scope.date_from <= taken.date() <= scope.date_to + timedelta(days=1)):
            continue
        path = store.path(health.screenshot_key or "")
        if path.is_file():
            screen = screens[health.screen_id]
            frames.append(Frame(screen.id, screen.code, screen.name, taken, path.read_bytes()))
        if len(frames) == MAX_FRAMES:
            break
    return tuple(frames)
