"""A real WordPress on 127.0.0.1 for testing the WordPress REST publisher: the `wordpress` fixture.

Debian's `wordpress` package (6.1) runs under PHP's built-in web server against a private
MariaDB server, both started as subprocesses in a fresh temporary directory, so every pytest
session (every xdist worker) gets its own site, database, ports and files. Nothing is written
to /etc or /usr and the system MariaDB service is not used.

The site directory links every entry of /usr/share/wordpress except Debian's wp-config.php
(which only reads /etc/wordpress/config-<host>.php) and .htaccess (a link into /etc), and has
its own wp-config.php and a writable wp-content (uploads, Debian's default theme linked in).
PHP resolves symbolic links in __DIR__, so the router script defines ABSPATH as the site
directory before running WordPress; otherwise wp-load.php would load Debian's config.

When the packages are missing the fixture fails under CI=true and skips elsewhere; either
way the message names the apt-get command.

pytest makes a separate fixture of every module-level import, so each test module doing
`from wordpress_site import wordpress` starts its own site. Modules that should share one
site per session list "wordpress_site" in `pytest_plugins` of tests/conftest.py instead.
"""
from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRED_PACKAGES: tuple[str, ...] = (
    "wordpress",
    "wordpress-theme-twentytwentythree",
    "php-cli",
    "php-mysql",
    "php-gd",
    "mariadb-server-core",
    "mariadb-client-core",
)
INSTALL_COMMAND = f"apt-get install -y --no-install-recommends {' '.join(REQUIRED_PACKAGES)}"

WORDPRESS_DIR = Path("/usr/share/wordpress")
THEME = "twentytwentythree"
PHP = Path("/usr/bin/php")
MARIADBD = Path("/usr/sbin/mariadbd")
MARIADB_INSTALL_DB = Path("/usr/bin/mariadb-install-db")
REQUIRED_FILES: tuple[Path, ...] = (
    PHP,
    MARIADBD,
    MARIADB_INSTALL_DB,
    Path("/usr/bin/my_print_defaults"),
    WORDPRESS_DIR / "wp-settings.php",
    WORDPRESS_DIR / "wp-content" / "themes" / THEME / "style.css",
)
PHP_EXTENSIONS: tuple[str, ...] = ("mysqli", "gd")

ADMIN_USER = "admin"
ADMIN_EMAIL = "admin@example.org"
DATABASE = "wordpress"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
PORT_ATTEMPTS = 5
SITE_ID_PATH = "/panoled-site-id"
PHP_OPTIONS: tuple[str, ...] = (
    "upload_max_filesize=64M",
    "post_max_size=64M",
    "memory_limit=256M",
    "display_errors=stderr",
    "log_errors=0",
)
INNODB_OPTIONS: tuple[str, ...] = (
    "--innodb-log-file-size=8M",
    "--innodb-buffer-pool-size=32M",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
)


@dataclass(frozen=True)
class WordPressSite:
    """A running WordPress: base URL (no trailing slash) and the administrator's credentials.

    The REST API answers at both `url + "/wp-json/wp/v2/..."` (pretty permalinks are on,
    the router hands every path that is not a file to index.php) and
    `url + "/?rest_route=/wp/v2/..."`. Authenticate with HTTP Basic auth as `user` and
    `application_password`: PHP's built-in server passes the Authorization header on, and
    WP_ENVIRONMENT_TYPE is 'local', which lets WordPress accept application passwords over
    plain HTTP. `admin_password` is the login password (wp-login.php), which the REST API
    does not accept.
    """

    url: str
    user: str
    application_password: str
    admin_password: str


ROUTER = """<?php
define('ABSPATH', %(site)s . '/');
$panoled_path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
if ($panoled_path === %(id_path)s) {
    header('Content-Type: text/plain');
    echo %(site_id)s;
    return true;
}
$panoled_file = ABSPATH . ltrim($panoled_path, '/');
if (str_contains($panoled_path, '..')) {
    $panoled_file = ABSPATH . 'index.php';
} elseif (is_dir($panoled_file)) {
    $panoled_file = rtrim($panoled_file, '/') . '/index.php';
}
if (is_file($panoled_file) && !str_ends_with($panoled_file, '.php')) {
    return false;
}
if (!is_file($panoled_file)) {
    $panoled_file = ABSPATH . 'index.php';
}
$_SERVER['SCRIPT_FILENAME'] = $panoled_file;
$_SERVER['SCRIPT_NAME'] = '/' . substr($panoled_file, strlen(ABSPATH));
$_SERVER['PHP_SELF'] = $_SERVER['SCRIPT_NAME'];
chdir(dirname($panoled_file));
unset($panoled_path);
require $panoled_file;
"""

