"""Configuration: `config.toml` (or the file named by PANOLED_CONFIG) read with
tomllib into frozen dataclasses, then overridden by PANOLED_<SECTION>__<KEY>
environment variables.

Unknown sections and keys, and values of the wrong type, are errors that name the
key: a typo in a production config must not silently fall back to a default.
Nothing here runs at import time; `load_config()` is called by the app factory
and the CLI.
"""
from __future__ import annotations

import dataclasses
import os
import secrets
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cms.errors import ConfigError

ENV_PREFIX = "PANOLED_"
CONFIG_ENV = "PANOLED_CONFIG"
ROLES = ("admin", "editor", "approver", "operator", "auditor")


@dataclass(frozen=True)
class OrganisationConfig:
    name: str = "Sở Tài nguyên và Môi trường"
    short_name: str = "STNMT"
    province: str = ""
    logo: str = ""


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 5000
    secret_key: str = ""
    https: bool = False
    default_locale: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    session_hours: int = 12
    # How many reverse proxies (nginx...) stand in front and set X-Forwarded-For/-Proto.
    # 0: trust no forwarded header. Login throttling counts per client address, so
    # behind a proxy this must be set or every client looks the same.
    trusted_proxies: int = 0


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = ""
    echo: bool = False


@dataclass(frozen=True)
class StorageConfig:
    data_dir: str = "var"
    # Behind nginx: files are sent by nginx from this internal location (which maps to
    # data_dir) once the app has authorised the request; empty: the app sends them itself.
    accel_redirect: str = ""


@dataclass(frozen=True)
class SecurityConfig:
    password_min_length: int = 12
    login_window_minutes: int = 15
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 30


@dataclass(frozen=True)
class ImportsConfig:
    max_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class MediaConfig:
    max_image_mb: int = 50
    max_video_mb: int = 2048
    max_video_minutes: int = 240
    workers: int = 2  # derivative workers started by `panoled demo` (and `panoled media work`)


@dataclass(frozen=True)
class SchedulerConfig:
    """The single-leader scheduler (`panoled scheduler run`, or inside `panoled demo`)."""

    reconcile_seconds: int = 60        # safety interval between reconciles (also at every schedule boundary)
    lookahead_hours: int = 48          # each manifest covers at least this much ahead, for offline play
    refresh_hours: int = 6             # manifests cover whole steps of this size, so time passing alone rarely changes them
    push_workers: int = 64             # boards pushed to at the same time (more than may be unreachable at once)
    push_timeout_seconds: float = 10.0
    backoff_base_seconds: float = 2.0  # first retry after an unreachable board; doubles up to the maximum, with jitter
    backoff_max_seconds: float = 300.0
    standby_poll_seconds: float = 5.0  # how often a stand-by tries to become the leader
    boundary_min_seconds: float = 5.0  # boundary reconciles no closer together than this
    keep_manifest_days: int = 30       # older manifests are removed (the newest per board is always kept)


@dataclass(frozen=True)
class BoardsConfig:
    """How the CMS hears from boards (their heartbeats, or its status polls of those that
    cannot call in) and when it raises alerts."""

    heartbeat_seconds: int = 30             # boards send a heartbeat this often; 3 missed: offline
    status_poll_seconds: int = 60           # the leader asks boards that cannot call in this often; 3 unseen: offline
    offline_alert_minutes: int = 15         # an alert once a board has been offline this long
    unacknowledged_alert_minutes: int = 10  # an alert when a board has not taken its newest manifest this long


@dataclass(frozen=True)
class SimulatorConfig:
    """The simulated boards `panoled demo` serves (`panoled simulator run` takes --port instead)."""

    port: int = 0  # 0: a free port, chosen at each start


@dataclass(frozen=True)
class RetentionConfig:
    """How long plays stay in the database before `panoled playlog archive` moves them to files."""

    archive_after_days: int = 400  # a bit over a year online: a whole plan year plus its acceptance
    archive_dir: str = ""          # empty: <data_dir>/archive


@dataclass(frozen=True)
class PublishingConfig:
    """A portal the published posts are pushed to (cms.publishers), besides the /public/ pages."""

    kind: str = ""                  # "" (none) or "wordpress"
    url: str = ""                   # the portal's address, e.g. https://stnmt.example.gov.vn
    user: str = ""                  # the portal account that publishes
    application_password: str = ""  # its application password: set it in the environment, never in a file in git
    timeout_seconds: float = 30.0   # per request to the portal

    def __repr__(self) -> str:  # the password never reaches a log or a traceback through the config
        return f"PublishingConfig(kind={self.kind!r}, url={self.url!r}, user={self.user!r})"


