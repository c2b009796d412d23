"""Plates as the server takes them: booking input checked against the plate grammars of ``protocol.plates``.

A typed plate must fit a grammar as typed (after normalisation: case, separators, Cyrillic look-alikes);
the OCR-style confusable fixes are for camera reads, not for people, who are asked to correct their input
instead. ``plate_country = "XX"`` takes any plate of 2 to 8 letters and digits (generic mode), for cars
from countries without a grammar.
"""

from __future__ import annotations

from typing import Final

from protocol.plates import COUNTRIES, match_plate, normalize_plate
from server.errors import InvalidInput

GENERIC_COUNTRY: Final = "XX"
PLATE_COUNTRIES: Final = (*COUNTRIES, GENERIC_COUNTRY)
PEDESTRIAN: Final = "pedestrian"
# the vehicle classes a permit's category may name (fees differ by class) and a vehicle pass must have
VEHICLE_CLASSES: Final = ("motorcycle", "car", "minibus", "bus")
DEFAULT_VEHICLE_CLASS: Final = "car"


def lookup_plate(plate: str) -> str:
    """A plate as stored, for looking one up (normalised, no grammar check); InvalidInput if nothing is left."""
    text = normalize_plate(plate)
    if not text:
        raise InvalidInput("plate has no letters or digits")
    return text


def check_plate(plate: str, country: str | None = None) -> str:
    """The normalised plate when it fits a grammar as typed (of ``country`` if given); else InvalidInput."""
    text = lookup_plate(plate)
    if country is not None and country not in PLATE_COUNTRIES:
        raise InvalidInput(f"plate_country must be one of {', '.join(PLATE_COUNTRIES)}, not {country!r}")
    if country == GENERIC_COUNTRY:
        match = match_plate(text, (), generic=True)
    else:
        match = match_plate(text, COUNTRIES if country is None else (country,))
    if match is None:
        where = "any known country" if country is None else country
        raise InvalidInput(
            f"plate {plate!r} fits no plate format of {where}; "
            f'for a plate of another country send "plate_country": "{GENERIC_COUNTRY}"'
        )
    if match.fixes:
        raise InvalidInput(f"plate {plate!r} does not fit a plate format as typed; did you mean {match.text}?")
    return match.text