WP_CONFIG = """<?php
define('DB_NAME', %(database)s);
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', %(db_host)s);
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$table_prefix = 'wp_';
%(keys)s
define('WP_HOME', %(url)s);
define('WP_SITEURL', %(url)s);
define('WP_CONTENT_DIR', %(content_dir)s);
define('WP_CONTENT_URL', %(content_url)s);
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_DEBUG', false);
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('DISALLOW_FILE_MODS', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
"""

SECRET_KEYS: tuple[str, ...] = (
    "AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
    "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT",
)

INSTALL_SCRIPT = """<?php
define('WP_INSTALLING', true);
define('ABSPATH', getenv('PANOLED_WP_SITE') . '/');
function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password) {}
require ABSPATH . 'wp-load.php';
require ABSPATH . 'wp-admin/includes/upgrade.php';
$installed = wp_install('Panoled WordPress', getenv('PANOLED_WP_USER'), getenv('PANOLED_WP_EMAIL'),
    true, '', wp_slash(getenv('PANOLED_WP_PASSWORD')));
$wp_rewrite->set_permalink_structure('/%postname%/');
flush_rewrite_rules(false);
if (!wp_get_theme()->exists()) {
    fwrite(STDERR, 'the active theme ' . get_stylesheet() . " is missing\\n");
    exit(1);
}
$created = WP_Application_Passwords::create_new_application_password(
    $installed['user_id'], array('name' => 'panoled-tests'));
if (is_wp_error($created)) {
    fwrite(STDERR, $created->get_error_message() . "\\n");
    exit(1);
}
echo "\\n", json_encode(array('application_password' => $created[0])), "\\n";
"""


class StartupFailed(Exception):
    """A server or the installation did not come up; the message carries the log's tail."""


def missing_requirements() -> list[str]:
    """What of REQUIRED_PACKAGES' files and PHP extensions this machine lacks (empty when ready)."""
    missing = [str(path) for path in REQUIRED_FILES if not path.exists()]
    if PHP.exists():
        probe = "".join(f"extension_loaded('{name}') || print('{name} ');" for name in PHP_EXTENSIONS)
        result = subprocess.run([str(PHP), "-r", probe], capture_output=True, text=True, timeout=30)
        missing += [f"PHP extension {name}" for name in result.stdout.split()]
    return missing


def require_packages() -> None:
    """Fail (CI=true) or skip the calling test when WordPress, PHP or MariaDB is not installed."""
    missing = missing_requirements()
    if not missing:
        return
    message = f"the WordPress test site needs Debian packages; missing {', '.join(missing)}. Install with `{INSTALL_COMMAND}`"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def tail(path: Path, lines: int = 30, head: bool = False) -> str:
    """The last (or, with `head`, the first) lines of a log file, for failure messages."""
    if not path.exists():
        return f"({path.name}: no log written)"
    text = path.read_text(errors="replace").splitlines()
    part = text[:lines] if head else text[-lines:]
    return f"--- {'first' if head else 'last'} lines of {path.name} ---\n" + "\n".join(part)


