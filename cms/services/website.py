"""The department's website: what is public, and the posts that put things there.

Every public page, feed, widget and export asks this module what it may show, and
nothing else is public:
- an asset on its campaign's page: approved, marked for the website, with alt text;
- a post: published; of its media, those still approved and with alt text;
- a campaign page: a campaign with such an asset or a published post;
- a plan page: a plan with such a campaign.
So an asset rejected, archived or sent back to review, or a post taken down, leaves
every public surface at once, without anyone having to remember to remove it.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select

from cms.errors import ApprovalNotAllowed, NotFound, ValidationFailed
from cms.extensions import db
from cms.models import Campaign, MediaAsset, Plan, WebPost, WebPostMedia
from cms.services.audit import Actor, record

TITLE_MAX = 200
SUMMARY_MAX = 600
BODY_MAX = 20_000
MEDIA_MAX = 12

# (from, to): roles allowed. Admin may do everything; nobody approves a post they wrote or changed.
POST_TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("draft", "pending"): frozenset({"editor"}),
    ("rejected", "pending"): frozenset({"editor"}),
    ("unpublished", "pending"): frozenset({"editor"}),
    ("pending", "draft"): frozenset({"editor"}),
    ("pending", "approved"): frozenset({"approver"}),
    ("pending", "rejected"): frozenset({"approver"}),
    ("approved", "published"): frozenset({"editor", "approver"}),
    ("published", "unpublished"): frozenset({"editor", "approver"}),
}


def _shown() -> Any:
    """An asset the website may show at all: approved and described."""
    return and_(MediaAsset.status == "approved", MediaAsset.alt_text != "")


def _published_post_with(asset_id: Any) -> Any:
    return exists().where(WebPostMedia.asset_id == asset_id, WebPostMedia.post_id == WebPost.id,
                          WebPost.status == "published")


def public_assets(campaign_id: int) -> list[MediaAsset]:
    """The campaign page's media, oldest first."""
    return list(db.session.scalars(select(MediaAsset).where(
        MediaAsset.campaign_id == campaign_id, MediaAsset.web_public.is_(True), _shown()).order_by(MediaAsset.id)))


def post_media(post: WebPost) -> list[MediaAsset]:
    """The media a post shows: those of its choice the website may still show."""
    return [link.asset for link in post.media_links if link.asset.status == "approved" and link.asset.alt_text]


def public_asset(token: str) -> MediaAsset | None:
    """The asset served under this public name, if anything public shows it now."""
    if not token or len(token) > 32:
        return None
    return db.session.scalar(select(MediaAsset).where(
        MediaAsset.web_token == token, _shown(),
        or_(MediaAsset.web_public.is_(True), _published_post_with(MediaAsset.id))))


def public_posts(campaign_id: int | None = None, plan_id: int | None = None, limit: int | None = None) -> list[WebPost]:
    """Published posts, newest first."""
    query = select(WebPost).where(WebPost.status == "published")
    if campaign_id is not None:
        query = query.where(WebPost.campaign_id == campaign_id)
    if plan_id is not None:
        query = query.join(Campaign, Campaign.id == WebPost.campaign_id).where(Campaign.plan_id == plan_id)
    query = query.order_by(WebPost.published_at.desc(), WebPost.id.desc())
    return list(db.session.scalars(query.limit(limit) if limit else query))


def public_post(post_id: int) -> WebPost:
    post = db.session.get(WebPost, post_id)
    if post is None or post.status != "published":
        raise NotFound("No such page.", code="not_public")
    return post


def _is_public_campaign() -> Any:
    return or_(
        exists().where(MediaAsset.campaign_id == Campaign.id, MediaAsset.web_public.is_(True), _shown()),
        exists().where(WebPost.campaign_id == Campaign.id, WebPost.status == "published"))


def public_campaigns(plan_id: int | None = None) -> list[Campaign]:
    query = select(Campaign).where(_is_public_campaign())
    if plan_id is not None:
        query = query.where(Campaign.plan_id == plan_id)
    return list(db.session.scalars(query.order_by(Campaign.plan_id, Campaign.number, Campaign.id)))


