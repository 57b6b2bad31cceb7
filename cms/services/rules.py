"""Schedule rules: made by editors, interrupts approved by someone else, and turned
into the resolver's rules for the boards they touch."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from sqlalchemy import select

from cms.errors import ApprovalNotAllowed, NotFound, ValidationFailed
from cms.extensions import db
from cms.models import Playlist, ScheduleRule, Screen
from cms.models.types import utcnow
from cms.services.audit import Actor, record
from cms.services.playlists import get_playlist
from scheduler.model import DailyWindow, Item, Rule
from scheduler.model import Playlist as PlanPlaylist

HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class RuleInput:
    playlist_id: int
    board_ids: tuple[int, ...] = ()
    groups: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    windows: tuple[tuple[str, str], ...] = ()
    priority: int = 0
    plays_per_hour: int | None = None
    share_of_voice: float | None = None
    interrupt: bool = False
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def create_rule(data: RuleInput, actor: Actor) -> ScheduleRule:
    playlist = get_playlist(data.playlist_id)
    _check(data)
    rule = ScheduleRule(
        playlist_id=playlist.id, board_ids=sorted(set(data.board_ids)), groups=sorted(set(data.groups)),
        date_from=data.date_from, date_to=data.date_to, weekdays=sorted(set(data.weekdays)),
        windows=[list(w) for w in data.windows], priority=data.priority, plays_per_hour=data.plays_per_hour,
        share_of_voice=data.share_of_voice, interrupt=data.interrupt, created_by_id=actor.user_id, note=data.note[:500],
    )
    db.session.add(rule)
    db.session.flush()
    record(actor, "rule.create", "rule", rule.id, playlist_id=playlist.id, interrupt=data.interrupt,
           boards=rule.board_ids, groups=rule.groups)
    return rule


def approve_interrupt(rule: ScheduleRule, actor: Actor) -> None:
    if not rule.interrupt:
        raise ValidationFailed("Only interrupt rules need approval.", code="rule_not_interrupt")
    if actor.role not in ("admin", "approver"):
        raise ApprovalNotAllowed("Only an approver may put an interrupt on the boards.", code="rule_approval_forbidden")
    if actor.user_id is not None and actor.user_id == rule.created_by_id:
        raise ApprovalNotAllowed("Nobody approves their own interrupt; another approver must.", code="rule_approval_own")
    rule.approved_by_id, rule.approved_at = actor.user_id, utcnow()
    record(actor, "rule.approve", "rule", rule.id)


def delete_rule(rule: ScheduleRule, actor: Actor) -> None:
    """Take a rule off the boards for good; the audit log keeps what it was."""
    record(actor, "rule.delete", "rule", rule.id, **describe_rule(rule))
    db.session.delete(rule)


def parse_windows(text: str) -> tuple[tuple[str, str], ...]:
    """Daily windows as people write them: "07:00-09:00, 22:00-02:00" (a window may cross
    midnight; commas, semicolons or new lines between windows; 7:00 reads as 07:00)."""
    windows = []
    for part in re.split(r"[,;\n]+", text):
        if not part.strip():
            continue
        start, sep, end = part.replace("\u2013", "-").replace("\u2014", "-").partition("-")
        if not sep:
            raise ValidationFailed("Time windows are written like 07:00-09:00.", code="rule_window_invalid")
        windows.append((_hhmm(start), _hhmm(end)))
    return tuple(windows)


def effective_dates(rule: ScheduleRule) -> tuple[date | None, date | None]:
    """The rule's own dates, or else its campaign's period."""
    campaign = rule.playlist.campaign
    return rule.date_from or campaign.period_start, rule.date_to or campaign.period_end


def why_not_in_effect(rule: ScheduleRule) -> str | None:
    """Why the boards do not get this rule, as a stable code; None when they do."""
    playlist: Playlist = rule.playlist
    if playlist.status != "published":
        return "playlist_draft"
    if rule.interrupt and rule.approved_at is None:
        return "awaiting_approval"
    if not any(i.asset.status == "approved" for i in playlist.items):
        return "no_approved_media"
    date_from, date_to = effective_dates(rule)
    if date_from is None or date_to is None:
        return "no_dates"
    return None


def get_rule(rule_id: int) -> ScheduleRule:
    rule = db.session.get(ScheduleRule, rule_id)
    if rule is None:
        raise NotFound("No schedule rule with id %(id)s.", code="rule_not_found", id=rule_id)
    return rule


def list_rules() -> list[ScheduleRule]:
    return list(db.session.scalars(select(ScheduleRule).order_by(ScheduleRule.id)))


def describe_rule(rule: ScheduleRule) -> dict[str, Any]:
    return {
        "id": rule.id, "playlist_id": rule.playlist_id, "board_ids": rule.board_ids, "groups": rule.groups,
        "date_from": rule.date_from.isoformat() if rule.date_from else None,
        "date_to": rule.date_to.isoformat() if rule.date_to else None,
        "weekdays": rule.weekdays, "windows": rule.windows, "priority": rule.priority,
        "plays_per_hour": rule.plays_per_hour, "share_of_voice": rule.share_of_voice, "interrupt": rule.interrupt,
        "approved": rule.approved_at is not None, "in_effect": resolver_rule(rule) is not None, "note": rule.note,
    }


def resolver_rules(screens: list[Screen]) -> list[Rule]:
    """The rules in effect on these boards, as the resolver takes them: published
    playlists of approved media only, within the campaign's period unless the rule
    names dates, interrupts only once approved."""
    ids = {s.id for s in screens}
    groups = {s.group_name for s in screens if s.group_name}
    wanted = [r for r in list_rules() if ids & set(r.board_ids) or groups & set(r.groups)]
    return [rule for rule in map(resolver_rule, wanted) if rule is not None]


def resolver_rule(rule: ScheduleRule) -> Rule | None:
    if why_not_in_effect(rule) is not None:
        return None
    playlist: Playlist = rule.playlist
    items = tuple(Item(asset_id=i.asset_id, campaign_id=playlist.campaign_id, duration=i.seconds)
                  for i in playlist.items if i.asset.status == "approved")
    date_from, date_to = effective_dates(rule)
    assert date_from is not None and date_to is not None  # why_not_in_effect checked them
    return Rule(
        rule_id=rule.id, playlist=PlanPlaylist(playlist_id=playlist.id, items=items), date_from=date_from, date_to=date_to,
        board_ids=tuple(rule.board_ids), groups=tuple(rule.groups), weekdays=tuple(rule.weekdays),
        windows=tuple(DailyWindow(_time(a), _time(b)) for a, b in rule.windows), priority=rule.priority,
        plays_per_hour=rule.plays_per_hour, share_of_voice=rule.share_of_voice, interrupt=rule.interrupt,
    )


def _time(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    return time(hours % 24, minutes)  # 24:00 as an end is midnight, which DailyWindow reads as "until midnight"


def _hhmm(text: str) -> str:
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(hours) > 2:
        raise ValidationFailed("Time windows are written like 07:00-09:00.", code="rule_window_invalid")
    return f"{int(hours):02d}:{minutes}"


def _check(data: RuleInput) -> None:
    if not data.board_ids and not data.groups:
        raise ValidationFailed("A rule needs at least one board or board group.", code="rule_no_boards")
    unknown = [b for b in data.board_ids if db.session.get(Screen, b) is None]
    if unknown:
        raise NotFound("No board %(ident)s.", code="screen_not_found", ident=", ".join(map(str, unknown)))
    if not data.weekdays or any(d not in range(7) for d in data.weekdays):
        raise ValidationFailed("Weekdays are 0 (Monday) to 6 (Sunday).", code="rule_weekdays_invalid")
    for start, end in data.windows:
        if not HHMM.match(start) or not (HHMM.match(end) or end == "24:00") or start == end:
            raise ValidationFailed("Time windows are written like 07:00-09:00.", code="rule_window_invalid")
    if data.date_from and data.date_to and data.date_from > data.date_to:
        raise ValidationFailed("The rule's dates end before they start.", code="rule_dates_invalid")
    if data.plays_per_hour is not None and data.share_of_voice is not None:
        raise ValidationFailed("Give plays per hour or share of voice, not both.", code="rule_quota_invalid")
    if data.plays_per_hour is not None and not 1 <= data.plays_per_hour <= 360:
        raise ValidationFailed("Plays per hour is between 1 and 360.", code="rule_quota_invalid")
    if data.share_of_voice is not None and not 0 < data.share_of_voice <= 1:
        raise ValidationFailed("Share of voice is more than 0 and at most 1.", code="rule_quota_invalid")
    if data.interrupt and (data.plays_per_hour is not None or data.share_of_voice is not None):
        raise ValidationFailed("An interrupt takes the whole screen; it has no quota.", code="rule_quota_invalid")


def resolver_playlist(playlist: Playlist | None) -> PlanPlaylist | None:
    """A board's fallback: a published playlist's approved items, or None if nothing can play."""
    if playlist is None or playlist.status != "published":
        return None
    items = tuple(Item(asset_id=i.asset_id, campaign_id=playlist.campaign_id, duration=i.seconds)
                  for i in playlist.items if i.asset.status == "approved")
    return PlanPlaylist(playlist_id=playlist.id, items=items) if items else None
