"""Every role's navigation leads somewhere: each demo person's menu items and home tiles
answer 200 (or redirect to a page that does), and nobody is offered what they may not use."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from portal.demo.cast import NETWORK_ADMIN, PEOPLE


class _Links(HTMLParser):
    """The links of the main navigation (``nav[aria-label=Main]``) and of the home tiles
    (``a.tile``)."""

    def __init__(self) -> None:
        super().__init__()
        self.nav: list[tuple[str, str]] = []
        self.tiles: list[str] = []
        self._in_nav = 0
        self._current: list[str] | None = None
        self._href = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "nav":
            if attributes.get("aria-label") == "Main" or self._in_nav:
                self._in_nav += 1
        elif tag == "a" and attributes.get("href"):
            href = attributes["href"] or ""
            if self._in_nav:
                self._current, self._href = [], href
            if "tile" in (attributes.get("class") or "").split():
                self.tiles.append(href)

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self._in_nav:
            self._in_nav -= 1
        elif tag == "a" and self._current is not None:
            self.nav.append(("".join(self._current).strip(), self._href))
            self._current = None


def _links(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def _answers_200(client, url: str) -> tuple[int, str]:
    """GET the link; follow one redirect on the same address."""
    response = client.get(url)
    if response.status_code == 302:
        target = urlsplit(response["Location"])
        assert not target.netloc or target.netloc == client.defaults["HTTP_HOST"], (url, response["Location"])
        path = target.path + (f"?{target.query}" if target.query else "")
        response = client.get(path)
    return response.status_code, url


PEOPLE_KEYS = [person[0] for person in PEOPLE]


@pytest.mark.parametrize("key", PEOPLE_KEYS)
def test_every_menu_item_and_home_tile_of_a_demo_person_answers_200(cast, sign_in, key):
    slug = next(person[4] for person in PEOPLE if person[0] == key)
    user = cast.users[key]
    client = sign_in(user, cast.organizations[slug])
    home = client.get("/")
    assert home.status_code == 200
    links = _links(home.content.decode())
    assert links.nav, f"{key} sees no navigation"
    assert ("Home", "/") in links.nav
    for _label, url in links.nav:
        assert _answers_200(client, url) == (200, url)
    for url in links.tiles:
        assert _answers_200(client, url) == (200, url)
    # Every page the menu leads to shows the same menu, with its own item current.
    for label, url in links.nav:
        page = client.get(url, follow=True).content.decode()
        assert _links(page).nav == links.nav, (key, label)


def test_the_network_admins_menu_leads_to_the_console(cast, sign_in):
    client = sign_in(cast.users[NETWORK_ADMIN[0]], cast.network)
    response = client.get("/", follow=True)
    assert response.status_code == 200
    links = _links(response.content.decode())
    assert links.nav == [("Partners", "/console/")]
    for _label, url in links.nav:
        assert _answers_200(client, url) == (200, url)


def test_a_site_admin_is_offered_neither_messages_nor_referrals(cast, sign_in):
    client = sign_in(cast.users["maple_admin"], cast.organizations["maple"])
    links = _links(client.get("/").content.decode())
    labels = [label for label, _url in links.nav]
    assert labels == ["Home", "Users", "Access log", "Scorecard"]
    assert "/messages/" not in links.tiles and "/care/" not in links.tiles
    # What is not offered is still refused, with the portal's page and the reason.
    refused = client.get("/messages/")
    assert refused.status_code == 403
    assert "Secure messaging is for clinical staff." in refused.content.decode()


def test_a_clinicians_menu_has_the_shared_record_messages_and_care_but_no_admin_pages(cast, sign_in):
    client = sign_in(cast.users["park"], cast.organizations["maple"])
    links = _links(client.get("/").content.decode())
    assert [label for label, _url in links.nav] == ["Home", "Patients", "Messages", "Referrals & tasks", "Tumor boards"]
    assert set(links.tiles) >= {"/patients/", "/messages/", "/care/"}
