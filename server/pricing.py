"""Visit fees: set in MRP (the monthly calculation index), paid in tenge.

Fees per day (the park-visit fee of the Tax Code): a visitor on foot 0.1 MRP, a motorcycle 0.2, a car 0.3,
a minibus 1, a bus 2–3 (``bus_mrp``, 2.5 by default). The MRP is fixed by the budget law each year
(2026: 4,325 tenge) and is a setting (``QAQPA_MRP_TENGE``).

Who pays: adults, and children of school age (7–17) — the exemptions name preschool children only, so a
schoolchild pays the visitor's fee like an adult. Pensioners, people with disabilities, veterans, preschool
children and residents of the park's territory enter free; they still count against quotas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from server.i18n import N_

TIYN: Final = Decimal("0.01")


def _vehicle_fees() -> dict[str, Decimal]:
    return {"motorcycle": Decimal("0.2"), "car": Decimal("0.3"), "minibus": Decimal(1), "bus": Decimal("2.5")}


@dataclass(frozen=True)
class Tariff:
    """The fee schedule; ``vehicle_mrp`` keys are the vehicle classes of ``server.plates.VEHICLE_CLASSES``."""

    mrp_tenge: Decimal = Decimal(4325)
    pedestrian_mrp: Decimal = Decimal("0.1")
    vehicle_mrp: dict[str, Decimal] = field(default_factory=_vehicle_fees)

    def with_bus_mrp(self, bus_mrp: Decimal) -> Tariff:
        return Tariff(self.mrp_tenge, self.pedestrian_mrp, {**self.vehicle_mrp, "bus": bus_mrp})

    def tenge(self, mrp: Decimal) -> Decimal:
        return (mrp * self.mrp_tenge).quantize(TIYN, rounding=ROUND_HALF_UP)


# The party by category, in the order the form asks; the first two pay, the rest enter free.
PAYING: Final = ("adults", "children")
EXEMPT: Final = ("pensioners", "disabled", "veterans", "preschool", "residents")
CATEGORY_LABELS: Final = {
    "adults": N_("Adults"),
    "children": N_("Children 7–17"),
    "pensioners": N_("Pensioners"),
    "disabled": N_("People with disabilities"),
    "veterans": N_("Veterans"),
    "preschool": N_("Preschool children (under 7)"),
    "residents": N_("Residents of the park"),
}
VEHICLE_LABELS: Final = {
    "motorcycle": N_("Motorcycle"),
    "car": N_("Car"),
    "minibus": N_("Minibus"),
    "bus": N_("Bus"),
}


@dataclass(frozen=True)
class Party:
    """Who comes, by category; the permit token carries it as ``[adults, children, exempt]``."""

    adults: int = 0
    children: int = 0
    pensioners: int = 0
    disabled: int = 0
    veterans: int = 0
    preschool: int = 0
    residents: int = 0

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in (*PAYING, *EXEMPT)}

    @property
    def exempt(self) -> int:
        return sum(getattr(self, name) for name in EXEMPT)

    @property
    def people(self) -> int:
        return self.adults + self.children + self.exempt

    def token_party(self) -> tuple[int, int, int]:
        return (self.adults, self.children, self.exempt)


@dataclass(frozen=True)
class QuoteLine:
    item: str  # a party category ("adults", …) or "vehicle"
    label: str  # catalogue msgid, e.g. "Adults"
    count: int
    unit_mrp: Decimal
    unit_tenge: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    total: Decimal
    mrp_tenge: Decimal

    @property
    def total_tiyn(self) -> int:
        return int(self.total * 100)


def quote(tariff: Tariff, party: Party, vehicle_class: str | None = None, days: int = 1) -> Quote:
    """The price of a visit of ``days`` days: each category of the party, then the vehicle."""
    lines = []
    for name, count in party.counts().items():
        if count == 0:
            continue
        unit_mrp = tariff.pedestrian_mrp * days if name in PAYING else Decimal(0)
        unit = tariff.tenge(unit_mrp)
        lines.append(QuoteLine(name, CATEGORY_LABELS[name], count, unit_mrp, unit, unit * count))
    if vehicle_class is not None:
        unit_mrp = tariff.vehicle_mrp[vehicle_class] * days
        unit = tariff.tenge(unit_mrp)
        lines.append(QuoteLine("vehicle", VEHICLE_LABELS[vehicle_class], 1, unit_mrp, unit, unit))
    total = sum((line.amount for line in lines), Decimal(0))
    return Quote(tuple(lines), total, tariff.mrp_tenge)
