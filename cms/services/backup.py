"""Backup and restore: the database, the media, the play-log archives and the secret key
in one tar file, taken while everything runs.

The database is copied first, as one consistent snapshot: SQLite's online backup API,
or pg_dump (which reads inside one transaction snapshot). Files are copied after it:
stored media and archives are written once under new names and never changed, so every
file the snapshot names is there; files newer than the snapshot come along unnamed and
harmless. A manifest lists every member with its size and SHA-256, checked on restore
before anything is replaced.

The secret key signs the play-log chains and sessions: a backup without it cannot prove
its plays, so it is included (unless configured by `web.secret_key`), and the backup
file must be kept as carefully as the database.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from cms.database import current_revision, upgrade
from cms.errors import PanoledError

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
CHUNK = 1024 * 1024


class BackupFailed(PanoledError):
    """A backup or restore could not be made; nothing was replaced."""

    code = "backup_failed"


@dataclass(frozen=True)
class Summary:
    path: Path
    dialect: str
    revision: str | None
    files: int
    bytes: int


def _url(database_url: str) -> URL:
    return make_url(database_url)


def _dialect(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


def _libpq_env(url: URL) -> dict[str, str]:
    """Connection settings for pg_dump/pg_restore through the environment: the password never
    appears in a process list."""
    env = dict(os.environ)
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value:
            env[key] = str(value)
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupFailed("%(tool)s is not installed: it comes with PostgreSQL's client package "
                           "(postgresql-client).", code="backup_tool_missing", tool=command[0]) from None
    if result.returncode != 0:
        raise BackupFailed("%(tool)s failed: %(error)s", code="backup_tool_failed", tool=command[0],
                           error=result.stderr.strip()[-500:])


def _sqlite_path(database_url: str) -> Path:
    database = _url(database_url).database
    if not database or database == ":memory:":
        raise BackupFailed("Only a SQLite database in a file can be backed up.", code="backup_unsupported")
    return Path(database)


def _snapshot(database_url: str, into: Path) -> str:
    """The database as one consistent copy in `into`; returns its member name."""
    if _dialect(database_url) == "sqlite":
        target = into / SQLITE_MEMBER
        source = sqlite3.connect(f"file:{_sqlite_path(database_url)}?mode=ro", uri=True)
        try:
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)  # one step: a single read transaction, so one moment of the database
            finally:
                copy.close()
        finally:
            source.close()
        return SQLITE_MEMBER
    target = into / PG_MEMBER
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target)],
         _libpq_env(_url(database_url)))
    return PG_MEMBER


def _file_roots(config: Any) -> dict[str, Path]:
    """What besides the database a backup holds, by the name it has inside the backup."""
    roots = {"media": config.data_dir / "media", "archive": config.archive_dir}
    if not config.web.secret_key:
        roots["secret_key"] = config.data_dir / "secret_key"
    return roots


def _walk(roots: dict[str, Path]) -> Iterator[tuple[str, Path]]:
    for name, root in roots.items():
        if root.is_file():
            yield name, root
        elif root.is_dir():
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root)
                if path.is_file() and not path.is_symlink() and not relative.parts[0].startswith("."):
                    yield f"{name}/{relative.as_posix()}", path  # .incoming and the like: uploads in flight


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def backup(config: Any, database_url: str, output: Path, now: datetime | None = None) -> Summary:
    """Write the backup to `output` (whole, or not at all)."""
    output = output.resolve()
    if not output.parent.is_dir():
        raise BackupFailed("The folder %(folder)s does not exist.", code="backup_folder_missing",
                           folder=str(output.parent))
    engine = create_engine(database_url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    partial = output.with_name(output.name + ".partial")
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".panoled-backup-") as work:
        member = _snapshot(database_url, Path(work))
        entries = {member: Path(work) / member}
        entries |= dict(_walk(_file_roots(config)))
        listed = {name: {"size": path.stat().st_size, "sha256": _sha256(path)} for name, path in entries.items()}
        manifest = {"format": FORMAT, "created_at": (now or datetime.now(UTC)).isoformat(),
                    "dialect": _dialect(database_url), "revision": revision, "database": member, "files": listed}
        try:
            with tarfile.open(partial, "w") as archive:
                _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False).encode())
                for name, path in entries.items():
                    archive.add(path, arcname=name, recursive=False)
            with partial.open("rb") as handle:
                os.fsync(handle.fileno())
            partial.replace(output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    output.chmod(0o600)  # it holds the secret key and everyone's data
    return Summary(output, manifest["dialect"], revision, len(listed), sum(e["size"] for e in listed.values()))


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


# Restore --------------------------------------------------------------------------------------


def _read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.extractfile(MANIFEST)
        manifest = json.loads(member.read()) if member is not None else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
        raise BackupFailed("This is not a Panoled backup (or one of another format).", code="backup_invalid")
    return manifest


def _unpack(archive: tarfile.TarFile, manifest: dict[str, Any], into: Path) -> None:
    """Every listed member, checked against the manifest; anything else in the file is refused."""
    names = {member.name for member in archive.getmembers() if member.name != MANIFEST}
    if names != set(manifest["files"]):
        raise BackupFailed("The backup's contents do not match its manifest.", code="backup_damaged")
    for member in archive.getmembers():
        if member.name == MANIFEST:
            continue
        target = (into / member.name).resolve()
        if not member.isfile() or into.resolve() not in target.parents:
            raise BackupFailed("The backup holds an entry outside its folders: %(name)s.", code="backup_damaged",
                               name=member.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        source: IO[bytes] | None = archive.extractfile(member)
        if source is None:
            raise BackupFailed("The backup's contents do not match its manifest.", code="backup_damaged")
        digest = hashlib.sha256()
        with source, target.open("wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        expected = manifest["files"][member.name]
        if digest.hexdigest() != expected.get("sha256") or target.stat().st_size != expected.get("size"):
            raise BackupFailed("%(name)s in the backup is damaged (its checksum differs).", code="backup_damaged",
                               name=member.name)


def database_in_use(database_url: str) -> bool:
    """Whether the database already holds Panoled's tables with any account or campaign."""
    if _dialect(database_url) == "sqlite" and not _sqlite_path(database_url).exists():
        return False
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            if "users" not in tables:
                return False
            return any(connection.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None
                       for table in ("users", "campaigns", "screens") if table in tables)
    finally:
        engine.dispose()


