from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    COUNTRIES,
    GRAMMARS,
    PlateGrammar,
    PlateMatch,
    is_valid_plate,
    match_plate,
    match_printed_rows,
    match_two_rows,
    normalize_plate,
    two_row_layout,
)
from protocol.plates import _SLOTS, CONFUSABLES

# --- normalisation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("123 abc 02", "123ABC02"),
        ("123-ABC-02", "123ABC02"),
        ("123.ABC|02", "123ABC02"),
        ("  123abc | 02\n", "123ABC02"),
        ("А 123 ВС 77", "A123BC77"),  # Cyrillic А, В, С
        ("а123вс77", "A123BC77"),  # lowercase Cyrillic
        ("АВЕКМНОРСТУХ", "ABEKMHOPCTYX"),  # all twelve look-alikes
        ("ҚАЗ 123", "A123"),  # Kazakh letters without a Latin twin are not plate characters
        ("１２３ＡＢＣ０２", "123ABC02"),  # full-width forms from phone keyboards
        ("ІЅЈҮ", "ISJY"),
        ("#$%", ""),
        ("", ""),
    ],
)
def test_normalize(text: str, normal: str) -> None:
    assert normalize_plate(text) == normal


@given(st.text())
def test_normalize_gives_plate_characters_and_is_idempotent(text: str) -> None:
    normal = normalize_plate(text)
    assert all(char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" for char in normal)
    assert normalize_plate(normal) == normal


# --- every format: positive and negative examples ---------------------------------------------------------

POSITIVE = [
    # (text as printed or typed, normalised, country, format)
    ("123 ABC 02", "123ABC02", "KZ", "kz_2012"),
    ("777 AAA 17", "777AAA17", "KZ", "kz_2012"),
    ("001 QWE 20", "001QWE20", "KZ", "kz_2012"),  # Ulytau, the newest region
    ("123 AB 01", "123AB01", "KZ", "kz_org"),
    ("A 585 CUO", "A585CUO", "KZ", "kz_1993"),
    ("Z 001 AA", "Z001AA", "KZ", "kz_1993"),
    ("F 1234 | 02", "F123402", "KZ", "kz_foreign"),
    ("H 0457 | 05", "H045705", "KZ", "kz_foreign"),
    ("1234 H | 02", "1234H02", "KZ", "kz_foreign"),
    ("001 D 123", "001D123", "KZ", "kz_diplomatic"),
    ("А 123 ВС 77 RUS", "A123BC77", "RU", "ru"),
    ("Х 777 ХХ 777", "X777XX777", "RU", "ru"),
    ("O 001 OO 199", "O001OO199", "RU", "ru"),
    ("01 KG 123 ABC", "01123ABC", "KG", "kg"),
    ("08 456 XY", "08456XY", "KG", "kg_org"),
    ("09 1234 H", "091234H", "KG", "kg_foreign"),
    ("01 | A 123 BC UZ", "01A123BC", "UZ", "uz"),
    ("95 Z 999 ZZ", "95Z999ZZ", "UZ", "uz"),
]


@pytest.mark.parametrize(("text", "normal", "country", "fmt"), POSITIVE)
def test_formats_read_as_printed(text: str, normal: str, country: str, fmt: str) -> None:
    assert match_plate(text, countries=(country,)) == PlateMatch(normal, country, fmt, 0)
    assert is_valid_plate(text)
    assert match_plate(text) is not None


@pytest.mark.parametrize("grammar", GRAMMARS, ids=lambda grammar: grammar.format)
def test_each_grammar_example(grammar: PlateGrammar) -> None:
    assert grammar.country in COUNTRIES
    assert grammar.pattern.fullmatch(grammar.example)
    assert match_plate(grammar.example, countries=(grammar.country,)) == PlateMatch(
        grammar.example, grammar.country, grammar.format, 0
    )


NEGATIVE = [
    "123ABC00",  # KZ region 00 does not exist
    "123ABC21",  # nor 21
    "123ABC99",
    "1234ABC02",  # four digits
    "12ABC02",  # two digits
    "123ABCD02",  # four letters
    "G123ABC",  # G never led a 1993 plate
    "Q123AB",  # nor Q
    "A12BC",  # 1993 with two digits
    "A1234BCD",
    "F12347",  # yellow plate with three digits
    "K123402",  # only F and H on yellow plates
    "001A123",  # diplomatic plates are D or T
    "D123BC77",  # D is not one of Russia's twelve letters
    "A123DC77",
    "A123BC7",  # one-digit Russian region
    "A123BC00",
    "A123BC377",  # no 3xx Russian region
    "10123AB7",
    "00A123BC",  # Uzbek region 00
    "01A1234BC",
    "",
    "A",
    "HELLO",
    "12345678",
    "ABCDEFGH",
    "123 ABC 02 123 ABC 02",  # two plates are not a plate
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_reads_that_fit_nothing_are_not_plates(text: str) -> None:
    assert match_plate(text) is None
    assert not is_valid_plate(text)


def test_shared_shapes_go_to_the_first_country_asked() -> None:
    # Kyrgyz individuals and Uzbek organisations print the same shape; Kyrgyz regions stop at 09.
    assert match_plate("01123ABC") == PlateMatch("01123ABC", "KG", "kg", 0)
    assert match_plate("01123ABC", countries=("UZ", "KG")) == PlateMatch("01123ABC", "UZ", "uz_org", 0)
    assert match_plate("10123ABC") == PlateMatch("10123ABC", "UZ", "uz_org", 0)
    assert match_plate("10123ABC", countries=("KG",)) is None
    assert match_plate("01123AB", countries=("UZ",)) == PlateMatch("01123AB", "UZ", "uz_moto", 0)


def test_countries_limit_the_grammars() -> None:
    assert match_plate("A123BC77", countries=("KZ",)) is None
    assert match_plate("123ABC02", countries=("RU", "KG", "UZ")) is None
    assert match_plate("123ABC02", countries=()) is None


@pytest.mark.parametrize("countries", [("KZ", "US"), ("kz",), "KZ"])
def test_unknown_countries_are_refused(countries: tuple[str, ...] | str) -> None:
    with pytest.raises(ValueError):
        match_plate("123ABC02", countries=countries)


# --- band, divider ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("KZ 123 ABC 02", "123ABC02"),
        ("K2123ABC02", "123ABC02"),
        ("123ABC02KZ", "123ABC02"),
        ("KZ A123BCD", "A123BCD"),
        ("A123BC77RUS", "A123BC77"),
        ("A123BC777RUS", "A123BC777"),
        ("A123BC77RU5", "A123BC77"),
        ("01KG123ABC", "01123ABC"),
        ("KG01123ABC", "01123ABC"),
        ("01A123BCUZ", "01A123BC"),
    ],
)
def test_flag_band_is_not_part_of_the_plate(text: str, plate: str) -> None:
    found = match_plate(text)
    assert found is not None
    assert found.text == plate
    assert found.fixes == 0


