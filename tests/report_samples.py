"""Acceptance reports built by hand for the export tests, and a hypothesis strategy for random ones.

The figures are made consistent the way `build_report` makes them: every board-day has
planned and delivered plays, and the board rows, the day rows and the report's totals
are sums of those, so an export that adds or drops anything shows up as a mismatch.
"""
from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import strategies as st
from PIL import Image, ImageDraw

from cms.services.acceptance import (
    GAP_KINDS, AcceptanceReport, BoardRow, ChainRow, DayRow, Frame, Gap, Scope, Totals,
)

BOARD_NAMES = (
    ("HX-01", "Bảng LED Ngã tư Hàng Xanh", "Quận Bình Thạnh"),
    ("Q7-02", "Cổng chào Quận 7 – Nguyễn Văn Linh", "Quận 7"),
    ("VT-03", "Bảng LED Bãi Sau – đường Thùy Vân", "Thành phố Vũng Tàu"),
    ("BR-04", "Quảng trường Trung tâm Hành chính – Chính trị tỉnh", "Thành phố Bà Rịa"),
    ("PM-05", "Bảng LED Chợ Phú Mỹ, đường Độc Lập", "Thị xã Phú Mỹ"),
    ("XM-06", "Cầu Sông Ray – Quốc lộ 55 (hướng Xuyên Mộc)", "Huyện Xuyên Mộc"),
)
PLAYS_PER_DAY = 96  # four 30-second plays an hour over a 24-hour manifest
SECONDS_PER_PLAY = 30.0
GAP_HOURS = {"offline": "08:00–11:00", "not_reported": "20:00–24:00",
             "short": "14:00–15:00, 17:00–18:00"}


@dataclass
class _Cell:
    """One board on one local day: the unit the report's sums are made of."""

    planned: int
    delivered: int
    first: datetime | None
    last: datetime | None


