"""The public website under /public/: plan and campaign pages, posts, their media, and
feeds (Atom, RFC 4287, and JSON Feed 1.1) any portal can take.

No login, no cookie, Vietnamese. Pages answer with an ETag over their body and a
Last-Modified from what they show, so a portal or a cache asks again cheaply (304).
What is public is decided in one place, cms.services.website; media are served under
each asset's unguessable public name, and only while something public shows them.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

from cms.access import public
from cms.assets.views import send_data_file
from cms.errors import NotFound
from cms.models import Campaign, MediaAsset, Plan, WebPost
from cms.services import web_media, website

bp = Blueprint("public", __name__, url_prefix="/public")

WIDTHS = web_media.WIDTHS
CACHE_SECONDS = 300
FEED_SIZE = 50


@bp.errorhandler(404)
@bp.errorhandler(NotFound)
def _missing(_error: Any) -> tuple[str, int]:
    """The website's own 'not found' page: no staff menu, no form, no cookie."""
    return render_template("public/missing.html"), 404


def _config() -> Any:
    return current_app.config["PANOLED"]


def _cacheable(body: str | bytes, mimetype: str, modified: datetime | None) -> Response:
    """A public answer that caches and revalidates: ETag over the body, Last-Modified, 304 when unchanged."""
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    if modified is not None:
        response.last_modified = modified.astimezone(UTC).replace(microsecond=0)
    response.add_etag()
    return response.make_conditional(request)


def _page(template: str, modified: datetime | None, **context: Any) -> Response:
    return _cacheable(render_template(template, **context), "text/html", modified)


@bp.route("/")
@public
def index() -> Response:
    plans = website.public_plans()
    campaigns = website.public_campaigns()
    posts = website.public_posts(limit=10)
    return _page("public/index.html", website.last_change(campaigns, posts, []), plans=plans, posts=posts,
                 loose=[c for c in campaigns if c.plan_id is None])


@bp.route("/plans/<int:plan_id>")
@public
def plan_page(plan_id: int) -> Response:
    plan = website.public_plan(plan_id)
    campaigns = website.public_campaigns(plan.id)
    posts = website.public_posts(plan_id=plan.id, limit=20)
    return _page("public/plan.html", website.last_change(campaigns, posts, []), plan=plan, campaigns=campaigns,
                 posts=posts)


@bp.route("/campaigns/<int:campaign_id>")
@public
def campaign_page(campaign_id: int) -> Response:
    campaign = website.public_campaign(campaign_id)
    assets = website.public_assets(campaign.id)
    posts = website.public_posts(campaign_id=campaign.id)
    return _page("public/campaign.html", website.last_change([campaign], posts, assets), campaign=campaign,
                 assets=assets, posts=posts)


@bp.route("/posts/<int:post_id>")
@public
def post_page(post_id: int) -> Response:
    post = website.public_post(post_id)
    assets = website.post_media(post)
    return _page("public/post.html", website.last_change([post.campaign], [post], assets), post=post,
                 campaign=post.campaign, assets=assets)


# Media ---------------------------------------------------------------------------------------------


@bp.route("/media/<token>/<variant>")
@public
def media_file(token: str, variant: str) -> Response:
    """A public copy: `w480.jpg`, `w960.jpg`, `w1600.jpg` (stills; a video's poster frame),
    or `video.mp4`. 404 unless something public shows the asset now."""
    asset = website.public_asset(token)
    if asset is None:
        abort(404)
    if variant == "video.mp4":
        path = web_media.web_video(asset, _config())
        mimetype = "video/mp4"
    elif variant in {f"w{width}.jpg" for width in WIDTHS}:
        path = web_media.still(asset, int(variant[1:-4]), _config())
        mimetype = "image/jpeg"
    else:
        abort(404)
    if path is None:
        abort(404)
    response = send_data_file(path, mimetype, f"{asset.sha256[:32]}-{variant}")
    # Short: an asset taken off the website must leave caches soon.
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def image_set(asset: MediaAsset) -> dict[str, str]:
    """src and srcset of an asset's public still, for templates."""
    token = asset.web_token  # given when the asset first went public
    if not token:
        return {"src": "", "srcset": "", "video": ""}
    return {"src": url_for("public.media_file", token=token, variant="w960.jpg"),
            "srcset": ", ".join(f"{url_for('public.media_file', token=token, variant=f'w{w}.jpg')} {w}w" for w in WIDTHS),
            "video": url_for("public.media_file", token=token, variant="video.mp4") if asset.kind == "video" else ""}


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"image_set": image_set}