def test_band_letters_of_a_real_plate_stay() -> None:
    # a 1993 plate may end in K and Z: read as it stands before any band is dropped
    assert match_plate("A123BKZ") == PlateMatch("A123BKZ", "KZ", "kz_1993", 0)


@pytest.mark.parametrize(
    ("text", "plate"),
    [("123ABCI02", "123ABC02"), ("123ABC102", "123ABC02"), ("12L3ABC02", None), ("01I123ABC", "01123ABC")],
)
def test_divider_read_as_a_character(text: str, plate: str | None) -> None:
    found = match_plate(text)
    if plate is None:
        assert found is None
    else:
        assert found is not None
        assert (found.text, found.fixes) == (plate, 1)


def test_three_digit_region_beats_a_divider() -> None:
    assert match_plate("A123BC177") == PlateMatch("A123BC177", "RU", "ru", 0)
    # the region's leading 1 read as I is a confusable (1 fix), not a divider (also 1 fix): the read stands
    assert match_plate("A123BCI77") == PlateMatch("A123BC177", "RU", "ru", 1)


# --- confusable fixes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("read", "plate", "fixes"),
    [
        ("I23ABC02", "123ABC02", 1),
        ("123A8C02", "123ABC02", 1),
        ("123ABCO2", "123ABC02", 1),
        ("O00OOO01", "000OOO01", 1),
        ("S2Z5S5I7", "522SSS17", 5),
        ("6G6G6G06", "666GGG06", 2),
        ("8O8B0B1O", "808BOB10", 3),
        ("0I23B0", "O123BO", 3),  # 1993: region O, digits 123, letters BO
        ("A1Z3BC77", "A123BC77", 1),
        ("AI23BC7Z", "A123BC72", 2),
        ("8123BC77", "B123BC77", 1),
        ("O1A123BC", "01A123BC", 1),
        ("0IA1Z38C", "01A123BC", 3),
    ],
)
def test_confusables_follow_the_position(read: str, plate: str, fixes: int) -> None:
    found = match_plate(read)
    assert found is not None
    assert (found.text, found.fixes) == (plate, fixes)
    assert is_valid_plate(plate)
    assert not is_valid_plate(read)


