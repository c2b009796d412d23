"""Licence-plate grammar: how gate (OCR output) and server (booking input) agree on what a plate is.

A plate is compared as one normalised text: uppercase Latin letters and digits, no separators, rows in the
one-line order of the plate's format (``123ABC02``). The flag band (``KZ``, ``KG``, ``UZ``, ``RUS``), the
region divider and row breaks are never characters of the plate.

OCR confuses letters and digits that look alike (0/O, 1/I, 8/B, 5/S, 2/Z, 6/G). A grammar knows which
positions hold letters and which hold digits, so a read that fits a grammar once such characters are read
the other way is corrected; ``PlateMatch.fixes`` counts the corrections so a caller can demand more agreement
from a read that needed them. A read that fits no grammar is not a plate (``None``).

Formats (every one-line text below is the normalised form; ``R`` is the region code):

=====  ===============  ==================  ===========================================================
KZ     ``kz_2012``      ``123ABC02``        individuals since Aug 2012: 3 digits, 3 letters, region 01–20
KZ     ``kz_org``       ``123AB02``         organisations since 2012: 3 digits, 2 letters, region 01–20
KZ     ``kz_1993``      ``A123BCD``         1993–2012: region letter, 3 digits, 2 (legal) or 3 letters
KZ     ``kz_foreign``   ``F123402``         yellow: F (foreigner) or H (foreign company), 4 digits, region
KZ     ``kz_diplomatic``  ``001D123``       red: 3-digit mission, D (diplomat) or T (staff), 3 digits
RU     ``ru``           ``A123BC77``        letter, 3 digits, 2 letters, region of 2 or 3 digits
KG     ``kg``           ``01123ABC``        since 2016: region 01–09, 3 digits, 3 letters
KG     ``kg_org``       ``01123AB``         since 2016, legal entities: region, 3 digits, 2 letters
KG     ``kg_foreign``   ``011234A``         yellow: region, 4 digits, 1 letter
UZ     ``uz``           ``01A123BC``        since 2008, individuals: region, letter, 3 digits, 2 letters
UZ     ``uz_org``       ``01123ABC``        since 2008, legal entities: region, 3 digits, 3 letters
UZ     ``uz_moto``      ``01123AB``         motorcycles: region, 3 digits, 2 letters
XX     ``generic``      ``7ABC123``         any other country: 2–8 letters/digits with at least one digit
=====  ===============  ==================  ===========================================================

Some formats share one shape (``kg`` and ``uz_org``; ``kg_org`` and ``uz_moto``): the text is the same, the
country is the first of ``countries`` whose grammar fits. Matching a gate's reads against permits compares
texts, so the country label only informs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

COUNTRIES = ("KZ", "RU", "KG", "UZ")
GENERIC_COUNTRY = "XX"
GENERIC_FORMAT = "generic"

# What each position of a shape accepts. Shapes are strings of these codes, ``|`` marking where the plate
# shows a region divider (OCR reads that bar as I, 1 or L now and then).
_DIGITS = frozenset("0123456789")
_LATIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Russian plates use only the 12 Cyrillic letters that have Latin look-alikes (GOST R 50577); we store the
# Latin twins.
_RU_LETTERS = frozenset("ABEKMHOPCTYX")
# 1993 Kazakh region letters (Z Astana, A Almaty, C/O/W Akmola, D Aktobe, B/V Almaty region, E Atyrau,
# L West KZ, H Zhambyl, K/M Karaganda, P/W Kostanay, N Kyzylorda, R Mangystau, X South KZ, S Pavlodar,
# O/T North KZ, F/U East KZ): G, I, J, Q and Y never lead a 1993 plate, which keeps 1/I and 6/G reads honest.
_KZ_1993_REGIONS = frozenset("ABCDEFHKLMNOPRSTUVWXZ")
_SLOTS: dict[str, frozenset[str]] = {
    "9": _DIGITS,
    "A": _LATIN,
    "R": _RU_LETTERS,
    "Z": _KZ_1993_REGIONS,
    "F": frozenset("FH"),  # Kazakh yellow plates: F foreigner, H foreign company or joint venture
    "D": frozenset("DT"),  # diplomatic plates: D diplomat, T technical/administrative staff
}

# Pairs OCR mixes up on plate fonts; a letter slot reads the letter, a digit slot the digit.
_CONFUSABLE_PAIRS = (("0", "O"), ("1", "I"), ("8", "B"), ("5", "S"), ("2", "Z"), ("6", "G"))
CONFUSABLES: dict[str, str] = {a: b for pair in _CONFUSABLE_PAIRS for a, b in (pair, pair[::-1])}

# Ways OCR renders the thin region divider when it does not drop it.
_DIVIDER_READS = frozenset("I1L")

# Flag-band texts (and their confusable reads) that sit beside the plate's characters.
_BANDS = ("RUS", "RU5", "KZ", "K2", "KG", "K6", "UZ", "U2", "RU")

# Cyrillic letters that look like Latin ones: typed bookings and Cyrillic-trained OCR both produce them.
_CYRILLIC_TO_LATIN = str.maketrans(
    {
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "У": "Y",
        "Х": "X",
        # Kazakh and other Cyrillic alphabets' look-alikes
        "І": "I",
        "Ј": "J",
        "Ѕ": "S",
        "Ү": "Y",
    }
)
_NOT_PLATE_CHAR = re.compile(r"[^A-Z0-9]")

_KZ_REGION = r"(0[1-9]|1\d|20)"  # 01 Astana … 17 Shymkent, 18 Abai, 19 Zhetysu, 20 Ulytau (2022)
_KG_REGION = (
    r"0[1-9]"  # 01 Bishkek, 02 Osh city, 03 Batken, 04 Jalal-Abad, 05 Naryn, 06 Osh, 07 Talas, 08 Chuy, 09 Issyk-Kul
)
_UZ_REGION = r"(0[1-9]|[1-9]\d)"  # 01–09 Tashkent city … 95–99 Karakalpakstan: every code but 00
_RU_REGION = r"(0[1-9]|[1-9]\d|[127]\d\d)"  # 01–99, and the 1xx/2xx/7xx codes of crowded regions


@dataclass(frozen=True)
class PlateMatch:
    """A text read as a plate of one format."""

    text: str  # normalised: uppercase Latin letters and digits, no separators, e.g. "123ABC02"
    country: str  # "KZ" | "RU" | "KG" | "UZ" | "XX" (generic)
    format: str  # "kz_2012", "kz_org", "kz_1993", "kz_foreign", "kz_diplomatic", "ru", "kg", …, "generic"
    fixes: int  # confusable characters corrected to fit the grammar (0 = read as is)


@dataclass(frozen=True)
class PlateGrammar:
    """One plate format: its country, the shapes of its one-line text and the full rule they must pass."""

    country: str
    format: str
    shapes: tuple[str, ...]  # slot codes per position, "|" where the region divider sits
    pattern: re.Pattern[str]  # the whole rule (region ranges included), applied after confusable fixes
    example: str
    # (slot codes without the divider, divider index or -1), parsed once: fit() runs on every OCR read
    _layouts: tuple[tuple[str, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        layouts = tuple((shape.replace("|", ""), shape.find("|")) for shape in self.shapes)
        object.__setattr__(self, "_layouts", layouts)

    def fit(self, text: str) -> tuple[str, int] | None:
        """The corrected text and the number of fixes, when ``text`` fits this grammar; else None.

        A read one character longer than a shape fits when the extra character stands where the region
        divider is (dropping it counts as a fix); on equal fixes the read as it stands wins.
        """
        best: tuple[str, int] | None = None
        for slots, _ in self._layouts:
            if len(text) == len(slots):
                found = self._fit_slots(text, slots, 0)
                if found is not None and (best is None or found[1] < best[1]):
                    best = found
        for slots, cut in self._layouts:
            if cut >= 0 and len(text) == len(slots) + 1 and text[cut] in _DIVIDER_READS:
                found = self._fit_slots(text[:cut] + text[cut + 1 :], slots, 1)
                if found is not None and (best is None or found[1] < best[1]):
                    best = found
        return best

    def _fit_slots(self, text: str, slots: str, fixes: int) -> tuple[str, int] | None:
        out = []
        for char, slot in zip(text, slots, strict=True):
            allowed = _SLOTS[slot]
            if char not in allowed:
                char = CONFUSABLES.get(char, "")
                if char not in allowed:
                    return None
                fixes += 1
            out.append(char)
        fixed = "".join(out)
        if not self.pattern.fullmatch(fixed):
            return None
        return fixed, fixes


def _grammar(country: str, fmt: str, shapes: tuple[str, ...], pattern: str, example: str) -> PlateGrammar:
    return PlateGrammar(country, fmt, shapes, re.compile(pattern), example)


# In preference order within each country: when two formats fit with as many fixes, the earlier one wins.
GRAMMARS: tuple[PlateGrammar, ...] = (
    # Kazakhstan since August 2012: flag and KZ band on the left, region in a box on the right.
    _grammar("KZ", "kz_2012", ("999AAA|99",), rf"\d{{3}}[A-Z]{{3}}{_KZ_REGION}", "123ABC02"),
    _grammar("KZ", "kz_org", ("999AA|99",), rf"\d{{3}}[A-Z]{{2}}{_KZ_REGION}", "123AB02"),
    # Kazakhstan 1993–2012, still on the road: region letter, 3 digits, 3 letters (individuals) or
    # 2 letters (legal entities); square plates put the region letter and digits on the top row.
    _grammar("KZ", "kz_1993", ("Z999AAA", "Z999AA"), r"[ABCDEFHKLMNOPRSTUVWXZ]\d{3}[A-Z]{2,3}", "A123BCD"),
    # Kazakh yellow plates (foreign individuals F, foreign companies and joint ventures H): the letter,
    # four digits and the region box. Sources disagree on whether the letter leads or follows the digits,
    # so both orders are accepted.
    _grammar("KZ", "kz_foreign", ("F9999|99", "9999F|99"), rf"([FH]\d{{4}}|\d{{4}}[FH]){_KZ_REGION}", "F123402"),
    # Red diplomatic plates: 3-digit mission code, D (diplomat) or T (staff), 3-digit serial. Best effort:
    # the CIS scheme these plates share; heads of mission (CMD) are too few to be worth a grammar.
    _grammar("KZ", "kz_diplomatic", ("999D999",), r"\d{3}[DT]\d{3}", "001D123"),
    # Russia (GOST R 50577-2018 type 1): letter, 3 digits, 2 letters, region of 2 or 3 digits over "RUS".
    _grammar(
        "RU", "ru", ("R999RR|99", "R999RR|999"), rf"[ABEKMHOPCTYX]\d{{3}}[ABEKMHOPCTYX]{{2}}{_RU_REGION}", "A123BC77"
    ),
    # Kyrgyzstan since June 2016: region code over the flag and KG on the left, then the number.
    _grammar("KG", "kg", ("99|999AAA",), rf"{_KG_REGION}\d{{3}}[A-Z]{{3}}", "01123ABC"),
    _grammar("KG", "kg_org", ("99|999AA",), rf"{_KG_REGION}\d{{3}}[A-Z]{{2}}", "01123AB"),
    _grammar("KG", "kg_foreign", ("99|9999A",), rf"{_KG_REGION}\d{{4}}[A-Z]", "011234A"),
    # Uzbekistan since October 2008: region box on the left, flag and UZ on the right.
    _grammar("UZ", "uz", ("99|A999AA",), rf"{_UZ_REGION}[A-Z]\d{{3}}[A-Z]{{2}}", "01A123BC"),
    _grammar("UZ", "uz_org", ("99|999AAA",), rf"{_UZ_REGION}\d{{3}}[A-Z]{{3}}", "01123ABC"),
    _grammar("UZ", "uz_moto", ("99|999AA",), rf"{_UZ_REGION}\d{{3}}[A-Z]{{2}}", "01123AB"),
)

_GENERIC = re.compile(r"(?=.*\d)[A-Z0-9]{2,8}")


def normalize_plate(text: str) -> str:
    """The comparable form of a plate: ``'123 abc | 02'`` → ``'123ABC02'``, ``'А 123 ВС 77'`` → ``'A123BC77'``.

    Uppercases, turns Cyrillic look-alikes into their Latin twins and drops everything that is not a Latin
    letter or a digit (spaces, dashes, dots, the ``|`` divider, other alphabets). Never fails; the result
    may be empty.
    """
    text = unicodedata.normalize("NFKC", text).upper().translate(_CYRILLIC_TO_LATIN)
    return _NOT_PLATE_CHAR.sub("", text)


def match_plate(text: str, countries: Sequence[str] = COUNTRIES, generic: bool = False) -> PlateMatch | None:
    """The best format ``text`` (OCR output or typed) fits, or None when it fits none.

    The text is normalised; flag-band text at either end (and KG's after the region code) is dropped; a
    confusable character in a letter position reads as the letter, in a digit position as the digit. The
    fewest fixes win, then the text read whole over one with band text dropped, then ``countries`` order,
    then format order.
    With ``generic``, a text no country grammar fits is still a plate when it has 2–8 letters and digits,
    one at least a digit (returned as is: without a grammar no fix can be decided).
    """
    grammars = _grammars_for(countries)
    normal = normalize_plate(text)
    found = _best(((variant, v > 0) for v, variant in enumerate(_band_variants(normal))), grammars)
    if found is None and generic:
        return _generic(normal)
    return found


def match_two_rows(
    top: str, bottom: str, countries: Sequence[str] = COUNTRIES, generic: bool = False
) -> PlateMatch | None:
    """A two-row plate (motorcycles, trailers, square plates) read row by row, in its one-line form.

    Rows are tried as read (top then bottom), swapped, and with a two-digit region code moved from where
    two-row plates print it (top-left, bottom-left, bottom-right) to where the one-line form has it. The
    fewest fixes win, then rows read whole over rows with band text dropped, then ``countries`` order, then
    format order, then the arrangement in that order.
    ``two_row_layout`` gives the rows this reads back.
    """
    grammars = _grammars_for(countries)
    top_n, bottom_n = normalize_plate(top), normalize_plate(bottom)
    arrangements = [
        (candidate, t > 0 or b > 0)
        for t, top_variant in enumerate(_band_variants(top_n))
        for b, bottom_variant in enumerate(_band_variants(bottom_n))
        for candidate in _arrangements(top_variant, bottom_variant)
    ]
    found = _best(arrangements, grammars)
    if found is None and generic:
        return _generic(top_n + bottom_n)
    return found


def match_printed_rows(top: str, bottom: str, countries: Sequence[str] = COUNTRIES) -> PlateMatch | None:
    """The plate some format of ``countries`` prints in exactly these rows (``two_row_layout``), without fixes.

    For a reader that decoded the rows in a format's own layout: ``match_two_rows`` would also move a region
    code, and ``20314 / QB`` (a Kyrgyz or Uzbek ``20314QB``) would read as the Kazakh ``314QB20``. Rows that
    two formats print alike (``A123 / BC01``: Russian or Uzbek) go to the earlier country.
    """
    top_n, bottom_n = normalize_plate(top), normalize_plate(bottom)
    for grammar in _grammars_for(countries):
        for candidate in _arrangements(top_n, bottom_n):
            fitted = grammar.fit(candidate)
            if fitted is None or fitted[1]:
                continue
            plate = PlateMatch(fitted[0], grammar.country, grammar.format, 0)
            if two_row_layout(plate) == (top_n, bottom_n):
                return plate
    return None


def is_valid_plate(text: str, countries: Sequence[str] = COUNTRIES, generic: bool = False) -> bool:
    """Whether ``text`` is a plate as typed: it fits a format after normalisation, without confusable fixes."""
    found = match_plate(text, countries, generic)
    return found is not None and found.fixes == 0


def _grammars_for(countries: Sequence[str]) -> list[PlateGrammar]:
    if isinstance(countries, str):
        raise ValueError(f"countries is a sequence of country codes, not the string {countries!r}")
    unknown = [country for country in countries if country not in COUNTRIES]
    if unknown:
        raise ValueError(f"no plate grammar for {', '.join(map(repr, unknown))}; known: {', '.join(COUNTRIES)}")
    return [grammar for country in countries for grammar in GRAMMARS if grammar.country == country]


def _best(candidates: Iterable[tuple[str, bool]], grammars: Sequence[PlateGrammar]) -> PlateMatch | None:
    """Fewest fixes first, then a text read whole over one with band text dropped, then the earlier
    grammar (``countries`` order, then format order), then the earlier candidate."""
    texts = list(candidates)
    best: PlateMatch | None = None
    best_key: tuple[int, bool, int, int] | None = None
    for g, grammar in enumerate(grammars):
        for c, (candidate, stripped) in enumerate(texts):
            fitted = grammar.fit(candidate)
            if fitted is None:
                continue
            key = (fitted[1], stripped, g, c)
            if best_key is None or key < best_key:
                best_key = key
                best = PlateMatch(fitted[0], grammar.country, grammar.format, fitted[1])
    return best


def _generic(normal: str) -> PlateMatch | None:
    if _GENERIC.fullmatch(normal):
        return PlateMatch(normal, GENERIC_COUNTRY, GENERIC_FORMAT, 0)
    return None


def _band_variants(text: str) -> list[str]:
    """``text`` first, then ``text`` without band text at its start, its end, both, or after a region code."""
    variants = [text]
    heads = [text[len(band) :] for band in _BANDS if text.startswith(band)]
    tails = [text[: -len(band)] for band in _BANDS if text.endswith(band) and len(text) > len(band)]
    both = [head[: -len(band)] for head in heads for band in _BANDS if head.endswith(band) and len(head) > len(band)]
    # Kyrgyz plates print KG under the region code: "01 KG 123 ABC" reads as one line.
    inner = [text[:2] + text[2 + len(band) :] for band in ("KG", "K6") if text[2 : 2 + len(band)] == band]
    for variant in (*heads, *tails, *both, *inner):
        if variant and variant not in variants:
            variants.append(variant)
    return variants


def _arrangements(top: str, bottom: str) -> list[str]:
    candidates = [
        top + bottom,
        bottom + top,
        top[2:] + bottom + top[:2],  # region code leading the top row goes last (KZ, RU one-line order)
        top + bottom[2:] + bottom[:2],  # region code leading the bottom row goes last
        bottom[-2:] + top + bottom[:-2],  # region code ending the bottom row goes first (UZ, KG order)
        bottom[:2] + top + bottom[2:],  # region code leading the bottom row goes first
    ]
    unique: list[str] = []
    for candidate in candidates:
        if candidate not in unique:
            unique.append(candidate)
    return unique


# Where each format breaks into two rows on square plates (and where the region code goes), as our renderer
# draws them; ``match_two_rows`` reads these and the other usual arrangements back.
_TWO_ROW_SPLITS: dict[str, int] = {
    "kz_2012": 3,  # 123 / ABC02
    "kz_org": 3,  # 123 / AB02
    "kz_1993": 4,  # A123 / BCD: region letter and digits on top
    "kz_foreign": 5,  # F1234 / 02
    "kz_diplomatic": 4,  # 001D / 123
    "ru": 4,  # A123 / BC77 (GOST type 1A)
    "kg": 5,  # 01123 / ABC
    "kg_org": 5,  # 01123 / AB
    "kg_foreign": 6,  # 011234 / A
    "uz_org": 5,  # 01123 / ABC
    "uz_moto": 5,  # 01123 / AB
}


def two_row_layout(plate: PlateMatch) -> tuple[str, str]:
    """The (top, bottom) rows of ``plate`` on a two-row plate: ``123ABC02`` → ``('123', 'ABC02')``.

    Uzbek two-row plates print the region code at the bottom right: ``01A123BC`` → ``('A123', 'BC01')``.
    Raises ValueError for the generic format, whose layout nobody knows.
    """
    if plate.format == "uz":
        return plate.text[2:6], plate.text[6:] + plate.text[:2]
    split = _TWO_ROW_SPLITS.get(plate.format)
    if split is None:
        raise ValueError(f"no two-row layout for format {plate.format!r}")
    return plate.text[:split], plate.text[split:]
