"""Finding plates in a frame with OpenCV alone (no learned weights), and straightening them for OCR.

The idea is openalpr's morphological detector. On a frame downscaled to ``PROPOSAL_WIDTH``:

1. proposals — blackhat (dark characters on a light plate stand out) → Sobel-x (characters are dense in
   vertical edges) → Gaussian → closing (joins a row of characters into one blob) → Otsu → contours whose
   box has a plate's aspect (one row 2:1 to 6:1, two rows ~1.2–2) and size; a second source thresholds
   bright, flat regions (white and yellow plates) for plates whose characters the first source merged
   with their surroundings;
2. verification at full resolution — inside each proposal, Otsu-binarise and keep the connected components
   of character size; link components of similar height that sit next to each other into text rows. A
   proposal without a row of at least ``MIN_CHARS`` characters is not a plate; a lone row too short for any
   one-row plate is also offered as a two-row plate, its partner row guessed beneath it, then above;
3. each row's quad follows the characters' baseline (fitLine through their centres), padded, so in-plane
   tilt is undone by ``rectify``'s warpPerspective to a ``CROP_HEIGHT``-pixel-high crop.

Candidates are ranked by how plate-like their character rows are; the caller reads the best few.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

Image = np.ndarray[Any, Any]  # uint8, H×W gray or H×W×3 BGR (OpenCV stubs type results loosely)
Quad = np.ndarray[Any, np.dtype[np.float32]]  # 4 × 2: top-left, top-right, bottom-right, bottom-left

PROPOSAL_WIDTH = 640
CROP_HEIGHT = 64  # px high of a straightened plate (the ranger's crop; recognisers scale it to their own height)
MIN_CHARS = 3
ROW_HEIGHT = 1.3  # a row quad is this many character heights high
MAX_CHARS = 12
# a row may slope up to 40° (tan 40° ≈ 0.84): a plate turned by the gate's whole tilt (roll, yaw and pitch each
# up to 25°) is seen at 36°; a steeper chain of marks is a grille's or a hedge's, not a plate's row
MAX_ROW_SLOPE = 0.84
MAX_PROPOSALS = 16
_SQUARE3 = np.ones((3, 3), dtype=np.uint8)
MIN_CHAR_PX = 9  # characters smaller than this at full resolution are unreadable anyway
BLOB_CHAR_SHARE = 0.55  # of a blob's height per row is its characters' (the blob is the whole plate)
ONE_ROW_SHAPE = (3.0, 6.5)  # long side to short side of a one-row plate's blob (520 × 112 mm, seen askew)
SQUARE_PLATE = 2.0  # long side to short side: a blob squarer than this may be a two-row plate (280 × 200 mm)
SMALL_PRINT = 0.6  # rows of characters under this share of the tallest row's height are not the plate's own
SHORT_ROW = 5  # characters: a lone row this short is a two-row plate's (top rows hold 3–5; one-row plates 6+)
TWO_ROW_PITCH = 1.2  # a two-row plate's rows are this many character heights apart, centre to centre


@dataclass(frozen=True)
class Blob:
    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class PlateCandidate:
    """A likely plate: its outline ``quad`` and one text-row quad per row (top first), in frame pixels."""

    quad: Quad
    rows: tuple[Quad, ...]
    score: float
    source: str

    @property
    def two_row(self) -> bool:
        return len(self.rows) == 2

    @property
    def blob(self) -> bool:
        """Found as one blob (characters blurred together), not as rows of characters."""
        return "-blob" in self.source

    @property
    def guessed(self) -> bool:
        """A second reading of a place another candidate reads as one row: a lone short row as a two-row
        plate, its partner row guessed (see ``SHORT_ROW``), or a square blob as two rows."""
        return self.source.endswith("-guess")

    @property
    def char_px(self) -> float:
        """Character height in frame pixels (a blob's is estimated from its whole height)."""
        if self.blob:
            return float(np.linalg.norm(self.quad[3] - self.quad[0])) * BLOB_CHAR_SHARE / len(self.rows)
        return float(np.linalg.norm(self.rows[0][3] - self.rows[0][0])) / ROW_HEIGHT


@dataclass(frozen=True)
class Proposal:
    box: tuple[int, int, int, int]  # x, y, w, h on the proposal image
    quad: Quad  # the blob's minimum-area rectangle on the proposal image
    fill: float


def _order(points: Quad) -> Quad:
    """Four points as top-left, top-right, bottom-right, bottom-left."""
    by_y = points[np.argsort(points[:, 1])]
    top = by_y[:2][np.argsort(by_y[:2, 0])]
    bottom = by_y[2:][np.argsort(by_y[2:, 0])]
    return np.array([top[0], top[1], bottom[1], bottom[0]], dtype=np.float32)


def to_gray(frame: Image) -> Image:
    """One channel of a BGR or gray uint8 frame."""
    if frame.ndim == 2:
        return frame
    gray: Image = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return gray


def _rect(w: int, h: int) -> Any:
    return cv2.getStructuringElement(cv2.MORPH_RECT, (max(1, w), max(1, h)))


def _edge_proposals(small: Image) -> list[Proposal]:
    """Boxes around dense rows of dark-on-light vertical strokes, at two character scales."""
    boxes: list[Proposal] = []
    for bh_w, bh_h, close_w in ((13, 5, 13), (25, 9, 21)):
        blackhat = cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, _rect(bh_w, bh_h))
        grad = np.abs(cv2.Sobel(blackhat, cv2.CV_16S, 1, 0, ksize=3))
        grad8 = cv2.convertScaleAbs(grad, alpha=255.0 / max(1, int(grad.max())))
        grad8 = cv2.GaussianBlur(grad8, (5, 5), 0)
        closed = cv2.morphologyEx(grad8, cv2.MORPH_CLOSE, _rect(close_w, 3))
        _, mask = cv2.threshold(closed, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        mask = cv2.erode(mask, _SQUARE3, iterations=1)
        mask = cv2.dilate(mask, _SQUARE3, iterations=2)
        boxes += _boxes_from_mask(mask, (1.0, 8.0))
    return boxes


def _bright_proposals(small: Image) -> list[Proposal]:
    """Boxes around bright flat regions (white and yellow plates), holes of dark characters filled."""
    _, mask = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _rect(7, 5))
    return _boxes_from_mask(mask, (1.0, 7.0))