def test_only_listed_confusables_are_fixed() -> None:
    # 4/A, 7/T and D/0 look alike in some fonts but are not fixed: the read fits nothing
    assert match_plate("4123BC77") is None
    assert match_plate("123A7C02") is None
    assert match_plate("D23ABC02") is None


def test_fewest_fixes_win() -> None:
    # "I23ABC02" is kz_2012 with one fix; nothing fits it as read
    assert match_plate("I23ABC02") == PlateMatch("123ABC02", "KZ", "kz_2012", 1)
    # a yellow plate read as it stands beats an organisation plate that needs a fix
    assert match_plate("1238H02") == PlateMatch("1238H02", "KZ", "kz_foreign", 0)
    assert match_plate("123BH02") == PlateMatch("123BH02", "KZ", "kz_org", 0)


def test_confusable_map_is_the_six_pairs_both_ways() -> None:
    pairs = {("0", "O"), ("1", "I"), ("8", "B"), ("5", "S"), ("2", "Z"), ("6", "G")}
    assert {a: b for pair in pairs for a, b in (pair, pair[::-1])} == CONFUSABLES


@st.composite
def plates(draw: st.DrawFn, grammar: PlateGrammar) -> str:
    """A valid one-line plate of ``grammar``."""
    shape = draw(st.sampled_from(grammar.shapes))
    slots = shape.replace("|", "")
    text = "".join(draw(st.sampled_from(sorted(_SLOTS[slot]))) for slot in slots)
    if grammar.pattern.fullmatch(text):
        return text
    # the region code is the digits on the far side of the divider; draw one the grammar accepts
    cut = shape.index("|")
    if cut > len(slots) // 2:
        width = len(slots) - cut
        regions = [r for r in map("".join, itertools.product("0123456789", repeat=width))]
        valid = [r for r in regions if grammar.pattern.fullmatch(text[:cut] + r)]
        return text[:cut] + draw(st.sampled_from(valid))
    regions = ["".join(pair) for pair in itertools.product("0123456789", repeat=cut)]
    valid = [r for r in regions if grammar.pattern.fullmatch(r + text[cut:])]
    return draw(st.sampled_from(valid)) + text[cut:]


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[PlateGrammar, str, str, int]:
    """(grammar, a valid plate, the plate with some confusable characters read the other way, how many)."""
    grammar = draw(st.sampled_from(GRAMMARS))
    plate = draw(plates(grammar))
    swappable = [i for i, char in enumerate(plate) if char in CONFUSABLES]
    chosen = draw(st.sets(st.sampled_from(swappable), max_size=len(swappable))) if swappable else set()
    read = "".join(CONFUSABLES[char] if i in chosen else char for i, char in enumerate(plate))
    return grammar, plate, read, len(chosen)