@dataclass(frozen=True)
class BoardProfileConfig:
    """A board size renditions are made for, until boards are registered."""

    key: str
    name: str
    width: int
    height: int
    pixel_pitch_mm: float
    viewing_distance_m: float


DEFAULT_PROFILES = (
    BoardProfileConfig("1920x1080", "LED 1920×1080 (P6)", 1920, 1080, 6.0, 40.0),
    BoardProfileConfig("960x320", "LED 960×320 (P10)", 960, 320, 10.0, 60.0),
    BoardProfileConfig("768x384", "LED 768×384 (P10)", 768, 384, 10.0, 50.0),
)


@dataclass(frozen=True)
class Config:
    organisation: OrganisationConfig = field(default_factory=OrganisationConfig)
    web: WebConfig = field(default_factory=WebConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    imports: ImportsConfig = field(default_factory=ImportsConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    boards: BoardsConfig = field(default_factory=BoardsConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    publishing: PublishingConfig = field(default_factory=PublishingConfig)
    board_profiles: tuple[BoardProfileConfig, ...] = DEFAULT_PROFILES
    source: str = ""  # the file this was read from, for messages

    @property
    def data_dir(self) -> Path:
        return Path(self.storage.data_dir)

    @property
    def archive_dir(self) -> Path:
        return Path(self.retention.archive_dir) if self.retention.archive_dir else self.data_dir / "archive"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'panoled.sqlite3'}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.web.timezone)


SECTIONS: dict[str, type] = {
    "organisation": OrganisationConfig,
    "web": WebConfig,
    "database": DatabaseConfig,
    "storage": StorageConfig,
    "security": SecurityConfig,
    "imports": ImportsConfig,
    "media": MediaConfig,
    "scheduler": SchedulerConfig,
    "boards": BoardsConfig,
    "simulator": SimulatorConfig,
    "retention": RetentionConfig,
    "publishing": PublishingConfig,
}


def default_config_path() -> Path:
    """The repository's config.toml when run from a checkout, else ./config.toml."""
    here = Path(__file__).resolve().parent.parent / "config.toml"
    return here if here.exists() else Path.cwd() / "config.toml"


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Read the file, apply environment then explicit overrides, validate, resolve paths."""
    environ = os.environ if environ is None else environ
    named = path or environ.get(CONFIG_ENV)
    config_path = Path(named or default_config_path())
    if named and not config_path.exists():
        raise ConfigError(f"configuration file {config_path} does not exist")
    raw = _read_toml(config_path) if config_path.exists() else {}
    profiles = _board_profiles(raw.pop("board_profiles", None))
    merged = _merge_env(raw, environ)
    for section, values in (overrides or {}).items():
        merged.setdefault(section, {}).update(values)
    config = dataclasses.replace(_build(merged, str(config_path)), board_profiles=profiles)
    return _resolve_paths(config, config_path.resolve().parent)


def _board_profiles(raw: Any) -> tuple[BoardProfileConfig, ...]:
    """[[board_profiles]] tables; absent means the defaults. Not overridable by env."""
    if raw is None:
        return DEFAULT_PROFILES
    if not isinstance(raw, list) or not raw:
        raise ConfigError("board_profiles must be one or more [[board_profiles]] tables")
    hints = get_type_hints(BoardProfileConfig)
    profiles = []
    for index, table in enumerate(raw, start=1):
        where = f"board_profiles[{index}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        unknown = set(table) - set(hints)
        missing = set(hints) - set(table)
        if unknown or missing:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
        values = {key: _convert(f"{where}.{key}", hints[key], table[key]) for key in hints}
        profile = BoardProfileConfig(**values)
        if not (16 <= profile.width <= 7680 and 16 <= profile.height <= 4320) or profile.width % 2 or profile.height % 2:
            raise ConfigError(f"{where}: width and height must be even numbers of pixels between 16 and 7680x4320")
        if profile.pixel_pitch_mm <= 0 or profile.viewing_distance_m <= 0:
            raise ConfigError(f"{where}: pixel_pitch_mm and viewing_distance_m must be positive")
        if not profile.key.replace("-", "").replace("_", "").isalnum() or len(profile.key) > 40:
            raise ConfigError(f"{where}.key: letters, digits, - and _ only (at most 40)")
        profiles.append(profile)
    if len({p.key for p in profiles}) != len(profiles):
        raise ConfigError("board_profiles: keys must be unique")
    return tuple(profiles)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _merge_env(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for section, values in raw.items():
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table of keys, not a single value")
        merged[section] = dict(values)
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        section, sep, key = name[len(ENV_PREFIX):].partition("__")
        if not sep or not key:
            raise ConfigError(f"environment variable {name}: expected PANOLED_<SECTION>__<KEY>")
        merged.setdefault(section.lower(), {})[key.lower()] = _EnvValue(name, value)
    return merged


@dataclass(frozen=True)
class _EnvValue:
    """A string from the environment, converted to the field's type on build."""

    name: str
    text: str


def _build(merged: dict[str, dict[str, Any]], source: str) -> Config:
    sections: dict[str, Any] = {}
    for section, values in merged.items():
        cls = SECTIONS.get(section)
        if cls is None:
            raise ConfigError(f"unknown configuration section [{section}] (known: {', '.join(SECTIONS)})")
        hints = get_type_hints(cls)
        kwargs = {}
        for key, value in values.items():
            if key not in hints:
                raise ConfigError(f"unknown configuration key {section}.{key} (known: {', '.join(hints)})")
            kwargs[key] = _convert(f"{section}.{key}", hints[key], value)
        sections[section] = cls(**kwargs)
    config = Config(**sections, source=source)
    _validate(config)
    return config


def _convert(where: str, kind: type, value: Any) -> Any:
    if isinstance(value, _EnvValue):
        where = f"{value.name} ({where})"
        value = _from_text(where, kind, value.text)
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")


def _from_text(where: str, kind: type, text: str) -> Any:
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{where}: expected true or false, got {text!r}")
    if kind is float:
        try:
            return float(text.strip())
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got {text!r}") from None
    if kind is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ConfigError(f"{where}: expected a whole number, got {text!r}") from None
    return text


def _validate(config: Config) -> None:
    checks = [
        (1 <= config.web.port <= 65535, "web.port", "must be between 1 and 65535"),
        (config.web.default_locale in {"vi", "en"}, "web.default_locale", "must be vi or en"),
        (config.web.session_hours >= 1, "web.session_hours", "must be at least 1"),
        (0 <= config.web.trusted_proxies <= 5, "web.trusted_proxies", "must be between 0 and 5"),
        (config.security.password_min_length >= 12, "security.password_min_length", "must be at least 12"),
        (config.security.login_window_minutes >= 1, "security.login_window_minutes", "must be at least 1"),
        (config.security.login_max_failures_per_account >= 1, "security.login_max_failures_per_account", "must be at least 1"),
        (config.security.login_max_failures_per_ip >= 1, "security.login_max_failures_per_ip", "must be at least 1"),
        (config.imports.max_bytes >= 1024, "imports.max_bytes", "must be at least 1024"),
        (1 <= config.media.max_image_mb <= 1024, "media.max_image_mb", "must be between 1 and 1024"),
        (1 <= config.media.max_video_mb <= 65536, "media.max_video_mb", "must be between 1 and 65536"),
        (1 <= config.media.max_video_minutes <= 24 * 60, "media.max_video_minutes", "must be between 1 and 1440"),
        (0 <= config.media.workers <= 16, "media.workers", "must be between 0 and 16"),
        (bool(config.storage.data_dir.strip()), "storage.data_dir", "must not be empty"),
        (not config.storage.accel_redirect or (config.storage.accel_redirect.startswith("/")
                                               and config.storage.accel_redirect.endswith("/")),
         "storage.accel_redirect", "must be empty or an internal location like /_panoled_files/"),
        (1 <= config.scheduler.reconcile_seconds <= 3600, "scheduler.reconcile_seconds", "must be between 1 and 3600"),
        (1 <= config.scheduler.lookahead_hours <= 24 * 14, "scheduler.lookahead_hours", "must be between 1 and 336"),
        (1 <= config.scheduler.refresh_hours <= 24, "scheduler.refresh_hours", "must be between 1 and 24"),
        (1 <= config.scheduler.push_workers <= 64, "scheduler.push_workers", "must be between 1 and 64"),
        (0.1 <= config.scheduler.push_timeout_seconds <= 120, "scheduler.push_timeout_seconds", "must be between 0.1 and 120"),
        (0 < config.scheduler.backoff_base_seconds <= config.scheduler.backoff_max_seconds <= 3600,
         "scheduler.backoff_base_seconds", "must be positive and at most backoff_max_seconds (at most 3600)"),
        (0.1 <= config.scheduler.standby_poll_seconds <= 25, "scheduler.standby_poll_seconds",
         "must be between 0.1 and 25 (a stand-by takes over within 30 s)"),
        (0 <= config.scheduler.boundary_min_seconds <= 600, "scheduler.boundary_min_seconds", "must be between 0 and 600"),
        (config.scheduler.keep_manifest_days >= 1, "scheduler.keep_manifest_days", "must be at least 1"),
        (5 <= config.boards.heartbeat_seconds <= 3600, "boards.heartbeat_seconds", "must be between 5 and 3600"),
        (10 <= config.boards.status_poll_seconds <= 3600, "boards.status_poll_seconds", "must be between 10 and 3600"),
        (1 <= config.boards.offline_alert_minutes <= 10080, "boards.offline_alert_minutes", "must be between 1 and 10080"),
        (1 <= config.boards.unacknowledged_alert_minutes <= 10080, "boards.unacknowledged_alert_minutes",
         "must be between 1 and 10080"),
        (0 <= config.simulator.port <= 65535, "simulator.port", "must be between 0 (a free port) and 65535"),
        (bool(config.organisation.name.strip()), "organisation.name", "must not be empty"),
        (1 <= config.retention.archive_after_days <= 36500, "retention.archive_after_days", "must be between 1 and 36500"),
        (config.publishing.kind in ("", "wordpress"), "publishing.kind", "must be empty (no portal) or wordpress"),
        (not config.publishing.kind or _safe_portal_url(config.publishing.url), "publishing.url",
         "must be the portal's https:// address (the application password travels with every request)"),
        (not config.publishing.kind or bool(config.publishing.user and config.publishing.application_password),
         "publishing.user", "and publishing.application_password must both be set"),
        (1 <= config.publishing.timeout_seconds <= 300, "publishing.timeout_seconds", "must be between 1 and 300"),
    ]
    for ok, key, problem in checks:
        if not ok:
            raise ConfigError(f"{key} {problem}")
    try:
        ZoneInfo(config.web.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"web.timezone: unknown time zone {config.web.timezone!r}") from None
    logo = config.organisation.logo
    if logo and Path(logo).suffix.lower() not in {".png", ".jpg", ".jpeg", ".webp"}:
        raise ConfigError("organisation.logo: use a .png, .jpg or .webp image")
    url = config.database.url
    if url and not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise ConfigError(f"database.url: only sqlite:/// and postgresql:// are supported, got {url.split(':')[0]}:")


def _safe_portal_url(url: str) -> bool:
    """https://, or plain http:// to this machine only."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"))


def _resolve_paths(config: Config, base: Path) -> Config:
    """Relative paths are relative to the config file, not to wherever the command ran."""
    data_dir = Path(config.storage.data_dir)
    if not data_dir.is_absolute():
        data_dir = base / data_dir
    logo = config.organisation.logo
    if logo and not Path(logo).is_absolute():
        logo = str(base / logo)
    archive_dir = config.retention.archive_dir
    if archive_dir and not Path(archive_dir).is_absolute():
        archive_dir = str(base / archive_dir)
    url = config.database.url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return dataclasses.replace(
        config,
        storage=dataclasses.replace(config.storage, data_dir=str(data_dir)),
        organisation=dataclasses.replace(config.organisation, logo=logo),
        database=dataclasses.replace(config.database, url=url),
        retention=dataclasses.replace(config.retention, archive_dir=archive_dir),
    )


def secret_key(config: Config) -> str:
    """The configured secret key, else one generated once into the data folder (mode 0600)."""
    if config.web.secret_key:
        return config.web.secret_key
    path = config.data_dir / "secret_key"
    if not path.exists():
        # Written whole under another name, then linked into place: gunicorn's workers start
        # together, and one must never read the file another has created but not yet filled.
        config.data_dir.mkdir(parents=True, exist_ok=True)
        fd, written = tempfile.mkstemp(dir=config.data_dir, prefix=".secret_key-")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:  # mkstemp makes it 0600
                fh.write(secrets.token_urlsafe(48))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(written, path)
            except FileExistsError:
                pass  # another process won the race: its key is the key
        finally:
            os.unlink(written)
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise ConfigError(f"{path} is empty: delete it to have a new secret key made (signed-in people sign in again)")
    return key
