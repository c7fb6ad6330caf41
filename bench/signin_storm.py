"""People signing in at once (the clinic at 8 am): what each sign-in step costs, and what a
bystander's request waits meanwhile.

Serves the record benchmark's database (``bench/record_bench.py``) with gunicorn as the
image does, after every worker has served the pages once, and signs in ``--people`` load
doctors of ``bench/load_bench.py`` (prepared by it) a fifth of a second apart, each
through the form, the password, the code form, the code and the home page. Meanwhile a
bystander asks for the plain one-query view every 100 ms. Prints each step's median and
maximum, the bystander's before and during, and the CPU the web workers used.

    PYTHONPATH=$PWD .venv/bin/python bench/signin_storm.py [--people 10]

Not part of the tests.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10)
    args = parser.parse_args()

    from bench.record_bench import IMAGE_WORKERS, bench_database_url, free_port, serve

    os.environ["DATABASE_URL"] = bench_database_url(1)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.served_settings"
    import django

    django.setup()
    import requests
    from django.conf import settings

    from bench.load_bench import cpu_seconds, load_devices_reset
    from portal.accounts.demo import demo_totp_code
    from portal.accounts.models import User
    from portal.demo.cast import DEMO_PASSWORD

    emails = list(User.objects.filter(email__startswith="load.pcp").order_by("email").values_list("email", flat=True))
    if len(emails) < 2 * args.people:
        raise SystemExit("run bench/load_bench.py first: it prepares the load doctors")
    load_devices_reset()
    host = f"maple.{settings.BASE_DOMAIN}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(port, IMAGE_WORKERS, 1, settings_module="bench.served_settings")
    timings: dict[str, list[float]] = {}

    def timed(name: str, call: object) -> requests.Response:
        started = time.perf_counter()
        response = call()  # type: ignore[operator]
        timings.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return response

    def sign_in(email: str) -> None:
        session = requests.Session()
        session.headers["Host"] = host
        page = timed("form", lambda: session.get(f"{base}/accounts/login/"))
        token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        form = {"username": email, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token}
        timed("password", lambda: session.post(f"{base}/accounts/login/", form, allow_redirects=False))
        page = timed("code form", lambda: session.get(f"{base}/accounts/second-factor/"))
        token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        code = {"token": demo_totp_code(), "csrfmiddlewaretoken": token}
        answer = timed("code", lambda: session.post(f"{base}/accounts/second-factor/", code, allow_redirects=False))
        assert answer.status_code == 302 and "/accounts/" not in answer.headers["Location"], answer.status_code
        timed("home", lambda: session.get(f"{base}/"))

    def bystander(until: threading.Event, into: list[float]) -> None:
        session = requests.Session()
        session.headers["Host"] = host
        while not until.is_set():
            started = time.perf_counter()
            session.get(f"{base}/plain")
            into.append((time.perf_counter() - started) * 1000)
            time.sleep(0.1)

    def wave(people: list[str]) -> tuple[float, float]:
        threads = [threading.Thread(target=sign_in, args=(email,)) for email in people]
        started, cpu = time.perf_counter(), cpu_seconds(server.pid)
        for thread in threads:
            thread.start()
            time.sleep(0.2)
        for thread in threads:
            thread.join()
        return time.perf_counter() - started, cpu_seconds(server.pid) - cpu

    try:
        wave(emails[: args.people])  # every worker serves every page once; not measured
        timings.clear()
        time.sleep(31)  # the next TOTP step: a code is accepted once
        quiet: list[float] = []
        done = threading.Event()
        watcher = threading.Thread(target=bystander, args=(done, quiet))
        watcher.start()
        time.sleep(3)
        done.set()
        watcher.join()
        during: list[float] = []
        done = threading.Event()
        watcher = threading.Thread(target=bystander, args=(done, during))
        watcher.start()
        load = os.getloadavg()[0]
        seconds, cpu = wave(emails[args.people : 2 * args.people])
        done.set()
        watcher.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{args.people} people signing in 0.2 s apart, gunicorn {IMAGE_WORKERS} workers × 1 thread")
    print(f"all signed in after {seconds:.1f} s; the web workers used {cpu:.1f} s of CPU; 1-minute load {load:.1f}")
    for name, values in timings.items():
        print(f"  {name:10} median {statistics.median(values):7.0f} ms   max {max(values):7.0f} ms")
    for label, values in (("before", quiet), ("during", during)):
        print(
            f"  the plain view {label} the sign-ins: median {statistics.median(values):6.0f} ms, "
            f"max {max(values):6.0f} ms ({len(values)} requests)"
        )


if __name__ == "__main__":
    main()
