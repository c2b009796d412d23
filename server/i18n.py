"""Kazakh, Russian and English for everything a person reads: catalogues, language choice, local formats.

How to use it
-------------
* In Python, mark a sentence with ``N_("...")`` where it is defined (so ``pybabel extract`` and the
  catalogue test find it) and translate it where it is shown: ``gettext_for(lang)("...")`` or
  ``translate(lang, msgid, **params)``. Placeholders are ``%(name)s`` (python-format).
* In templates (``server.web.pages.render``) ``_()``/``gettext()``/``ngettext()`` and ``{% trans %}`` use the
  request's language; ``{{ money(x) }}``, ``{{ number(x) }}``, ``{{ day(d) }}``, ``{{ moment(ts, tz) }}``
  format the local way.
* Errors a visitor reads are ``LocalizedError(code, **params)``: ``code`` is a stable key of ``MESSAGES``,
  the app answers ``{"detail": <text in the request's language>, "code": code, "params": params}``.
* Reason codes (``protocol.Reason``) have their texts in the catalogue: ``reason_text(reason, lang)``.

The language of a request: ``?lang=`` (the page's switcher; remembered in the ``lang`` cookie), else the
``lang`` cookie, else the best of ``Accept-Language``, else Kazakh, the state language, on pages, and English
in the API (``/api/``), whose callers are programs: an error a program logs reads the same as the English
pydantic explanations beside it.

Catalogues are the ``.po`` files in ``server/locale/<lang>/LC_MESSAGES/messages.po``, compiled in memory on
first use (no build step, nothing generated in the repository). Times are stored in UTC and shown in the
park's zone (Asia/Almaty, UTC+5).
"""

from __future__ import annotations

import datetime as dt
import gettext as gettext_module
import io
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from babel import dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from protocol import Reason
from server.errors import InvalidInput

