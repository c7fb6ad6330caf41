"""Whole journeys under load, for ``bench/load_bench.py`` (which prepares the people and data
and writes the plan this file reads from ``LOAD_PLAN``).

Two kinds of simulated people, each signing in once (password and TOTP) and then living
their day again and again, with a short pause between steps as a person would:

* a primary-care doctor at Maple: my patients, a search, a chart, an entry, the inbox, a
  reply;
* a nurse navigator at Northfield: the referral queue, a referral, accept, schedule.

Every request names its step, so locust's statistics are per step.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from binascii import unhexlify
from typing import Any

from django_otp.oath import TOTP
from locust import HttpUser, between, task

from bench.load_steps import HOME, SECOND_FACTOR_PATH, SIGN_IN_PATH, Step, doctor_day, navigator_day

PLAN: dict[str, Any] = json.loads(open(os.environ["LOAD_PLAN"]).read())
_pcp_accounts = itertools.cycle(PLAN["pcps"])
_navigator_accounts = itertools.cycle(PLAN["navigators"])
LEVEL = int(os.environ.get("LOAD_LEVEL", "0"))  # each level of the ladder acts on referrals of its own
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def totp_code() -> str:
    totp = TOTP(unhexlify(PLAN["totp_key"]), step=30, t0=0, digits=6, drift=0)
    return f"{totp.token():06d}"


class Person(HttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)
    address = ""

    def on_start(self) -> None:
        """Sign in as a person does: the form, the password, the code, the home page. Each
        answer is timed on its own (redirects not followed), so a slow step shows as itself."""
        self.client.headers["Host"] = self.address
        account = self.account()
        self.email = account["email"]
        page = self.client.get(SIGN_IN_PATH, name="sign in: form")
        token = CSRF_FIELD.search(page.text)
        with self.client.post(
            SIGN_IN_PATH,
            {
                "username": self.email,
                "password": PLAN["password"],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            name="sign in: password",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"password refused ({response.status_code})")
                return
        page = self.client.get(SECOND_FACTOR_PATH, name="sign in: code form")
        token = CSRF_FIELD.search(page.text)
        with self.client.post(
            SECOND_FACTOR_PATH,
            {"token": totp_code(), "csrfmiddlewaretoken": token.group(1) if token else ""},
            name="sign in: code",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or "/accounts/" in response.headers.get("Location", ""):
                response.failure("code refused")
                return
        self.send([HOME])

    def account(self) -> dict[str, Any]:
        raise NotImplementedError

    def send(self, steps: list[Step]) -> None:
        for step in steps:
            headers = {} if step.method == "GET" else {"X-CSRFToken": self.client.cookies.get("csrftoken", "")}
            with self.client.request(
                step.method, step.path, data=step.data, headers=headers, name=step.name, catch_response=True
            ) as response:
                if response.status_code != 200:
                    response.failure(f"answered {response.status_code}")
                elif SIGN_IN_PATH in response.url or SECOND_FACTOR_PATH in response.url:
                    response.failure("signed out")
                elif step.expect and step.expect not in response.text:
                    response.failure(f"the page does not say {step.expect!r}")


class PrimaryCareDoctor(Person):
    weight = 3
    address = PLAN["pcp_host"]

    def account(self) -> dict[str, Any]:
        account = next(_pcp_accounts)
        self.thread = account["thread"]
        return account

    @task
    def day(self) -> None:
        self.send(doctor_day(patient=random.choice(PLAN["patients"]), thread=self.thread))


class Navigator(Person):
    weight = 1
    address = PLAN["navigator_host"]

    def account(self) -> dict[str, Any]:
        account = next(_navigator_accounts)
        per_level = PLAN["referrals_per_level"]
        self.referrals = iter(account["referrals"][LEVEL * per_level : (LEVEL + 1) * per_level])
        return account

    @task
    def day(self) -> None:
        self.send(navigator_day(referral=next(self.referrals, None), plan=PLAN))