def public_campaign(campaign_id: int) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.id == campaign_id, _is_public_campaign()))
    if campaign is None:
        raise NotFound("No such page.", code="not_public")
    return campaign


def public_plans() -> list[Plan]:
    return list(db.session.scalars(select(Plan).where(
        exists().where(Campaign.plan_id == Plan.id, _is_public_campaign())).order_by(Plan.year.desc(), Plan.id.desc())))


def public_plan(plan_id: int) -> Plan:
    plan = db.session.scalar(select(Plan).where(Plan.id == plan_id, exists().where(
        Campaign.plan_id == Plan.id, _is_public_campaign())))
    if plan is None:
        raise NotFound("No such page.", code="not_public")
    return plan


def last_change(campaigns: Iterable[Campaign], posts: Iterable[WebPost], assets: Iterable[MediaAsset]) -> datetime | None:
    """When what a public page shows last changed (its Last-Modified)."""
    moments = [c.updated_at for c in campaigns] + [p.updated_at for p in posts] + [a.updated_at for a in assets]
    return max((m for m in moments if m is not None), default=None)


# Staff side ---------------------------------------------------------------------------------------


def ensure_token(asset: MediaAsset) -> str:
    if not asset.web_token:
        asset.web_token = secrets.token_urlsafe(18)
    return asset.web_token


def set_web_public(asset: MediaAsset, public: bool, actor: Actor) -> None:
    """Put the asset on its campaign's public page, or take it off."""
    if public and asset.status != "approved":
        raise ApprovalNotAllowed("Only approved media can go on the website.", code="web_not_approved")
    if public and not asset.alt_text.strip():
        raise ValidationFailed("Describe the media (alt text) before it goes on the website.", code="web_alt_required")
    if public != asset.web_public:
        record(actor, "website.media", "media", asset.id, public=public)
        asset.web_public = public
        if public:
            ensure_token(asset)


def get_post(post_id: int) -> WebPost:
    post = db.session.get(WebPost, post_id)
    if post is None:
        raise NotFound("No post with id %(id)s.", code="post_not_found", id=post_id)
    return post


def list_posts(campaign_id: int) -> list[WebPost]:
    return list(db.session.scalars(select(WebPost).where(WebPost.campaign_id == campaign_id)
                                   .order_by(WebPost.id.desc())))


def save_post(post: WebPost | None, campaign_id: int, title: str, summary: str, body: str, asset_ids: list[int],
              actor: Actor) -> WebPost:
    """Create or change a post. A post changed after it was submitted goes back to draft
    (and off the website if it was there): what an approver approved is what is published."""
    title, summary, body = " ".join(title.split()), summary.strip(), body.strip().replace("\r\n", "\n")
    if not title:
        raise ValidationFailed("A post needs a title.", code="post_title_required")
    for key, value, limit in (("title", title, TITLE_MAX), ("summary", summary, SUMMARY_MAX), ("body", body, BODY_MAX)):
        if len(value) > limit:
            raise ValidationFailed("%(key)s is longer than %(limit)d characters.", code="field_too_long", key=key,
                                   limit=limit)
    if len(asset_ids) > MEDIA_MAX:
        raise ValidationFailed("At most %(limit)d media in a post.", code="post_too_many_media", limit=MEDIA_MAX)
    chosen = list(dict.fromkeys(asset_ids))
    assets = {a.id: a for a in db.session.scalars(select(MediaAsset).where(MediaAsset.id.in_(chosen)))}
    for asset_id in chosen:
        asset = assets.get(asset_id)
        if asset is None or asset.campaign_id != campaign_id:
            raise ValidationFailed("Media %(id)s is not this campaign's.", code="post_media_invalid", id=asset_id)
        if asset.status != "approved" or not asset.alt_text.strip():
            raise ValidationFailed("Media %(id)s is not approved with alt text, so it cannot go on the website.",
                                   code="post_media_not_public", id=asset_id)
    if post is None:
        if db.session.get(Campaign, campaign_id) is None:
            raise NotFound("No campaign with id %(id)s.", code="campaign_not_found", id=campaign_id)
        post = WebPost(campaign_id=campaign_id, title=title, summary=summary, body=body, status="draft",
                       created_by_id=actor.user_id, changed_by_id=actor.user_id, rejection_reason="")
        db.session.add(post)
        db.session.flush()
        record(actor, "website.post.create", "web_post", post.id, title=title)
    else:
        before = (post.title, post.summary, post.body, [link.asset_id for link in post.media_links])
        if before == (title, summary, body, chosen):
            return post
        post.title, post.summary, post.body, post.changed_by_id = title, summary, body, actor.user_id
        post.media_links.clear()
        db.session.flush()
        if post.status != "draft":
            record(actor, "website.post.status", "web_post", post.id, before=post.status, after="draft",
                   reason="changed")
            post.status, post.publish_at, post.rejection_reason = "draft", None, ""
        record(actor, "website.post.change", "web_post", post.id, title=title)
    for position, asset_id in enumerate(chosen):
        post.media_links.append(WebPostMedia(asset=assets[asset_id], position=position))
    return post


