"""Names staff pages show for the codes in the numbers: counting categories, gate readers and their states.

Codes come from gates and permits (``category`` of an event is a permit's tariff category, a vehicle class or
a card holder's role); the names are catalogue sentences, translated where shown. A code without a name here
(a category a future tariff adds) is shown as it is rather than hidden.
"""

from __future__ import annotations

from typing import Final

from server.i18n import N_, translations
from server.pricing import VEHICLE_LABELS

CATEGORY_NAMES: Final = {
    "": N_("Not stated"),
    "standard": N_("Standard permit"),
    "pedestrian": N_("No vehicle, on foot"),
    **VEHICLE_LABELS,
    "resident": N_("Residents of the park"),
    "ranger": N_("Rangers"),
    "staff": N_("Park staff"),
    "guide": N_("Guides"),
}
READER_NAMES: Final = {
    "camera": N_("Camera"),
    "qr": N_("QR code reader"),
    "rfid": N_("Card reader"),
    "plates": N_("Plate camera"),
}
READER_STATES: Final = {
    "ok": N_("working"),
    "no_data": N_("no data"),
    "disconnected": N_("disconnected"),
    "error": N_("error"),
}


def _named(names: dict[str, str], code: str, lang: str) -> str:
    return translations(lang).gettext(names[code]) if code in names else code


def category_name(code: str | None, lang: str) -> str:
    """A counting category's name in ``lang`` (the code itself when it has none)."""
    return _named(CATEGORY_NAMES, code or "", lang)


def reader_text(name: str, state: str, lang: str) -> str:
    """A gate reader and its state as a ranger or manager reads them, e.g. ``Card reader: no data``."""
    return f"{_named(READER_NAMES, name, lang)}: {_named(READER_STATES, state, lang)}"
