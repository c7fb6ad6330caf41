"""The test cast, addresses and helpers shared by the whole suite.

Schemas and the fixed cast are built once per session and committed in the test
database (so real Celery workers and the browser's server see them); every ordinary
test runs in a transaction that is rolled back.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests are one group: in a parallel run with ``--dist loadgroup`` they all
    go to one test process, so one Chromium at a time shares the machine's cores."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(autouse=True)
def _serial_runs_alone(request: pytest.FixtureRequest) -> None:
    """A ``serial`` test stops a server the other test processes of a parallel run share:
    it runs in a pass of its own (``pytest -m serial``, as ``make pytest`` does)."""
    if os.environ.get("PYTEST_XDIST_WORKER") and request.node.get_closest_marker("serial"):
        pytest.fail("a serial test stops a server the other test processes use: run it alone (pytest -m serial)")


def _cast_fingerprint() -> str:
    """What the seeded test database is made of: every migration and every line of the
    portal's code (the seed runs through the services). A change to any of them makes a new
    template."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    root = Path(BASE_DIR)
    for folder in ("portal", "tenants"):
        for path in sorted((root / folder).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


TEMPLATE_PREFIX = "test_continuum_template_"


def _database_exists(cursor: Any, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    return cursor.fetchone() is not None


@pytest.fixture(scope="session")
def django_db_setup(
    request: Any, django_test_environment: None, django_db_blocker: Any, django_db_modify_db_settings: None
) -> Iterator[None]:
    """Create the test database for every session — also one whose tests only use the
    committed data of real workers and servers (pytest-django would skip it then) — with
    the fixed cast seeded.

    Migrating every schema and seeding takes the better part of a minute, and a parallel
    run has a database per test process: the first process to get here builds a template
    database (``test_continuum_template_<fingerprint>``), and every process, this run's and
    the next runs' while the code is the same, starts from a copy of it (CREATE DATABASE …
    TEMPLATE, a few seconds)."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from portal import embedded
    from portal.demo.seed import seed_foundation
    from portal.records.demo import seed_maria

    verbosity = request.config.option.verbose
    template = TEMPLATE_PREFIX + _cast_fingerprint()
    with django_db_blocker.unblock(), embedded._locked("test-template"):
        with connection._nodb_cursor() as cursor:
            ready = _database_exists(cursor, template)
        if not ready:
            db_cfg = setup_databases(verbosity=verbosity, interactive=False, aliases={"default"})
            assert connection.settings_dict["NAME"].startswith("test_"), "tests must never touch a real database"
            seed_maria(seed_foundation())
            built = connection.settings_dict["NAME"]
            connection.close()
            with connection._nodb_cursor() as cursor:
                cursor.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s", [TEMPLATE_PREFIX.replace("_", r"\_") + "%"]
                )
                for (stale,) in cursor.fetchall():  # an older code's templates
                    cursor.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
                cursor.execute(f'CREATE DATABASE "{template}" TEMPLATE "{built}"')
        else:
            old_name = connection.settings_dict["NAME"]
            name = connection.creation._get_test_db_name()
            assert name.startswith("test_"), "tests must never touch a real database"
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            connection.close()
            from django.conf import settings

            settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = name
            db_cfg = [(connection, old_name, True)]
    yield
    with django_db_blocker.unblock():
        # Worker and server processes may still hold a connection a moment after they
        # exit; end them so the test database can be dropped.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(db_cfg, verbosity=verbosity)


@pytest.fixture(autouse=True)
def _public_schema_between_tests() -> Iterator[None]:
    yield
    from django.db import connection

    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fhir_mapped_entries_forgotten() -> Iterator[None]:
    """Each test starts with no FHIR entries remembered by this process (a test's rolled-back
    rows must not be answered from what an earlier test mapped)."""
    from portal.fhir.cache import MAPPED

    MAPPED.clear()
    yield


@pytest.fixture
def cast(db: None) -> Any:
    """The fixed cast of STYLE.md, read back from the seeded database."""
    from portal.demo.seed import cast_load

    return cast_load()


def host_of(organization: Any) -> str:
    from tenants.addresses import organization_host

    if organization.is_network:
        from django.conf import settings

        return settings.BASE_DOMAIN
    return organization_host(organization.slug)


@pytest.fixture
def sign_in(client: Any) -> Callable[[Any, Any], Any]:
    """``sign_in(user, organization)``: a test client with a session at that address."""
    from django.test import Client
    from django_tenants.utils import schema_context

    from portal.accounts.middleware import SESSION_SCHEMA_KEY

    def _sign_in(user: Any, organization: Any) -> Client:
        new_client = Client(HTTP_HOST=host_of(organization))
        # Write the session (in PostgreSQL's public schema) while the organization's
        # schema is selected, as a sign-in at its address would.
        with schema_context(organization.schema_name):
            new_client.force_login(user, backend="portal.accounts.backends.OrganizationMembershipBackend")
            session = new_client.session
            session[SESSION_SCHEMA_KEY] = organization.schema_name
            # Past the sign-in gate (portal/accounts/middleware.py): terms accepted (the
            # seeded cast has), second factor verified with the demo device, seen now.
            session.update(second_factor_session(user))
            session.save()
        return new_client

    return _sign_in


def second_factor_session(user: Any) -> dict[str, Any]:
    """Session keys of a session that verified the user's demo TOTP device (created if missing)."""
    import time

    from django_otp import DEVICE_ID_SESSION_KEY

    from portal.accounts.demo import demo_user_ready
    from portal.accounts.middleware import OTP_SESSION_KEY, SEEN_SESSION_KEY, SESSION_REFRESHED_KEY
    from portal.accounts.services import demo_totp_device_ensure

    demo_user_ready(user=user)
    device = demo_totp_device_ensure(user=user)
    return {
        OTP_SESSION_KEY: device.persistent_id,
        DEVICE_ID_SESSION_KEY: device.persistent_id,
        SEEN_SESSION_KEY: int(time.time()),
        # Just renewed, as a session is by the request that signs in.
        SESSION_REFRESHED_KEY: time.time(),
    }


@pytest.fixture
def anonymous() -> Callable[[Any], Any]:
    from django.test import Client

    return lambda organization: Client(HTTP_HOST=host_of(organization))


# --- Real processes: a Celery worker and a web server on the test database -------------

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _test_database_url() -> str:
    from urllib.parse import quote

    from django.db import connection

    settings_dict = connection.settings_dict
    user = quote(settings_dict["USER"] or "")
    password = quote(settings_dict["PASSWORD"] or "")
    host = settings_dict["HOST"] or ""
    name = settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgresql://{user}:{password}@/{name}?host={host}"
    port = settings_dict["PORT"] or "5432"
    return f"postgresql://{user}:{password}@{host}:{port}/{name}"


def _process_env() -> dict[str, str]:
    env = os.environ.copy()
    env["DATABASE_URL"] = _test_database_url()
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
    env["PYTHONPATH"] = BASE_DIR + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
def committed(django_db_blocker: Any) -> Iterator[Any]:
    """Database access in autocommit, for tests whose data a worker or the browser's
    server must see; yields the cast. Such a test cleans up what it commits (and does
    not also ask for ``db`` or ``cast``, which would wrap it in a rolled-back transaction)."""
    from portal.demo.seed import cast_load

    with django_db_blocker.unblock():
        yield cast_load()


class MailSink:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        import threading

        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.host = "127.0.0.1"
        self.port = 0
        # Addresses the server refuses (550), for tests of a mail server that refuses one.
        self.refused: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refused:
            return "550 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = (
            envelope.content.decode("utf-8", "replace") if isinstance(envelope.content, bytes) else envelope.content
        )
        with self.lock:
            # ``peer``: the client's address and port, one per SMTP connection.
            self.messages.append({"to": list(envelope.rcpt_tos), "content": content, "peer": tuple(session.peer)})
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if address in m["to"]]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[MailSink]:
    """The suite's own SMTP server; the worker (and tests that ask) send email to it."""
    import socket

    from aiosmtpd.controller import Controller

    sink = MailSink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        sink.port = probe.getsockname()[1]
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, django_db_blocker: Any, mail_sink: MailSink) -> Iterator[Any]:
    """A real Celery worker process consuming the suite's own queue on the test database."""
    import subprocess
    import sys
    import time

    from portal.celery import app

    with django_db_blocker.unblock():
        env = _process_env()
    env["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    env["EMAIL_HOST"], env["EMAIL_PORT"] = mail_sink.host, str(mail_sink.port)
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            os.environ["CELERY_QUEUE"],
            "-n",
            name,
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "-l",
            "warning",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
        cwd=BASE_DIR,
    )
    deadline = time.monotonic() + 60
    expected = name.split("@")[0]
    while True:
        if process.poll() is not None:
            raise RuntimeError("the Celery worker exited at start-up")
        replies = app.control.ping(timeout=0.5)
        if any(expected in host for reply in replies for host in reply):
            break
        if time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError("the Celery worker did not answer within 60 s")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until ``predicate()`` is truthy; return its value, or fail after ``timeout`` s."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(scope="session")