def _boxes_from_mask(mask: Image, aspect: tuple[float, float]) -> list[Proposal]:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    height, width = mask.shape[:2]
    boxes: list[Proposal] = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if h < 6 or w < 14 or w > width * 0.6 or h > height * 0.5:
            continue
        if not aspect[0] <= w / h <= aspect[1]:
            continue
        area = cv2.contourArea(contour)
        rect = cv2.minAreaRect(contour)
        fill = area / max(rect[1][0] * rect[1][1], 1.0)
        if fill < 0.35:  # a plate's blob fills most of its box (turned with it: a tilted plate's too)
            continue
        corners = cv2.boxPoints(rect).astype(np.float32)
        boxes.append(Proposal((x, y, w, h), _order(corners), fill))
    return boxes


def _char_blobs(patch: Image) -> list[Blob]:
    """Character-sized connected components of a gray patch, dark-on-light and light-on-dark tried."""
    blobs: list[Blob] = []
    ph, pw = patch.shape[:2]
    for flag in (cv2.THRESH_BINARY_INV, cv2.THRESH_BINARY):
        _, binary = cv2.threshold(patch, 0, 255, flag | cv2.THRESH_OTSU)
        count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        for i in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[i])
            if h < MIN_CHAR_PX or h > ph * 0.95 or w > h * 2.2 or w * 8 < h:
                continue
            if x == 0 or y == 0 or x + w >= pw or y + h >= ph:  # touches the patch edge: border or background
                continue
            fill = area / (w * h)
            if not 0.12 <= fill <= 0.92:
                continue
            blobs.append(Blob(x, y, w, h))
    return blobs