@given(corrupted())
def test_grammar_undoes_confusables_exactly(case: tuple[PlateGrammar, str, str, int]) -> None:
    grammar, plate, read, swaps = case
    assert grammar.fit(plate) == (plate, 0)
    assert grammar.fit(read) == (plate, swaps)


@given(corrupted())
def test_match_plate_recovers_the_plate_or_a_closer_one(case: tuple[PlateGrammar, str, str, int]) -> None:
    grammar, plate, read, swaps = case
    assert match_plate(plate, countries=(grammar.country,)) == PlateMatch(plate, grammar.country, grammar.format, 0)
    found = match_plate(read)
    assert found is not None
    assert found.fixes <= swaps
    if found.text != plate:
        # the read is as close to another valid plate (formats share shapes once confusables are free):
        # that plate differs from the read only in confusable characters, and not in more of them
        assert is_valid_plate(found.text)
        if len(found.text) == len(read):
            assert all(a == b or CONFUSABLES.get(a) == b for a, b in zip(read, found.text, strict=True))
        else:
            # or closer once trailing/leading band-like letters or a divider-like character are dropped
            assert 1 <= len(read) - len(found.text) <= 3


@given(corrupted(), st.sampled_from(["", "KZ", "KZ ", " | "]))
def test_kazakh_reads_recover_exactly_within_kazakhstan(case: tuple[PlateGrammar, str, str, int], band: str) -> None:
    grammar, plate, read, swaps = case
    if grammar.format != "kz_2012":
        return
    # the 8-character Kazakh shape is unique among Kazakh formats, so every confusable read comes back
    found = match_plate(band + read, countries=("KZ",))
    assert found == PlateMatch(plate, "KZ", "kz_2012", swaps)


_NO_CONFUSABLE_LETTERS = "ACDEFHJKLMNPQRTUVWXY"


@given(st.text(alphabet=_NO_CONFUSABLE_LETTERS, max_size=12))
def test_letters_alone_are_no_plate(text: str) -> None:
    assert match_plate(text, generic=True) is None


@given(st.text(alphabet="3479", max_size=12))
def test_digits_alone_are_no_plate(text: str) -> None:
    assert match_plate(text) is None


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", max_size=5))
def test_short_reads_are_no_country_plate(text: str) -> None:
    assert match_plate(text) is None


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=14, max_size=30))
def test_long_reads_are_no_plate(text: str) -> None:
    assert match_plate(text, generic=True) is None


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-. ", max_size=16))
def test_any_match_is_a_valid_plate(text: str) -> None:
    found = match_plate(text)
    if found is not None:
        assert is_valid_plate(found.text)
        assert match_plate(found.text) == PlateMatch(found.text, found.country, found.format, 0)


# --- generic ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "plate"),
    [("7ABC123", "7ABC123"), ("abc-1234", "ABC1234"), ("8LXG794", "8LXG794"), ("A1", "A1"), ("12345678", "12345678")],
)
def test_generic_returns_the_read_as_is(text: str, plate: str) -> None:
    assert match_plate(text) is None
    assert match_plate(text, generic=True) == PlateMatch(plate, "XX", "generic", 0)
    assert match_plate(text, countries=(), generic=True) == PlateMatch(plate, "XX", "generic", 0)
    assert is_valid_plate(text, generic=True)


@pytest.mark.parametrize("text", ["ABCDEF", "A", "1", "123456789", "", "--"])
def test_generic_needs_two_to_eight_characters_and_a_digit(text: str) -> None:
    assert match_plate(text, generic=True) is None


def test_country_match_wins_over_generic() -> None:
    assert match_plate("I23ABC02", generic=True) == PlateMatch("123ABC02", "KZ", "kz_2012", 1)
    assert match_plate("I23ABC02", countries=(), generic=True) == PlateMatch("I23ABC02", "XX", "generic", 0)


