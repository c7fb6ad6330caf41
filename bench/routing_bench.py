"""Tenant routing vs a plain one-query Django view, all under gunicorn.

Measures the same one-query view served without routing, behind the portal's cached
routing, and behind django-tenants' stock routing (a domain query per request), then the
signed-in home page and the anonymous sign-in page of an organization for context.

    .venv/bin/python bench/routing_bench.py [--requests 3000] [--concurrency 4]

Uses the development database (embedded unless DATABASE_URL is set), seeded with the demo
network. Prints requests per second and p50/p95 latency for each.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.httpload import run  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(settings_module: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "DEBUG": "false", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def sign_in(port: int, host: str, email: str, password: str) -> str:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())

    def request(path: str, data: bytes | None = None, cookie: str = "") -> tuple[str, str]:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=data, headers={"Host": host, "Cookie": cookie}
        )

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
                return None

        try:
            response = urllib.request.build_opener(NoRedirect).open(req)
        except urllib.error.HTTPError as redirect:
            response = redirect
        cookies = "; ".join(h.split(";")[0] for h in response.headers.get_all("Set-Cookie") or [])
        return response.read().decode(errors="replace"), cookies

    del opener
    page, cookies = request("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    body = f"csrfmiddlewaretoken={token}&username={email}&password={password}".encode()
    _, session = request("/accounts/login/", body, cookies)
    cookie = "; ".join(filter(None, [cookies, session]))
    # The second factor, as a person would type it (the demo cast's documented authenticator).
    from portal.accounts.demo import demo_totp_code

    page, _ = request("/accounts/second-factor/", cookie=cookie)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if csrf:
        body = f"csrfmiddlewaretoken={csrf.group(1)}&token={demo_totp_code()}".encode()
        _, verified = request("/accounts/second-factor/", body, cookie)
        jar = dict(
            part.split("=", 1) for part in "; ".join(filter(None, [cookie, verified])).split("; ") if "=" in part
        )
        cookie = "; ".join(f"{name}={value}" for name, value in jar.items())
    return cookie


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
    import django

    from portal import embedded

    embedded.ensure_environment()
    django.setup()
    from portal.demo.cast import DEMO_PASSWORD

    subprocess.run([sys.executable, "manage.py", "migrate_schemas", "-v", "0"], cwd=ROOT, check=True)
    subprocess.run([sys.executable, "manage.py", "seed_demo", "--if-empty", "--quiet-logins"], cwd=ROOT, check=True)

    tenant_port, plain_port, routed_port, stock_port = free_port(), free_port(), free_port(), free_port()
    servers = [
        serve("portal.settings.dev", tenant_port, args.workers),
        serve("bench.plain_settings", plain_port, args.workers),
        serve("bench.routed_settings", routed_port, args.workers),
        serve("bench.stock_routed_settings", stock_port, args.workers),
    ]
    try:
        cookie = sign_in(tenant_port, "maple.localhost", "peter.park@maple.example", DEMO_PASSWORD)
        results = [
            run(
                "plain one-query view (no routing)",
                plain_port,
                "/plain",
                host="localhost",
                total=args.requests,
                concurrency=args.concurrency,
            ),
            run(
                "same view at maple.localhost, cached routing",
                routed_port,
                "/plain",
                host="maple.localhost",
                total=args.requests,
                concurrency=args.concurrency,
            ),
            run(
                "same view, django-tenants stock routing",
                stock_port,
                "/plain",
                host="maple.localhost",
                total=args.requests,
                concurrency=args.concurrency,
            ),
            run(
                "signed-in home page, maple.localhost",
                tenant_port,
                "/",
                host="maple.localhost",
                cookie=cookie,
                total=args.requests,
                concurrency=args.concurrency,
            ),
            run(
                "sign-in page, maple.localhost (anonymous)",
                tenant_port,
                "/accounts/login/",
                host="maple.localhost",
                total=args.requests,
                concurrency=args.concurrency,
            ),
        ]
        print(
            f"\n{args.requests} requests each, {args.concurrency} concurrent clients, gunicorn -w {args.workers}, "
            f"{os.cpu_count()} cores"
        )
        for result in results:
            print(result.line())
        plain, routed, stock, home = results[0], results[1], results[2], results[3]
        print()
        for label, result in (("cached routing", routed), ("stock routing", stock), ("signed-in home page", home)):
            print(
                f"{label:20} throughput {result.rps / plain.rps:4.0%} of the plain view, "
                f"p50 {result.percentile(0.5) / plain.percentile(0.5):.2f}x, "
                f"p95 {result.percentile(0.95) / plain.percentile(0.95):.2f}x"
            )
    finally:
        for server in servers:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
