"""Catalogues: every sentence of the server's pages and messages is in Kazakh and Russian; language choice."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from protocol import Reason
from server import i18n
from server.i18n import LocalizedError, choose_language, parse_accept_language, reason_text
from tests.server.conftest import TestClient

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
