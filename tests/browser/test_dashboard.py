"""Staff in a real Chromium: a manager sees a simulated day on the dashboard, a ranger revokes a permit.

The day is made the way it happens in a park: the admin creates the park, three gate lanes and their
device tokens through the API and issues permits; the gates upload their decisions (entries and exits
with people counts, refusals, two offline admissions of one permit) through ``POST /api/v1/gate/events``
with their own tokens, spread over today's park-local hours (UTC+5), with balanced earlier days for the
charts. People then log in through the login page and read the numbers where a person reads them.
Screenshots land in the screenshot directory (see ``conftest``) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from protocol import Reason
from server.accounts import Role
from server.i18n import (
    LANGUAGE_NAMES,
    Language,
    format_day_short,
    format_moment,
    format_number,
    gettext_for,
    reason_text,
)
from server.park_time import day_start
from server.parks import DEFAULT_TIMEZONE
from server.web.labels import reader_text
from tests.browser.conftest import LiveServer, assert_fits

PARK = "dash-ile-alatau"
PARK_NAME = "Іле-Алатау ұлттық паркі"
OTHER = "dash-altyn-emel"
OTHER_NAME = "Алтын-Емел"
CAPACITY = 22  # 19 inside: amber (80 % and more)
DAILY_QUOTA = 50  # 29 entries: fine
MANAGER = "dash-manager"
RANGER = "dash-ranger"
OTHER_MANAGER = "dash-other-manager"
ZONE = ZoneInfo("Asia/Almaty")
HOUR = 3600
DAY = 86400
GATES = (("main-in", "Main entrance", "entry"), ("east-in", "East entrance", "entry"), ("main-out", "Exit", "exit"))
HEATMAP_WEEKS = 12

Shot = Callable[[Page, str], Path]
OpenPage = Callable[..., Page]


def uuid7(millis: int) -> str:
    """A UUIDv7 as a gate makes it: the event's time, then random bits."""
    rand = secrets.randbits(74)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def gate_event(
    at: int,
    direction: str,
    people: int = 0,
    reason: Reason = Reason.GRANTED,
    permit: str | None = None,
    category: str | None = "pedestrian",
    offline: bool = False,
) -> dict[str, Any]:
    """One decision as a gate uploads it (``protocol.GateEvent``); ``at`` in unix seconds."""
    return {
        "id": uuid7(at * 1000),
        "occurred_at": at * 1000,
        "direction": direction,
        "credential": "permit",
        "reason": reason.value,
        "granted": reason.admits,
        "people": people if reason.admits else 0,
        "permit_id": permit,
        "category": category,
        "flags": ["offline"] if offline else [],
    }


