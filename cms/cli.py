"""The `panoled` command: a Flask CLI group. Every command has --help.

Domain errors become a one-line message and exit status 1; no tracebacks.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from cms.config import ROLES, load_config
from cms.errors import ConfigError, PanoledError

DEMO_PLAN = Path(__file__).resolve().parent / "demo" / "ke-hoach-81-KH-STNMT-2024.txt"
DEMO_ADMIN = "admin@panoled.local"


def _create_app() -> Flask:
    from cms import create_app

    try:
        return create_app(load_config())
    except ConfigError as error:
        raise click.ClickException(f"configuration: {error}") from None


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PanoledError as error:
            from cms.extensions import db

            db.session.rollback()
            raise click.ClickException(f"{error} [{error.code}]") from None

    return wrapper


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, load_dotenv=False, set_debug_flag=False)
def main() -> None:
    """Panoled: campaign content manager and LED-board scheduler."""


def _settings() -> Any:
    return current_app.config["PANOLED"]


@main.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database and the data and media folders (safe to repeat)."""
    from cms.database import current_revision, upgrade
    from cms.extensions import db

    settings = _settings()
    (settings.data_dir / "media").mkdir(parents=True, exist_ok=True)
    before = current_revision(db.engine)
    upgrade(db.engine)
    after = current_revision(db.engine)
    where = db.engine.url.render_as_string(hide_password=True)
    state = "created" if before is None else ("upgraded" if before != after else "already up to date")
    click.echo(f"database {where}: {state} (revision {after})")
    click.echo(f"data folder {settings.data_dir}")


@main.group("user")
def user_group() -> None:
    """Accounts."""


