"""A visitor on a phone books an e-permit in Kazakh, Russian and English in a real Chromium.

Each booking goes through the pages the way a visitor does (the form, the live price, the permit page) and
downloads the QR code and the PDF with the browser; the QR decodes to a token the server's published keys
verify. Screenshots land in the screenshot directory (see ``conftest``) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page

from protocol import Keyring, verify_token
from server.i18n import LANGUAGE_NAMES, MESSAGES, Language, format_money, gettext_for
from tests.browser.conftest import LiveServer, assert_fits

PARK = "charyn"
PARK_NAME = "Шарын шатқалы"
FULL_PARK = "aksu"
PLACEHOLDER = re.compile(r"%\(\w+\)s")

Shot = Callable[[Page, str], Path]
OpenPage = Callable[..., Page]


@pytest.fixture(scope="module")
def park(live_server: LiveServer) -> Iterator[dict[str, Any]]:
    yield live_server.create_park(PARK, PARK_NAME, capacity=2000, daily_quota=1000)


def tomorrow(live_server: LiveServer, slug: str) -> str:
    parks = live_server.api.get("/api/v1/public/parks").json()
    today = next(p["today"] for p in parks if p["slug"] == slug)
    return (dt.date.fromisoformat(today) + dt.timedelta(days=1)).isoformat()


def fill_party(page: Page, adults: int, children: int = 0, pensioners: int = 0) -> None:
    page.fill("#adults", str(adults))
    page.fill("#children", str(children))
    page.fill("#pensioners", str(pensioners))


def expect_lang(page: Page, lang: str) -> None:
    page.wait_for_function("lang => document.documentElement.lang === lang", arg=lang)


@pytest.mark.parametrize(
    ("lang", "how"),
    [("kk", "accept-language"), ("ru", "switcher"), ("en", "query")],
)
def test_a_visitor_books_on_a_phone_and_downloads_the_qr_and_the_pdf(
    live_server: LiveServer, park: dict[str, Any], open_page: OpenPage, shot: Shot, lang: str, how: str
) -> None:
    _ = gettext_for(lang)
    # the language comes from the phone's settings, from the switcher, or from a link with ?lang=
    page = open_page(locale={"accept-language": "kk-KZ", "switcher": "en-US", "query": "ru-RU"}[how])
    page.goto("/?lang=en" if how == "query" else "/")
    if how == "switcher":
        page.click(f"a.lang-switch[data-lang={lang}]")
    expect_lang(page, lang)
    assert page.inner_text("h1") == _("Book a visit")
    assert_fits(page)
    shot(page, "parks")
    page.click(f"a.card[href='/book/{PARK}']")
    expect_lang(page, lang)
    assert page.inner_text("h1") == PARK_NAME

    fill_party(page, adults=2, children=1, pensioners=1)
    page.select_option("#vehicle_class", "car")
    page.fill("#plate", "123 abc 02")
    page.fill("#payment_reference", f"KASPI-{lang.upper()}-1")
    # 3 paying people × 0.1 MRP + a car 0.3 MRP, MRP 4325 ₸; the pensioner is free
    price = format_money(Decimal("2595"), lang)
    page.wait_for_function("text => document.getElementById('price').textContent === text", arg=price)
    assert_fits(page)
    shot(page, "form")

    with page.expect_navigation():
        page.click("#book")
    match = re.search(r"/permit/([0-9a-z]+)$", page.url)
    assert match, page.url
    permit_id = match.group(1)
    expect_lang(page, lang)
    assert page.inner_text("h1") == _("E-permit")
    assert page.inner_text("#permit-id").lower() == permit_id
    assert page.evaluate("document.getElementById('qr').naturalWidth") > 0
    assert price in page.inner_text("table.summary")
    assert_fits(page)
    shot(page, "permit")
    # the Print button works from the page's script file (the policy allows no inline onclick)
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.click("#print")
    assert page.evaluate("window.printed") == 1

    with page.expect_download() as png_download:
        page.click("#download-png")
    png = Path(png_download.value.path())
    decoded = zxingcpp.read_barcodes(Image.open(png), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    assert len(decoded) == 1
    keys = Keyring.from_jwks(live_server.api.get("/api/v1/keys").json())
    token = verify_token(decoded[0].text, keys).permit
    assert token.id_text == permit_id
    assert token.park == PARK
    assert token.party == (2, 1, 1)
    assert token.plate == "123ABC02"
    assert token.category == "car"

    with page.expect_download() as pdf_download:
        page.click("#download-pdf")
    pdf = Path(pdf_download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert permit_id.encode() in pdf


def test_the_switcher_changes_the_texts_and_the_choice_stays(
    live_server: LiveServer, park: dict[str, Any], open_page: OpenPage, shot: Shot
) -> None:
    page = open_page(locale="en-US")
    page.goto(f"/book/{PARK}")
    expect_lang(page, "en")
    assert page.inner_text("legend >> nth=0") == "Who is coming"
    assert page.inner_text("a.lang-switch[data-lang=kk]") == LANGUAGE_NAMES["kk"]
    page.wait_for_function("() => document.getElementById('price').textContent !== '—'")
    seen = {"en": page.inner_text("main")}
    steps: tuple[tuple[Language, str], ...] = (("kk", "Кім келеді"), ("ru", "Кто едет"))
    for lang, legend in steps:
        page.click(f"a.lang-switch[data-lang={lang}]")
        expect_lang(page, lang)
        assert page.inner_text("legend >> nth=0") == legend == gettext_for(lang)("Who is coming")
        assert page.inner_text("strong.lang-current") == LANGUAGE_NAMES[lang]
        # 2 adults on foot: 0.2 MRP, in the language's own number format
        price = format_money(Decimal("865"), lang)
        page.wait_for_function("text => document.getElementById('price').textContent === text", arg=price)
        seen[lang] = page.inner_text("main")
        assert_fits(page)
        shot(page, lang)
    assert len(set(seen.values())) == 3
    # the choice is remembered (a cookie): the next page, without ?lang=, is still in Russian
    page.goto("/")
    expect_lang(page, "ru")
    assert page.inner_text("h1") == "Забронировать посещение"


def test_a_full_day_refuses_the_booking_with_the_reason_in_the_visitors_language(
    live_server: LiveServer, open_page: OpenPage, shot: Shot
) -> None:
    live_server.create_park(FULL_PARK, "Ақсу-Жабағылы", daily_quota=3)
    day = tomorrow(live_server, FULL_PARK)
    taken = live_server.api.post(
        "/api/v1/public/bookings", json={"park": FULL_PARK, "day": day, "party": {"adults": 3}}
    )
    assert taken.status_code == 201, taken.text
    for lang, locale in (("ru", "ru-RU"), ("kk", "kk-KZ")):
        page = open_page(locale=locale)
        page.goto(f"/book/{FULL_PARK}")
        page.fill("#day", day)
        fill_party(page, adults=1)
        with page.expect_navigation():
            page.click("#book")
        error = page.inner_text("#booking-error")
        translated = gettext_for(lang)(MESSAGES["quota_full"])
        assert translated != MESSAGES["quota_full"]
        for fragment in PLACEHOLDER.split(translated):
            assert fragment.strip() in error, (lang, error)
        assert page.input_value("#adults") == "1"  # the form keeps what the visitor entered
        assert page.input_value("#day") == day
        assert_fits(page)
        shot(page, lang)
    count = live_server.api.get(f"/api/v1/public/parks/{FULL_PARK}/availability", params={"day": day}).json()
    assert (count["booked"], count["free"]) == (3, 0)
