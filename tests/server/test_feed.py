"""The change feed never skips a change that another process commits while a page is being read."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from protocol import CardRole
from server.cards import create_card
from server.parks import get_park
from server.permits import issue_permit
from tests.server.conftest import PARK, World, sync


def test_a_permit_committed_between_the_feeds_queries_is_not_skipped(world: World) -> None:
    app: Any = world.client.app
    engine: sa.engine.Engine = app.state.engine
    issued: list[str] = []

    def commit_a_permit_meanwhile(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # the feed reads permits first, then cards: a permit and then a card committed right before the
        # cards query — the card's newer change number must not carry the cursor past the permit
        if issued or "card_parks" not in statement or "change_seq >" not in statement:
            return
        with engine.begin() as other:
            park = get_park(other, PARK)
            issued.append(issue_permit(other, app.state.signing_key, park, 1, 2, (1, 0, 0)).id)
        with engine.begin() as other:
            create_card(other, "0A0B0C0D", "Ranger", CardRole.RANGER, [get_park(other, PARK)])

    sa.event.listen(engine, "before_cursor_execute", commit_a_permit_meanwhile)
    try:
        first = sync(world)
    finally:
        sa.event.remove(engine, "before_cursor_execute", commit_a_permit_meanwhile)
    assert issued, "the feed's card query did not run"
    seen = set(first.permits.id)
    cursor = first.cursor
    while issued[0] not in seen:
        page = sync(world, cursor)
        assert page.cursor != cursor or page.permits.id, "the permit committed meanwhile was skipped"
        seen |= set(page.permits.id)
        if page.cursor == cursor:
            break
        cursor = page.cursor
    assert issued[0] in seen


def test_a_vehicle_permit_travels_with_its_party_and_entries(world: World) -> None:
    walker = world.issue(party=[1, 0, 0])
    car = world.issue(plate="777 ABE 01", party=[2, 1, 1], entries_per_day=2)
    page = sync(world)
    columns = page.permits
    assert columns.id == [walker["id"], car["id"]]
    assert columns.plate == [None, "777ABE01"]
    assert columns.people == [1, 4]
    assert columns.entries_per_day == [0, 2]
    # a page of pedestrian permits alone stays as small as before: no plate, people or entries columns
    world.issue()
    later = sync(world, page.cursor)
    assert (later.permits.plate, later.permits.people, later.permits.entries_per_day) == (None, None, None)