def restore(config: Any, database_url: str, source: Path, replace: bool = False) -> Summary:
    """Put a backup back: database, media, archives and secret key. Refused over a database in
    use unless `replace`; the backup is checked whole before anything is replaced. Nothing else
    may use the database and data folder meanwhile (stop the web and the schedulers)."""
    if not source.is_file():
        raise BackupFailed("No backup file %(path)s.", code="backup_missing", path=str(source))
    try:
        archive = tarfile.open(source, "r")
    except (tarfile.TarError, OSError):
        raise BackupFailed("This is not a Panoled backup (or one of another format).", code="backup_invalid") from None
    dialect = _dialect(database_url)
    with archive:
        manifest = _read_manifest(archive)
        if manifest.get("dialect") != dialect:
            raise BackupFailed("The backup is of a %(theirs)s database; this one is %(ours)s.",
                               code="backup_other_database", theirs=manifest.get("dialect"), ours=dialect)
        if not replace and database_in_use(database_url):
            raise BackupFailed("The database already holds data: restore with --replace to overwrite it.",
                               code="backup_target_in_use")
        config.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=config.data_dir, prefix=".restore-") as work:
            staged = Path(work)
            _unpack(archive, manifest, staged)
            _restore_database(database_url, staged / manifest["database"])
            roots = _file_roots(config)
            for name, root in roots.items():
                incoming = staged / name
                if not incoming.exists():
                    continue
                if root.is_dir():
                    shutil.rmtree(root)
                elif root.exists():
                    root.unlink()
                root.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(incoming), str(root))
            if (config.data_dir / "secret_key").is_file():
                (config.data_dir / "secret_key").chmod(0o600)
    engine = create_engine(database_url)
    try:
        upgrade(engine)  # a backup of an older release comes up to this one's tables
    finally:
        engine.dispose()
    files = manifest["files"]
    return Summary(source, dialect, manifest.get("revision"), len(files), sum(e["size"] for e in files.values()))


def _restore_database(database_url: str, dump: Path) -> None:
    if _dialect(database_url) == "sqlite":
        target = _sqlite_path(database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        for extra in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            extra.unlink(missing_ok=True)
        partial = target.with_name(target.name + ".restoring")
        shutil.copyfile(dump, partial)
        partial.replace(target)
        return
    url = _url(database_url)
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:  # an empty schema, then the dump in one transaction
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
          "--dbname", str(url.database), str(dump)], _libpq_env(url))