# --- two rows --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("grammar", GRAMMARS, ids=lambda grammar: grammar.format)
def test_two_row_layout_reads_back(grammar: PlateGrammar) -> None:
    plate = PlateMatch(grammar.example, grammar.country, grammar.format, 0)
    top, bottom = two_row_layout(plate)
    assert top and bottom
    assert sorted(top + bottom) == sorted(plate.text)
    assert match_two_rows(top, bottom, countries=(grammar.country,)) == plate


@pytest.mark.parametrize("grammar", GRAMMARS, ids=lambda grammar: grammar.format)
def test_printed_rows_read_back_as_their_format(grammar: PlateGrammar) -> None:
    plate = PlateMatch(grammar.example, grammar.country, grammar.format, 0)
    assert match_printed_rows(*two_row_layout(plate), countries=(grammar.country,)) == plate


@pytest.mark.parametrize(
    ("top", "bottom", "plate"),
    [
        # match_two_rows reads these as the Kazakh 314QB20 and 123AB01 (region code moved to the end)
        ("20314", "QB", PlateMatch("20314QB", "UZ", "uz_moto", 0)),
        ("01123", "AB", PlateMatch("01123AB", "KG", "kg_org", 0)),
        ("123", "AB 01", PlateMatch("123AB01", "KZ", "kz_org", 0)),
        ("A123", "BC 01", PlateMatch("A123BC01", "RU", "ru", 0)),  # Russian and Uzbek print alike: RU first
    ],
)
def test_printed_rows_among_all_countries(top: str, bottom: str, plate: PlateMatch) -> None:
    assert match_printed_rows(top, bottom) == plate


def test_printed_rows_are_never_fixed_or_moved() -> None:
    assert match_printed_rows("I23", "A8C02") is None  # match_two_rows fixes these to 123ABC02
    assert match_printed_rows("ABC 02", "123") is None  # rows swapped
    assert match_printed_rows("02 123", "ABC", ("KZ",)) is None  # a region code where no KZ format prints it
    assert match_printed_rows("", "") is None


@pytest.mark.parametrize(
    ("top", "bottom", "plate"),
    [
        ("123", "ABC 02", PlateMatch("123ABC02", "KZ", "kz_2012", 0)),
        ("KZ 123", "ABC | 02", PlateMatch("123ABC02", "KZ", "kz_2012", 0)),
        ("02 123", "ABC", PlateMatch("123ABC02", "KZ", "kz_2012", 0)),  # region top-left
        ("123 ABC", "02", PlateMatch("123ABC02", "KZ", "kz_2012", 0)),
        ("A 123", "BCD", PlateMatch("A123BCD", "KZ", "kz_1993", 0)),
        ("A 123", "BC 77", PlateMatch("A123BC77", "RU", "ru", 0)),
        ("A 123", "BC 77 RUS", PlateMatch("A123BC77", "RU", "ru", 0)),
        ("A123", "DE 01 UZ", PlateMatch("01A123DE", "UZ", "uz", 0)),  # region bottom-right
        ("I23", "A8C02", PlateMatch("123ABC02", "KZ", "kz_2012", 2)),
        ("ABC 02", "123", PlateMatch("123ABC02", "KZ", "kz_2012", 0)),  # rows swapped by the reader
    ],
)
def test_two_rows_reordered(top: str, bottom: str, plate: PlateMatch) -> None:
    assert match_two_rows(top, bottom) == plate


def test_two_rows_that_fit_nothing() -> None:
    assert match_two_rows("HELLO", "WORLD") is None
    assert match_two_rows("", "") is None
    assert match_two_rows("7AB", "C123", generic=True) == PlateMatch("7ABC123", "XX", "generic", 0)


def test_two_row_layout_of_generic_is_refused() -> None:
    with pytest.raises(ValueError):
        two_row_layout(PlateMatch("7ABC123", "XX", "generic", 0))
