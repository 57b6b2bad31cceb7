"""Words shown for stored codes (channels, statuses, roles), in the user's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

CHANNEL_LABELS = {
    "panoled": _l("Panoled LED boards"),
    "website": _l("Website"),
    "press": _l("Press, radio and TV"),
    "social": _l("Social media"),
    "videoclip": _l("Videoclips"),
    "poster": _l("Posters"),
    "banner": _l("Banners"),
    "conference": _l("Conferences"),
    "training": _l("Training"),
    "event": _l("Events"),
}

STATUS_LABELS = {
    "draft": _l("Draft"),
    "planned": _l("Planned"),
    "approved": _l("Approved"),
    "running": _l("Running"),
    "done": _l("Done"),
    "accepted": _l("Accepted"),
}

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "editor": _l("Editor (comms staff)"),
    "approver": _l("Approver"),
    "operator": _l("Screen operator"),
    "auditor": _l("Auditor"),
}


MEDIA_STATUS_LABELS = {
    "draft": _l("Draft"),
    "pending": _l("Waiting for approval"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "archived": _l("Archived"),
}

POST_STATUS_LABELS = {
    "draft": _l("Draft"),
    "pending": _l("Waiting for approval"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "published": _l("On the website"),
    "unpublished": _l("Taken down"),
}

MEDIA_KIND_LABELS = {
    "video": _l("Videoclip"),
    "poster": _l("Poster"),
    "banner": _l("Banner"),
}

MEDIA_ACTIONS = {
    "pending": _l("Send for approval"),
    "approved": _l("Approve"),
    "rejected": _l("Reject"),
    "archived": _l("Archive"),
    "draft": _l("Back to draft"),
}

SEGMENT_LABELS = {
    "interrupt": _l("Emergency message"),
    "scheduled": _l("Scheduled"),
    "fill": _l("Filling time"),
    "fallback": _l("The board's own playlist"),
    "idle": _l("Nothing scheduled"),
}

PUSH_RESULT_LABELS = {
    "ok": _l("delivered"),
    "stale": _l("board has a newer one"),
    "retry": _l("unreachable"),
    "timeout": _l("no answer in time"),
    "rejected": _l("refused"),
}

ACTION_LABELS = {
    "media.upload": _l("Uploaded"),
    "media.banner": _l("Banner created"),
    "media.fit": _l("Placement changed"),
    "media.replace": _l("File replaced"),
    "media.status": _l("Status changed"),
    "media.alt_text": _l("Description for the website changed"),
    "campaign.create": _l("Created"),
    "campaign.edit": _l("Edited"),
    "campaign.import": _l("Imported from the plan"),
    "campaign.status": _l("Status changed"),
}

FIELD_LABELS = {
    "plan_number": _l("Plan"),
    "number": _l("Order number in the plan"),
    "title": _l("Title"),
    "lead_unit": _l("Lead unit"),
    "partner_units": _l("Coordinating units"),
    "form_text": _l("Forms of delivery"),
    "channels": _l("Channels"),
    "period_text": _l("Period"),
    "period_start": _l("Starts on"),
    "period_end": _l("Ends on"),
    "period_flagged": _l("Period to check"),
    "description": _l("Description"),
}


def field_label(key: str) -> str:
    return str(FIELD_LABELS.get(key, key))


def channel_label(code: str) -> str:
    return str(CHANNEL_LABELS.get(code, code))


def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))


def role_label(code: str) -> str:
    return str(ROLE_LABELS.get(code, code))


def post_status_label(code: str) -> str:
    return str(POST_STATUS_LABELS.get(code, code))


def media_status_label(code: str) -> str:
    return str(MEDIA_STATUS_LABELS.get(code, code))


def media_kind_label(code: str) -> str:
    return str(MEDIA_KIND_LABELS.get(code, code))


def media_action_label(code: str) -> str:
    return str(MEDIA_ACTIONS.get(code, code))


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


def push_result_label(code: str) -> str:
    return str(PUSH_RESULT_LABELS.get(code, code))


def segment_label(code: str) -> str:
    return str(SEGMENT_LABELS.get(code, code))


GAP_LABELS = {
    "offline": _l("Board off or cut off: it reported nothing at all in those hours"),
    "not_reported": _l("Not reported yet: after the newest play the board has sent"),
    "short": _l("Fewer plays than planned while the board was on"),
}


def gap_label(code: str) -> str:
    return str(GAP_LABELS.get(code, code))
