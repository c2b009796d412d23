"""The flat plate: a plate's face drawn head-on, one pixel per millimetre, before it is put on a car.

Layouts follow the real designs closely enough for a localiser and a reader to face what they face on
the road: the black border, the flag/country band, the region box and its divider, the character groups.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from protocol.plates import PlateMatch, two_row_layout
from sim.errors import RenderError
from sim.plates.formats import PlateFormat
from sim.plates.glyphs import draw_row

Color = tuple[int, int, int]
_KZ_BLUE: Color = (200, 170, 0)
_KZ_GOLD: Color = (0, 200, 250)
_RU_BLUE: Color = (160, 60, 0)
_RU_RED: Color = (40, 30, 200)
_KG_RED: Color = (40, 20, 210)
_UZ_BLUE: Color = (180, 140, 30)
_UZ_GREEN: Color = (60, 160, 30)


def _flag(canvas: np.ndarray, country: str, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if country == "KZ":
        cv2.rectangle(canvas, (x0, y0), (x1, y1), _KZ_BLUE, -1)
        cv2.circle(canvas, (x0 + w // 2, y0 + h * 2 // 5), max(2, h // 5), _KZ_GOLD, -1, cv2.LINE_AA)
        cv2.ellipse(canvas, (x0 + w // 2, y0 + h * 3 // 5), (w // 4, h // 6), 0, 200, 340, _KZ_GOLD, 2, cv2.LINE_AA)
        cv2.rectangle(canvas, (x0 + 2, y0 + 1), (x0 + max(3, w // 12), y1 - 1), _KZ_GOLD, -1)
    elif country == "RU":
        third = h // 3
        cv2.rectangle(canvas, (x0, y0), (x1, y0 + third), (250, 250, 250), -1)
        cv2.rectangle(canvas, (x0, y0 + third), (x1, y0 + 2 * third), _RU_BLUE, -1)
        cv2.rectangle(canvas, (x0, y0 + 2 * third), (x1, y1), _RU_RED, -1)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (40, 40, 40), 1)
    elif country == "KG":
        cv2.rectangle(canvas, (x0, y0), (x1, y1), _KG_RED, -1)
        cv2.circle(canvas, (x0 + w // 2, y0 + h // 2), max(2, h // 3), _KZ_GOLD, -1, cv2.LINE_AA)
        cv2.circle(canvas, (x0 + w // 2, y0 + h // 2), max(1, h // 6), _KG_RED, 1, cv2.LINE_AA)
    elif country == "UZ":
        third = h // 3
        cv2.rectangle(canvas, (x0, y0), (x1, y0 + third), _UZ_BLUE, -1)
        cv2.rectangle(canvas, (x0, y0 + third), (x1, y0 + 2 * third), (250, 250, 250), -1)
        cv2.rectangle(canvas, (x0, y0 + 2 * third), (x1, y1), _UZ_GREEN, -1)
        cv2.line(canvas, (x0, y0 + third), (x1, y0 + third), _RU_RED, 1)
        cv2.line(canvas, (x0, y0 + 2 * third), (x1, y0 + 2 * third), _RU_RED, 1)
    else:
        raise RenderError(f"no flag for {country!r}")


ONE_ROW_MM = (520, 112)
TWO_ROW_MM = (280, 200)
# formats whose one-line text ends in a region code printed in its own box
_REGION_LAST = frozenset({"kz_2012", "kz_org", "kz_foreign", "ru", "uz"})
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in millimetres on the plate's face
# where the characters go on each layout (the flag band, "RUS", "KG" and "UZ" are not characters)
_KZ_MAIN: Box = (62, 10, 426, 102)
_KZ_REGION: Box = (438, 10, 514, 102)
_KZ_WIDE: Box = (62, 10, 512, 102)
_RU_MAIN: Box = (12, 10, 400, 104)
_RU_REGION: Box = (408, 6, 514, 68)
_KG_REGION: Box = (8, 6, 108, 64)
_KG_MAIN: Box = (118, 10, 512, 102)
_UZ_REGION: Box = (8, 10, 100, 102)
_UZ_MAIN: Box = (110, 10, 446, 102)
_TOP: Box = (64, 10, 272, 98)
_BOTTOM_BODY: Box = (10, 106, 196, 194)
_BOTTOM_REGION: Box = (204, 106, 274, 194)
_BOTTOM: Box = (10, 106, 270, 194)


def _bottom_split(text: str, fmt: PlateFormat) -> tuple[str, str] | None:
    """The bottom row's characters and its region code when the region gets a box there."""
    _, bottom = two_row_layout(PlateMatch(text, fmt.country, fmt.id, 0))
    found = re.search(r"\d+$", bottom) if fmt.id in _REGION_LAST else None
    if found is None or found.start() == 0:
        return None
    return bottom[: found.start()], found.group(0)


