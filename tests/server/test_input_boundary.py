"""Issue 17's findings, one test each: input is checked once, at the boundary, on SQLite and PostgreSQL.

The hostile walk (``test_hostile_inputs``) sends the same kinds of values everywhere; these pin down each
finding where it was seen, with the answer it must get.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from fastapi import FastAPI

from tests.server.conftest import PARK, World
from tests.server.test_dashboard_pages import log_in

P = "/api/v1"
# tables a refused request could have written to
WATCHED = ("parks", "gates", "zones", "permits", "cards", "vehicle_passes", "bookings", "change_seq")


def _rows(world: World) -> dict[str, int]:
    return {table: world.count(table) for table in WATCHED}


def _tomorrow() -> str:
    return (dt.date.today() + dt.timedelta(days=1)).isoformat()


def test_digits_that_str_isdigit_takes_are_refused_with_422(world: World) -> None:
    client, before = world.client, _rows(world)
    for digit in ("²", "③", "٣"):
        form = {"day": _tomorrow(), "adults": digit}
        assert client.post(f"/book/{PARK}", data=form, follow_redirects=False).status_code == 422, digit
        assert client.get(f"/book/{PARK}", params={"adults": digit}).status_code == 422, digit
        params = {"from": digit, "to": "10"}
        assert client.get(f"{P}/parks/{PARK}/stats", params=params, headers=world.admin).status_code == 422
    csrf = log_in(client, "manager")
    limits = {"capacity": "²", "daily_quota": "0", "csrf": csrf}
    assert client.post(f"/dashboard/{PARK}/limits", data=limits, follow_redirects=False).status_code == 422
    client.cookies.clear()
    assert _rows(world) == before


@pytest.mark.parametrize("day", ["9999-12-31", "9999-01-01", "0001-01-01", "1969-12-31", "10000-01-01"])
def test_days_outside_the_years_kept_are_refused_with_422(world: World, day: str) -> None:
    client, before = world.client, _rows(world)
    assert client.get(f"{P}/public/parks/{PARK}/availability", params={"day": day}).status_code == 422
    assert client.get(f"/book/{PARK}", params={"day": day}).status_code == 422
    booking = {"park": PARK, "day": day, "party": {"adults": 1}}
    assert client.post(f"{P}/public/bookings", json=booking).status_code == 422
    assert client.post(f"/book/{PARK}", data={"day": day, "adults": "1"}, follow_redirects=False).status_code == 422
    csrf = log_in(client, "ranger")
    assert client.get("/permits", params={"day": day}).status_code == 422
    issue = {"park": PARK, "day": day, "adults": "1", "csrf": csrf}
    assert client.post("/permits", data=issue, follow_redirects=False).status_code == 422
    client.cookies.clear()
    assert _rows(world) == before


@pytest.mark.parametrize("until", [2**40, 2**40 - 1, 253_370_764_800, -1])
def test_moments_past_the_year_9998_are_refused_with_422(world: World, until: int) -> None:
    body = {"park": PARK, "valid_from": 1_700_000_000, "valid_until": until, "party": [1, 0, 0]}
    assert world.client.post(f"{P}/permits", json=body, headers=world.admin).status_code == 422
    card = {"uid": "0A0B0C", "holder": "R", "role": "ranger", "parks": [PARK], "valid_until": until}
    assert world.client.post(f"{P}/cards", json=card, headers=world.admin).status_code == 422
    assert world.count("permits") == world.count("cards") == 0


def test_positions_and_moments_of_64_bits_are_refused_with_422(world: World) -> None:
    for start, end in ((2**63 - 3600, 2**63), (2**63, 2**63 + 3600), (0, 2**64)):
        params = {"from": start, "to": end}
        for path in ("stats", "export.csv", "export.csv-metadata.json"):
            response = world.client.get(f"{P}/parks/{PARK}/{path}", params=params, headers=world.admin)
            assert response.status_code == 422, (path, start, response.text)


@pytest.mark.parametrize("timezone", ["A" * 10_000, "Asia", "Asia/" + "x" * 300, "../../etc/passwd", "Asia/Almaty\n"])
def test_a_time_zone_that_is_no_iana_name_is_refused_with_422(world: World, timezone: str) -> None:
    body = {"slug": "charyn", "name": "Charyn", "timezone": timezone}
    response = world.client.post(f"{P}/parks", json=body, headers=world.admin)
    assert response.status_code == 422, response.text
    assert world.count("parks") == 1


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_nan_infinity_and_1e400_in_json_are_refused_with_422_and_named(world: World, number: str) -> None:
    client, before = world.client, _rows(world)
    bodies = {
        f"{P}/permits": f'{{"park": "{PARK}", "valid_from": {number}, "valid_until": 1, "party": [1, 0, 0]}}',
        f"{P}/parks": f'{{"slug": "x", "name": "X", "capacity": {number}}}',
        f"{P}/public/quote": f'{{"park": "{PARK}", "day": "{_tomorrow()}", "party": {{"adults": {number}}}}}',
        f"{P}/public/bookings": number,
    }
    for url, text in bodies.items():
        headers = {**world.admin, "Content-Type": "application/json"}
        response = client.post(url, content=text, headers=headers)
        assert response.status_code == 422, (url, response.text)
        answer = response.json()  # the answer is JSON: the value sent is not repeated in it
        assert isinstance(answer["detail"], str) and answer["errors"], answer
        assert number not in response.text.replace("Infinity", "").replace("1e400", "") or number == "NaN"
    assert _rows(world) == before


def test_a_ranger_or_a_stranger_is_refused_before_the_body_is_read(world: World) -> None:
    client = world.client
    junk = ("NaN", "{", '{"slug": "\\u0000", "name": 1e400}', "[" * 10_000)
    for text in junk:
        for url, method in ((f"{P}/parks", "POST"), (f"{P}/parks/{PARK}/limits", "PUT"), (f"{P}/cards", "POST")):
            for who, status in ((world.ranger, 403), ({}, 401), (world.entry_device, 403)):
                headers = {**who, "Content-Type": "application/json"}
                response = client.request(method, url, content=text, headers=headers)
                assert response.status_code == status, (url, text[:10], response.text[:200])
    csrf = log_in(client, "ranger")
    limits = {"capacity": "1e400", "daily_quota": "²", "csrf": csrf}
    assert client.post(f"/dashboard/{PARK}/limits", data=limits, follow_redirects=False).status_code == 403
    assert client.post(f"/dashboard/{PARK}/limits", data={"capacity": "x"}, follow_redirects=False).status_code == 403
    client.cookies.clear()


@pytest.mark.parametrize("text", ["\x00", "Altyn\x00Emel", "\u202eleme-nytla", "a\u2066b\u2069", "x\x1b[2J", "\u2028"])
def test_names_with_control_or_bidi_characters_are_refused_on_both_databases(world: World, text: str) -> None:
    client, admin, before = world.client, world.admin, _rows(world)
    attempts = [
        (f"{P}/parks", {"slug": "charyn", "name": text}),
        (f"{P}/parks/{PARK}/gates", {"slug": "west", "name": text, "direction": "entry"}),
        (f"{P}/parks/{PARK}/zones", {"slug": "lake", "name": text}),
        (f"{P}/cards", {"uid": "0A0B0C", "holder": text, "role": "ranger", "parks": [PARK]}),
        (f"{P}/vehicle-passes", {"plate": "777AAB02", "holder": text, "vehicle_class": "car", "parks": [PARK]}),
    ]
    for url, body in attempts:
        response = client.post(url, json=body, headers=admin)
        assert response.status_code == 422, (url, response.text)
        assert "is not allowed in text" in response.text
    assert _rows(world) == before


def _strings(schema: Any, components: dict[str, Any], where: str, seen: set[str]) -> list[tuple[str, Any]]:
    """Every string schema inside ``schema`` (following references), with where it is."""
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return _strings(components[name], components, f"{where}>{name}", seen | {name})
    found = [(where, schema)] if schema.get("type") == "string" else []
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, part in enumerate(schema.get(key, [])):
            found += _strings(part, components, f"{where}.{key}[{i}]", seen)
    for key, part in schema.get("properties", {}).items():
        found += _strings(part, components, f"{where}.{key}", seen)
    for key in ("items", "additionalProperties"):
        found += _strings(schema.get(key), components, f"{where}.{key}", seen)
    return found


def _bounded(schema: dict[str, Any]) -> bool:
    pattern = schema.get("pattern", "")
    # a pattern bounds the length when nothing in it repeats without end
    bounded_pattern = bool(pattern) and not re.search(r"(?<!\\)[*+]|\{\d+,\}", pattern)
    dated = schema.get("format") in ("date", "date-time")
    return "maxLength" in schema or "enum" in schema or "const" in schema or bounded_pattern or dated


def test_every_text_a_request_can_set_has_a_length_limit(app: FastAPI) -> None:
    document = app.openapi()
    components = document["components"]["schemas"]
    unbounded = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            places = [(f"{where} {p['in']} {p['name']}", p.get("schema")) for p in operation.get("parameters", [])]
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                places.append((f"{where} {media}", content.get("schema")))
            for place, schema in places:
                unbounded += [name for name, found in _strings(schema, components, place, set()) if not _bounded(found)]
    assert not unbounded, "\n".join(unbounded)


def test_the_document_describes_the_errors_the_api_answers(app: FastAPI) -> None:
    document = app.openapi()
    error = {"$ref": "#/components/schemas/ErrorPublic"}
    assert "HTTPValidationError" not in json.dumps(document)
    expected = {
        ("post", "/api/v1/parks"): {"401", "403", "409", "413", "422"},
        ("get", "/api/v1/parks/{park}"): {"401", "403", "404", "422"},
        ("post", "/api/v1/public/bookings"): {"404", "409", "413", "422", "429"},
        ("post", "/api/v1/auth/token"): {"400", "401", "422", "429"},
        ("post", "/api/v1/gate/events"): {"401", "403", "413", "422"},
    }
    for (method, path), codes in expected.items():
        responses = document["paths"][path][method]["responses"]
        assert codes <= set(responses), (method, path, sorted(responses))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    assert response["content"]["application/json"]["schema"] == error, (method, path, code)
    shape = components = document["components"]["schemas"]["ErrorPublic"]
    assert shape["required"] == ["detail"] and {"code", "params", "errors"} <= set(components["properties"])


def test_the_api_answers_in_english_unless_asked_and_pages_in_kazakh(world: World) -> None:
    client = world.client
    invalid = client.post(f"{P}/public/bookings", json={"park": PARK, "day": "x", "party": {}})
    unknown = client.get(f"{P}/public/parks/nowhere/availability", params={"day": _tomorrow()})
    not_found = client.get(f"{P}/parks/nowhere", headers=world.admin)
    for response in (invalid, unknown, not_found):
        assert response.headers["content-language"] == "en", response.text
    assert invalid.json()["detail"] == "The form is not filled in correctly: day"
    assert unknown.json()["detail"] == "There is no park “nowhere”."
    assert invalid.json()["code"] == "bad_request" and invalid.json()["errors"][0]["loc"] == ["body", "day"]
    asked = client.post(f"{P}/public/bookings", json={"park": PARK, "day": "x"}, headers={"Accept-Language": "kk"})
    assert asked.headers["content-language"] == "kk" and not asked.json()["detail"].isascii()
    page = client.get("/book/nowhere")
    assert page.status_code == 404 and page.headers["content-language"] == "kk"