def frame_png(label: str = "Giờ Trái Đất 2024", size: tuple[int, int] = (384, 128)) -> bytes:
    """A small LED-board screenshot: a green banner with a sun and bars standing for text."""
    image = Image.new("RGB", size, (12, 110, 60))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.05, h * 0.2, w * 0.05 + h * 0.6, h * 0.8), fill=(250, 210, 40))
    for index in range(3):
        y = h * (0.25 + 0.2 * index)
        draw.rectangle((w * 0.3, y, w * (0.9 - 0.1 * index), y + h * 0.1), fill=(255, 255, 255))
    draw.text((4, 4), label.encode("ascii", "ignore").decode(), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _totals(cells: list[_Cell], boards: int) -> Totals:
    delivered = sum(c.delivered for c in cells)
    firsts = [c.first for c in cells if c.first is not None]
    lasts = [c.last for c in cells if c.last is not None]
    return Totals(planned=sum(c.planned for c in cells), delivered=delivered,
                  airtime_seconds=delivered * SECONDS_PER_PLAY, boards_reached=boards if delivered else 0,
                  boards=boards, first_start=min(firsts, default=None), last_end=max(lasts, default=None))


def _scope(start: date, end: date) -> Scope:
    return Scope(
        plan_number="81/KH-STNMT", plan_title="Kế hoạch truyền thông về tài nguyên và môi trường năm 2024",
        task="Hưởng ứng Chiến dịch Giờ Trái Đất năm 2024", lead_unit="Văn phòng Sở",
        period_text="Tháng 3/2024", date_from=start, date_to=end, campaign_id=1,
        campaigns=((1, "Hưởng ứng Chiến dịch Giờ Trái Đất năm 2024"),),
        organisation="Sở Tài nguyên và Môi trường", province="Bà Rịa – Vũng Tàu")


def assemble(scope: Scope, boards: list[tuple[int, str, str, str]], cells: dict[tuple[int, date], _Cell],
             days: list[date], gaps: tuple[Gap, ...] = (), chains: tuple[ChainRow, ...] = (),
             frames: tuple[Frame, ...] = ()) -> AcceptanceReport:
    """A report whose board rows, day rows and totals are the sums of `cells`."""
    board_rows = []
    for screen_id, code, name, group in boards:
        own = [cells[(screen_id, day)] for day in days if (screen_id, day) in cells]
        board_rows.append(BoardRow(screen_id=screen_id, code=code, name=name, group=group,
                                   address=f"{group}, {scope.province}",
                                   totals=_totals(own, 1),
                                   days_played=sum(1 for c in own if c.delivered)))
    day_rows = []
    for day in days:
        own = [cells[(b[0], day)] for b in boards if (b[0], day) in cells]
        t = _totals(own, len(boards))
        day_rows.append(DayRow(day=day, totals=Totals(
            t.planned, t.delivered, t.airtime_seconds, sum(1 for c in own if c.delivered), len(boards),
            t.first_start, t.last_end)))
    everything = _totals(list(cells.values()), len(boards))
    totals = Totals(everything.planned, everything.delivered, everything.airtime_seconds,
                    sum(1 for row in board_rows if row.totals.delivered), len(boards),
                    everything.first_start, everything.last_end)
    return AcceptanceReport(scope=scope, generated_at=datetime.combine(days[-1] if days else scope.date_to,
                                                                       time(3, 15), UTC) + timedelta(days=1),
                            totals=totals, boards=tuple(board_rows), days=tuple(day_rows),
                            hours=tuple(0 for _ in range(24)), gaps=gaps, chains=chains, frames=frames)


def sample_report(board_count: int = len(BOARD_NAMES), day_count: int = 35, seed: int = 81) -> AcceptanceReport:
    """A month-and-a-bit campaign on several boards, with gaps of every kind, one altered chain and a frame."""
    rng = random.Random(seed)
    start = date(2024, 3, 1)
    days = [start + timedelta(days=n) for n in range(day_count)]
    boards = []
    for index in range(board_count):
        if index < len(BOARD_NAMES):
            code, name, group = BOARD_NAMES[index]
        else:
            code, name, group = (f"BL-{index + 1:03d}", f"Bảng LED số {index + 1} – Phường Thắng Tam",
                                 "Thành phố Vũng Tàu")
        boards.append((index + 1, code, name, group))
    cells: dict[tuple[int, date], _Cell] = {}
    gaps: list[Gap] = []
    for screen_id, code, name, _group in boards:
        for day in days:
            planned = PLAYS_PER_DAY
            delivered = planned if rng.random() > 0.12 else planned - rng.randint(4, 40)
            # local midnight is 17:00 UTC the day before
            first = datetime.combine(day, time(0), UTC) - timedelta(hours=7) + timedelta(minutes=rng.randint(0, 9))
            last = first + timedelta(hours=23, minutes=50)
            cells[(screen_id, day)] = _Cell(planned, delivered, first, last)
            if delivered < planned:
                kind = GAP_KINDS[(screen_id + day.day) % len(GAP_KINDS)]
                gaps.append(Gap(screen_id=screen_id, code=code, name=name, day=day, kind=kind,
                                hours=GAP_HOURS[kind], planned=planned, delivered=delivered, dark_hours=6.0))
    if boards:  # one board switched off for two whole days
        screen_id, code, name, _group = boards[-1]
        for day in days[10:12]:
            cells[(screen_id, day)] = _Cell(PLAYS_PER_DAY, 0, None, None)
            gaps.append(Gap(screen_id=screen_id, code=code, name=name, day=day, kind="offline",
                            hours="00:00–24:00", planned=PLAYS_PER_DAY, delivered=0, dark_hours=6.0))
    gaps.sort(key=lambda g: (g.day, g.screen_id))
    chains = tuple(
        ChainRow(screen_id=screen_id, code=code, name=name, ok=screen_id != 2,
                 entries=sum(cells[(screen_id, d)].delivered for d in days),
                 head_hash=f"{rng.getrandbits(256):064x}",
                 problem="" if screen_id != 2 else "Bản ghi số 1.234 (15/03/2024 09:30) đã bị sửa: mã băm không khớp")
        for screen_id, code, name, _group in boards)
    frames = tuple(Frame(screen_id=b[0], code=b[1], name=b[2],
                         taken_at=datetime(2024, 3, 23, 13, 30 + n, tzinfo=UTC), png=frame_png(b[1]))
                   for n, b in enumerate(boards[:4]))
    return assemble(_scope(start, days[-1]), boards, cells, days, tuple(gaps), chains, frames)


def empty_report() -> AcceptanceReport:
    """No boards and no plays: a campaign nobody scheduled."""
    scope = _scope(date(2024, 6, 1), date(2024, 6, 5))
    empty = Totals(0, 0, 0.0, 0, 0, None, None)
    return AcceptanceReport(scope=scope, generated_at=datetime(2024, 6, 6, 2, 0, tzinfo=UTC), totals=empty,
                            boards=(), days=(), hours=(0,) * 24, gaps=(), chains=())


VIETNAMESE_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
NAME_ALPHABET = VIETNAMESE_LETTERS + VIETNAMESE_LETTERS.upper() + "0123456789 –-,.()="


@st.composite
def reports(draw: st.DrawFn, max_boards: int = 6, max_days: int = 12) -> AcceptanceReport:
    """Random but consistent reports: any names, any counts, days and boards without plays."""
    board_count = draw(st.integers(0, max_boards))
    day_count = draw(st.integers(1, max_days))
    start = draw(st.dates(date(2023, 1, 1), date(2026, 12, 31)))
    days = [start + timedelta(days=n) for n in range(day_count)]
    names = draw(st.lists(st.text(NAME_ALPHABET, min_size=1, max_size=40).map(str.strip).filter(bool),
                          min_size=board_count, max_size=board_count))
    boards = [(n + 1, f"B{n + 1}", name, draw(st.sampled_from(["", "Quận 1", "Huyện Côn Đảo"])))
              for n, name in enumerate(names)]
    cells = {}
    for screen_id, *_ in boards:
        for day in days:
            planned = draw(st.integers(0, 20_000))
            delivered = draw(st.integers(0, 20_000))
            moment = datetime.combine(day, time(1), UTC)
            cells[(screen_id, day)] = _Cell(planned, delivered, moment if delivered else None,
                                            moment + timedelta(hours=20) if delivered else None)
    return assemble(_scope(start, days[-1]), boards, cells, days)
