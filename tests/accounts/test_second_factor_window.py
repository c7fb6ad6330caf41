"""The TOTP window stays on the server's clock: a code accepted late (its request waited in a
queue across a 30-second step, as in a sign-in rush) does not move the window of the
person's later sign-ins (django-otp's drift learning is off: OTP_TOTP_SYNC)."""

from django.test import Client

from portal.accounts.demo import demo_totp_code
from portal.accounts.services import demo_totp_device_ensure
from portal.demo.cast import DEMO_PASSWORD, Cast
from tests.conftest import host_of


def test_a_code_accepted_from_the_step_before_leaves_the_window_where_it_was(cast: Cast) -> None:
    park, maple = cast.users["park"], cast.organizations["maple"]
    device = demo_totp_device_ensure(user=park)
    client = Client(HTTP_HOST=host_of(maple))
    client.post("/accounts/login/", {"username": park.email, "password": DEMO_PASSWORD})
    late = client.post("/accounts/second-factor/", {"token": demo_totp_code(steps_ahead=-1)})
    assert late.status_code == 302 and "/accounts/" not in late["Location"]  # still within the window
    device.refresh_from_db()
    assert device.drift == 0
    # A phone a little ahead is still accepted next time (with the window moved back a step,
    # as django-otp's drift learning would have done, this code would be refused).
    assert device.verify_token(demo_totp_code(steps_ahead=1))
