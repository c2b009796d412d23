"""A ranger card approves a waiting login page only when it is the only one waiting."""

from __future__ import annotations

from gate.decision import ListedCard
from gate.web.sessions import Sessions
from protocol import CardRole

RANGER = ListedCard("Aidos", CardRole.RANGER, 0, 2_000_000_000, True)


def test_one_waiting_page_is_signed_in_by_a_ranger_card() -> None:
    sessions = Sessions(pin_hash="", lifetime_s=3600)
    page = sessions.open_pending()
    assert sessions.card_tapped(ListedCard("Staff", CardRole.STAFF, 0, 2_000_000_000, True), 1_800_000_000) is False
    assert sessions.card_tapped(RANGER, 1_800_000_000) is True
    session = sessions.claim_pending(page)
    assert session is not None and sessions.claim_pending(page) is None


def test_with_two_pages_waiting_no_one_gets_the_rangers_tap() -> None:
    sessions = Sessions(pin_hash="", lifetime_s=3600)
    rangers_page, strangers_page = sessions.open_pending(), sessions.open_pending()
    assert sessions.card_tapped(RANGER, 1_800_000_000) is False
    assert sessions.claim_pending(rangers_page) is None and sessions.claim_pending(strangers_page) is None