def wait_for(ready: Callable[[], bool], process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    """Poll `ready` until true; raise StartupFailed if `process` exits or READY_TIMEOUT passes."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if process.poll() is not None:
            raise StartupFailed(f"{what} exited with code {process.returncode}\n{tail(log)}")
        if ready():
            return
        if time.monotonic() > deadline:
            raise StartupFailed(f"{what} not ready after {READY_TIMEOUT:.0f} s\n{tail(log)}")
        time.sleep(0.05)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now (the caller retries if one takes it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_get(url: str, path: str, timeout: float) -> tuple[int, bytes]:
    """Status and body of a GET on the local server, without proxies; (0, b"") when it does not answer."""
    host_port = url.removeprefix("http://")
    connection = http.client.HTTPConnection(host_port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        connection.close()


def start(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A background process in its own process group, stdout and stderr appended to `log`."""
    with log.open("ab") as output:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            env=env, start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL if it is not gone within STOP_TIMEOUT."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def as_root_options() -> list[str]:
    """`--user=root` when running as root (mariadbd refuses root otherwise), nothing for other users."""
    return ["--user=root"] if os.geteuid() == 0 else []


def mariadb_answers(socket_path: Path) -> bool:
    """Whether MariaDB greets on its socket with a protocol 10 handshake."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(2)
            client.connect(str(socket_path))
            greeting = client.recv(5)
    except OSError:
        return False
    return len(greeting) == 5 and greeting[4] == 10


def mariadb_tmpdir(root: Path) -> Path:
    """MariaDB's private directory for temporary tables."""
    tmpdir = root / "mariadb-tmp"
    tmpdir.mkdir(exist_ok=True)
    return tmpdir


def initialise_datadir(root: Path) -> Path:
    """A fresh MariaDB data directory with the system tables; root has no password.

    Each server gets its own tmpdir: bootstrap servers sharing /tmp crash now and then
    (signal 11 in Aria's drop_table) when several xdist workers start at once.
    """
    datadir = root / "mariadb"
    log = root / "mariadb-install-db.log"
    command = [
        str(MARIADB_INSTALL_DB), "--no-defaults", f"--datadir={datadir}", f"--tmpdir={mariadb_tmpdir(root)}",
        *as_root_options(),
        "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve", *INNODB_OPTIONS,
    ]
    with log.open("wb") as output:
        result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, timeout=READY_TIMEOUT)
    if result.returncode != 0:
        raise StartupFailed(f"mariadb-install-db exited with code {result.returncode}\n{tail(log, 40, head=True)}")
    return datadir


