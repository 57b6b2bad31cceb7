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

from dataclasses import dataclass, field
from datetime import date, datetime

GAP_KINDS = ("offline", "not_reported", "no_plan", "short")


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
    play the board has sent: it may still send them), "no_plan" (hours the board was
    lit but no manifest recorded a plan: the scheduler was not running), "short" (the
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