def _rows(blobs: list[Blob], min_chars: int = MIN_CHARS) -> list[list[Blob]]:
    """Chains of at least ``min_chars`` neighbouring blobs of similar height: the text rows (tilted ones too)."""
    n = len(blobs)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        a = blobs[i]
        for j in range(i + 1, n):
            b = blobs[j]
            h = max(a.h, b.h)
            if abs(a.h - b.h) > 0.25 * h:
                continue
            if abs(a.cy - b.cy) > 0.5 * h:
                continue
            gap = max(a.x, b.x) - min(a.x + a.w, b.x + b.w)
            if gap > 1.1 * h or gap < -0.3 * min(a.w, b.w):  # too far apart, or overlapping (two polarities)
                continue
            parent[find(i)] = find(j)
    groups: dict[int, list[Blob]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(blobs[i])
    return [sorted(g, key=lambda b: b.x) for g in groups.values() if min_chars <= len(g) <= MAX_CHARS]


def _row_quad(row: list[Blob], ox: float, oy: float) -> tuple[Quad, float]:
    """The padded quad along a row's baseline, in frame pixels, and the row's character height."""
    centres = np.array([[b.cx, b.cy] for b in row], dtype=np.float32)
    vx, vy, _, _ = (float(v) for v in cv2.fitLine(centres, cv2.DIST_L2, 0, 0.01, 0.01).ravel())
    if vx < 0:
        vx, vy = -vx, -vy
    if abs(vy) > MAX_ROW_SLOPE * abs(vx):  # steeper: not a plate row we can trust
        vx, vy = 1.0, 0.0
    corners = np.array(
        [[b.x, b.y] for b in row]
        + [[b.x + b.w, b.y] for b in row]
        + [[b.x, b.y + b.h] for b in row]
        + [[b.x + b.w, b.y + b.h] for b in row],
        dtype=np.float32,
    )
    along = corners @ np.array([vx, vy], dtype=np.float32)
    across = corners @ np.array([-vy, vx], dtype=np.float32)
    char_h = _height(row)
    # measured across the baseline a tilted character's corners overshoot; heights come from the blobs
    a0, a1 = float(along.min()) - 0.25 * char_h, float(along.max()) + 0.25 * char_h
    mid = float(np.median(centres @ np.array([-vy, vx], dtype=np.float32)))
    c0, c1 = mid - 0.5 * char_h * ROW_HEIGHT, mid + 0.5 * char_h * ROW_HEIGHT
    del across
    u = np.array([vx, vy], dtype=np.float32)
    v = np.array([-vy, vx], dtype=np.float32)
    quad = np.array([a0 * u + c0 * v, a1 * u + c0 * v, a1 * u + c1 * v, a0 * u + c1 * v], dtype=np.float32)
    quad += np.array([ox, oy], dtype=np.float32)
    return quad, char_h


def _height(row: list[Blob]) -> float:
    return float(np.median([b.h for b in row]))


def _score(row: list[Blob]) -> float:
    """How plate-like a row of characters is: count near a plate's, even heights, even spacing."""
    heights = np.array([b.h for b in row], dtype=np.float32)
    xs = np.array([b.cx for b in row], dtype=np.float32)
    spread = float(heights.std() / heights.mean())
    gaps = np.diff(xs)
    spacing = float(gaps.std() / max(gaps.mean(), 1.0)) if len(gaps) > 1 else 0.5
    count = min(len(row), 8)
    return count - 4.0 * spread - 1.0 * min(spacing, 1.5)


def _grow(quad: Quad, fx: float, fy: float) -> Quad:
    """A quad grown by ``fx`` of its width on each side and ``fy`` of its height above and below."""
    right = (quad[1] - quad[0] + quad[2] - quad[3]) / 2
    down = (quad[3] - quad[0] + quad[2] - quad[1]) / 2
    grown = quad.copy()
    grown[0] += -fx * right - fy * down
    grown[1] += fx * right - fy * down
    grown[2] += fx * right + fy * down
    grown[3] += -fx * right + fy * down
    return grown


def _verify(gray: Image, proposal: Proposal, scale: float, source: str) -> list[PlateCandidate]:
    x, y, w, h = (v / scale for v in proposal.box)
    fh, fw = gray.shape[:2]
    # generous margins: the proposal may cover only part of the characters
    x0, y0 = max(0, int(x - 0.15 * w)), max(0, int(y - 0.35 * h))
    x1, y1 = min(fw, int(x + 1.15 * w)), min(fh, int(y + 1.35 * h))
    patch = gray[y0:y1, x0:x1]
    if patch.size == 0:
        return []
    # a two-row plate's second row may hold two characters beside a smaller region code ("WM|03"): pairs are
    # rows too, but only as the second row of a plate
    pairs_too = _rows(_char_blobs(patch), min_chars=2)
    rows = [r for r in pairs_too if len(r) >= MIN_CHARS]
    if not rows:
        # characters blurred into each other or into the plate's frame: keep the blob itself, ranked low,
        # and let OCR and the grammar judge it
        if h * 0.5 < MIN_CHAR_PX:
            return []
        plate = proposal.quad / scale
        quad = _grow(plate, 0.06, 0.12)
        # its row is the plate's own height: row_crop adds a row's margins around it, which the outline's
        # would double (the characters then fill a third of the crop's height, and more are misread)
        row = _grow(plate, 0.06, 0.0)
        short, long = sorted(float(np.linalg.norm(plate[i + 1] - plate[i])) for i in range(2))
        shape = long / max(short, 1.0)
        # most plates are one-row: a blob of their shape is read before squarer ones (lamps, windows, badges)
        score = proposal.fill + (0.5 if ONE_ROW_SHAPE[0] <= shape <= ONE_ROW_SHAPE[1] else 0.0)
        blobs = [PlateCandidate(quad, (row,), score, source + "-blob")]
        if shape < SQUARE_PLATE:  # as square as a two-row plate: also read as its two rows
            left, right = (plate[0] + plate[3]) / 2, (plate[1] + plate[2]) / 2
            top, bottom = (np.array([plate[0], plate[1], right, left]), np.array([left, right, plate[2], plate[3]]))
            halves = (_grow(top, 0.06, 0.0), _grow(bottom, 0.06, 0.0))
            blobs.append(PlateCandidate(quad, halves, score - 0.05, source + "-blob-guess"))
        return blobs
    # a plate's own characters are the biggest text on it: a dealer's frame or a sticker prints smaller, in
    # rows often more even than the plate's (whose region code stands apart)
    tallest = max(_height(r) for r in rows)
    rows = [r for r in rows if _height(r) >= SMALL_PRINT * tallest]
    rows.sort(key=_score, reverse=True)
    best = rows[0]
    chosen = [best]
    # a second row of the same plate: above or below, overlapping horizontally, similar height
    bx0, bx1 = min(b.x for b in best), max(b.x + b.w for b in best)
    bh = _height(best)
    for other in sorted((r for r in pairs_too if r is not best), key=_score, reverse=True):
        ox0, ox1 = min(b.x for b in other), max(b.x + b.w for b in other)
        oh = _height(other)
        dy = float(np.mean([b.cy for b in other]) - np.mean([b.cy for b in best]))
        overlap = min(bx1, ox1) - max(bx0, ox0)
        if overlap > 0.5 * min(bx1 - bx0, ox1 - ox0) and 0.7 < oh / bh < 1.4 and 0.9 * bh < abs(dy) < 2.0 * bh:
            chosen.append(other)
            break
    chosen.sort(key=lambda r: float(np.mean([b.cy for b in r])))
    quads = [_row_quad(r, x0, y0) for r in chosen]
    row_quads = tuple(q for q, _ in quads)
    char_h = max(c for _, c in quads)
    score = 2.0 + sum(_score(r) for r in chosen) + 0.02 * char_h
    found = [PlateCandidate(_outline(row_quads, char_h), row_quads, score, source)]
    if len(chosen) == 1 and len(best) <= SHORT_ROW:
        # no plate's single row is this short: it is a two-row plate's row whose partner blur, dirt or tilt
        # broke into pieces; the partner is guessed one row pitch below (the big top row is the one usually
        # found), else above, and read after the row alone
        row = row_quads[0]
        down = (row[3] - row[0] + row[2] - row[1]) / 2 / ROW_HEIGHT * TWO_ROW_PITCH
        for i, pair in enumerate(((row, row + down), (row - down, row))):
            found.append(PlateCandidate(_outline(pair, char_h), pair, score - 0.5 * (i + 1), source + "-guess"))
    return found


def _outline(rows: tuple[Quad, ...], char_h: float) -> Quad:
    """The plate's outline estimated from its text rows: the text area grown by a plate's margins."""
    top, bottom = rows[0], rows[-1]
    quad = np.array([top[0], top[1], bottom[2], bottom[3]], dtype=np.float32)
    right = quad[1] - quad[0]
    right /= max(float(np.linalg.norm(right)), 1e-6)
    down = np.array([-right[1], right[0]], dtype=np.float32)
    grow_x, grow_y = 0.3 * char_h, 0.25 * char_h
    quad[0] += -grow_x * right - grow_y * down
    quad[1] += grow_x * right - grow_y * down
    quad[2] += grow_x * right + grow_y * down
    quad[3] += -grow_x * right + grow_y * down
    return quad


def _iou(a: Quad, b: Quad) -> float:
    ax0, ay0 = a.min(axis=0)
    ax1, ay1 = a.max(axis=0)
    bx0, by0 = b.min(axis=0)
    bx1, by1 = b.max(axis=0)
    iw = max(0.0, float(min(ax1, bx1) - max(ax0, bx0)))
    ih = max(0.0, float(min(ay1, by1) - max(ay0, by0)))
    inter = iw * ih
    union = float((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0)) - inter
    return inter / union if union > 0 else 0.0


def _same_reading(a: PlateCandidate, b: PlateCandidate) -> bool:
    """Two candidates the recogniser would read alike: one layout over the same place (one row: the same
    outline; two rows: the same rows, so a row's partner guessed below and above are two readings)."""
    if a.two_row != b.two_row:
        return False
    pairs = zip(a.rows, b.rows, strict=True) if a.two_row else ((a.quad, b.quad),)
    return all(_iou(p, q) >= 0.3 for p, q in pairs)


def find_plates(frame: Image, max_candidates: int = 5) -> list[PlateCandidate]:
    """Plate candidates in a BGR or gray frame, best first, at most ``max_candidates``."""
    gray = to_gray(frame)
    fh, fw = gray.shape[:2]
    scale = PROPOSAL_WIDTH / fw if fw > PROPOSAL_WIDTH else 1.0
    small = (
        cv2.resize(gray, (round(fw * scale), round(fh * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else gray
    )
    proposals = [(p, "edges") for p in _edge_proposals(small)] + [(p, "bright") for p in _bright_proposals(small)]
    # a busy scene (foliage, grilles) makes many blobs: verify only the fullest, plate-sized ones
    proposals.sort(key=lambda ps: ps[0].fill, reverse=True)
    candidates: list[PlateCandidate] = []
    for proposal, source in proposals[:MAX_PROPOSALS]:
        candidates += _verify(gray, proposal, scale, source)
    candidates.sort(key=lambda c: c.score, reverse=True)
    kept: list[PlateCandidate] = []
    for candidate in candidates:  # the same plate found by several proposals is read once (as each layout)
        if not any(_same_reading(candidate, k) for k in kept):
            kept.append(candidate)
        if sum(not k.guessed for k in kept) == max_candidates:  # a guessed layout is no further place to read
            break
    return kept


# headlight glare washes a plate out to grey characters on white, and motion blur smears them grey: the
# frame's strongest edges (lamps, the car's outline) then set every threshold, and the plate's are too faint
# for any. Equalising contrast tile by tile (CLAHE: tiles of 80 × 45 px on a 1280 × 720 frame, about one
# plate's height) lifts them; contrast is capped so flat road and sky do not turn to noise.
EQUALISE_CLIP = 3.0
EQUALISE_TILES = 16


def equalise(frame: Image) -> Image:
    """The frame in gray with its contrast equalised tile by tile: where washed-out or smeared plates show
    (``PlateReader`` looks again on it when the frame itself gave no sure read)."""
    equalised: Image = cv2.createCLAHE(EQUALISE_CLIP, (EQUALISE_TILES, EQUALISE_TILES)).apply(to_gray(frame))
    return equalised


def rectify(frame: Image, quad: Quad, height: int = CROP_HEIGHT) -> Image:
    """The quad's content warped to an upright gray crop ``height`` pixels high (width keeps the aspect)."""
    gray = to_gray(frame)
    top = float(np.linalg.norm(quad[1] - quad[0]))
    side = float(np.linalg.norm(quad[3] - quad[0]))
    width = max(8, round(height * top / max(side, 1.0)))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    crop: Image = cv2.warpPerspective(
        gray, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return crop


def _areas(a: Quad, b: Quad) -> tuple[float, float, float]:
    """The areas of two quads (as polygons) and of their intersection."""
    pa, pb = a.astype(np.float32).reshape(-1, 1, 2), b.astype(np.float32).reshape(-1, 1, 2)
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    return abs(cv2.contourArea(pa)), abs(cv2.contourArea(pb)), float(inter)


def quad_iou(a: Quad, b: Quad) -> float:
    """Intersection over union of two quads (as polygons)."""
    area_a, area_b, inter = _areas(a, b)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def quad_overlap(a: Quad, b: Quad) -> float:
    """The share of the smaller quad that lies inside the other (1.0: one holds the other)."""
    area_a, area_b, inter = _areas(a, b)
    smaller = min(area_a, area_b)
    return inter / smaller if smaller > 0 else 0.0


def clean_crop(crop: Image) -> Image:
    """The crop with plate furniture painted out: columns dark from top to bottom (the region divider, the
    region box's sides, the plate's edge) are no character, yet OCR reads them as I, J, 1 or L."""
    _, binary = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    h = crop.shape[0]
    core = binary[int(0.02 * h) : int(0.98 * h)]  # characters never span the crop's full height
    dark = np.count_nonzero(core, axis=0) / max(core.shape[0], 1)
    lines = dark > 0.97
    if not lines.any():
        return crop
    paper = int(np.percentile(crop, 90))
    cleaned = crop.copy()
    cols = np.flatnonzero(lines)
    for c in cols:  # one pixel either side: a line's anti-aliased edge would still read as a stroke
        cleaned[:, max(0, c - 1) : c + 2] = paper
    return cleaned


CHAR_CROP_HEIGHT = 80  # px a row is straightened to before its characters are picked out
ROW_SPAN = 1.8  # rows straightened this many character heights high (region digits sit higher on some)
LIGHT_ON_DARK_SHARE = 0.65  # of the row's middle dark: the plate is light characters on a dark ground
# and this many character heights beyond the row's ends, for region codes the row missed: a Russian row found
# as its digits alone ends more than 2.5 character heights short of its three-digit region's end (at 2.5 the
# plate-trained recogniser read "Y011OH299" as "Y011OH28"); EasyOCR's cut crops keep the reach they were tuned at
ROW_REACH = 3.5
CUT_REACH = 2.5


def _upright(gray: Image) -> tuple[Image, Image, bool]:
    """A straightened row with its slant undone, its ink binarised (white on black), and whether the plate
    is light-on-dark.

    The threshold and the polarity come from the middle of the row (characters and the plate between them),
    not from the margins, where the car's body or the night sky would drag Otsu's split away from the plate;
    the plate's paper is the clear majority there, so the ink is dark unless most of the middle is dark (a
    plate frame's emblem or a coloured band can darken nearly half of a light plate's middle)."""
    h, w = gray.shape[:2]
    core = gray[int(0.3 * h) : int(0.7 * h), int(0.2 * w) : int(0.8 * w)]
    level, _ = cv2.threshold(core, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    light_on_dark = float(np.mean(core <= level)) > LIGHT_ON_DARK_SHARE
    _, binary = cv2.threshold(gray, level, 255, cv2.THRESH_BINARY if light_on_dark else cv2.THRESH_BINARY_INV)
    shear = _slant(binary)
    if shear:
        gray, binary = _unslant(gray, shear), _unslant(binary, shear)
    return gray, binary, light_on_dark


def _ink(gray: Image, char_px: float) -> tuple[Image, Image, Image, bool, float]:
    """The row upright, its character ink (white on black) with the plate's straight lines taken out, the
    lines themselves, whether the plate is light-on-dark, and the tallest characters' height."""
    gray, binary, light_on_dark = _upright(gray)
    h = gray.shape[0]
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    heights = [
        int(st[3])
        for st in stats[1:count]
        if 0.55 * char_px <= st[3] <= 1.4 * char_px and st[2] < st[3] and abs(st[1] + st[3] / 2 - h / 2) < 0.5 * char_px
    ]
    # the tallest characters set the bar for lines: Russian digits stand taller than their letters
    char_h = float(np.percentile(heights, 80)) if heights else char_px
    lines = _lines(binary, char_h)
    ink: Image = cv2.bitwise_and(binary, cv2.bitwise_not(lines))
    return gray, ink, lines, light_on_dark, char_h


_SHEARS = np.tan(np.radians(np.arange(-24, 25, 3)))


def _slant(binary: Image) -> float:
    """The horizontal shear that makes the row's strokes upright (a car seen at an angle slants its
    characters and the region box's sides): the one whose column profile of ink is the most peaked."""
    h = binary.shape[0]
    small = (binary > 0).astype(np.float32)
    scores = []
    for shear in _SHEARS:
        matrix = np.array([[1.0, shear, -shear * h / 2], [0.0, 1.0, 0.0]], dtype=np.float32)
        warped = cv2.warpAffine(small, matrix, (small.shape[1], h), flags=cv2.INTER_NEAREST)
        scores.append(float(np.square(warped.sum(axis=0)).sum()))
    best = int(np.argmax(scores))
    upright = len(_SHEARS) // 2
    # no slant unless another shear is clearly better: an upright row's profile barely changes near zero
    return 0.0 if scores[upright] * 1.03 >= scores[best] else float(_SHEARS[best])


def _unslant(image: Image, shear: float) -> Image:
    h, w = image.shape[:2]
    matrix = np.array([[1.0, shear, -shear * h / 2], [0.0, 1.0, 0.0]], dtype=np.float32)
    out: Image = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out


def _lines(binary: Image, char_h: float) -> Image:
    """The plate's straight lines in a binarised row: horizontal runs longer than any character is wide and
    vertical runs taller than the characters (the region box, the divider, the rim), grown by a pixel."""
    horizontal = cv2.morphologyEx(binary, cv2.MORPH_OPEN, _rect(round(2.0 * char_h), 1))
    vertical = cv2.morphologyEx(binary, cv2.MORPH_OPEN, _rect(1, round(1.15 * char_h) + 1))
    lines: Image = cv2.dilate(cv2.bitwise_or(horizontal, vertical), _SQUARE3)
    return lines


def _wide_row(frame: Image, row: Quad, reach: float) -> Image:
    """A row straightened ``ROW_SPAN`` character heights high and ``reach`` character heights beyond
    either end."""
    side = float(np.linalg.norm(row[3] - row[0]))
    row_char = side / ROW_HEIGHT
    grow_y = (ROW_SPAN / ROW_HEIGHT - 1.0) / 2
    grow_x = reach * row_char / max(float(np.linalg.norm(row[1] - row[0])), 1.0)
    return rectify(frame, _grow(row, grow_x, grow_y), CHAR_CROP_HEIGHT)


def row_crop(frame: Image, row: Quad) -> Image:
    """A whole row as the plate-trained recogniser reads it: straightened with room for region codes the
    row's quad missed, its slant undone, a plate that is mostly dark turned light; nothing cut or painted.
    Cutting at the first and last character-sized mark drops the first character or the region code when
    blur or dirt merges them into the plate's edge, and the recogniser learned to pass over plate lines."""
    gray, _, light_on_dark = _upright(_wide_row(frame, row, ROW_REACH))
    return 255 - gray if light_on_dark else gray


def char_crop(frame: Image, row: Quad) -> Image:
    """A row's characters for a general text recogniser (EasyOCR's): straightened, cut from the first to the
    last character-sized mark (region codes the row's quad missed included), with the plate's straight
    lines and marks far smaller than a character (flag band text, bolts) painted over with the plate's
    paper, which such a recogniser reads as I, 1 or L. Nothing else is removed: blur or dirt can merge
    characters into one blob, and the recogniser reads such a blob better than a mask would keep it.
    Falls back to ``clean_crop`` of the row when no character stands out."""
    wide = _wide_row(frame, row, CUT_REACH)
    px = CHAR_CROP_HEIGHT / ROW_SPAN
    wide, ink, lines, light_on_dark, char_h = _ink(wide, px)
    if light_on_dark:  # the recogniser expects dark characters on a light plate
        wide = 255 - wide
    h = wide.shape[0]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = np.zeros(count, dtype=bool)
    for i in range(1, count):
        _x, y, cw, ch, _area = (int(v) for v in stats[i])
        if ch < 0.4 * char_h or ch > 1.6 * char_h or cw > 8 * char_h:
            continue  # flag text, bolts, dirt specks; or the car around the plate
        if abs(y + ch / 2 - h / 2) > 0.6 * char_h:
            continue  # off the row's line
        keep[i] = True
    kept = np.flatnonzero(keep)
    if len(kept) == 0:
        return clean_crop(rectify(frame, row))
    x0 = int(min(stats[i][0] for i in kept))
    x1 = int(max(stats[i][0] + stats[i][2] for i in kept))
    mx = int(0.3 * px)
    x0, x1 = max(0, x0 - mx), min(wide.shape[1], x1 + mx)
    crop = wide[:, x0:x1].copy()
    paper = int(np.percentile(crop, 85))
    junk = (lines[:, x0:x1] > 0) | ((labels[:, x0:x1] > 0) & ~keep[labels[:, x0:x1]])
    crop[junk] = paper
    return crop