Language = Literal["kk", "ru", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("kk", "ru", "en")
DEFAULT_LANGUAGE: Final[Language] = "kk"
API_DEFAULT_LANGUAGE: Final[Language] = "en"
API_PREFIX: Final = "/api/"
LANGUAGE_NAMES: Final[Mapping[Language, str]] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
# Babel locales: the Kazakhstan variants give the tenge sign and local date patterns
BABEL_LOCALES: Final[Mapping[Language, str]] = {"kk": "kk_KZ", "ru": "ru_KZ", "en": "en"}
LANG_COOKIE: Final = "lang"
DOMAIN: Final = "messages"
PARK_TIMEZONE: Final = "Asia/Almaty"


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it here (it is translated where shown)."""
    return message


# Texts of errors a visitor can meet, by stable code. The code and the placeholders go to API clients too.
MESSAGES: Final[Mapping[str, str]] = {
    "unknown_park": N_("There is no park “%(park)s”."),
    "past_day": N_("The visit day %(day)s has already passed; choose today or a later day."),
    "too_far_ahead": N_("Bookings open %(days)s days ahead; choose a day up to %(last)s."),
    "slot_required": N_("This park admits visitors by entry time; choose a time slot."),
    "no_slots": N_("This park does not use entry times; book without a time slot."),
    "unknown_slot": N_("The park has no entry time %(slot)s."),
    "empty_party": N_("Add at least one person to the party."),
    "party_too_large": N_("A permit covers at most %(max)s people; book several permits for a larger group."),
    "quota_full": N_("No places are left for %(day)s: %(booked)s of %(quota)s are booked. Choose another day."),
    "quota_short": N_("Only %(free)s places are left for %(day)s; your party has %(people)s people."),
    "slot_full": N_("No places are left at %(slot)s on %(day)s. Choose another time or day."),
    "slot_short": N_("Only %(free)s places are left at %(slot)s on %(day)s; your party has %(people)s people."),
    "plate_invalid": N_("“%(plate)s” is not a licence plate we know. Check it, or choose “another country”."),
    "plate_typo": N_("“%(plate)s” does not look right. Did you mean %(suggestion)s?"),
    "vehicle_without_plate": N_("Enter the vehicle's licence plate."),
    "plate_without_vehicle": N_("Choose the vehicle type for the plate."),
    "bad_payment_reference": N_("The payment reference may hold only letters, digits and - _ / . (up to 64)."),
    "unknown_permit": N_("There is no permit %(permit)s."),
    "rate_limited": N_("Too many requests. Please wait %(seconds)s seconds and try again."),
    "login_rate_limited": N_("Too many login attempts. Please wait %(seconds)s seconds and try again."),
    "bad_request": N_("The form is not filled in correctly: %(detail)s"),
}

REASON_TEXTS: Final[Mapping[Reason, str]] = {
    Reason.GRANTED: N_("Entry granted"),
    Reason.GRANTED_UNLISTED: N_("Entry granted (permit not yet in the gate's list)"),
    Reason.MALFORMED: N_("This is not a permit code"),
    Reason.BAD_SIGNATURE: N_("The permit's signature is not valid"),
    Reason.UNKNOWN_KEY: N_("The permit was signed with an unknown key"),
    Reason.NOT_YET_VALID: N_("The permit is not valid yet"),
    Reason.EXPIRED: N_("The permit has expired"),
    Reason.WRONG_PARK: N_("The permit is for another park"),
    Reason.REVOKED: N_("The permit has been revoked"),
    Reason.ALREADY_INSIDE: N_("Already inside: the permit must exit first"),
    Reason.ENTRIES_USED: N_("Today's entries on this permit are used up"),
    Reason.CAPACITY_FULL: N_("The park is full"),
    Reason.UNKNOWN_CARD: N_("Unknown card"),
    Reason.UNKNOWN_PLATE: N_("Unknown licence plate"),
    Reason.PLATE_MISMATCH: N_("The plate does not match the permit"),
    Reason.MANUAL: N_("Opened by hand"),
}


class LocalizedError(InvalidInput):
    """An error a person reads: a stable ``code`` of ``MESSAGES`` and its placeholders.

    ``str(error)`` is the English text (logs, the CLI); ``error.text(lang)`` the text in ``lang``.
    """

    def __init__(self, code: str, status_code: int = 422, **params: Any) -> None:
        if code not in MESSAGES:
            raise KeyError(f"no message {code!r} in server.i18n.MESSAGES")
        self.code = code
        self.params = params
        self.status_code = status_code
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return translate(lang, MESSAGES[self.code], **self.params)

    def body(self, lang: str) -> dict[str, Any]:
        """The JSON answer: the text in ``lang``, the code and the placeholders."""
        return {"detail": self.text(lang), "code": self.code, "params": {k: _plain(v) for k, v in self.params.items()}}


def locale_dir() -> Any:
    """The ``server/locale`` directory (a Traversable, also inside an installed package)."""
    return resources.files("server") / "locale"


@cache
def translations(lang: str) -> gettext_module.NullTranslations:
    """The compiled catalogue of ``lang`` (English msgids are the fallback for anything untranslated)."""
    if lang not in LANGUAGES:
        raise KeyError(f"unknown language {lang!r}; one of {', '.join(LANGUAGES)}")
    po = locale_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as fileobj:
        catalog = read_po(fileobj, locale=BABEL_LOCALES[lang])
    buffer = io.BytesIO()
    # fuzzy entries are drafts: leave them out, as msgfmt does
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


def gettext_for(lang: str) -> Callable[[str], str]:
    return translations(lang).gettext


def translate(lang: str, msgid: str, **params: Any) -> str:
    """``msgid`` in ``lang``, with ``%(name)s`` placeholders filled (numbers formatted the local way)."""
    text = translations(lang).gettext(msgid)
    if not params:
        return text
    return text % {name: _local(value, lang) for name, value in params.items()}


def _plain(value: Any) -> Any:
    """A placeholder as JSON carries it: days as ISO dates, amounts as strings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _local(value: Any, lang: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal | float):
        return format_number(value, lang)
    if isinstance(value, dt.date):
        return format_day(value, lang)
    return value


def reason_text(reason: Reason | str, lang: str) -> str:
    """What a reason code means, in ``lang`` (the gate and ranger pages show these)."""
    return translations(lang).gettext(REASON_TEXTS[Reason(reason)])


# -- choosing the language -----------------------------------------------------------------------------


def parse_accept_language(header: str | None) -> Language | None:
    """The best of our languages in an ``Accept-Language`` header (by q-value, then order), if any."""
    if not header:
        return None
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0].split("_")[0]
        lang = _as_language(primary)
        if lang is None or quality <= 0:
            continue
        if best is None or (quality, -position) > (best[0], -best[1]):
            best = (quality, position, lang)
    return None if best is None else best[2]


