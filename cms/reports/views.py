"""The acceptance report page (filters, charts, tables) and its CSV, XLSX and PDF downloads.

The figures come from `cms.services.acceptance.build_report`, the files from
`cms.services.report_exports`, so the page and every download agree. The charts are
inline SVG placed by attributes and coloured by CSS classes (the CSP forbids inline
styles). Comms staff, approvers and auditors use it; operators run boards, not payments.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext
from sqlalchemy import select

from cms.access import roles_required
from cms.errors import PanoledError, ValidationFailed
from cms.extensions import db
from cms.models import Campaign, Plan
from cms.services.acceptance import AcceptanceReport, Scope, build_report, scope_for
from cms.services.report_exports import FORMATS, export, file_name

bp = Blueprint("reports", __name__, url_prefix="/reports")
READERS = ("editor", "approver", "auditor")


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    delivered_y: float
    delivered_h: float
    planned_y: float | None
    label: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]  # (y, label) of the value axis
    labels_every: int


def _chart(values: list[tuple[str, str, int, int | None]], width: int = 960, height: int = 220) -> Chart:
    """Bars of delivered plays with the planned figure as a marker: (label, title, delivered, planned)."""
    top, bottom, left = 10, 24, 48
    peak = max([1] + [v for _, _, d, p in values for v in (d, p or 0)])
    scale = (height - top - bottom) / peak
    step = (width - left) / max(len(values), 1)
    bars = []
    for n, (label, title, delivered, planned) in enumerate(values):
        h = delivered * scale
        bars.append(Bar(round(left + n * step + step * 0.15, 2), round(step * 0.7, 2), round(height - bottom - h, 2),
                        round(h, 2), round(height - bottom - planned * scale, 2) if planned else None, label, title))
    ticks = tuple((round(height - bottom - peak * f * scale, 2), f"{round(peak * f):,}".replace(",", "."))
                  for f in (0, 0.5, 1))
    return Chart(width, height, tuple(bars), ticks, max(1, len(values) // 15))


def _choices() -> tuple[list[Plan], list[Campaign]]:
    plans = list(db.session.scalars(select(Plan).order_by(Plan.number)))
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.plan_id, Campaign.number, Campaign.id)))
    return plans, campaigns


def _scope_from_args() -> Scope | None:
    """The report asked for in the query string; None when nothing was asked yet."""
    what, first, last = request.args.get("scope", ""), request.args.get("from", ""), request.args.get("to", "")
    if not what:
        return None
    try:
        date_from, date_to = date.fromisoformat(first), date.fromisoformat(last)
        kind, _, number = what.partition(":")
        ident = int(number)
    except ValueError:
        raise ValidationFailed("Choose a campaign or a plan and two dates.", code="report_scope") from None
    if kind not in ("campaign", "plan"):
        raise ValidationFailed("Choose a campaign or a plan and two dates.", code="report_scope")
    config = current_app.config["PANOLED"]
    return scope_for(config, date_from, date_to, **({"campaign_id": ident} if kind == "campaign" else {"plan_id": ident}))


@bp.route("/acceptance")
@roles_required(*READERS)
def acceptance() -> str:
    config = current_app.config["PANOLED"]
    plans, campaigns = _choices()
    today = datetime.now(config.tz).date()
    error, report = None, None
    try:
        scope = _scope_from_args()
        if scope is not None:
            # A page re-checks what came since the last verification (the scheduler verifies
            # every chain whole each day; the CLI checks everything), so it answers at once.
            report = build_report(config, scope, datetime.now(UTC), since_last_check=True)
    except PanoledError as failure:
        from cms.web import translated

        error = translated(failure)
    return render_template(
        "reports/acceptance.html", plans=plans, campaigns=campaigns, report=report, error=error,
        chosen=request.args.get("scope", ""), first=request.args.get("from") or (today - timedelta(days=29)).isoformat(),
        last=request.args.get("to") or today.isoformat(), formats=list(FORMATS),
        daily=_daily_chart(report) if report else None, hourly=_hourly_chart(report) if report else None,
        frames=[(f, base64.b64encode(f.png).decode("ascii")) for f in report.frames] if report else [],
        query={k: request.args.get(k, "") for k in ("scope", "from", "to")})


def _daily_chart(report: AcceptanceReport) -> Chart:
    return _chart([(f"{d.day:%d/%m}", gettext("%(day)s: %(delivered)d of %(planned)d planned", day=f"{d.day:%d/%m/%Y}",
                                                delivered=d.totals.delivered, planned=d.totals.planned),
                    d.totals.delivered, d.totals.planned) for d in report.days])


def _hourly_chart(report: AcceptanceReport) -> Chart:
    return _chart([(f"{h:02d}", gettext("%(hour)s: %(plays)d plays", hour=f"{h:02d}:00", plays=n), n, None)
                   for h, n in enumerate(report.hours)], height=160)


@bp.route("/acceptance/download")
@roles_required(*READERS)
def download() -> Response:
    fmt = request.args.get("format", "")
    if fmt not in FORMATS:
        raise ValidationFailed("Choose a campaign or a plan and two dates.", code="report_scope")
    scope = _scope_from_args()
    if scope is None:
        raise ValidationFailed("Choose a campaign or a plan and two dates.", code="report_scope")
    config = current_app.config["PANOLED"]
    report = build_report(config, scope, datetime.now(UTC), since_last_check=True)  # as the page; the file says so
    data, media_type = export(report, fmt, config.tz)
    response = Response(data, content_type=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name(report, fmt)}"'
    response.headers["Cache-Control"] = "no-store"
    return response
