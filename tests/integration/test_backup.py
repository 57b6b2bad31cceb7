"""`panoled backup` and `panoled restore`: a round trip while the database is being written
gives back every table, every media file (same checksums), the secret key and working
sign-ins; a damaged or foreign file, or a database in use, is refused and changes nothing."""
from __future__ import annotations

import dataclasses
import hashlib
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from cms import create_app
from cms.config import StorageConfig
from cms.extensions import db
from cms.models import AuditEvent, MediaAsset
from cms.services import media as media_service
from cms.services.backup import BackupFailed, restore
from conftest import STRONG_PASSWORD, csrf_token
from website_setup import poster_on_campaign


@pytest.fixture
def target(settings: Any, tmp_path: Path) -> Iterator[Any]:
    """Another installation to restore into: its own data folder and an empty database."""
    url = settings.database_url
    if url.startswith("postgresql"):
        name = f"{make_url(url).database}_restore"
        admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        other_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    else:
        other_url = f"sqlite:///{tmp_path / 'restored' / 'panoled.sqlite3'}"
    yield dataclasses.replace(settings, storage=StorageConfig(data_dir=str(tmp_path / "restored")),
                              database=dataclasses.replace(settings.database, url=other_url))
    if url.startswith("postgresql"):
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                    for table in db.metadata.sorted_tables}
    finally:
        engine.dispose()


def _writing(url: str, stop: threading.Event) -> threading.Thread:
    """Another process's writes going on during the backup: audit entries, one a transaction."""
    def run() -> None:
        engine = create_engine(url)
        try:
            while not stop.is_set():
                with Session(engine) as session:
                    session.add(AuditEvent(actor="load", action="test.write", object_type="test", details={}))
                    session.commit()
        finally:
            engine.dispose()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_backup_taken_while_writing_restores_everything(app: Flask, client: Any, accounts: Any, imported_plan: Any,
                                                          runner: Any, settings: Any, target: Any,
                                                          tmp_path: Path) -> None:
    from cms.cli import main

    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 1)
    with app.app_context():
        asset = db.session.get(MediaAsset, poster)
        files = {path.relative_to(settings.data_dir): hashlib.sha256(path.read_bytes()).hexdigest()
                 for what in ("original", "thumbnail")
                 if (path := media_service.file_path(asset, settings, what)) is not None}
    assert len(files) == 2
    before = _counts(settings.database_url)
    stop = threading.Event()
    writer = _writing(settings.database_url, stop)
    try:
        out = tmp_path / "panoled-backup.tar"
        answer = runner.invoke(main, ["backup", "-o", str(out)])
    finally:
        stop.set()
        writer.join(timeout=30)
    assert answer.exit_code == 0, answer.output
    assert out.stat().st_mode & 0o777 == 0o600
    after = _counts(settings.database_url)
    assert after["audit_events"] > before["audit_events"]  # the writes really went on

    summary = restore(target, target.database_url, out)
    assert summary.files >= 3
    restored = _counts(target.database_url)
    for table, count in before.items():
        if table not in ("audit_events", "alembic_version"):
            assert restored[table] == count, table
    assert before["audit_events"] <= restored["audit_events"] <= after["audit_events"]
    for relative, digest in files.items():
        assert hashlib.sha256((target.data_dir / relative).read_bytes()).hexdigest() == digest
    assert (target.data_dir / "secret_key").read_bytes() == (settings.data_dir / "secret_key").read_bytes()
    if target.database_url.startswith("sqlite"):
        engine = create_engine(target.database_url)
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert connection.execute(text("PRAGMA foreign_key_check")).first() is None
        engine.dispose()

    restored_app = create_app(target, {"TESTING": True})
    try:
        other = restored_app.test_client()
        page = other.get("/login")
        signed_in = other.post("/login", data={"email": "editor@example.org", "password": STRONG_PASSWORD,
                                               "csrf_token": csrf_token(page)})
        assert signed_in.status_code == 302
        shown = other.get(f"/media/{poster}/file/thumbnail")
        assert shown.status_code == 200 and hashlib.sha256(shown.get_data()).hexdigest() in files.values()
    finally:
        with restored_app.app_context():
            db.engine.dispose()


def test_a_restore_over_data_a_damaged_backup_or_another_file_is_refused(
        app: Flask, client: Any, accounts: Any, imported_plan: Any, runner: Any, settings: Any, target: Any,
        tmp_path: Path) -> None:
    from cms.cli import main

    poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 2)
    out = tmp_path / "b.tar"
    assert runner.invoke(main, ["backup", "-o", str(out)]).exit_code == 0
    before = _counts(settings.database_url)

    with pytest.raises(BackupFailed) as in_use:  # the source itself holds data
        restore(settings, settings.database_url, out)
    assert in_use.value.code == "backup_target_in_use"
    answer = runner.invoke(main, ["restore", str(out)])
    assert answer.exit_code == 1 and "--replace" in answer.output

    damaged = tmp_path / "damaged.tar"
    with tarfile.open(out) as source, tarfile.open(damaged, "w") as copy:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("media/"):
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            copy.addfile(member, __import__("io").BytesIO(data))
    with pytest.raises(BackupFailed) as broken:
        restore(target, target.database_url, damaged)
    assert broken.value.code == "backup_damaged"
    assert not target.data_dir.joinpath("media").exists()

    stranger = tmp_path / "plan.tar"
    with tarfile.open(stranger, "w") as archive:
        archive.add(Path(__file__), arcname="notes.txt")
    with pytest.raises(BackupFailed) as foreign:
        restore(target, target.database_url, stranger)
    assert foreign.value.code == "backup_invalid"
    assert _counts(settings.database_url) == before
    assert runner.invoke(main, ["backup", "-o", str(tmp_path / "missing" / "b.tar")]).exit_code == 1
