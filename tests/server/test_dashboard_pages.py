"""Staff pages: login with sessions and CSRF, the dashboard of a day's events, limits, permit search and revoke."""

from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

from server.i18n import format_month
from server.park_time import day_start
from server.parks import DEFAULT_TIMEZONE
from tests.server.conftest import PARK, PASSWORD, TestClient, World, event


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def log_in(client: TestClient, name: str) -> str:
    """Log ``client`` in through the form; returns the session's CSRF token from the dashboard page."""
    form = client.get("/login")
    assert form.status_code == 200
    response = client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf": _csrf(form.text), "next": "/permits"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/permits"
    page = client.get("/permits")
    assert page.status_code == 200
    return _csrf(page.text)


def test_login_needs_the_password_and_the_form_token(world: World) -> None:
    client = world.client
    assert client.get(f"/dashboard/{PARK}").status_code == 401  # the login page, not a redirect
    form = client.get("/login")
    bad = client.post("/login", data={"username": "manager", "password": "nope", "csrf": _csrf(form.text)})
    assert bad.status_code == 401
    forged = client.post("/login", data={"username": "manager", "password": PASSWORD, "csrf": "forged"})
    assert forged.status_code == 403
    assert world.count("web_sessions") == 0
    away = client.post(
        "/login",
        data={
            "username": "manager",
            "password": PASSWORD,
            "csrf": _csrf(client.get("/login").text),
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert away.headers["location"] == "/dashboard"
    assert world.count("web_sessions") == 1


def test_manager_sees_the_day_and_sets_limits(world: World) -> None:
    now = int(time.time())
    today = day_start(now, DEFAULT_TIMEZONE)
    batch = [event(i, occurred_at=(today + 60 + i) * 1000, people=2, category="adult") for i in range(7)]
    # 364 days back, the same weekday a year before: 10 people, so this month's change is +40 %
    year_before = today - 364 * 86400 + 600
    batch.append(event(99, occurred_at=year_before * 1000, people=10, category="adult"))
    assert world.client.post("/api/v1/gate/events", json={"events": batch}, headers=world.entry_device).is_success
    csrf = log_in(world.client, "manager")
    page = world.client.get("/dashboard", follow_redirects=True)
    assert page.status_code == 200
    assert 'data-testid="entries-today">14<' in page.text
    month = dt.datetime.fromtimestamp(now, ZoneInfo(DEFAULT_TIMEZONE)).date()
    this_month = re.search(rf'<tr data-month="{month:%Y-%m}">(.*?)</tr>', page.text)
    assert this_month is not None
    cells = re.findall(r"<td>(.*?)</td>", this_month.group(1))
    if dt.datetime.fromtimestamp(year_before, ZoneInfo(DEFAULT_TIMEZONE)).month == month.month:
        assert cells == [format_month(month, "kk"), "14", "10", "+40,0%"]
    else:  # the day a year before fell in the month before: no change to show for this one
        assert cells == [format_month(month, "kk"), "14", "0", "—"]
    assert "/static/vendor/chart.umd.js" in page.text
    assert world.client.get("/static/vendor/chart.umd.js").status_code == 200
    refused = world.client.post(f"/dashboard/{PARK}/limits", data={"capacity": 10, "daily_quota": 20})
    assert refused.status_code == 403
    saved = world.client.post(
        f"/dashboard/{PARK}/limits", data={"capacity": 10, "daily_quota": 20, "csrf": csrf}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert world.client.get(f"/api/v1/parks/{PARK}", headers=world.admin).json()["capacity"] == 10
    again = world.client.get(f"/dashboard/{PARK}")
    assert 'class="tile level-red" id="inside"' in again.text


def test_ranger_searches_issues_and_revokes_a_permit(world: World) -> None:
    permit = world.issue(plate="123ABC02")
    csrf = log_in(world.client, "ranger")
    found = world.client.get("/permits", params={"q": permit["id"][:6]})
    assert permit["id"] in found.text
    assert permit["id"] in world.client.get("/permits", params={"q": "123 abc 02"}).text
    assert permit["id"] in world.client.get("/permits", params={"day": "2026-01-01"}).text
    assert world.client.get(f"/dashboard/{PARK}/limits").status_code == 405
    assert world.client.post(f"/permits/{permit['id']}/revoke").status_code == 403
    assert world.client.get(f"/api/v1/permits/{permit['id']}", headers=world.admin).json()["revoked"] is False
    revoked = world.client.post(f"/permits/{permit['id']}/revoke", data={"csrf": csrf})
    assert revoked.status_code == 200
    assert 'id="status">' in revoked.text
    assert world.client.get(f"/api/v1/permits/{permit['id']}", headers=world.admin).json()["revoked"] is True
    feed = world.client.get("/api/v1/gate/sync", headers=world.entry_device).json()
    assert feed["permits"]["revoked"][feed["permits"]["id"].index(permit["id"])] is True
    issued = world.client.post(
        "/permits", data={"park": PARK, "day": "2026-12-01", "adults": 2, "csrf": csrf}, follow_redirects=False
    )
    assert issued.status_code == 303
    assert world.client.get(issued.headers["location"] + "/qr.png").headers["content-type"] == "image/png"
    assert world.count("permits") == 2