def portal_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """The portal served by gunicorn (as in production) on the test database.

    Yields the port; organizations answer at http://<slug>.localhost:<port>/.
    """
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with django_db_blocker.unblock():
        env = _process_env()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env["CONTINUUM_PORT"] = str(port)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=BASE_DIR,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the portal server did not start")
        time.sleep(0.2)
    yield str(port)
    process.terminate()
    process.wait(timeout=20)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP *.localhost 127.0.0.1",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright (no downloaded browser)."""
    import shutil

    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs a loop in this thread
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        instance.new_context = _watching_new_context(instance.new_context)  # type: ignore[method-assign]
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, request: Any) -> Iterator[Any]:
    """A fresh browser context at tablet size; a screenshot is kept under test-artifacts/."""
    context = browser.new_context(viewport={"width": 1180, "height": 820})
    new_page = context.new_page()
    new_page.set_default_timeout(15000)
    yield new_page
    folder = os.path.join(BASE_DIR, "test-artifacts", "screenshots")
    os.makedirs(folder, exist_ok=True)
    try:
        new_page.screenshot(path=os.path.join(folder, f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()


# --- No Content-Security-Policy violation on any page a browser test opens -------------

CSP_VIOLATION_MARKERS = ("Content Security Policy", "Content-Security-Policy", "Refused to")
CSP_VIOLATIONS: list[str] = []


def watch_for_csp_violations(page: Any) -> None:
    """Keep every console message and page error of ``page`` that reports a refused resource."""

    def console(message: Any) -> None:
        if any(marker in message.text for marker in CSP_VIOLATION_MARKERS):
            CSP_VIOLATIONS.append(f"console {message.type} at {page.url}: {message.text}")

    def page_error(error: Any) -> None:
        text = str(error)
        if any(marker in text for marker in CSP_VIOLATION_MARKERS):
            CSP_VIOLATIONS.append(f"page error at {page.url}: {text}")

    page.on("console", console)
    page.on("pageerror", page_error)


def _watching_new_context(new_context: Callable[..., Any]) -> Callable[..., Any]:
    """``browser.new_context`` whose every page (``page`` fixture's, a test's own, popups) is watched."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        context = new_context(*args, **kwargs)
        context.on("page", watch_for_csp_violations)
        return context

    return wrapped


@pytest.fixture(autouse=True)
def _no_csp_violation() -> Iterator[None]:
    """Fails a test at teardown when a page it opened logged a CSP violation (after the
    ``page`` fixture has closed its context, so every message is in)."""
    CSP_VIOLATIONS.clear()
    yield
    found = list(CSP_VIOLATIONS)
    CSP_VIOLATIONS.clear()
    assert not found, "Content-Security-Policy violations:\n" + "\n".join(found)


def org_url(port: str, slug: str | None, path: str = "/") -> str:
    host = f"{slug}.localhost" if slug else "localhost"
    return f"http://{host}:{port}{path}"


def browser_sign_in(page: Any, port: str, slug: str | None, email: str, database_url: str | None = None) -> None:
    """Sign in through the real form at an organization's address (slug None: the network).
    ``database_url``: the server's database, when it is not the test database."""
    from portal.demo.cast import DEMO_PASSWORD

    page.goto(org_url(port, slug, "/accounts/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
    if "/accounts/second-factor/" in page.url:
        # The seeded cast's authenticator uses the documented demo secret. A TOTP code is
        # accepted once per device, and the same person may sign in several times in one
        # 30-second step across tests: forget the device's last accepted step first, as a
        # fresh authenticator would be, then enter the current code.
        from portal.accounts.demo import demo_totp_code

        _totp_forget_last_step(email, database_url)
        page.get_by_label("6-digit code").fill(demo_totp_code())
        page.get_by_role("button", name="Verify").click()
        page.wait_for_load_state("networkidle")


def _totp_forget_last_step(email: str, database_url: str | None = None) -> None:
    """Reset the demo device's replay guard in the test database, on a connection of its own."""
    import psycopg

    url = database_url or _test_database_url()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE otp_totp_totpdevice SET last_t = -1, throttling_failure_count = 0, "
            "throttling_failure_timestamp = NULL "
            "WHERE user_id = (SELECT id FROM accounts_user WHERE email = %s)",
            [email],
        )


def pass_second_factor(client: Any, email: str) -> Any:
    """After a real sign-in through the form: enter the demo cast's current TOTP code."""
    from portal.accounts.demo import demo_totp_code

    return client.post("/accounts/second-factor/", {"token": demo_totp_code()})