def _own(post: WebPost, actor: Actor) -> bool:
    return actor.user_id is not None and actor.user_id in (post.created_by_id, post.changed_by_id)


def allowed_moves(post: WebPost, actor: Actor) -> list[str]:
    return [to for (frm, to), roles in POST_TRANSITIONS.items()
            if frm == post.status and (actor.role == "admin" or actor.role in roles)
            and not (to == "approved" and _own(post, actor))]


def move(post: WebPost, to_status: str, actor: Actor, now: datetime, reason: str = "",
         publish_at: datetime | None = None) -> None:
    """Move a post on. Publishing with a `publish_at` after `now` schedules it: it stays
    approved until the scheduler publishes it then (`publish_due`). Taking a scheduled post
    down before its time cancels the schedule."""
    if to_status == "unpublished" and post.status == "approved" and post.publish_at is not None:
        record(actor, "website.post.unschedule", "web_post", post.id, publish_at=post.publish_at.isoformat())
        post.publish_at = None
        return
    roles = POST_TRANSITIONS.get((post.status, to_status))
    if roles is None:
        raise ApprovalNotAllowed("A post cannot go from %(from)s to %(to)s.", **{"from": post.status, "to": to_status})
    if actor.role != "admin" and actor.role not in roles:
        raise ApprovalNotAllowed("Your role cannot move a post from %(from)s to %(to)s.", code="approval_forbidden",
                                 **{"from": post.status, "to": to_status})
    if to_status == "approved" and _own(post, actor):
        raise ApprovalNotAllowed("Nobody approves their own post; another approver must review it.",
                                 code="approval_own_post")
    reason = reason.strip()
    if to_status == "rejected" and not reason:
        raise ValidationFailed("Say why the post is rejected.", code="post_reason_required")
    if to_status == "published" and publish_at is not None and publish_at > now:
        record(actor, "website.post.schedule", "web_post", post.id, publish_at=publish_at.astimezone(UTC).isoformat())
        post.publish_at = publish_at
        return
    record(actor, "website.post.status", "web_post", post.id, before=post.status, after=to_status, reason=reason[:2000])
    if to_status in ("approved", "rejected"):
        post.reviewed_by_id, post.reviewed_at = actor.user_id, now
    post.rejection_reason = reason[:2000] if to_status == "rejected" else ""
    if to_status == "published":
        _publish(post, now)
    else:
        post.status, post.publish_at = to_status, None


def _publish(post: WebPost, now: datetime) -> None:
    post.status, post.publish_at = "published", None
    post.published_at = post.published_at or now
    for link in post.media_links:
        ensure_token(link.asset)


def publish_due(now: datetime) -> list[int]:
    """Publish the approved posts whose time has come (the scheduler calls this); commits."""
    due = list(db.session.scalars(select(WebPost).where(WebPost.status == "approved", WebPost.publish_at.is_not(None),
                                                        WebPost.publish_at <= now).order_by(WebPost.publish_at)))
    actor = Actor(label="scheduler", role="admin")
    for post in due:
        record(actor, "website.post.status", "web_post", post.id, before="approved", after="published",
               publish_at=post.publish_at.astimezone(UTC).isoformat() if post.publish_at else None)
        _publish(post, now)
    db.session.commit()
    return [post.id for post in due]

