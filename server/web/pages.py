"""Server-rendered pages: the Jinja2 environment, ``render`` in the request's language, the static files.

How to use it (every page module does the same)::

    from server.web.pages import render

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request) -> HTMLResponse:
        return render(request, "dashboard/index.html", {"parks": parks})

A template extends ``base.html`` and fills ``{% block title %}`` and ``{% block content %}`` (optionally
``{% block head %}`` for extra CSS/JS and ``{% block scripts %}`` at the end of the body). In templates:

* ``{{ _("Text") }}``, ``{{ _("%(n)s people", n=3) }}``, ``{{ ngettext("%(num)s gate", "%(num)s gates", n) }}``
  and ``{% trans %}…{% endtrans %}`` translate into the request's language (``lang``); add new sentences to
  the three catalogues in ``server/locale`` (``tests/server/test_public_i18n.py`` fails on a missing one).
* ``money(tenge)``, ``number(x)``, ``change(percent)``, ``day(date)``, ``moment(unix_s, timezone)``,
  ``clock(minutes)`` format the local way (``weekdays`` are the day names, Monday first); ``reason(code)``
  gives a reason code's text, ``category(code)`` a counting category's name, ``reader(name, state)`` a gate
  reader's state;
  ``static(path)`` the URL of a file in ``server/static``; ``lang_url(code)`` the current page in another
  language (the switcher in ``base.html`` uses it).
* ``value | json_script`` is the only way data reaches a page's scripts: as JSON inside
  ``<script type="application/json" id=…>``, read by a script in ``server/static`` with
  ``JSON.parse(element.textContent)``. Pages have no inline script, event handler or ``style=`` attribute:
  ``server.hardening``'s Content-Security-Policy refuses them (``tests/server/test_hardening.py`` checks the
  templates).

``render`` remembers a ``?lang=`` choice in the ``lang`` cookie, so the next page keeps the language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from server import i18n
from server.web import labels

STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static"
STATIC_URL: Final = "/static"
LANG_COOKIE_MAX_AGE: Final = 365 * 24 * 3600

environment = Environment(
    loader=PackageLoader("server", "templates"),
    autoescape=select_autoescape(("html", "xml")),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
# newstyle: {% trans %} and _() take keyword placeholders and escape them; our callables below do that
environment.newstyle_gettext = True  # type: ignore[attr-defined]

# Inside <script type="application/json"> the HTML parser looks for "</script" and, after "<!--", for
# "<script" (which makes it skip the element's end tag): text a gate or a visitor sent, such as a category
# "<!--<script>", would swallow the rest of the page's scripts. Writing "<", ">" and "&" as JSON escapes
# leaves no markup at all; U+2028/9 end a line in older JavaScript, so they are escaped as well.
_JSON_IN_HTML = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def json_script(value: object) -> Markup:
    """``value`` as JSON that is safe as the text of a ``<script type="application/json">`` element."""
    return Markup(json.dumps(value, ensure_ascii=False).translate(_JSON_IN_HTML))


environment.filters["json_script"] = json_script


def page_helpers(lang: str) -> dict[str, Any]:
    """The translation and formatting callables a template of ``lang`` sees."""
    catalogue = i18n.translations(lang)

    def gettext(message: str, **variables: Any) -> Markup:
        text = Markup(catalogue.gettext(message))
        return text % variables if variables else text

    def ngettext(singular: str, plural: str, num: int, **variables: Any) -> Markup:
        variables.setdefault("num", i18n.format_number(num, lang))
        return Markup(catalogue.ngettext(singular, plural, num)) % variables

    return {
        "lang": lang,
        "languages": i18n.LANGUAGE_NAMES,
        "_": gettext,
        "gettext": gettext,
        "ngettext": ngettext,
        "money": lambda tenge: i18n.format_money(tenge, lang),
        "number": lambda value: i18n.format_number(value, lang),
        "change": lambda percent: "—" if percent is None else i18n.format_change(percent, lang),
        "day": lambda value: i18n.format_day(value, lang),
        "moment": lambda unix_s, tz=i18n.PARK_TIMEZONE: i18n.format_moment(unix_s, lang, tz),
        "clock": lambda minutes: i18n.format_time(minutes, lang),
        "reason": lambda code: i18n.reason_text(code, lang),
        "category": lambda code: labels.category_name(code, lang),
        "reader": lambda name, state: labels.reader_text(name, state, lang),
        "weekdays": i18n.weekday_names(lang),
        "static": lambda path: f"{STATIC_URL}/{path}",
    }


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
    lang: str | None = None,
) -> HTMLResponse:
    """``template`` rendered in the request's language (or ``lang``) as an HTML response."""
    chosen = lang or i18n.request_language(request)

    def lang_url(code: str) -> str:
        return str(request.url.include_query_params(lang=code))

    values = {**page_helpers(chosen), "request": request, "lang_url": lang_url, **(context or {})}
    html = environment.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers={"Content-Language": chosen})
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES and request.cookies.get(i18n.LANG_COOKIE) != asked:
        secure = over_https(request)
        response.set_cookie(i18n.LANG_COOKIE, asked, max_age=LANG_COOKIE_MAX_AGE, samesite="lax", secure=secure)
    return response


def over_https(request: Request) -> bool:
    """Whether the browser used HTTPS (behind a trusted proxy, its X-Forwarded-Proto: ``server.app``), so a
    cookie set now may be marked Secure."""
    return request.url.scheme == "https"
