"""A park's entry time slots: what visitors may book by time, each with its quota of people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictInt, StrictStr

from protocol.fields import Count
from server.api.deps import ChecksFirst, ConnDep, ManagedPark, ReadablePark, answers
from server.api.schemas import Body
from server.bookings import DAY_MINUTES, MAX_EARLY_MINUTES, SlotPlan, hhmm, parse_hhmm, set_slots, slot_plan

router = APIRouter(tags=["slots"], route_class=ChecksFirst, responses=answers(404, 422))

Time = Annotated[StrictStr, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, park-local")]


class SlotBody(Body):
    start: Time
    minutes: Annotated[
        StrictInt, Field(ge=1, le=DAY_MINUTES, description="how long the slot admits, 1 minute to the end of the day")
    ]
    quota: Annotated[Count, Field(description="people who may book it")]


class SlotPlanBody(Body):
    slots: Annotated[list[SlotBody], Field(max_length=96, description="none: visitors book whole days")]
    early_minutes: Annotated[
        StrictInt,
        Field(
            ge=0,
            le=MAX_EARLY_MINUTES,
            description=f"a slot's permit admits this early, 0 to {MAX_EARLY_MINUTES} minutes",
        ),
    ] = 0


class SlotPublic(BaseModel):
    start: str
    end: str
    minutes: int
    quota: int


class SlotPlanPublic(BaseModel):
    park: str
    slots: list[SlotPublic]
    early_minutes: int


def _public(park: str, plan: SlotPlan) -> SlotPlanPublic:
    slots = [SlotPublic(start=hhmm(s), end=hhmm(s + m), minutes=m, quota=q) for s, m, q in plan.slots]
    return SlotPlanPublic(park=park, slots=slots, early_minutes=plan.early_minutes)


@router.get("/parks/{park}/slots")
def read_slots(conn: ConnDep, park: ReadablePark) -> SlotPlanPublic:
    """The park's entry slots by start time, and how early a slot's permit admits."""
    return _public(park.slug, slot_plan(conn, park))


@router.put("/parks/{park}/slots")
def update_slots(conn: ConnDep, park: ManagedPark, body: SlotPlanBody) -> SlotPlanPublic:
    """Replace the park's entry slots (admin or the park's manager); 422 for a bad time, a slot past midnight,
    a negative quota or slots that overlap, changing nothing. Bookings already made keep their slot."""
    slots = [(parse_hhmm(slot.start), slot.minutes, slot.quota) for slot in body.slots]
    return _public(park.slug, set_slots(conn, park, slots, body.early_minutes))
