"""Catalogues: every sentence of the server's pages and messages is in Kazakh and Russian; language choice."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel import dates
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from protocol import Reason
from server import i18n
from server.accounts import authenticate
from server.i18n import LocalizedError, choose_language, parse_accept_language, reason_text
from server.web import labels
from server.web.auth import SESSION_COOKIE, create_session
from tests.server.conftest import PARK, PASSWORD, TestClient, World, event

SERVER = Path(i18n.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted_msgids() -> set[str]:
    """What ``pybabel extract -F server/locale/babel.cfg -k N_`` finds: Python sources and templates."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SERVER), method_map, options, keywords=keywords
    ):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_every_sentence_is_translated_with_the_same_placeholders(lang: str) -> None:
    with (SERVER / "locale" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fileobj:
        catalog = read_po(fileobj)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, f"{lang}: untranslated {message.id!r}"
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == set(PLACEHOLDER.findall(ids[0])), (lang, message.id, string)
        translated.update(dict.fromkeys(ids))
    missing = extracted_msgids() - set(translated)
    assert not missing, f"{lang}: not in the catalogue (run pybabel extract/update): {sorted(missing)}"


def test_every_reason_and_message_has_a_text_in_every_language() -> None:
    for lang in ("kk", "ru"):
        for reason in Reason:
            assert reason_text(reason, lang) != reason_text(reason, "en"), (lang, reason)
        for code in i18n.MESSAGES:
            assert i18n.translations(lang).gettext(i18n.MESSAGES[code]) != i18n.MESSAGES[code], (lang, code)
    assert reason_text("revoked", "ru") == "Разрешение отозвано"
    assert reason_text(Reason.CAPACITY_FULL, "kk") == "Саябақта бос орын жоқ"


def test_language_comes_from_query_then_cookie_then_accept_language() -> None:
    assert parse_accept_language("ru-RU,ru;q=0.9,en-US;q=0.8") == "ru"
    assert parse_accept_language("de-DE, en;q=0.5, kk;q=0.7") == "kk"
    assert parse_accept_language("de, fr") is None
    assert parse_accept_language("kk;q=0, en") == "en"
    assert parse_accept_language("ru;q=bad, en;q=0.1") == "en"
    assert choose_language("en", "ru", "kk") == "en"
    assert choose_language("xx", "ru", "kk") == "ru"
    assert choose_language(None, None, "en-GB") == "en"
    assert choose_language(None, None, None) == "kk"


def test_numbers_money_and_times_the_local_way() -> None:
    assert i18n.format_money(1297, "ru") == "1\u00a0297\u00a0₸"
    assert i18n.format_money(432.5, "en") == "432.50\u00a0₸"
    assert i18n.format_number(12345.5, "kk") == "12\u00a0345,5"
    assert i18n.format_day(dt.date(2026, 6, 1), "ru") == "1 июня 2026\u202fг."
    # stored UTC, shown in the park's UTC+5
    assert i18n.format_moment(1_780_000_000, "en") == "May 29, 2026, 1:26\u202fAM"
    assert i18n.format_time(9 * 60 + 30, "kk") == "09:30"


def test_a_localized_error_carries_its_code_and_placeholders() -> None:
    error = LocalizedError("quota_short", free=3, day="1 June", people=5)
    assert str(error) == "Only 3 places are left for 1 June; your party has 5 people."
    assert error.body("kk") == {
        "detail": "1 June күніне тек 3 орын қалды, ал сіздің топта 5 адам бар.",
        "code": "quota_short",
        "params": {"free": 3, "day": "1 June", "people": 5},
    }
    with pytest.raises(KeyError):
        LocalizedError("no_such_code")


def test_pages_answer_in_the_browser_language_and_remember_a_switch(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert page.headers["content-language"] == "ru"
    assert "Забронировать посещение" in page.text
    assert '<html lang="ru">' in page.text
    switched = client.get("/?lang=en", headers={"Accept-Language": "ru"})
    assert "Book a visit" in switched.text
    assert switched.cookies.get("lang") == "en"
    # the cookie keeps the choice on the next page, over the browser's language
    assert "Book a visit" in client.get("/", headers={"Accept-Language": "ru"}).text
    assert "Сапарды брондау" in client.get("/?lang=kk").text


class _VisibleText(HTMLParser):
    """The text a person reads on a page: text outside scripts and styles, alt/title/label attributes,
    and the JSON of the charts' labels."""

    READ_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip: str | None = None
        self._json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.texts += [value for name, value in attrs if name in self.READ_ATTRIBUTES and value]
        if tag in ("script", "style"):
            self._skip = tag
            self._json = values.get("id") == "chart-labels"

    def handle_endtag(self, tag: str) -> None:
        if tag == self._skip:
            self._skip, self._json = None, False

    def handle_data(self, data: str) -> None:
        if self._json:
            self.texts += [label for labels in json.loads(data).values() for label in labels]
        elif self._skip is None and data.strip():
            self.texts.append(data.strip())


def _english_words(lang: str) -> list[re.Pattern[str]]:
    """Patterns of what English left on a ``lang`` page gives away: every catalogue sentence whose text in
    ``lang`` differs (its longest fixed part, for sentences with placeholders), the codes pages must name
    (categories, reader states), and English month and weekday names."""
    catalogue = i18n.translations(lang)
    found: set[str] = set()
    for msgid in extracted_msgids():
        if catalogue.gettext(msgid) != msgid:
            fixed = max(PLACEHOLDER.split(msgid), key=len).strip(" .,:;")
            if len(fixed) >= 3:
                found.add(fixed)
    found |= {code for code in (*labels.CATEGORY_NAMES, *labels.READER_STATES) if code}
    found |= set(dates.get_month_names("abbreviated", locale="en").values())
    found |= set(dates.get_day_names("abbreviated", locale="en").values())
    return [re.compile(rf"(?<![\w-]){re.escape(text)}(?![\w-])") for text in found]


def _staff_session(world: World) -> str:
    app: Any = world.client.app
    with app.state.engine.begin() as conn:
        user = authenticate(conn, "manager", PASSWORD)
        assert user is not None
        return create_session(conn, user)


def _a_day_at_the_park(world: World) -> tuple[str, str]:
    """Events of every kind of category, a refusal, an offline conflict, gate health; a booked permit."""
    today = int(time.time()) // 60 * 60
    n = iter(range(1000))
    batch = [
        event(next(n), occurred_at=(today - 600 + i) * 1000, people=1, category=category)
        for i, category in enumerate(("standard", "pedestrian", "car", "resident", "ranger", None))
    ]
    batch += [event(next(n), occurred_at=(today - 300) * 1000, reason="expired", granted=False, people=0)]
    offline = {"flags": ["offline"], "permit_id": "abcdefghijkmnop2", "category": "bus"}
    batch += [event(next(n), occurred_at=(today - 200) * 1000, **offline)]
    assert world.client.post("/api/v1/gate/events", json={"events": batch}, headers=world.entry_device).is_success
    second = [event(next(n), occurred_at=(today - 100) * 1000, **offline)]
    assert world.client.post("/api/v1/gate/events", json={"events": second}, headers=world.exit_device).is_success
    status = json.dumps({"outbox": 1200, "readers": {"camera": "ok", "rfid": "no_data", "plates": "disconnected"}})
    headers = {**world.entry_device, "X-Gate-Status": status}
    assert world.client.get("/api/v1/gate/sync", headers=headers).status_code == 200
    staff_permit = world.issue(plate="777ABC02", category="car")["id"]
    day = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    body = {"park": PARK, "day": day, "party": {"adults": 2, "pensioners": 1}, "vehicle_class": "car"}
    booked = world.client.post("/api/v1/public/bookings", json={**body, "plate": "123ABC02"})
    assert booked.status_code == 201, booked.text
    return staff_permit, booked.json()["id"]


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_no_page_shows_english_in_kazakh_or_russian(world: World, lang: str) -> None:
    staff_permit, booked = _a_day_at_the_park(world)
    client = world.client
    visitor_pages = ["/", f"/book/{PARK}", f"/permit/{booked}", "/book/nowhere", "/login"]
    staff_pages = [
        "/dashboard",
        f"/dashboard/{PARK}",
        f"/permits?q={staff_permit[:6]}",
        f"/permits/{staff_permit}",
        "/permits/nonexistent",
        "/permits?day=not-a-date",
    ]
    english = _english_words(lang)
    leaks = []
    for path in visitor_pages + staff_pages:
        client.cookies.clear()
        if path in staff_pages:
            client.cookies.set(SESSION_COOKIE, _staff_session(world))
        page = client.get(path, params={"lang": lang})
        assert page.headers["content-type"].startswith("text/html"), (path, page.status_code, page.text[:200])
        parser = _VisibleText()
        parser.feed(page.text)
        assert parser.texts, path
        leaks += [(path, text) for text in parser.texts for pattern in english if pattern.search(text)]
    client.cookies.clear()
    assert not leaks, leaks