def _as_language(value: str | None) -> Language | None:
    for lang in LANGUAGES:
        if value == lang:
            return lang
    return None


def choose_language(
    query: str | None, cookie: str | None, accept_language: str | None, default: Language = DEFAULT_LANGUAGE
) -> Language:
    """``?lang=``, else the ``lang`` cookie, else ``Accept-Language``, else ``default`` (Kazakh)."""
    return _as_language(query) or _as_language(cookie) or parse_accept_language(accept_language) or default


def request_language(request: Any) -> Language:
    """The language of a Starlette/FastAPI request (see ``choose_language``): without any choice, Kazakh on
    pages and English in the API."""
    default = API_DEFAULT_LANGUAGE if request.url.path.startswith(API_PREFIX) else DEFAULT_LANGUAGE
    return choose_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
        default,
    )


# -- local formats ---------------------------------------------------------------------------------------


def format_number(value: int | float | Decimal, lang: str) -> str:
    return numbers.format_decimal(value, locale=BABEL_LOCALES[_checked(lang)])


def format_change(percent: float, lang: str) -> str:
    """A change in per cent with its sign, e.g. ``+12,3%`` (kk, ru) or ``-4.0%`` (en)."""
    return numbers.format_percent(percent / 100, format="+#,##0.0%;-#,##0.0%", locale=BABEL_LOCALES[_checked(lang)])


def format_money(tenge: Decimal | int, lang: str) -> str:
    """An amount in tenge, e.g. ``1 297,50 ₸`` (kk, ru) or ``1,297.50 ₸`` (en); whole amounts without tiyn."""
    amount = Decimal(tenge)
    pattern = "#,##0" if amount == amount.to_integral_value() else "#,##0.00"
    text = numbers.format_decimal(amount, format=pattern, locale=BABEL_LOCALES[_checked(lang)])
    return f"{text}\u00a0₸"


def format_day(day: dt.date, lang: str) -> str:
    """A calendar day, e.g. ``2026 ж. 1 маусым``, ``1 июня 2026 г.``, ``June 1, 2026``."""
    return dates.format_date(day, format="long", locale=BABEL_LOCALES[_checked(lang)])


def format_day_short(day: dt.date, lang: str) -> str:
    """A day without its year for chart axes, e.g. ``25 қар.``, ``25 нояб.``, ``Nov 25``."""
    return dates.format_skeleton("MMMd", day, locale=BABEL_LOCALES[_checked(lang)])


def format_month(day: dt.date, lang: str) -> str:
    """The month of ``day`` with its year, e.g. ``2026 ж. қар.``, ``нояб. 2026 г.``, ``Nov 2026``."""
    return dates.format_skeleton("yMMM", day, locale=BABEL_LOCALES[_checked(lang)])


def weekday_names(lang: str) -> list[str]:
    """Abbreviated weekday names, Monday first, e.g. ``дс``, ``пн``, ``Mon``."""
    names = dates.get_day_names("abbreviated", locale=BABEL_LOCALES[_checked(lang)])
    return [names[day] for day in range(7)]


def format_moment(unix_s: int, lang: str, timezone: str = PARK_TIMEZONE) -> str:
    """A stored UTC instant shown in the park's local time, e.g. ``1 июня 2026 г., 09:30``."""
    local = dt.datetime.fromtimestamp(unix_s, tz=ZoneInfo(timezone))
    locale = BABEL_LOCALES[_checked(lang)]
    return (
        f"{dates.format_date(local, format='long', locale=locale)}, {dates.format_time(local, 'short', locale=locale)}"
    )


def format_time(minutes: int, lang: str) -> str:
    """A time of day given in minutes after midnight, e.g. ``09:30`` (``9:30 AM`` in English)."""
    return dates.format_time(dt.time(minutes // 60, minutes % 60), format="short", locale=BABEL_LOCALES[_checked(lang)])


def _checked(lang: str) -> Language:
    found = _as_language(lang)
    if found is None:
        raise KeyError(f"unknown language {lang!r}; one of {', '.join(LANGUAGES)}")
    return found
