"""The `panoled` command line, as PRODUCT.md promises it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flask import Flask

from conftest import PLAN_FILE
from cms.cli import main

CAMPAIGN_KEYS = {"id", "number", "title", "lead_unit", "partner_units", "channels", "period_text", "period_start", "period_end", "status"}


def invoke(runner, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(main, list(args), input=input, catch_exceptions=False)


def test_campaign_list_json_prints_the_16_campaigns_with_the_product_keys(runner) -> None:
    assert invoke(runner, "plan", "import", str(PLAN_FILE)).exit_code == 0
    result = invoke(runner, "campaign", "list", "--json")
    campaigns = json.loads(result.output)
    assert len(campaigns) == 16
    assert all(CAMPAIGN_KEYS <= set(c) for c in campaigns)
    assert campaigns[8]["period_start"] == "2024-07-01" and campaigns[8]["period_end"] == "2024-09-30"


def test_plan_import_summarises_what_it_did(runner) -> None:
    first = invoke(runner, "plan", "import", str(PLAN_FILE))
    assert "16 campaigns were created" in first.output
    dry = invoke(runner, "plan", "import", str(PLAN_FILE), "--dry-run", "--json")
    assert json.loads(dry.output)["unchanged"] == 16


def test_a_corrupt_docx_is_refused_with_a_clear_message(runner, tmp_path: Path) -> None:
    bad = tmp_path / "ke-hoach.docx"
    bad.write_bytes(b"PK\x03\x04 not a document")
    result = runner.invoke(main, ["plan", "import", str(bad)])
    assert result.exit_code == 1
    assert "plan_corrupt" in result.output and "Traceback" not in result.output


def test_user_add_refuses_short_and_common_passwords(runner) -> None:
    short = runner.invoke(main, ["user", "add", "a@example.org", "--role", "editor", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "password_too_short" in short.output
    common = runner.invoke(main, ["user", "add", "a@example.org", "--role", "editor", "--password-stdin"], input="password123456\n")
    assert common.exit_code == 1 and "password_common" in common.output
    ok = runner.invoke(main, ["user", "add", "a@example.org", "--role", "editor", "--password-stdin"], input="cuoc-song-xanh-2024-panoled\n")
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(main, ["user", "add", "A@example.org", "--role", "admin", "--password-stdin"], input="cuoc-song-xanh-2024-panoled\n")
    assert again.exit_code == 1 and "email_taken" in again.output


def test_user_add_asks_for_the_password_twice_when_not_piped(runner) -> None:
    result = runner.invoke(main, ["user", "add", "b@example.org", "--role", "auditor"],
                           input="nhat-ky-phat-song-2024\nnhat-ky-phat-song-2024\n")
    assert result.exit_code == 0, result.output


def test_demo_prepares_a_plan_and_prints_a_fresh_admin_password_each_time(runner) -> None:
    first = invoke(runner, "demo", "--no-serve")
    second = invoke(runner, "demo", "--no-serve")
    passwords = [line.split()[1] for out in (first.output, second.output) for line in out.splitlines() if "password:" in line]
    assert len(passwords) == 2 and passwords[0] != passwords[1] and len(passwords[0]) >= 12
    assert "16 campaigns were created" in first.output and "16 unchanged" in second.output
    assert "6 simulated boards" in first.output and "simulated boards" not in second.output  # seeded once


def test_the_demo_schedule_reaches_every_board_through_the_scheduler(runner) -> None:
    invoke(runner, "demo", "--no-serve")
    pushed = invoke(runner, "scheduler", "run", "--once")
    assert pushed.output.strip() == "6 new manifest(s), 6 push(es)"
    status = json.loads(invoke(runner, "scheduler", "status", "--json").output)["boards"]
    assert len(status) == 6 and all(b["in_sync"] and b["last_result"] == "ok" for b in status)
    assert invoke(runner, "scheduler", "run", "--once").output.strip() == "0 new manifest(s), 0 push(es)"


def test_the_installed_command_inits_idempotently_with_env_configuration(tmp_path: Path) -> None:
    env = {"PANOLED_STORAGE__DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    exe = Path(sys.executable).with_name("panoled")
    for expected in ("created", "already up to date"):
        result = subprocess.run([str(exe), "init"], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout
    assert (tmp_path / "data" / "media").is_dir()
    assert (tmp_path / "data" / "panoled.sqlite3").exists()


def test_every_command_has_help(runner) -> None:
    commands = [["init"], ["user", "add"], ["user", "list"], ["token", "create"], ["plan", "import"],
                ["campaign", "list"], ["run"], ["demo"], ["scheduler", "run"], ["scheduler", "status"],
                ["screen", "add"], ["screen", "list"], ["timeline"], ["media", "add"], ["media", "work"],
                ["simulator", "run"], ["playlog", "verify"], ["playlog", "archive"], ["playlog", "recount"],
                ["report", "acceptance"]]
    for command in commands:
        result = runner.invoke(main, [*command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, command


def test_a_bad_configuration_is_reported_without_a_traceback(tmp_path: Path) -> None:
    env = {"PANOLED_WEB__PORT": "many", "PANOLED_STORAGE__DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    exe = Path(sys.executable).with_name("panoled")
    result = subprocess.run([str(exe), "init"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "PANOLED_WEB__PORT" in result.stderr and "Traceback" not in result.stderr