@dataclass
class SimulatedDay:
    """What the gates reported, and the numbers the dashboard must show for it."""

    today: int
    tokens: dict[str, str]
    permits: list[dict[str, Any]]
    to_revoke: dict[str, Any]
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    synced: tuple[int, int] = (0, 0)  # main-in's sync happened within these unix seconds

    def today_events(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (gate, e) for gate, batch in self.events.items() for e in batch if e["occurred_at"] // 1000 >= self.today
        ]

    def people(self, direction: str, gate: str | None = None) -> int:
        return sum(
            e["people"]
            for g, e in self.today_events()
            if e["direction"] == direction and e["granted"] and gate in (None, g)
        )

    def by_gate(self) -> dict[str, dict[str, int]]:
        """People admitted today per gate and permit category."""
        cells: dict[str, Counter[str]] = {}
        for gate, e in self.today_events():
            if e["direction"] == "entry" and e["granted"]:
                cells.setdefault(gate, Counter())[e["category"]] += e["people"]
        return {gate: dict(counter) for gate, counter in cells.items()}

    def refusals(self) -> Counter[str]:
        return Counter(e["reason"] for _, e in self.today_events() if not e["granted"])

    def hourly(self, day: int) -> list[int]:
        hours = [0] * 24
        for batch in self.events.values():
            for e in batch:
                at = e["occurred_at"] // 1000
                if e["direction"] == "entry" and e["granted"] and day <= at < day + DAY:
                    hours[(at - day) // HOUR] += e["people"]
        return hours


def _spread(today: int, now: int, n: int) -> list[int]:
    """``n`` moments spread evenly over the part of today (park-local) that has passed."""
    return [today + (i + 1) * (now - today) // (n + 1) for i in range(n)]


@pytest.fixture(scope="module")
def day(live_server: LiveServer) -> SimulatedDay:
    api = live_server.api
    live_server.create_park(PARK, PARK_NAME, capacity=CAPACITY, daily_quota=DAILY_QUOTA)
    live_server.create_park(OTHER, OTHER_NAME, capacity=500, daily_quota=1000)
    live_server.add_user(MANAGER, Role.MANAGER, PARK)
    live_server.add_user(RANGER, Role.RANGER, PARK)
    live_server.add_user(OTHER_MANAGER, Role.MANAGER, OTHER)
    tokens: dict[str, str] = {}
    for slug, name, direction in GATES:
        created = api.post(f"/api/v1/parks/{PARK}/gates", json={"slug": slug, "name": name, "direction": direction})
        assert created.status_code == 201, created.text
        device = api.post(f"/api/v1/parks/{PARK}/gates/{slug}/device")
        assert device.status_code == 201, device.text
        tokens[slug] = device.json()["device_token"]

    now = int(time.time())
    today = day_start(now, DEFAULT_TIMEZONE)

    def issue(party: list[int], plate: str | None = None, category: str | None = None) -> dict[str, Any]:
        body = {
            "park": PARK,
            "valid_from": today,
            "valid_until": today + DAY - 1,
            "party": party,
            "plate": plate,
            "category": category,
        }
        issued = api.post("/api/v1/permits", json=body)
        assert issued.status_code == 201, issued.text
        result: dict[str, Any] = issued.json()
        return result

    parties = [2, 3, 1, 4, 2, 5, 2, 4, 4]
    # a car (its plate), two walkers who booked online, the rest issued at the office ("standard")
    permits = [
        issue([n, 0, 0], plate="123ABC02" if i == 2 else None, category="pedestrian" if i in (7, 8) else None)
        for i, n in enumerate(parties)
    ]
    to_revoke = issue([3, 1, 0], plate="777KZA02")
    simulated = SimulatedDay(today, tokens, permits, to_revoke)

    at = _spread(today, now, 20)

    def admit(i: int, moment: int, direction: str = "entry", people: int = 0, offline: bool = False) -> dict[str, Any]:
        permit = permits[i]
        count = people or parties[i]
        return gate_event(moment, direction, count, permit=permit["id"], category=permit["category"], offline=offline)

    main = [admit(i, at[i]) for i in range(6)]
    main += [gate_event(at[6 + i], "entry", reason=Reason.EXPIRED) for i in range(3)]
    # permit 6 was admitted at both entrances while they were offline: a conflict to review
    main.append(admit(6, at[9], offline=True))
    east = [
        admit(6, at[10], offline=True),
        admit(7, at[11]),
        admit(8, at[12]),
        gate_event(at[13], "entry", reason=Reason.REVOKED),
        gate_event(at[14], "entry", reason=Reason.REVOKED),
        gate_event(at[15], "entry", reason=Reason.CAPACITY_FULL),
    ]
    out = [admit(i, at[16 + i], "exit", n) for i, n in enumerate([3, 2, 4, 1])]
    # earlier days, everyone left again: last week's same weekday, three other days, a year (52 weeks) ago
    for back, hours, people in ((7, (9, 10, 11), 4), (1, (12,), 6), (2, (13,), 3), (3, (15,), 5), (364, (10,), 8)):
        for hour in hours:
            start = today - back * DAY + hour * HOUR
            main.append(gate_event(start + 600, "entry", people, category="pedestrian"))
            out.append(gate_event(start + 3000, "exit", people, category="pedestrian"))
    simulated.events = {"main-in": main, "east-in": east, "main-out": out}
    for gate, batch in simulated.events.items():
        sent = live_server.api.post(
            "/api/v1/gate/events", json={"events": batch}, headers={"Authorization": f"Bearer {tokens[gate]}"}
        )
        assert sent.status_code == 200, sent.text
        assert len(sent.json()["new"]) == len(batch)
    # two gates sync (online, with their outbox and readers); the exit lane never has: offline
    before = int(time.time())
    for gate, status in (("main-in", '{"outbox": 3, "readers": {"qr": "ok", "rfid": "ok"}}'), ("east-in", "{}")):
        synced = sync(live_server, tokens[gate], status)
        assert synced["complete"] is True
    simulated.synced = (before, int(time.time()))
    # the day as stated in this file's docstring: 29 in, 10 out, 19 inside, 6 refused
    assert (simulated.people("entry"), simulated.people("exit")) == (29, 10)
    assert simulated.refusals() == {"expired": 3, "revoked": 2, "capacity_full": 1}
    return simulated


def sync(live_server: LiveServer, token: str, status: str = "{}") -> dict[str, Any]:
    """A gate's sync from the start of the feed, with its device token."""
    response = live_server.api.get(
        "/api/v1/gate/sync", headers={"Authorization": f"Bearer {token}", "X-Gate-Status": status}
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def log_in(page: Page, live_server: LiveServer, name: str, next_url: str = "/dashboard") -> None:
    """Log in through the login form, as a person does."""
    page.goto(f"/login?next={next_url}")
    page.fill("#username", name)
    page.fill("#password", live_server.passwords[name])
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    assert page.locator("nav.staff-nav .who").inner_text() == name


def assert_fits_phone(page: Page) -> None:
    """``assert_fits``, measured against the viewport the context was made with.

    A mobile Chromium zooms out to show a page wider than the screen, and then ``innerWidth`` grows with the
    page, so ``assert_fits`` alone cannot see the overflow on a phone.
    """
    assert_fits(page)
    viewport = page.viewport_size
    assert viewport is not None
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{page.url} is {width} px wide on a {viewport['width']} px phone"


def expect_lang(page: Page, lang: str) -> None:
    page.wait_for_function("lang => document.documentElement.lang === lang", arg=lang)


def table(page: Page, selector: str) -> list[list[str]]:
    """The body rows of a table, cell texts."""
    rows: list[list[str]] = page.eval_on_selector_all(
        f"{selector} tbody tr", "rows => rows.map(r => Array.from(r.cells, c => c.textContent.trim()))"
    )
    return rows


def chart(page: Page, canvas: str) -> dict[str, Any]:
    """The Chart.js chart drawn on a canvas: its labels and datasets (fails when no chart was made)."""
    found: dict[str, Any] | None = page.evaluate(
        """id => {
            const canvas = document.getElementById(id);
            const made = canvas && Chart.getChart(canvas);
            if (!made) return null;
            return {width: canvas.width, height: canvas.height, labels: made.data.labels,
                    datasets: made.data.datasets.map(d => ({label: d.label, data: d.data}))};
        }""",
        canvas,
    )
    assert found is not None, f"no chart on #{canvas}"
    assert found["width"] > 0 and found["height"] > 0
    return found


def check_dashboard(page: Page, day: SimulatedDay, lang: Language) -> None:
    """Every number of the simulated day where the page shows it, and the texts in ``lang``."""
    _ = gettext_for(lang)
    expect_lang(page, lang)
    assert page.inner_text("h1") == PARK_NAME
    inside = day.people("entry") - day.people("exit")
    assert page.inner_text("[data-testid=inside]") == format_number(inside, lang)
    assert page.inner_text("#inside .tile-label") == _("People inside now")
    assert page.inner_text("#inside .tile-limit") == _("limit %(n)s") % {"n": format_number(CAPACITY, lang)}
    assert page.get_attribute("#inside", "class") == "tile level-amber"
    assert page.inner_text("[data-testid=entries-today]") == format_number(day.people("entry"), lang)
    assert page.inner_text("#today .tile-label") == _("Entries today")
    assert page.inner_text("#today .tile-limit") == _("quota %(n)s") % {"n": format_number(DAILY_QUOTA, lang)}
    assert page.get_attribute("#today", "class") == "tile level-ok"

    gates = {row[0]: row for row in table(page, "#gates")}
    for slug, name, _direction in GATES:
        cells = gates[name]
        assert cells[-2:] == [
            format_number(day.people("entry", slug), lang),
            format_number(day.people("exit", slug), lang),
        ]
    assert gates["Main entrance"][1] == _("online")
    assert gates["Main entrance"][3] == format_number(3, lang)
    assert gates["Main entrance"][-3] == f"{reader_text('qr', 'ok', lang)}, {reader_text('rfid', 'ok', lang)}"
    assert gates["Main entrance"][2] in {format_moment(t, lang) for t in range(day.synced[0], day.synced[1] + 1)}
    assert gates["Exit"][1:3] == [_("offline"), "—"]

    categories = {"car": _("Car"), "pedestrian": _("No vehicle, on foot"), "standard": _("Standard permit")}
    assert page.locator("#by-gate thead th").all_inner_texts()[1:] == list(categories.values())
    by_gate = {
        row[0]: {c: int(n) for c, n in zip(categories, row[1:], strict=True) if n != "0"}
        for row in table(page, "#by-gate")
    }
    names = {slug: name for slug, name, _direction in GATES}
    assert by_gate == {names[slug]: cells for slug, cells in day.by_gate().items()}  # gates by their names

    refusals = {reason_text(code, lang): format_number(n, lang) for code, n in day.refusals().items()}
    assert dict(table(page, "#refusals")) == refusals
    assert [row[0] for row in table(page, "#conflicts")] == [day.permits[6]["id"]]

    hourly = chart(page, "hourly")
    assert [d["label"] for d in hourly["datasets"]] == [_("today"), _("last week"), _("last year")]
    assert hourly["datasets"][0]["data"] == day.hourly(day.today)
    assert hourly["datasets"][1]["data"] == day.hourly(day.today - 7 * DAY)
    assert hourly["datasets"][2]["data"] == day.hourly(day.today - 364 * DAY)
    daily = chart(page, "daily")
    assert daily["datasets"][0]["data"][-4:] == [5, 3, 6, day.people("entry")]  # three days ago … today
    today = dt.datetime.fromtimestamp(day.today, ZONE).date()
    assert daily["labels"][-1] == format_day_short(today, lang)  # the axis in the page's language
    monthly = chart(page, "monthly")
    assert sum(monthly["datasets"][0]["data"]) >= day.people("entry")
    assert sum(monthly["datasets"][1]["data"]) == 8  # the day a year before

    # last week's 4 people at 10:00 on today's weekday, averaged over twelve weeks
    weekday = dt.datetime.fromtimestamp(day.today, ZONE).weekday()
    cell = page.locator(f"#heatmap tbody tr >> nth={weekday}").locator("td >> nth=10")
    assert cell.get_attribute("title") == format_number(round(4 / HEATMAP_WEEKS, 1), lang)


def test_a_manager_logs_in_and_sees_the_simulated_day(
    live_server: LiveServer, day: SimulatedDay, open_page: OpenPage, shot: Shot
) -> None:
    page = open_page(locale="en-US", phone=False)
    page.goto(f"/dashboard/{PARK}")
    assert page.inner_text("h1") == "Staff login"  # the page asks for a login first (401 with the form)
    log_in(page, live_server, MANAGER)
    assert page.url == f"{live_server.url}/dashboard/{PARK}"  # one park: straight to its dashboard
    check_dashboard(page, day, "en")
    assert_fits(page)
    shot(page, "desktop")

    phone = open_page(locale="ru-RU", phone=True)
    log_in(phone, live_server, MANAGER)
    check_dashboard(phone, day, "ru")
    shot(phone, "phone-ru")
    assert_fits_phone(phone)


def test_the_dashboard_switches_between_kazakh_russian_and_english(
    live_server: LiveServer, day: SimulatedDay, open_page: OpenPage, shot: Shot
) -> None:
    page = open_page(locale="kk-KZ", phone=False)
    log_in(page, live_server, MANAGER)
    check_dashboard(page, day, "kk")  # from the browser's Accept-Language
    seen = {"kk": page.inner_text("main")}
    shot(page, "kk")
    steps: tuple[Language, ...] = ("ru", "en", "kk")
    for lang in steps:
        _ = gettext_for(lang)
        page.click(f"a.lang-switch[data-lang={lang}]")
        check_dashboard(page, day, lang)
        assert page.inner_text("strong.lang-current") == LANGUAGE_NAMES[lang]
        headings = page.locator("main h2").all_inner_texts()
        assert _("Gates") in headings and _("Refusals today") in headings
        assert page.inner_text("nav.staff-nav a[href='/permits']") == _("Permits")
        seen[lang] = page.inner_text("main")
        assert_fits(page)
        shot(page, lang)
    assert len(set(seen.values())) == 3
    assert gettext_for("kk")("People inside now") != "People inside now" != gettext_for("ru")("People inside now")


def test_a_ranger_finds_a_permit_and_revokes_it(
    live_server: LiveServer, day: SimulatedDay, open_page: OpenPage, shot: Shot
) -> None:
    _ = gettext_for("ru")
    permit = day.to_revoke["id"]
    page = open_page(locale="ru-RU", phone=True)
    log_in(page, live_server, RANGER, "/permits")
    assert page.inner_text("h1") == _("Permits")
    page.fill("#q", permit[:6])
    with page.expect_navigation():
        page.click("form#search button[type=submit]")
    assert permit in [row[0] for row in table(page, "#results")]
    assert_fits_phone(page)
    shot(page, "search")
    # the plate finds it too, written the way people write it
    page.fill("#q", "777 kza 02")
    with page.expect_navigation():
        page.click("form#search button[type=submit]")
    assert [row[0] for row in table(page, "#results")] == [permit]
    with page.expect_navigation():
        page.click(f"#results a[href='/permits/{permit}']")
    assert page.inner_text("#status") == _("valid")
    assert page.evaluate("document.querySelector('#permit-qr').naturalWidth") > 0
    shot(page, "permit")

    # the same POST without the form's token, with the session cookie: refused, and nothing changes
    forged = page.request.post(f"/permits/{permit}/revoke", form={"csrf": "forged"})
    assert forged.status == 403
    assert live_server.api.get(f"/api/v1/permits/{permit}").json()["revoked"] is False

    with page.expect_navigation():
        page.click("form#revoke button[type=submit]")
    assert page.url.endswith(f"/permits/{permit}")
    status = page.inner_text("#status")
    assert status.startswith(_("revoked")) and status != _("revoked")  # with the moment, park-local
    assert page.locator("form#revoke").count() == 0
    assert_fits_phone(page)
    shot(page, "revoked")

    record = live_server.api.get(f"/api/v1/permits/{permit}").json()
    assert record["revoked"] is True
    assert status == f"{_('revoked')} {format_moment(record['revoked_at'], 'ru')}"
    feed = sync(live_server, day.tokens["main-in"])["permits"]
    revoked = dict(zip(feed["id"], feed["revoked"], strict=True))
    assert revoked[permit] is True
    assert revoked[day.permits[0]["id"]] is False
    page.goto(f"/permits?q={permit}")
    assert table(page, "#results")[0][-1] == _("revoked")


def test_a_manager_of_another_park_cannot_see_this_park(
    live_server: LiveServer, day: SimulatedDay, open_page: OpenPage, shot: Shot
) -> None:
    page = open_page(locale="en-US", phone=False)
    log_in(page, live_server, OTHER_MANAGER)
    assert page.url == f"{live_server.url}/dashboard/{OTHER}"  # their own park
    assert page.inner_text("h1") == OTHER_NAME
    assert PARK_NAME not in page.content()
    for path in (f"/dashboard/{PARK}", f"/permits/{day.permits[0]['id']}", f"/permits/{day.permits[0]['id']}/qr.png"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
        assert PARK_NAME not in page.content()
    page.goto(f"/permits?q={day.permits[0]['id']}")
    assert table(page, "#results") == [["No permits found."]]
    shot(page, "search")


# opens an HTML comment with a script start tag in it (after which the HTML parser no longer ends the JSON's
# <script> element at its own end tag, and the page's scripts disappear into it), ends the element, ends a
# line inside a JavaScript string: before issue 17, a gate's category like this left the dashboard chartless
HOSTILE = "<!--<script> </script> \u2028 \u2029 & >"


def test_text_a_gate_sent_shows_as_text_and_the_charts_still_draw(
    live_server: LiveServer, open_page: OpenPage, shot: Shot
) -> None:
    slug, gate, manager = "dash-hostile", "lane-1", "dash-hostile-manager"
    live_server.create_park(slug, "Hostile text")
    created = live_server.api.post(
        f"/api/v1/parks/{slug}/gates", json={"slug": gate, "name": "Lane", "direction": "entry"}
    )
    assert created.status_code == 201, created.text
    token = live_server.api.post(f"/api/v1/parks/{slug}/gates/{gate}/device").json()["device_token"]
    now = int(time.time())
    sent = live_server.api.post(
        "/api/v1/gate/events",
        json={"events": [gate_event(now - 60, "entry", 3)]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert sent.status_code == 200, sent.text
    # names and a category as an older server stored them, before the boundary checked them: into the rows
    with live_server.app.state.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE parks SET name = :name WHERE slug = :slug"), {"name": f"Park {HOSTILE}", "slug": slug}
        )
        conn.execute(sa.text("UPDATE gates SET name = :name WHERE slug = :slug"), {"name": HOSTILE, "slug": gate})
        park_id = conn.execute(sa.text("SELECT id FROM parks WHERE slug = :slug"), {"slug": slug}).scalar_one()
        for rollup in ("event_days", "event_counts"):
            conn.execute(
                sa.text(f"UPDATE {rollup} SET category = :category WHERE park_id = :park"),
                {"category": HOSTILE, "park": park_id},
            )
    live_server.add_user(manager, Role.MANAGER, slug)

    page = open_page(locale="en-US", phone=False)
    log_in(page, live_server, manager)
    assert page.url == f"{live_server.url}/dashboard/{slug}"
    assert page.inner_text("h1") == f"Park {HOSTILE}".strip()
    assert table(page, "#gates")[0][0] == HOSTILE.strip()
    assert page.locator("#by-gate thead th").all_inner_texts()[1:] == [HOSTILE.strip()]
    hourly = chart(page, "hourly")
    assert sum(hourly["datasets"][0]["data"]) == 3
    chart(page, "daily")
    chart(page, "monthly")
    shot(page, "hostile")
