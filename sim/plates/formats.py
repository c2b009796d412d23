"""Plate formats the simulator draws: their countries, grammars and how a random valid plate is made.

Texts here are *normalised*: upper-case Latin letters and digits, no spaces, in the one-line order of
the format (a two-row plate's text is its one-line form, as ``protocol.plates`` reads it back). Format
ids and grammars are those of ``protocol.plates``: each format's pattern is taken from there, so a
renderer plate always fits the grammar the gate and the server use.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from protocol.plates import GRAMMARS
from sim.errors import RenderError

_LATIN = string.ascii_uppercase
# Russian plates use only the 12 Cyrillic letters that look like Latin ones
_RU_LETTERS = "ABEKMHOPCTYX"
# 1993 Kazakh area letters (Z Astana, A Almaty, …)
_KZ1993_AREAS = "ZACOWDBVELHKMPNRXSTFU"
_RU_LONG_REGIONS = (
    102,
    113,
    116,
    121,
    123,
    124,
    125,
    134,
    136,
    138,
    142,
    150,
    152,
    154,
    159,
    161,
    163,
    164,
    173,
    174,
    177,
    178,
    186,
    190,
    193,
    196,
    197,
    199,
    277,
    299,
    716,
    750,
    761,
    763,
    774,
    777,
    790,
    797,
    799,
)
_UZ_REGIONS = (1, 10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95)
_PATTERNS: dict[str, str] = {grammar.format: grammar.pattern.pattern for grammar in GRAMMARS}


@dataclass(frozen=True)
class PlateFormat:
    """One plate design: its country, grammar, physical size and colours."""

    id: str  # as in protocol.plates
    country: str  # ISO 3166-1 alpha-2
    background: tuple[int, int, int]  # BGR
    ink: tuple[int, int, int]  # BGR
    make: Callable[[np.random.Generator], str]
    description: str
    rows: int = 1  # how the format is usually made; any format can also be drawn in two rows

    @property
    def pattern(self) -> str:
        """The grammar's regular expression over the normalised text (from ``protocol.plates``)."""
        return _PATTERNS[self.id]

    def matches(self, text: str) -> bool:
        return re.fullmatch(self.pattern, text) is not None


def _letters(rng: np.random.Generator, n: int, alphabet: str = _LATIN) -> str:
    return "".join(alphabet[int(i)] for i in rng.integers(0, len(alphabet), size=n))


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, size=n))


def _kz_region(rng: np.random.Generator) -> str:
    return f"{int(rng.integers(1, 21)):02d}"


def _kz_2012(rng: np.random.Generator) -> str:
    return _digits(rng, 3) + _letters(rng, 3) + _kz_region(rng)


def _kz_2012_org(rng: np.random.Generator) -> str:
    return _digits(rng, 3) + _letters(rng, 2) + _kz_region(rng)


def _kz_1993(rng: np.random.Generator) -> str:
    return _letters(rng, 1, _KZ1993_AREAS) + _digits(rng, 3) + _letters(rng, 3 if rng.random() < 0.7 else 2)


def _kz_yellow(rng: np.random.Generator) -> str:
    return ("F" if rng.random() < 0.6 else "H") + _digits(rng, 4) + _kz_region(rng)


def _ru(rng: np.random.Generator) -> str:
    if rng.random() < 0.3:
        region = str(_RU_LONG_REGIONS[int(rng.integers(0, len(_RU_LONG_REGIONS)))])
    else:
        region = f"{int(rng.integers(1, 100)):02d}"
    return _letters(rng, 1, _RU_LETTERS) + _digits(rng, 3) + _letters(rng, 2, _RU_LETTERS) + region


def _kz_diplomatic(rng: np.random.Generator) -> str:
    return f"{int(rng.integers(1, 200)):03d}" + ("D" if rng.random() < 0.7 else "T") + _digits(rng, 3)


def _kg_region(rng: np.random.Generator) -> str:
    return f"{int(rng.integers(1, 10)):02d}"


def _kg(rng: np.random.Generator) -> str:
    return _kg_region(rng) + _digits(rng, 3) + _letters(rng, 3)


def _kg_org(rng: np.random.Generator) -> str:
    return _kg_region(rng) + _digits(rng, 3) + _letters(rng, 2)


def _kg_foreign(rng: np.random.Generator) -> str:
    return _kg_region(rng) + _digits(rng, 4) + _letters(rng, 1)


def _uz_region(rng: np.random.Generator) -> str:
    return f"{_UZ_REGIONS[int(rng.integers(0, len(_UZ_REGIONS)))] + int(rng.integers(0, 5)):02d}"


