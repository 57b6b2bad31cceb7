"""Configuration: file, environment overrides, and errors that name the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from cms.config import load_config, secret_key
from cms.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_values_are_read_and_relative_paths_follow_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[organisation]\nname = "Sở TN&MT"\nprovince = "Tỉnh A"\n[storage]\ndata_dir = "state"\n')
    config = load_config(path, environ={})
    assert config.organisation.name == "Sở TN&MT"
    assert config.organisation.province == "Tỉnh A"
    assert config.data_dir == tmp_path / "state"
    assert config.database_url == f"sqlite:///{tmp_path / 'state' / 'panoled.sqlite3'}"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[web]\nport = 5000\n")
    config = load_config(path, environ={
        "PANOLED_WEB__PORT": "8080", "PANOLED_WEB__HTTPS": "true",
        "PANOLED_DATABASE__URL": "postgresql://panoled@db/panoled", "PANOLED_STORAGE__DATA_DIR": "/srv/panoled",
    })
    assert config.web.port == 8080
    assert config.web.https is True
    assert config.database_url == "postgresql+psycopg://panoled@db/panoled"
    assert config.data_dir == Path("/srv/panoled")


def test_panoled_config_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[organisation]\nname = "Từ biến môi trường"\n')
    assert load_config(environ={"PANOLED_CONFIG": str(path)}).organisation.name == "Từ biến môi trường"


@pytest.mark.parametrize(("text", "environ", "named"), [
    ("[web]\nprot = 5000\n", {}, "web.prot"),
    ("[webb]\nport = 5000\n", {}, "[webb]"),
    ('[web]\nport = "many"\n', {}, "web.port"),
    ("[web]\nport = 70000\n", {}, "web.port"),
    ("", {"PANOLED_WEB__PORT": "eighty"}, "PANOLED_WEB__PORT"),
    ("", {"PANOLED_WEB__HTTPS": "perhaps"}, "PANOLED_WEB__HTTPS"),
    ("", {"PANOLED_DATABASE__PASSWORD": "x"}, "database.password"),
    ("", {"PANOLED_NOSECTION": "x"}, "PANOLED_NOSECTION"),
    ('[web]\ntimezone = "Mars/Olympus"\n', {}, "web.timezone"),
    ("[security]\npassword_min_length = 6\n", {}, "security.password_min_length"),
    ('[database]\nurl = "mysql://x"\n', {}, "database.url"),
    ("[boards]\nstatus_poll_seconds = 5\n", {}, "boards.status_poll_seconds"),
    ("", {"PANOLED_BOARDS__STATUS_POLL_SECONDS": "often"}, "PANOLED_BOARDS__STATUS_POLL_SECONDS"),
])
def test_an_unknown_key_or_bad_value_is_an_error_that_names_it(tmp_path: Path, text: str, environ: dict[str, str], named: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path, environ=environ)
    assert named in str(error.value)


def test_the_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[storage]\ndata_dir = "d"\n'), environ={})
    first = secret_key(config)
    assert len(first) >= 48
    assert secret_key(config) == first
    assert (tmp_path / "d" / "secret_key").stat().st_mode & 0o077 == 0


def test_a_configured_secret_key_is_used_as_given(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), environ={"PANOLED_WEB__SECRET_KEY": "from-the-vault-0123456789"})
    assert secret_key(config) == "from-the-vault-0123456789"
    assert not (config.data_dir / "secret_key").exists()


def test_the_repository_holds_no_secret_constant() -> None:
    repo_config = Path(__file__).resolve().parents[2] / "config.toml"
    assert load_config(repo_config, environ={}).web.secret_key == ""


def test_a_missing_file_named_by_panoled_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(environ={"PANOLED_CONFIG": str(tmp_path / "typo.toml")})
    assert "typo.toml" in str(error.value)


def test_a_logo_must_be_a_bitmap_image(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, '[organisation]\nlogo = "logo.svg"\n'), environ={})
    assert "organisation.logo" in str(error.value)


@pytest.mark.parametrize(("section", "named"), [
    ('kind = "joomla"', "publishing.kind"),
    ('kind = "wordpress"\nurl = "http://portal.example.gov.vn"\nuser = "u"', "publishing.url"),
    ('kind = "wordpress"\nurl = "http://localhost.example.org"\nuser = "u"', "publishing.url"),
    ('kind = "wordpress"\nurl = "https://portal.example.gov.vn"', "publishing.user"),
])
def test_a_portal_needs_https_an_account_and_a_known_kind(tmp_path: Path, section: str, named: str) -> None:
    path = write(tmp_path, f"[publishing]\n{section}\n")
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(path, environ={"PANOLED_PUBLISHING__APPLICATION_PASSWORD": "abcd efgh ijkl mnop qrst uvwx"})


def test_the_portal_password_comes_from_the_environment_and_is_not_in_the_repr(tmp_path: Path) -> None:
    path = write(tmp_path, '[publishing]\nkind = "wordpress"\nurl = "https://portal.example.gov.vn"\nuser = "panoled"\n')
    config = load_config(path, environ={"PANOLED_PUBLISHING__APPLICATION_PASSWORD": "abcd efgh ijkl mnop qrst uvwx"})
    assert config.publishing.application_password == "abcd efgh ijkl mnop qrst uvwx"
    assert "abcd" not in repr(config) and "abcd" not in repr(config.publishing)


def test_processes_starting_together_all_get_the_one_whole_secret_key(tmp_path: Path) -> None:
    """gunicorn's workers start at once on a new data folder: none may read a key file that
    another has created but not yet written (a worker without a key cannot keep sessions)."""
    import threading

    for round_ in range(40):
        config = load_config(write(tmp_path, f'[storage]\ndata_dir = "d{round_}"\n'), environ={})
        start, keys = threading.Barrier(8), []

        def worker() -> None:
            start.wait()
            keys.append(secret_key(config))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) >= 48, round_
        assert [p.name for p in config.data_dir.iterdir()] == ["secret_key"]  # no half-made file left


def test_an_empty_key_file_stops_the_app_with_what_to_do(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[storage]\ndata_dir = "d"\n'), environ={})
    config.data_dir.mkdir()
    (config.data_dir / "secret_key").write_text("\n")
    with pytest.raises(ConfigError, match="is empty: delete it"):
        secret_key(config)