# Widget and oEmbed -------------------------------------------------------------------------------

WIDGET_POSTS = 5
WIDGET_REFRESH_SECONDS = 600
# The widget is framed by portals anywhere: only it may be, and it runs only our own script.
WIDGET_CSP = ("default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; "
              "base-uri 'none'; form-action 'none'; frame-ancestors *")


@bp.route("/widget/campaigns/<int:campaign_id>")
@public
def campaign_widget(campaign_id: int) -> Response:
    """The campaign's latest posts and first poster, small, for an iframe on another site; it
    reloads itself every ten minutes, and tells the page that framed it its height."""
    campaign = website.public_campaign(campaign_id)
    assets = [a for a in website.public_assets(campaign.id) if a.kind != "video"][:1]
    posts = website.public_posts(campaign_id=campaign.id, limit=WIDGET_POSTS)
    response = _page("public/widget.html", website.last_change([campaign], posts, assets), campaign=campaign,
                     assets=assets, posts=posts, refresh=WIDGET_REFRESH_SECONDS)
    response.headers["Content-Security-Policy"] = WIDGET_CSP
    return response


@bp.route("/widget.js")
@public
def widget_script() -> Response:
    """The snippet a webmaster places once: `<div data-panoled-campaign="ID"></div>` and this script."""
    response = current_app.send_static_file("panoled-widget.js")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/oembed")
@public
def oembed() -> Response:
    """oEmbed 1.0 (JSON) for a public campaign page (a `rich` iframe of its widget) or post (a link card)."""
    from urllib.parse import urlsplit

    url = request.args.get("url", "")
    if request.args.get("format", "json") != "json":
        abort(501)
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != request.host_url.rstrip("/"):
        abort(404)
    try:
        width = min(max(int(request.args.get("maxwidth", "480")), 200), 1200)
        height = min(max(int(request.args.get("maxheight", "600")), 200), 1200)
    except ValueError:
        abort(400)
    org = _config().organisation
    body: dict[str, Any] = {"version": "1.0", "provider_name": org.name, "provider_url": request.host_url}
    if match := re.fullmatch(r"/public/campaigns/(\d+)", parts.path):
        campaign = website.public_campaign(int(match.group(1)))
        src = url_for("public.campaign_widget", campaign_id=campaign.id, _external=True)
        body |= {"type": "rich", "title": campaign.title, "width": width, "height": height,
                 "html": render_template("public/_oembed_frame.html", src=src, title=campaign.title, width=width,
                                         height=height).strip()}
    elif match := re.fullmatch(r"/public/posts/(\d+)", parts.path):
        post = website.public_post(int(match.group(1)))
        body |= {"type": "link", "title": post.title}
        assets = [a for a in website.post_media(post) if a.web_token]
        if assets:
            body |= {"thumbnail_url": url_for("public.media_file", token=assets[0].web_token, variant="w480.jpg",
                                              _external=True), "thumbnail_width": 480}
    else:
        abort(404)
    return _cacheable(json.dumps(body, ensure_ascii=False), "application/json", None)


# Feeds ---------------------------------------------------------------------------------------------


@bp.route("/plans/<int:plan_id>/feed.atom")
@public
def plan_atom(plan_id: int) -> Response:
    plan = website.public_plan(plan_id)
    return _atom(plan.title or plan.number, url_for("public.plan_page", plan_id=plan.id, _external=True),
                 website.public_posts(plan_id=plan.id, limit=FEED_SIZE), plan=plan)