def text_zones(text: str, fmt: PlateFormat, rows: int | None = None) -> tuple[tuple[str, Box], ...]:
    """The plate's characters by zone: (characters, the box their cells take in millimetres), in reading order.

    One-row plates read left to right; two-row plates read the top row, then the bottom row left to right
    (``protocol.plates.match_two_rows`` reorders them into the one-line form). The flag band and the
    "RUS", "KG", "UZ" codes are not characters of the plate and are not in any zone.
    """
    zones: list[tuple[str, Box]] = []
    _layout(text, fmt, rows, zones)
    return tuple(zones)


def plate_size_mm(rows: int) -> tuple[int, int]:
    """Width and height of a one-row (520×112) or two-row (280×200) plate."""
    if rows not in (1, 2):
        raise RenderError(f"a plate has one or two rows, not {rows}")
    return ONE_ROW_MM if rows == 1 else TWO_ROW_MM


def _blank(fmt: PlateFormat, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    canvas = cv2.merge([np.full((h, w), c, dtype=np.uint8) for c in fmt.background])
    # the embossed rim every plate has
    cv2.rectangle(canvas, (3, 3), (w - 4, h - 4), fmt.ink, 3, cv2.LINE_AA)
    return canvas


def _band(canvas: np.ndarray, fmt: PlateFormat, x0: int, x1: int, y0: int = 12, y1: int = 100) -> None:
    """The flag over the country code, as on Kazakh plates' left edge."""
    w = x1 - x0
    fh = round(w * 0.55)
    _flag(canvas, fmt.country, (x0, y0, x1, y0 + fh))
    code_h = min(round(w * 0.48), y1 - (y0 + fh) - 6)
    draw_row(canvas, (fmt.country,), (x0 - 4, y0 + fh + 4, x1 + 4, y1), code_h, fmt.ink)


def _divider(canvas: np.ndarray, x: int, ink: Color, y0: int = 4, y1: int = -1) -> None:
    cv2.line(canvas, (x, y0), (x, canvas.shape[0] - 5 if y1 < 0 else y1), ink, 3)


def _split(text: str) -> tuple[str, ...]:
    """Runs of letters and of digits: ``A123BC`` → ``('A', '123', 'BC')``."""
    return tuple(m.group(0) for m in re.finditer(r"[A-Z]+|\d+", text))


def _one_row(canvas: np.ndarray, text: str, fmt: PlateFormat, zones: list[tuple[str, Box]]) -> None:
    ink = fmt.ink

    def chars(groups: tuple[str, ...], box: Box, height: int, heights: tuple[int, ...] | None = None) -> None:
        zones.append(("".join(groups), draw_row(canvas, groups, box, height, ink, heights)))

    if fmt.id in ("kz_2012", "kz_org", "kz_foreign"):
        body, region = text[:-2], text[-2:]
        _band(canvas, fmt, 10, 54)
        chars(_split(body), _KZ_MAIN, 78)
        _divider(canvas, 432, ink)
        chars((region,), _KZ_REGION, 62)
    elif fmt.id == "kz_1993":
        _band(canvas, fmt, 10, 54)
        chars(_split(text), _KZ_WIDE, 78)
    elif fmt.id == "kz_diplomatic":
        _band(canvas, fmt, 10, 54)
        chars((text[:3], text[3], text[4:]), _KZ_WIDE, 78)
    elif fmt.id == "ru":
        match = re.fullmatch(r"([A-Z])(\d{3})([A-Z]{2})(\d{2,3})", text)
        if match is None:  # the format's pattern already holds; this only narrows the type
            raise RenderError(f"{text!r} is not a Russian plate")
        first, digits, pair, region = match.groups()
        chars((first, digits, pair), _RU_MAIN, 76, heights=(58, 76, 58))
        _divider(canvas, 404, ink)
        chars((region,), _RU_REGION, 54 if len(region) == 2 else 48)
        draw_row(canvas, ("RUS",), (410, 74, 468, 96), 18, ink)
        _flag(canvas, "RU", (472, 76, 506, 94))
    elif fmt.country == "KG":
        region, rest = text[:2], text[2:]
        chars((region,), _KG_REGION, 52)
        if fmt.id == "kg_foreign":  # yellow plates show KG without the flag
            draw_row(canvas, ("KG",), (8, 70, 108, 98), 24, ink)
        else:
            _flag(canvas, "KG", (14, 72, 46, 96))
            draw_row(canvas, ("KG",), (50, 72, 104, 98), 22, ink)
        _divider(canvas, 112, ink)
        chars(_split(rest), _KG_MAIN, 78)
    elif fmt.country == "UZ":
        region, rest = text[:2], text[2:]
        chars((region,), _UZ_REGION, 62)
        _divider(canvas, 104, ink)
        chars(_split(rest), _UZ_MAIN, 76)
        _flag(canvas, "UZ", (456, 22, 508, 48))
        draw_row(canvas, ("UZ",), (452, 56, 512, 88), 26, ink)
    else:
        raise RenderError(f"no layout for plate format {fmt.id!r}")


def _two_rows(canvas: np.ndarray, text: str, fmt: PlateFormat, zones: list[tuple[str, Box]]) -> None:
    """Top row after the flag band; bottom row with the region box at its right when the format has one.

    The rows are ``protocol.plates.two_row_layout``'s, so ``match_two_rows`` reads them back.
    """
    ink = fmt.ink

    def chars(groups: tuple[str, ...], box: Box, height: int) -> None:
        zones.append(("".join(groups), draw_row(canvas, groups, box, height, ink)))

    top, bottom = two_row_layout(PlateMatch(text, fmt.country, fmt.id, 0))
    _band(canvas, fmt, 12, 58, 12, 94)
    chars(_split(top), _TOP, 80)
    split = _bottom_split(text, fmt)
    if split is not None:
        body, region = split
        chars(_split(body), _BOTTOM_BODY, 80)
        _divider(canvas, 200, ink, 103, 196)
        chars((region,), _BOTTOM_REGION, 54 if len(region) == 2 else 40)
    else:
        chars(_split(bottom), _BOTTOM, 80)


def draw_plate(text: str, fmt: PlateFormat, rows: int | None = None) -> np.ndarray:
    """The face of a plate of format ``fmt`` showing normalised ``text`` (BGR, one pixel per millimetre).

    ``rows`` (1 or 2) defaults to how the format is usually made.
    """
    return _layout(text, fmt, rows, [])


def _layout(text: str, fmt: PlateFormat, rows: int | None, zones: list[tuple[str, Box]]) -> np.ndarray:
    if not fmt.matches(text):
        raise RenderError(f"{text!r} is not a valid {fmt.id} plate (pattern {fmt.pattern})")
    rows = fmt.rows if rows is None else rows
    canvas = _blank(fmt, plate_size_mm(rows))
    if rows == 1:
        _one_row(canvas, text, fmt, zones)
    else:
        _two_rows(canvas, text, fmt, zones)
    return canvas
