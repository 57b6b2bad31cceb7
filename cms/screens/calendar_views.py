"""Schedule pages: a board's (or a board group's) week calendar and the conflicts between rules.

Read-only views over resolved timelines (cms.services.calendars). The calendar is an
inline SVG placed by x/y/height attributes, coloured by CSS classes: the CSP forbids
inline styles.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request
from flask_babel import format_date, format_decimal, gettext

from cms.access import signed_in
from cms.services.calendars import (
    WeekCalendar, colour_class, conflicts, group_screens, legend_campaigns, local_today, parse_period, parse_week,
    week_calendars, week_code,
)
from cms.services.screens import get_screen, list_screens

bp = Blueprint("calendar", __name__, url_prefix="/schedule")


@dataclass(frozen=True)
class Geometry:
    """The week calendar's drawing, in SVG user units (the SVG scales to its box)."""

    width: int = 1200
    axis: int = 52
    header: int = 40
    hour: int = 19
    min_height: float = 2.5  # a 15-second pass is still a visible line

    @property
    def day_width(self) -> float:
        return (self.width - self.axis) / 7

    @property
    def height(self) -> int:
        return self.header + 24 * self.hour

    def x(self, column: int) -> float:
        return round(self.axis + column * self.day_width, 1)

    def y(self, hours: float) -> float:
        return round(self.header + hours * self.hour, 2)

    def h(self, top: float, bottom: float) -> float:
        return round(max((bottom - top) * self.hour, self.min_height), 2)


GEOMETRY = Geometry()


@bp.route("/boards/<int:screen_id>/week")
@signed_in
def board_week(screen_id: int) -> str:
    screen = get_screen(screen_id)
    monday = parse_week(request.args.get("week"), local_today(screen.timezone))
    return _week_page(week_calendars([screen], monday), monday, screen=screen)


@bp.route("/groups/<path:name>/week")
@signed_in
def group_week(name: str) -> str:
    screens = group_screens(name, list_screens())
    monday = parse_week(request.args.get("week"), local_today(screens[0].timezone))
    return _week_page(week_calendars(screens, monday), monday, group=screens[0].group_name)


def _week_page(calendars: list[WeekCalendar], monday: date, **context: object) -> str:
    legend = [(c, colour_class(c.id)) for c in legend_campaigns(calendars)]
    return render_template(
        "calendar/week.html", calendars=calendars, legend=legend, monday=monday, sunday=monday + timedelta(days=6),
        week=week_code(monday), previous_week=week_code(monday - timedelta(days=7)), next_week=week_code(monday + timedelta(days=7)),
        g=GEOMETRY, **context,
    )


@bp.route("/conflicts")
@signed_in
def conflicts_page() -> str:
    zone = current_app.config["PANOLED"].web.timezone
    first, last = parse_period(request.args.get("from"), request.args.get("to"), local_today(zone))
    return render_template("calendar/conflicts.html", boards=conflicts(list_screens(), first, last, zone),
                           first=first, last=last, week=week_code(first))


# --------------------------------------------------------------------------- words and numbers


@bp.app_template_filter("weekday")
def weekday(value: date) -> str:
    """The day's name in the user's language: 'Thứ Hai', 'Monday'."""
    return format_date(value, "EEEE")


@bp.app_template_filter("weekday_date")
def weekday_date(value: date) -> str:
    """'Thứ Hai 03/06' in Vietnamese, 'Monday 03/06' in English."""
    return format_date(value, "EEEE dd/MM")


@bp.app_template_filter("clock")
def clock(hours: float) -> str:
    """Hours from midnight as HH:MM (24:00 at the end of a day)."""
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@bp.app_template_filter("span")
def span(start: datetime, end: datetime) -> str:
    """Local '07:00–09:00'; with the dates when the span runs past midnight ('24:00' is midnight)."""
    if end.date() == start.date():
        return f"{start:%H:%M}–{end:%H:%M}"
    if end.date() == start.date() + timedelta(days=1) and end.time() == time(0):
        return f"{start:%H:%M}–24:00"
    return f"{start:%d/%m %H:%M}–{end:%d/%m %H:%M}"


@bp.app_template_filter("airtime")
def airtime(seconds: float) -> str:
    """A length of airtime as a person reads it: 2 h 05 min, 12 min, 45 s."""
    whole = round(seconds)
    if whole < 60:
        return gettext("%(s)d s", s=whole)
    hours, minutes = divmod(round(seconds / 60), 60)
    if not hours:
        return gettext("%(m)d min", m=minutes)
    return gettext("%(h)d h %(m)02d min", h=hours, m=minutes)


@bp.app_template_filter("percent")
def percent(value: float) -> str:
    return format_decimal(round(value, 1), "#,##0.#") + "%"