def start_mariadb(root: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """mariadbd on a Unix socket only (no TCP), with the WordPress database created; returns it and its socket."""
    datadir = initialise_datadir(root)
    socket_path = root / "mariadb.sock"
    init_file = root / "init.sql"
    init_file.write_text(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n")
    log = root / "mariadb.log"
    command = [
        str(MARIADBD), "--no-defaults", *as_root_options(), f"--datadir={datadir}", f"--socket={socket_path}",
        f"--pid-file={root / 'mariadb.pid'}", f"--tmpdir={mariadb_tmpdir(root)}", f"--log-error={log}", f"--init-file={init_file}",
        "--skip-networking", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
        *INNODB_OPTIONS,
    ]
    process = start(command, root / "mariadbd.out")
    try:
        wait_for(lambda: mariadb_answers(socket_path), process, "MariaDB", log)
    except StartupFailed:
        stop(process)
        raise
    return process, socket_path


def php_literal(value: str) -> str:
    """`value` as a PHP string literal."""
    return json.dumps(value)


def build_site(root: Path, site_id: str) -> Path:
    """The document root: links to Debian's WordPress, a writable wp-content, and the router script."""
    site = root / "site"
    site.mkdir()
    for entry in WORDPRESS_DIR.iterdir():
        if entry.name not in {"wp-config.php", "wp-content", ".htaccess"}:
            (site / entry.name).symlink_to(entry)
    content = site / "wp-content"
    for folder in ("themes", "plugins", "uploads", "upgrade"):
        (content / folder).mkdir(parents=True)
    (content / "themes" / THEME).symlink_to(WORDPRESS_DIR / "wp-content" / "themes" / THEME)
    router = ROUTER % {"site": php_literal(str(site)), "id_path": php_literal(SITE_ID_PATH), "site_id": php_literal(site_id)}
    (root / "router.php").write_text(router)
    return site


def write_config(site: Path, socket_path: Path, url: str) -> None:
    """The site's own wp-config.php: the private database, fixed URLs, local environment, no updates."""
    keys = "\n".join(f"define('{name}', {php_literal(secrets.token_hex(32))});" for name in SECRET_KEYS)
    config = WP_CONFIG % {
        "database": php_literal(DATABASE),
        "db_host": php_literal(f"localhost:{socket_path}"),
        "keys": keys,
        "url": php_literal(url),
        "content_dir": php_literal(str(site / "wp-content")),
        "content_url": php_literal(f"{url}/wp-content"),
    }
    (site / "wp-config.php").write_text(config)


def php_options() -> list[str]:
    """`-d` options for the php command line: upload limits large enough for media."""
    return [argument for option in PHP_OPTIONS for argument in ("-d", option)]


def start_php_once(root: Path, site: Path, site_id: str) -> tuple[subprocess.Popen[bytes], str]:
    """PHP's built-in server on a free port, checked to be this site's (another worker may take the port)."""
    url = f"http://127.0.0.1:{free_port()}"
    log = root / "php.log"
    command = [str(PHP), *php_options(), "-S", url.removeprefix("http://"), "-t", str(site), str(root / "router.php")]
    env = {**os.environ, "PHP_CLI_SERVER_WORKERS": "4"}
    process = start(command, log, env)
    try:
        wait_for(lambda: http_get(url, SITE_ID_PATH, 1) == (200, site_id.encode()), process, "PHP's built-in server", log)
    except StartupFailed:
        stop(process)
        raise
    return process, url


def start_php(root: Path, site: Path, site_id: str) -> tuple[subprocess.Popen[bytes], str]:
    """PHP's built-in server for the site, on another port when the chosen one was taken meanwhile."""
    for attempt in range(PORT_ATTEMPTS):
        try:
            return start_php_once(root, site, site_id)
        except StartupFailed as failure:
            if "Address already in use" not in str(failure) or attempt == PORT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def install_wordpress(root: Path, site: Path, admin_password: str) -> str:
    """Run WordPress's installer and create an application password; returns that password."""
    script = root / "install.php"
    script.write_text(INSTALL_SCRIPT)
    env = {
        **os.environ, "PANOLED_WP_SITE": str(site), "PANOLED_WP_USER": ADMIN_USER,
        "PANOLED_WP_EMAIL": ADMIN_EMAIL, "PANOLED_WP_PASSWORD": admin_password,
    }
    result = subprocess.run(
        [str(PHP), *php_options(), str(script)], capture_output=True, text=True, env=env, timeout=READY_TIMEOUT,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not lines[-1].startswith("{"):
        raise StartupFailed(
            f"WordPress installation failed (exit code {result.returncode})\n"
            f"--- stdout ---\n{result.stdout[-3000:]}\n--- stderr ---\n{result.stderr[-3000:]}"
        )
    return str(json.loads(lines[-1])["application_password"])


def check_rest_api(url: str, root: Path) -> None:
    """The REST index at /wp-json/ names this site's home URL, or StartupFailed."""
    status, body = http_get(url, "/wp-json/", READY_TIMEOUT)
    try:
        home = json.loads(body).get("home") if status == 200 else None
    except ValueError:
        home = None
    if home != url:
        raise StartupFailed(f"GET {url}/wp-json/ answered {status}, home {home!r}\n{body[:500]!r}\n{tail(root / 'php.log')}")


@contextmanager
def wordpress_site() -> Iterator[WordPressSite]:
    """A freshly installed WordPress with its own MariaDB and PHP server; everything removed afterwards."""
    require_packages()
    root = Path(tempfile.mkdtemp(prefix="panoled-wp-"))
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        site_id = secrets.token_hex(16)
        admin_password = secrets.token_urlsafe(18)
        try:
            site = build_site(root, site_id)
            php, url = start_php(root, site, site_id)
            cleanup.callback(stop, php)
            mariadb, socket_path = start_mariadb(root)
            cleanup.callback(stop, mariadb)
            write_config(site, socket_path, url)
            application_password = install_wordpress(root, site, admin_password)
            check_rest_api(url, root)
        except StartupFailed as failure:
            raise pytest.fail.Exception(f"the WordPress test site did not start: {failure}", pytrace=False) from None
        yield WordPressSite(url, ADMIN_USER, application_password, admin_password)


@pytest.fixture(scope="session")
def wordpress() -> Iterator[WordPressSite]:
    """A real WordPress 6.1 (Debian) on 127.0.0.1 for this pytest session (one per xdist worker)."""
    with wordpress_site() as site:
        yield site