def _uz(rng: np.random.Generator) -> str:
    return _uz_region(rng) + _letters(rng, 1) + _digits(rng, 3) + _letters(rng, 2)


def _uz_org(rng: np.random.Generator) -> str:
    return _uz_region(rng) + _digits(rng, 3) + _letters(rng, 3)


def _uz_moto(rng: np.random.Generator) -> str:
    return _uz_region(rng) + _digits(rng, 3) + _letters(rng, 2)


_WHITE = (250, 250, 250)
_BLACK = (25, 25, 25)
_YELLOW = (20, 200, 245)
_RED = (40, 30, 190)

FORMATS: dict[str, PlateFormat] = {
    f.id: f
    for f in (
        PlateFormat("kz_2012", "KZ", _WHITE, _BLACK, _kz_2012, "Kazakhstan since 2012: flag/KZ band, 123 ABC, region"),
        PlateFormat("kz_org", "KZ", _WHITE, _BLACK, _kz_2012_org, "Kazakhstan since 2012, organisations: 123 AB"),
        PlateFormat("kz_1993", "KZ", _WHITE, _BLACK, _kz_1993, "Kazakhstan 1993: area letter, 123, 2–3 letters"),
        PlateFormat("kz_foreign", "KZ", _YELLOW, _BLACK, _kz_yellow, "Kazakhstan, yellow: F/H 1234, region"),
        PlateFormat("kz_diplomatic", "KZ", _RED, _WHITE, _kz_diplomatic, "Kazakhstan, diplomats: 001 D 123"),
        PlateFormat("ru", "RU", _WHITE, _BLACK, _ru, "Russia: A 123 BC, region box with RUS and flag"),
        PlateFormat("kg", "KG", _WHITE, _BLACK, _kg, "Kyrgyzstan since 2016: region over flag/KG, 123 ABC"),
        PlateFormat("kg_org", "KG", _WHITE, _BLACK, _kg_org, "Kyrgyzstan since 2016, legal entities: 123 AB"),
        PlateFormat("kg_foreign", "KG", _YELLOW, _BLACK, _kg_foreign, "Kyrgyzstan, yellow: region, 1234 A"),
        PlateFormat("uz", "UZ", _WHITE, _BLACK, _uz, "Uzbekistan: region box, A 123 BC, flag/UZ on the right"),
        PlateFormat("uz_org", "UZ", _WHITE, _BLACK, _uz_org, "Uzbekistan, legal entities: region box, 123 ABC"),
        PlateFormat("uz_moto", "UZ", _WHITE, _BLACK, _uz_moto, "Uzbekistan, motorcycles: two rows", rows=2),
    )
}

COUNTRIES: tuple[str, ...] = ("KZ", "RU", "KG", "UZ")


def formats_of(country: str) -> tuple[PlateFormat, ...]:
    """The formats of ``country`` (ISO alpha-2), in a fixed order."""
    found = tuple(f for f in FORMATS.values() if f.country == country)
    if not found:
        raise RenderError(f"no plate formats for country {country!r}; choose one of {list(COUNTRIES)}")
    return found


def plate_format(country: str, fmt: str) -> PlateFormat:
    """The format ``fmt`` of ``country``; a clear error when either is unknown or they do not belong together."""
    try:
        found = FORMATS[fmt]
    except KeyError:
        raise RenderError(f"unknown plate format {fmt!r}; choose one of {sorted(FORMATS)}") from None
    if found.country != country:
        raise RenderError(f"plate format {fmt!r} belongs to {found.country}, not {country!r}")
    return found


# how often each format of a country is drawn when the caller does not name one
_COUNTRY_WEIGHTS: dict[str, dict[str, float]] = {
    "KZ": {"kz_2012": 0.6, "kz_org": 0.16, "kz_1993": 0.14, "kz_foreign": 0.08, "kz_diplomatic": 0.02},
    "RU": {"ru": 1.0},
    "KG": {"kg": 0.75, "kg_org": 0.2, "kg_foreign": 0.05},
    "UZ": {"uz": 0.75, "uz_org": 0.2, "uz_moto": 0.05},
}


def random_plate(rng: np.random.Generator, country: str = "KZ", fmt: str | None = None) -> tuple[str, str]:
    """A random valid normalised plate text of ``country`` and the id of its format.

    With ``fmt`` None the format is drawn with the country's real-world mix (current plates most often).
    """
    if fmt is None:
        formats_of(country)
        weights = _COUNTRY_WEIGHTS[country]
        ids = list(weights)
        p = np.array([weights[i] for i in ids])
        fmt = ids[int(rng.choice(len(ids), p=p / p.sum()))]
    chosen = plate_format(country, fmt)
    return chosen.make(rng), chosen.id
