"""The demo's second factor: a documented secret, a command printing the code, codes used once."""

from django.core.management import call_command

from portal.accounts.demo import demo_totp_code
from portal.demo.cast import DEMO_PASSWORD


def test_demo_otp_command_prints_the_code_that_signs_in(cast, anonymous, capsys):
    call_command("demo_otp", "peter.park@maple.example")
    code = capsys.readouterr().out.strip()
    assert code == demo_totp_code() and len(code) == 6
    client = anonymous(cast.organizations["maple"])
    client.post("/accounts/login/", {"username": "peter.park@maple.example", "password": DEMO_PASSWORD})
    assert client.post("/accounts/second-factor/", {"token": code}).status_code == 302
    assert client.get("/").status_code == 200


def test_a_code_is_accepted_once_and_the_next_steps_code_then_works(cast, anonymous):
    import time

    maple = cast.organizations["maple"]
    first = anonymous(maple)
    first.post("/accounts/login/", {"username": "peter.park@maple.example", "password": DEMO_PASSWORD})
    code = demo_totp_code()
    first.post("/accounts/second-factor/", {"token": code})
    second = anonymous(maple)
    second.post("/accounts/login/", {"username": "peter.park@maple.example", "password": DEMO_PASSWORD})
    replay = second.post("/accounts/second-factor/", {"token": code})
    assert replay.status_code == 200 and "not right" in replay.content.decode()
    time.sleep(1.1)
    assert second.post("/accounts/second-factor/", {"token": demo_totp_code(steps_ahead=1)}).status_code == 302
