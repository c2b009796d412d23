"""Plate lettering: tall, narrow, bold glyphs close to the DIN 1451 / FE-Schrift look of real plates.

Glyphs come from DejaVu Sans Condensed Bold when the system has it (squeezed a little to the plate
font's proportions), else from OpenCV's Hershey Duplex. Each character is rendered once at a large size
and kept as a coverage mask; plates paste scaled copies, so drawing a plate costs well under a millisecond.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
)
_MASTER_PX = 160  # the size each glyph is rendered at before scaling
SQUEEZE = 0.86  # DejaVu is wider than the plate fonts


@lru_cache(maxsize=1)
def font_path() -> str | None:
    """The TrueType font plates are drawn with, or None when only the Hershey fallback is available."""
    for path in _FONT_PATHS:
        if Path(path).is_file():
            return path
    return None


@lru_cache(maxsize=128)
def _master(char: str) -> np.ndarray:
    """``char``'s coverage mask (uint8), cropped to its ink."""
    path = font_path()
    if path is not None:
        font = ImageFont.truetype(path, _MASTER_PX)
        image = Image.new("L", (_MASTER_PX * 2, _MASTER_PX * 2), 0)
        ImageDraw.Draw(image).text((_MASTER_PX // 4, _MASTER_PX // 4), char, fill=255, font=font)
        mask = np.asarray(image, dtype=np.uint8)
    else:
        mask = np.zeros((_MASTER_PX * 2, _MASTER_PX * 2), dtype=np.uint8)
        cv2.putText(
            mask, char, (_MASTER_PX // 4, _MASTER_PX * 3 // 2), cv2.FONT_HERSHEY_DUPLEX, 4.0, 255, 14, cv2.LINE_AA
        )
    ys, xs = np.nonzero(mask > 16)
    if len(xs) == 0:
        return np.zeros((1, 1), dtype=np.uint8)
    return np.ascontiguousarray(mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def glyph_width(char: str, height: int) -> int:
    """Pixel width of ``char`` drawn ``height`` pixels tall."""
    master = _master(char)
    width: int = master.shape[1]
    tall: int = master.shape[0]
    return max(1, round(width * height / tall * SQUEEZE))


@lru_cache(maxsize=4096)
def glyph(char: str, height: int, max_width: int) -> np.ndarray:
    """Coverage mask of ``char`` scaled to ``height`` pixels and at most ``max_width`` wide (read-only)."""
    master = _master(char)
    width = max(1, min(glyph_width(char, height), max_width))
    scaled = cv2.resize(master, (width, height), interpolation=cv2.INTER_AREA)
    scaled.setflags(write=False)
    return scaled


def paste(canvas: np.ndarray, mask: np.ndarray, x: int, y: int, color: tuple[int, int, int]) -> None:
    """Blend ``color`` into ``canvas`` through ``mask`` with its top-left at (x, y), clipped to the canvas."""
    h, w = mask.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(canvas.shape[1], x + w), min(canvas.shape[0], y + h)
    if x0 >= x1 or y0 >= y1:
        return
    alpha = mask[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)[..., None] / 255.0
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = (region + (np.array(color, dtype=np.float32) - region) * alpha).astype(np.uint8)


def draw_group(
    canvas: np.ndarray, text: str, x: int, y: int, height: int, advance: int, color: tuple[int, int, int]
) -> None:
    """Draw ``text`` with a fixed ``advance`` per character (plate fonts are monospaced), each centred in its cell."""
    for i, char in enumerate(text):
        mask = glyph(char, height, round(advance * 0.88))
        paste(canvas, mask, x + i * advance + (advance - mask.shape[1]) // 2, y, color)


def draw_row(
    canvas: np.ndarray,
    groups: tuple[str, ...],
    box: tuple[int, int, int, int],
    height: int,
    color: tuple[int, int, int],
    heights: tuple[int, ...] | None = None,
) -> tuple[int, int, int, int]:
    """Draw ``groups`` (e.g. "123", "ABC") centred in ``box`` (x0, y0, x1, y1), bottoms aligned, a gap between groups.

    ``heights`` gives each group its own glyph height (Russian letters are smaller than digits). Returns
    the box the characters' cells take (x0, y0, x1, y1).
    """
    x0, y0, x1, y1 = box
    sizes = heights or tuple(height for _ in groups)
    advances = [round(h * 0.62) for h in sizes]
    gap = round(height * 0.28)
    total = sum(len(g) * a for g, a in zip(groups, advances, strict=True)) + gap * (len(groups) - 1)
    if total > x1 - x0:  # too wide for the box: tighten the spacing, never the glyphs' height
        shrink = (x1 - x0) / total
        advances = [max(1, int(a * shrink)) for a in advances]
        gap = int(gap * shrink)
        total = sum(len(g) * a for g, a in zip(groups, advances, strict=True)) + gap * (len(groups) - 1)
    x = start = x0 + (x1 - x0 - total) // 2
    bottom = y0 + (y1 - y0 + height) // 2
    for group, h, advance in zip(groups, sizes, advances, strict=True):
        draw_group(canvas, group, x, bottom - h, h, advance, color)
        x += len(group) * advance + gap
    return start, bottom - max(sizes), start + total, bottom