@user_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the person may do.")
@click.option("--name", "display_name", default="", help="The person's name, shown in the history.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@with_appcontext
@friendly_errors
def user_add(email: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create an account. The password is asked for (or read with --password-stdin)."""
    from cms.extensions import db
    from cms.services.accounts import NewAccount, create_user
    from cms.services.audit import Actor

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = create_user(NewAccount(email=email, role=role, password=password, display_name=display_name),
                       _settings().security, Actor.command_line())
    db.session.commit()
    click.echo(f"created {user.email} ({user.role})")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def user_list(as_json: bool) -> None:
    """List accounts."""
    from cms.services.accounts import describe_user, list_users

    users = [describe_user(u) for u in list_users()]
    if as_json:
        click.echo(json.dumps({"users": users}, ensure_ascii=False, indent=2))
        return
    for user in users:
        click.echo(f"{user['id']:>4}  {user['role']:<9} {'active' if user['active'] else 'inactive':<8} {user['email']}")


@main.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for.")
@with_appcontext
@friendly_errors
def token_create(email: str, name: str) -> None:
    """Create an API token for an account; it is printed once and never shown again."""
    from cms.errors import NotFound
    from cms.extensions import db
    from cms.services.accounts import find_user
    from cms.services.audit import Actor
    from cms.services.tokens import create_token

    user = find_user(email)
    if user is None:
        raise NotFound("No account for %(email)s.", code="user_not_found", email=email)
    _token, plain = create_token(user, name, Actor.command_line())
    db.session.commit()
    click.echo(plain)


@main.group("plan")
def plan_group() -> None:
    """Yearly communications plans."""


@plan_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--number", default=None, help="The plan number, when the file does not state it (e.g. 81/KH-STNMT).")
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
@friendly_errors
def plan_import(file: Path, number: str | None, dry_run: bool, as_json: bool) -> None:
    """Import a plan: .docx, .xlsx, .csv, .tsv or the plain-text export. Re-importing updates."""
    from cms.extensions import db
    from cms.services.audit import Actor
    from cms.services.plan_import import import_plan, read_plan_file

    settings = _settings()
    with file.open("rb") as fh:
        data = fh.read(settings.imports.max_bytes + 1)
    document, heading = read_plan_file(data, file.name, number, settings)
    summary = import_plan(document, heading, Actor.command_line(), file.name, dry_run=dry_run).as_dict()
    db.session.commit()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    verb = "would be" if dry_run else "were"
    click.echo(f"plan {summary['plan_number']}: {summary['created']} campaigns {verb} created, "
               f"{summary['updated']} updated, {summary['unchanged']} unchanged")
    if summary["flagged"]:
        click.echo("periods to check by hand (not understood): tasks " + ", ".join(map(str, summary["flagged"])))
    if summary["missing_numbers"]:
        click.echo("in the database but not in this file (left as they are): tasks " + ", ".join(map(str, summary["missing_numbers"])))


@main.group("campaign")
def campaign_group() -> None:
    """Campaigns."""


@campaign_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list with the keys of the API.")
@click.option("--plan", "plan_number", default=None, help="Only this plan (by number, e.g. 81/KH-STNMT).")
@with_appcontext
@friendly_errors
def campaign_list(as_json: bool, plan_number: str | None) -> None:
    """List campaigns in plan order."""
    from sqlalchemy import select

    from cms.errors import NotFound
    from cms.extensions import db
    from cms.models import Plan
    from cms.services.campaigns import CampaignFilter, describe, list_campaigns

    plan_id = None
    if plan_number:
        plan_id = db.session.scalar(select(Plan.id).where(Plan.number == plan_number))
        if plan_id is None:
            raise NotFound("No plan numbered %(number)s.", code="plan_not_found", number=plan_number)
    campaigns = [describe(c) for c in list_campaigns(CampaignFilter(plan_id=plan_id))]
    if as_json:
        click.echo(json.dumps(campaigns, ensure_ascii=False, indent=2))
        return
    for c in campaigns:
        period = f"{c['period_start'] or '?'}..{c['period_end'] or '?'}" if not c["period_flagged"] else "CHECK PERIOD"
        click.echo(f"{c['id']:>4} {c['number'] or '-':>3} {c['status']:<9} {period:<23} {c['title'][:70]}")


@main.group("media")
def media_group() -> None:
    """The media library."""


@media_group.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", "campaign_id", type=int, required=True, help="The campaign's id (see `campaign list`).")
@click.option("--kind", type=click.Choice(["poster", "banner"]), default="poster", help="What a picture is for.")
@click.option("--json", "as_json", is_flag=True, help="Print the asset as JSON.")
@with_appcontext
@friendly_errors
def media_add(file: Path, campaign_id: int, kind: str, as_json: bool) -> None:
    """Add a videoclip, poster or banner to a campaign; refused files exit non-zero with the reason."""
    from cms.services.audit import Actor
    from cms.services.media import add_upload, describe_asset

    with file.open("rb") as stream:
        result = add_upload(stream, file.name, campaign_id, Actor.command_line(), _settings(), as_banner=kind == "banner")
    if as_json:
        click.echo(json.dumps(describe_asset(result.asset) | {"duplicate": not result.created}, ensure_ascii=False, indent=2))
    elif result.created:
        click.echo(f"added media {result.asset.id}: {result.asset.display_name} ({result.asset.kind}, {result.asset.width}x{result.asset.height})")
    else:
        click.echo(f"already in the campaign as media {result.asset.id}: {result.asset.display_name}")


@media_group.command("work")
@click.option("--once", is_flag=True, help="Make what is waiting, then exit.")
@click.option("--workers", type=int, default=None, help="Worker threads (default: [media] workers).")
@with_appcontext
def media_work(once: bool, workers: int | None) -> None:
    """Make thumbnails, board renditions and LED previews (what the demo runs in the background)."""
    import threading

    from cms.services.derivatives import queue_missing, start_workers, work_until_idle

    settings = _settings()
    queue_missing(settings)
    if once:
        click.echo(f"made {work_until_idle(settings)} derivatives")
        return
    stop = threading.Event()
    threads = start_workers(current_app._get_current_object(), workers or settings.media.workers or 1, stop)  # type: ignore[attr-defined]
    click.echo(f"{len(threads)} derivative workers running (Ctrl+C stops them)")
    try:
        while True:
            stop.wait(3600)
    except KeyboardInterrupt:
        stop.set()


@main.group("screen")
def screen_group() -> None:
    """Boards (Panoled LED screens)."""


def _options(pairs: tuple[str, ...]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r}: write options as KEY=VALUE", param_hint="--option")
        options[key.strip()] = value
    return options


@screen_group.command("add")
@click.argument("name")
@click.option("--width", type=int, required=True, help="Pixels across.")
@click.option("--height", type=int, required=True, help="Pixels down.")
@click.option("--adapter", "adapter_kind", required=True, help="Board kind: simulator, webplayer, http-json, novastar-vnnox.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="An option of the board kind (repeatable).")
@click.option("--code", default="", help="Short code (default PNL-<id>).")
@click.option("--group", "group_name", default="", help="District or site.")
@click.option("--address", default="", help="Where the board stands.")
@click.option("--lat", "latitude", type=float, default=None, help="Latitude in degrees.")
@click.option("--lon", "longitude", type=float, default=None, help="Longitude in degrees.")
@click.option("--pitch", "pixel_pitch_mm", type=float, default=10.0, show_default=True, help="Pixel pitch in mm.")
@click.option("--distance", "viewing_distance_m", type=float, default=50.0, show_default=True, help="Typical viewing distance in m.")
@click.option("--hours", default="05:30-22:00", show_default=True, help="Operating hours, local time.")
@click.option("--timezone", default="Asia/Ho_Chi_Minh", show_default=True, help="The board's time zone.")
@click.option("--json", "as_json", is_flag=True, help="Print the board (and its secret, once) as JSON.")
@with_appcontext
@friendly_errors
def screen_add(name: str, width: int, height: int, adapter_kind: str, options: tuple[str, ...], code: str,
               group_name: str, address: str, latitude: float | None, longitude: float | None, pixel_pitch_mm: float,
               viewing_distance_m: float, hours: str, timezone: str, as_json: bool) -> None:
    """Register a board. Its secret is printed once: give it to the board, it is not shown again."""
    from cms.extensions import db
    from cms.services.audit import Actor
    from cms.services.screens import ScreenInput, create_screen, describe_screen, parse_hours

    opens_at, closes_at = parse_hours(hours)
    screen, secret = create_screen(ScreenInput(
        name=name, width=width, height=height, adapter_kind=adapter_kind, adapter_options=_options(options), code=code,
        address=address, latitude=latitude, longitude=longitude, group_name=group_name, pixel_pitch_mm=pixel_pitch_mm,
        viewing_distance_m=viewing_distance_m, opens_at=opens_at, closes_at=closes_at, timezone=timezone,
    ), Actor.command_line())
    db.session.commit()
    from cms.services.derivatives import queue_missing

    queue_missing(_settings())  # a board of a new size needs renditions of the media
    if as_json:
        click.echo(json.dumps(describe_screen(screen) | {"secret": secret}, ensure_ascii=False, indent=2))
        return
    click.echo(f"board {screen.id} {screen.code}: {screen.name} ({screen.width}x{screen.height}, {screen.adapter_kind})")
    click.echo(f"secret (shown once): {secret}")


@screen_group.command("edit")
@click.argument("screen")
@click.option("--name", default=None, help="New name.")
@click.option("--width", type=int, default=None, help="Pixels across.")
@click.option("--height", type=int, default=None, help="Pixels down.")
@click.option("--adapter", "adapter_kind", default=None, help="Board kind (the old kind's options are dropped).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="An option of the board kind (repeatable), set over the stored ones.")
@click.option("--code", default=None, help="Short code.")
@click.option("--group", "group_name", default=None, help="District or site.")
@click.option("--address", default=None, help="Where the board stands.")
@click.option("--lat", "latitude", type=float, default=None, help="Latitude in degrees.")
@click.option("--lon", "longitude", type=float, default=None, help="Longitude in degrees.")
@click.option("--pitch", "pixel_pitch_mm", type=float, default=None, help="Pixel pitch in mm.")
@click.option("--distance", "viewing_distance_m", type=float, default=None, help="Typical viewing distance in m.")
@click.option("--hours", default=None, help="Operating hours, local time, e.g. 05:30-22:00.")
@click.option("--timezone", default=None, help="The board's time zone.")
@click.option("--in-service/--out-of-service", "active", default=None,
              help="Out of service: no manifests are made for the board and its calls are refused.")
@click.option("--json", "as_json", is_flag=True, help="Print the board as JSON.")
@with_appcontext
@friendly_errors
def screen_edit(screen: str, options: tuple[str, ...], hours: str | None, active: bool | None, as_json: bool,
                **fields: Any) -> None:
    """Change a board (by id or code); what is not given stays as it is."""
    from dataclasses import replace

    from cms.extensions import db
    from cms.services.audit import Actor
    from cms.services.derivatives import queue_missing
    from cms.services.screens import describe_screen, get_screen, parse_hours, screen_input, update_screen

    board = get_screen(screen)
    data = replace(screen_input(board), **{key: value for key, value in fields.items() if value is not None})
    kept = {} if data.adapter_kind != board.adapter_kind else data.adapter_options  # a new kind starts afresh
    data = replace(data, adapter_options=kept | _options(options))
    if hours is not None:
        opens_at, closes_at = parse_hours(hours)
        data = replace(data, opens_at=opens_at, closes_at=closes_at)
    changed = update_screen(board, data, Actor.command_line(), active=active)
    db.session.commit()
    if {"width", "height"} & set(changed):
        queue_missing(_settings())  # a board of a new size needs renditions of the media
    if as_json:
        click.echo(json.dumps(describe_screen(board) | {"changes": changed}, ensure_ascii=False, indent=2))
        return
    click.echo(f"board {board.id} {board.code}: " + (f"changed {', '.join(changed)}" if changed else "nothing changed"))


@screen_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def screen_list(as_json: bool) -> None:
    """List boards."""
    from cms.services.screens import describe_screen, list_screens

    screens = [describe_screen(s) for s in list_screens()]
    if as_json:
        click.echo(json.dumps({"screens": screens}, ensure_ascii=False, indent=2))
        return
    for s in screens:
        click.echo(f"{s['id']:>4} {s['code']:<10} {s['width']}x{s['height']:<6} {s['operating_hours']} {s['adapter']:<14} {s['name']}")


@main.command("timeline")
@click.argument("screen")
@click.option("--from", "start", required=True, help="ISO date-time; without an offset, the board's local time.")
@click.option("--to", "end", required=True, help="ISO date-time (at most 31 days after --from).")
@click.option("--json", "as_json", is_flag=True, help="Print the segments and plays as JSON.")
@with_appcontext
@friendly_errors
def timeline_command(screen: str, start: str, end: str, as_json: bool) -> None:
    """What plays when on a board (by id or code), as the scheduler resolves it."""
    from cms.services.screens import get_screen
    from cms.services.timelines import describe_timeline, parse_instant, timeline_for

    board = get_screen(screen)
    timeline = timeline_for(board, parse_instant(start, board.timezone), parse_instant(end, board.timezone))
    described = describe_timeline(timeline, board.timezone)
    if as_json:
        click.echo(json.dumps(described, ensure_ascii=False, indent=2))
        return
    click.echo(f"{board.code} {board.name}: {described['start']} .. {described['end']}")
    for segment in described["segments"]:
        what = f"rule {segment['rule_id']}" if segment["rule_id"] else (segment["playlist_id"] or "")
        click.echo(f"  {segment['start']} .. {segment['end']}  {segment['kind']:<9} {what}  {len(segment['plays'])} plays")


@main.group("scheduler")
def scheduler_group() -> None:
    """The single-leader scheduler: manifests for every board, pushed when they change."""


@scheduler_group.command("run")
@click.option("--once", is_flag=True, help="One reconcile and the pushes then due, then exit (refused while another leads).")
@click.option("--name", default=None, help="How this process is named in push records and logs (default host:pid).")
@click.option("--media-workers", type=int, default=None,
              help="Derivative workers to run beside it (default: [media] workers; 0 for none).")
@with_appcontext
def scheduler_run(once: bool, name: str | None, media_workers: int | None) -> None:
    """Run the scheduler. One leads per database; others wait as stand-by and take over
    within seconds when it dies. SIGTERM or Ctrl+C stops it cleanly."""
    import logging
    import signal
    import threading

    from scheduler.service import SchedulerService

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run is noise; failures still show
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    service = SchedulerService(app, name=name)
    if once:
        try:
            made, pushed = service.run_once()
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"{made} new manifest(s), {pushed} push(es)")
        return
    from cms.runtime import settle

    settle()  # before any thread starts: only start-up objects are frozen
    stop = threading.Event()
    workers = _settings().media.workers if media_workers is None else media_workers
    if workers > 0:
        from cms.services.derivatives import start_workers

        start_workers(app, workers, stop)

    def finish(_signum: int, _frame: object) -> None:
        stop.set()
        service.stop()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    service.run()


@scheduler_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def scheduler_status(as_json: bool) -> None:
    """Each board's newest manifest version, what it acknowledged, and its last push."""
    from cms.services.manifests import board_states, describe_state

    states = [describe_state(state) for state in board_states()]
    if as_json:
        click.echo(json.dumps({"boards": states}, ensure_ascii=False, indent=2))
        return
    for s in states:
        click.echo(f"{s['code']:<12} latest {s['latest_version']:>4}  acknowledged {s['acknowledged_version']:>4}  "
                   f"{s['last_result'] or '-':<8} {s['last_error'][:60]}")


@main.group("simulator")
def simulator_group() -> None:
    """Simulated Panoled boards, served over HTTP for the scheduler to push to."""


@simulator_group.command("run")
@click.option("--screens", "count", type=click.IntRange(1, 500), required=True, help="How many boards (SIM-01 ...).")
@click.option("--port", type=click.IntRange(1, 65535), required=True, help="Port the boards listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the boards listen on.")
@click.option("--speed", type=click.FloatRange(0.01, 100000), default=1.0, show_default=True,
              help="Simulated time runs this many times faster (60: an hour a minute).")
@click.option("--cms", "cms_url", default=None, help="Where the boards fetch media and send plays "
              "(default: http://[web] host:port).")
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The boards' media, manifests and queued plays (default: <data_dir>/simulator).")
@with_appcontext
@friendly_errors
def simulator_run(count: int, port: int, host: str, speed: float, cms_url: str | None, state_dir: Path | None) -> None:
    """Run N simulated boards. Each gets a fresh secret at start (handed to the simulator,
    never shown); the wall at http://HOST:PORT/ shows what every board plays."""
    import signal
    import threading

    from cms.services.audit import Actor
    from cms.services.simulators import connect_boards, ensure_simulator_boards

    settings = _settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _s, _f: stop.set())
    signal.signal(signal.SIGINT, lambda _s, _f: stop.set())
    server = _simulator_server(host, port, cms_url or _web_url(settings), state_dir or settings.data_dir / "simulator",
                               speed, settings.boards.heartbeat_seconds)
    screens = ensure_simulator_boards(count, server.url, Actor.command_line())
    server.add_boards(connect_boards(screens, server.url, Actor.command_line()))
    server.start()
    click.echo(f"{count} simulated boards ({screens[0].code}..{screens[-1].code}) at {server.url}/ , "
               f"speed {speed:g}, media and plays via {server.cms_url}  (Ctrl+C stops them)")
    while not stop.wait(3600):
        pass
    server.stop()


def _web_url(settings: Any, host: str | None = None, port: int | None = None) -> str:
    host = host or settings.web.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{port or settings.web.port}"


def _simulator_server(host: str, port: int, cms_url: str, state_dir: Path, speed: float, heartbeat_seconds: float) -> Any:
    from display_adapters.simulator_server import SimulatorServer

    try:
        return SimulatorServer(host, port, cms_url=cms_url, state_dir=state_dir, speed=speed,
                               heartbeat_seconds=heartbeat_seconds)
    except OSError as error:
        raise click.ClickException(f"the simulator cannot listen on {host}:{port}: {error.strerror or error}") from None


@main.group("playlog")
def playlog_group() -> None:
    """Playback evidence reported by the boards."""


@playlog_group.command("verify")
@click.option("--screen", "screen", default=None, help="One board (id or code); default every board.")
@click.option("--archive", "archives", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="An archive file, or a folder of them, to check too (repeatable). With a folder, archives the "
                   "database records but the folders do not hold are problems.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
@friendly_errors
def playlog_verify(screen: str | None, archives: tuple[Path, ...], as_json: bool) -> None:
    """Re-check each board's chain of plays (and archive files); exit 1 naming the first altered, missing or
    inserted entry."""
    from cms.extensions import db
    from cms.services.playlog_chain import verify_all
    from cms.services.screens import get_screen

    screen_id = get_screen(screen).id if screen else None
    reports = verify_all(screen_id)
    db.session.commit()  # each intact board's check mark moves to its head
    files = _verify_archives(archives, screen_id)
    if as_json:
        click.echo(json.dumps({"boards": [
            {"screen_id": r.screen_id, "code": r.screen_code, "entries": r.entries, "archived": r.archived,
             "head_seq": r.head_seq, "head_hash": r.head_hash, "signed_batches_checked": r.batches_checked,
             "signed_batches_earlier_key": r.batches_earlier_key, "ok": r.ok, "problem": _problem_json(r.problem)}
            for r in reports], "archives": [
            {"path": f.path, "screen_id": f.screen_id, "code": f.screen_code, "from_seq": f.from_seq,
             "to_seq": f.to_seq, "entries": f.entries, "registered": f.registered, "ok": f.ok,
             "problem": _problem_json(f.problem)} for f in files]}, indent=2, ensure_ascii=False))
    else:
        for f in files:
            name = Path(f.path).name
            if f.ok:
                note = "" if f.registered else "  (not recorded in this database)"
                click.echo(f"{f.screen_code:<14} ok        {f.entries:>8} plays  entries {f.from_seq}..{f.to_seq}  "
                           f"{name}{note}")
            else:
                p = f.problem
                assert p is not None
                where = f"entry {p.seq}" if p.seq is not None else "the file"
                what = f" (play {p.event_id})" if p.event_id else ""
                click.echo(f"{f.screen_code or '?':<14} {p.kind.upper():<9} {name}: {where}{what}: {p.detail}")
        for r in reports:
            if r.ok:
                archived = f"  ({r.archived} archived)" if r.archived else ""
                click.echo(f"{r.screen_code:<14} ok        {r.entries:>8} plays  head {r.head_hash[:16]}{archived}")
            else:
                p = r.problem
                assert p is not None
                where = f"entry {p.seq}" if p.seq is not None else "an entry"
                what = f" (play {p.event_id})" if p.event_id else ""
                click.echo(f"{r.screen_code:<14} {p.kind.upper():<9} {where}{what}: {p.detail}")
    if not all(r.ok for r in reports) or not all(f.ok for f in files):
        sys.exit(1)


def _problem_json(problem: Any) -> dict[str, Any] | None:
    if problem is None:
        return None
    return {"kind": problem.kind, "seq": problem.seq, "event_id": problem.event_id, "detail": problem.detail}


def _verify_archives(paths: tuple[Path, ...], screen_id: int | None) -> list[Any]:
    """Each archive file checked; for folders given, the recorded archives none of them holds."""
    from cms.extensions import db
    from cms.models import Screen
    from cms.services.playlog_archive import ArchiveReport, archive_files, unfound_archives, verify_archive
    from cms.services.playlog_chain import Problem

    reports = [verify_archive(path) for path in archive_files(list(paths))]
    folders = [path for path in paths if path.is_dir()]
    if folders:
        unfound: dict[int, Any] = {row.id: row for row in unfound_archives(folders[0], screen_id)}
        for folder in folders[1:]:
            unfound = {row.id: row for row in unfound_archives(folder, screen_id) if row.id in unfound}
        for row in unfound.values():
            screen = db.session.get(Screen, row.screen_id)
            reports.append(ArchiveReport(str(folders[0] / row.file_name), row.screen_id, screen.code if screen else "",
                                         row.from_seq, row.to_seq, 0, True,
                                         Problem("missing", row.from_seq, None,
                                                 f"the archive of entries {row.from_seq} to {row.to_seq} is in "
                                                 "none of the folders given")))
    return reports


@playlog_group.command("archive")
@click.option("--older-than", "older_than", type=click.IntRange(1, 36500), default=None,
              help="Archive plays that started more than this many days ago (default: [retention] archive_after_days).")
@click.option("--before", "before_text", default=None,
              help="Archive plays that started before this date (local midnight) or ISO date-time instead.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the files go (default: [retention] archive_dir).")
@click.option("--screen", "screen", default=None, help="One board (id or code); default every board.")
@click.option("--dry-run", is_flag=True, help="Say what would be archived; write and delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
@friendly_errors
def playlog_archive(older_than: int | None, before_text: str | None, directory: Path | None, screen: str | None,
                    dry_run: bool, as_json: bool) -> None:
    """Move old plays out of the database into compressed files that stay verifiable (per board, the
    oldest run of its chain). Play counts and reports are kept. Exit 1 naming any board that failed;
    a failed board keeps all its plays."""
    from datetime import UTC, date, datetime, timedelta

    from cms.services.audit import Actor
    from cms.services.playlog_archive import archive_plays
    from cms.services.screens import get_screen

    settings = _settings()
    now = datetime.now(UTC)
    if older_than is not None and before_text is not None:
        raise click.UsageError("give --older-than or --before, not both")
    if before_text is None:
        before = now - timedelta(days=older_than or settings.retention.archive_after_days)
    else:
        try:
            day = date.fromisoformat(before_text) if len(before_text) == 10 else None
            moment = datetime.fromisoformat(before_text) if day is None else datetime.combine(day, datetime.min.time())
        except ValueError:
            raise click.BadParameter("an ISO date (2024-12-31) or date-time", param_hint="--before") from None
        before = (moment if moment.tzinfo else moment.replace(tzinfo=settings.tz)).astimezone(UTC)
        if before > now:
            raise click.BadParameter("must not be in the future", param_hint="--before")
    directory = directory or settings.archive_dir
    result = archive_plays(before, directory, Actor.command_line(), dry_run=dry_run,
                           screen_id=get_screen(screen).id if screen else None, now=now)
    if as_json:
        click.echo(json.dumps({
            "before": before.isoformat(), "directory": str(directory), "dry_run": dry_run, "total": result.total,
            "boards": [{"screen_id": b.screen_id, "code": b.screen_code, "from_seq": b.from_seq, "to_seq": b.to_seq,
                        "count": b.count, "file": b.file_name, "bytes": b.bytes, "sha256": b.sha256}
                       for b in result.archived],
            "failed": [{"screen_id": f.screen_id, "code": f.screen_code, "reason": f.reason} for f in result.failed],
        }, indent=2, ensure_ascii=False))
    else:
        for b in result.archived:
            target = "(dry run)" if b.file_name is None else str(directory / b.file_name)
            click.echo(f"{b.screen_code:<14} {b.count:>8} plays  entries {b.from_seq}..{b.to_seq}  {target}")
        for f in result.failed:
            click.echo(f"{f.screen_code:<14} FAILED    {f.reason} (nothing deleted)")
        verb = "would be archived" if dry_run else "archived"
        click.echo(f"total: {result.total} plays started before {before.isoformat(timespec='seconds')} {verb} "
                   f"from {len(result.archived)} boards")
    if not result.ok:
        sys.exit(1)


@playlog_group.command("recount")
@with_appcontext
@friendly_errors
def playlog_recount() -> None:
    """Rebuild the kept play counts (per board, campaign, day and hour) from the stored plays:
    after an upgrade that added them, or to repair them. Refused once plays are archived."""
    from cms.services.play_stats import daily_totals, rebuild_aggregates

    rebuild_aggregates()
    totals = daily_totals()
    click.echo(f"counted {totals.plays} play(s) on {totals.boards} board(s)")


@main.group("report")
def report_group() -> None:
    """Reports for acceptance and payment."""


@report_group.command("acceptance")
@click.option("--campaign", "campaign_id", type=int, default=None, help="The campaign's id (see `campaign list`).")
@click.option("--plan", "plan_number", default=None, help="Every campaign of this plan instead (e.g. 81/KH-STNMT).")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (included).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "pdf"]), required=True, help="File format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="The file to write.")
@with_appcontext
@friendly_errors
def report_acceptance(campaign_id: int | None, plan_number: str | None, date_from: datetime, date_to: datetime,
                      fmt: str, output: Path) -> None:
    """Write the acceptance report (báo cáo kết quả thực hiện, khối lượng) for a campaign or a
    plan; exits with 1 when a board's play-log chain fails verification (the report says which)."""
    from datetime import UTC, datetime

    from cms.services.acceptance import build_report, plan_by_number, scope_for
    from cms.services.report_exports import export

    if (campaign_id is None) == (plan_number is None):
        raise click.UsageError("Give either --campaign or --plan.")
    settings = _settings()
    plan_id = plan_by_number(plan_number).id if plan_number is not None else None
    scope = scope_for(settings, date_from.date(), date_to.date(), campaign_id=campaign_id, plan_id=plan_id)
    click.echo("Checking the play-log chains and counting…", err=True)
    report = build_report(settings, scope, datetime.now(UTC))
    data, _media_type = export(report, fmt, settings.tz)
    partial = output.with_name(output.name + ".partial")
    partial.write_bytes(data)
    partial.replace(output)  # all or nothing: no half-written report under the name asked for
    totals = report.totals
    rate = f"{totals.delivery_rate:.1%}" if totals.delivery_rate is not None else "n/a"
    click.echo(f"{output}: {totals.delivered} play(s) of {totals.planned} planned ({rate}) on "
               f"{totals.boards_reached} board(s); chains {'verified' if report.chains_ok else 'FAILED'}")
    if not report.chains_ok:
        for row in report.chains:
            if not row.ok:
                click.echo(f"chain of {row.code}: {row.problem}", err=True)
        sys.exit(1)


@main.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="The backup file to write (a tar).")
@with_appcontext
@friendly_errors
def backup_command(output: Path) -> None:
    """Back up the database, media, play-log archives and secret key into one file, while
    everything runs (the database as one consistent snapshot)."""
    from cms.services.backup import backup

    settings = _settings()
    summary = backup(settings, settings.database_url, output)
    click.echo(f"{summary.path}: {summary.dialect} database (revision {summary.revision}), {summary.files} file(s), "
               f"{summary.bytes / 1e6:.1f} MB")