@bp.route("/campaigns/<int:campaign_id>/feed.atom")
@public
def campaign_atom(campaign_id: int) -> Response:
    campaign = website.public_campaign(campaign_id)
    return _atom(campaign.title, url_for("public.campaign_page", campaign_id=campaign.id, _external=True),
                 website.public_posts(campaign_id=campaign.id, limit=FEED_SIZE), campaign=campaign)


@bp.route("/plans/<int:plan_id>/feed.json")
@public
def plan_json(plan_id: int) -> Response:
    plan = website.public_plan(plan_id)
    return _json_feed(plan.title or plan.number, url_for("public.plan_page", plan_id=plan.id, _external=True),
                      url_for("public.plan_json", plan_id=plan.id, _external=True),
                      website.public_posts(plan_id=plan.id, limit=FEED_SIZE))


@bp.route("/campaigns/<int:campaign_id>/feed.json")
@public
def campaign_json(campaign_id: int) -> Response:
    campaign = website.public_campaign(campaign_id)
    return _json_feed(campaign.title, url_for("public.campaign_page", campaign_id=campaign.id, _external=True),
                      url_for("public.campaign_json", campaign_id=campaign.id, _external=True),
                      website.public_posts(campaign_id=campaign.id, limit=FEED_SIZE))


def _entry_html(post: WebPost) -> str:
    return render_template("public/_entry.html", post=post, assets=website.post_media(post))


def _atom(title: str, page: str, posts: list[WebPost], plan: Plan | None = None,
          campaign: Campaign | None = None) -> Response:
    from feedgen.feed import FeedGenerator

    org = _config().organisation
    feed = FeedGenerator()
    feed.id(page)
    feed.title(title)
    feed.author({"name": org.name})
    feed.link(href=page, rel="alternate", type="text/html")
    feed.link(href=request.base_url, rel="self", type="application/atom+xml")
    feed.language("vi")
    feed.updated(max((p.updated_at for p in posts), default=None) or _fallback_updated(plan, campaign))
    for post in reversed(posts):  # feedgen lists the entry added last first
        link = url_for("public.post_page", post_id=post.id, _external=True)
        entry = feed.add_entry()
        entry.id(link)
        entry.title(post.title)
        entry.link(href=link, rel="alternate", type="text/html")
        entry.published(post.published_at)
        entry.updated(post.updated_at)
        if post.summary:
            entry.summary(post.summary)
        entry.content(_entry_html(post), type="html")
        entry.author({"name": org.name})
    modified = max((p.updated_at for p in posts), default=None)
    return _cacheable(feed.atom_str(pretty=True), "application/atom+xml", modified)


def _fallback_updated(plan: Plan | None, campaign: Campaign | None) -> datetime:
    moment = (campaign.updated_at if campaign is not None else plan.updated_at if plan is not None else None)
    return moment or datetime.now(UTC)


def _json_feed(title: str, page: str, feed_url: str, posts: list[WebPost]) -> Response:
    body = {
        "version": "https://jsonfeed.org/version/1.1", "title": title, "home_page_url": page, "feed_url": feed_url,
        "language": "vi", "authors": [{"name": _config().organisation.name}],
        "items": [{
            "id": url_for("public.post_page", post_id=post.id, _external=True),
            "url": url_for("public.post_page", post_id=post.id, _external=True),
            "title": post.title, "summary": post.summary or None, "content_html": _entry_html(post),
            "date_published": post.published_at.astimezone(UTC).isoformat() if post.published_at else None,
            "date_modified": post.updated_at.astimezone(UTC).isoformat(),
            **({"image": url_for("public.media_file", token=assets[0].web_token, variant="w960.jpg", _external=True)}
               if (assets := website.post_media(post)) and assets[0].web_token else {}),
        } for post in posts],
    }
    return _cacheable(json.dumps(body, ensure_ascii=False, indent=1), "application/feed+json",
                      max((p.updated_at for p in posts), default=None))