@main.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a database that already holds data.")
@with_appcontext
@friendly_errors
def restore_command(source: Path, replace: bool) -> None:
    """Put a backup back (database, media, archives, secret key). Stop the web app and the
    schedulers first; the backup is checked whole before anything is replaced."""
    from cms.extensions import db
    from cms.services.backup import restore

    settings = _settings()
    db.engine.dispose()  # this process's own connections must not hold the database
    summary = restore(settings, settings.database_url, source, replace=replace)
    click.echo(f"restored {summary.path}: {summary.dialect} database (revision {summary.revision}), "
               f"{summary.files} file(s)")


@main.group("website")
def website_group() -> None:
    """The department's website: the portal bundle, and pushing posts to the portal."""


@website_group.command("export")
@click.option("--campaign", "campaign_id", type=int, default=None, help="The campaign's id (see `campaign list`).")
@click.option("--plan", "plan_number", default=None, help="A whole plan instead (e.g. 81/KH-STNMT).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="The zip to write.")
@with_appcontext
@friendly_errors
def website_export(campaign_id: int | None, plan_number: str | None, output: Path) -> None:
    """Write the "export for the portal" zip: the public pages as HTML with their images."""
    import shutil

    from cms.services.acceptance import plan_by_number
    from cms.website import export

    if (campaign_id is None) == (plan_number is None):
        raise click.UsageError("Give either --campaign or --plan.")
    from cms.errors import NotFound

    plan_id = plan_by_number(plan_number).id if plan_number is not None else None
    try:
        with current_app.test_request_context():
            bundle = export.campaign_bundle(campaign_id) if campaign_id is not None else export.plan_bundle(plan_id or 0)
    except NotFound:
        raise click.ClickException("nothing of it is on the website yet, so there is nothing to export "
                                   "(approved media with alt text put on the website, or a published post)") from None
    partial = output.with_name(output.name + ".partial")
    try:
        with bundle.file, partial.open("wb") as out:
            shutil.copyfileobj(bundle.file, out)
        partial.replace(output)  # all or nothing under the name asked for
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {output}: {error.strerror or error}") from None
    pages = sum(1 for name in bundle.names if name.endswith(".html"))
    files = sum(1 for name in bundle.names if name.startswith("media/"))
    click.echo(f"{output}: {pages} page(s), {files} media file(s)")


@website_group.command("push")
@with_appcontext
@friendly_errors
def website_push() -> None:
    """One round of pushing posts to the portal ([publishing] in the configuration), as the
    scheduler does every half minute: publish what is new or changed, take down what left."""
    from datetime import UTC, datetime

    from cms.services import portal

    settings = _settings()
    if not settings.publishing.kind:
        raise click.ClickException("no portal is configured: set [publishing] kind, url, user and "
                                   "application_password (see README)")
    done = portal.sync(settings, datetime.now(UTC))
    if done.busy:
        raise click.ClickException("another round is running (the scheduler's, or another push): try again shortly")
    click.echo(f"published {len(done.published)}, taken down {len(done.withdrawn)}, files uploaded {done.uploaded}, "
               f"files deleted {done.deleted}")
    for problem in done.failed:
        click.echo(problem, err=True)
    if done.failed:
        sys.exit(1)


@main.command("run")
@click.option("--host", default=None, help="Address to listen on (default: [web] host).")
@click.option("--port", type=int, default=None, help="Port (default: [web] port).")
@with_appcontext
def run_command(host: str | None, port: int | None) -> None:
    """Serve the web app alone with Flask's server (use gunicorn in production)."""
    _serve(current_app._get_current_object(), host, port)  # type: ignore[attr-defined]


def _serve(app: Flask, host: str | None, port: int | None) -> None:
    from werkzeug.serving import run_simple

    settings = app.config["PANOLED"]
    host, port = host or settings.web.host, port or settings.web.port
    click.echo(f"Panoled is at http://{host}:{port}/  (Ctrl+C stops it)")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@main.command("demo")
@click.option("--host", default=None, help="Address to listen on (default: [web] host).")
@click.option("--port", type=int, default=None, help="Port (default: [web] port).")
@click.option("--no-serve", is_flag=True, help="Prepare the demo and exit without serving.")
@click.pass_context
@with_appcontext
@friendly_errors
def demo_command(ctx: click.Context, host: str | None, port: int | None, no_serve: bool) -> None:
    """Set up a demo: init, the 2024 plan, simulated boards with a schedule, an admin with a fresh
    password; then serve the web app with the scheduler and the derivative workers."""
    from cms.extensions import db
    from cms.services.accounts import NewAccount, create_user, find_user, generate_password, set_password
    from cms.services.audit import Actor

    ctx.invoke(init_command)
    ctx.invoke(plan_import, file=DEMO_PLAN, number=None, dry_run=False, as_json=False)
    password = generate_password()
    actor, policy = Actor.command_line(), _settings().security
    admin = find_user(DEMO_ADMIN)
    if admin is None:
        create_user(NewAccount(email=DEMO_ADMIN, role="admin", password=password, display_name="Demo admin"), policy, actor)
    else:
        set_password(admin, password, policy, actor)
        admin.active = True
    db.session.commit()
    settings = _settings()
    from datetime import datetime

    from cms.services.demo import seed_demo

    from cms.services.demo import BOARDS
    from cms.services.simulators import boards_by_code, connect_boards

    if seed_demo(settings, datetime.now(settings.tz).date()):
        click.echo("demo: 6 simulated boards, 4 campaign banners, their playlists and rules from today")
    demo_boards = boards_by_code([board.code for board in BOARDS])
    simulator = None
    if no_serve:
        connect_boards(demo_boards, None, actor)  # boards in this process, for `scheduler run --once`
    else:
        simulator = _simulator_server("127.0.0.1", settings.simulator.port, _web_url(settings, host, port),
                                      settings.data_dir / "simulator", 1.0, settings.boards.heartbeat_seconds)
        simulator.add_boards(connect_boards(demo_boards, simulator.url, actor))
        simulator.start()
        click.echo(f"demo: the simulated boards play at {simulator.url}/")
    click.echo("")
    click.echo(f"  Sign in at http://{host or settings.web.host}:{port or settings.web.port}/login")
    click.echo(f"  e-mail:   {DEMO_ADMIN}")
    click.echo(f"  password: {password}   (new at every start; shown only here)")
    click.echo("")
    if not no_serve:
        import threading

        from cms.services.derivatives import queue_missing, start_workers

        from scheduler.service import SchedulerService

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        queue_missing(settings)
        start_workers(app, settings.media.workers, threading.Event())
        scheduler = SchedulerService(app, name="demo")
        threading.Thread(target=scheduler.run, name="scheduler", daemon=True).start()
        try:
            _serve(app, host, port)
        finally:
            if simulator is not None:
                simulator.stop()
