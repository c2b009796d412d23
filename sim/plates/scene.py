"""A gate camera's frame of a car at a vehicle lane: road, background, the car, its plate, the optics.

``render_car_frame`` draws every random choice from the caller's generator, so the same generator
state gives the same frame byte for byte. The order follows the physics: the world (road, other cars,
the car), then the light (night/IR, headlights' glare, exposure), then the optics (defocus, the car's
motion), then the sensor (noise) and the encoder (JPEG).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from sim.errors import RenderError
from sim.plates.car import CarStyle, View, draw_car, outline_mm, sample_style
from sim.plates.conditions import Condition, sample_condition
from sim.plates.formats import FORMATS, PlateFormat, plate_format, random_plate
from sim.plates.glyphs import draw_row
from sim.plates.plate import draw_plate, plate_size_mm, text_zones

WIDTH, HEIGHT = 1280, 720
Frame = np.ndarray  # HEIGHT × WIDTH × 3, uint8, BGR
Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]
_MARGIN = 6.0  # the plate's quad stays this far inside the frame


@dataclass(frozen=True)
class OtherPlate:
    """A plate of another car in view (fully visible, smaller)."""

    text: str
    country: str
    format: str
    quad: Quad


@dataclass(frozen=True)
class PlateTruth:
    """What a frame shows: the main car's plate and where it is, and the conditions it was seen in."""

    text: str  # normalised
    country: str
    format: str
    quad: Quad  # the plate's outer corners in the frame: top-left, top-right, bottom-right, bottom-left
    condition: Condition
    rows: int = 1  # 2 for a two-row (motorcycle, square) plate
    others: tuple[OtherPlate, ...] = ()

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """The plate's axis-aligned bounding box in the frame: x, y, width, height."""
        return _bbox(self.quad)


def _bbox(quad: Quad) -> tuple[int, int, int, int]:
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    x0, y0 = math.floor(min(xs)), math.floor(min(ys))
    return x0, y0, math.ceil(max(xs)) - x0, math.ceil(max(ys)) - y0


def _as_quad(points: np.ndarray) -> Quad:
    p = [(float(x), float(y)) for x, y in points]
    return (p[0], p[1], p[2], p[3])


# --- background ------------------------------------------------------------------------------------------


def _background(rng: np.random.Generator) -> tuple[Frame, int]:
    """Sky, a tree line or buildings, the road with its markings, a booth; returns the frame and the horizon."""
    horizon = int(rng.uniform(0.2, 0.38) * HEIGHT)
    sky_top = rng.integers(150, 235, size=3)
    sky_low = np.clip(sky_top + rng.integers(0, 30, size=3), 0, 255)
    road_far = int(rng.integers(85, 140))
    road_near = int(np.clip(road_far + rng.integers(-30, 20), 50, 170))
    tint = rng.integers(-6, 7, size=3)
    column = np.zeros((HEIGHT, 1, 3), dtype=np.float32)
    t = np.linspace(0.0, 1.0, horizon, dtype=np.float32)[:, None]
    column[:horizon, 0] = sky_top * (1 - t) + sky_low * t
    t = np.linspace(0.0, 1.0, HEIGHT - horizon, dtype=np.float32)[:, None]
    road = np.array([road_far, road_far, road_far], dtype=np.float32) + tint
    column[horizon:, 0] = road * (1 - t) + (np.array([road_near] * 3, dtype=np.float32) + tint) * t
    # widening a one-pixel column is far faster than broadcasting and copying
    frame = cv2.resize(np.clip(column, 0, 255).astype(np.uint8), (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST)
    # tree line or buildings on the horizon
    green = (int(rng.integers(30, 70)), int(rng.integers(60, 110)), int(rng.integers(40, 80)))
    xs = np.linspace(0, WIDTH, 24)
    tops = horizon - rng.uniform(10, 90, size=len(xs))
    hills = np.array([(0, horizon + 2), *zip(xs, tops, strict=True), (WIDTH, horizon + 2)], dtype=np.int32)
    cv2.fillPoly(frame, [hills], green, cv2.LINE_AA)
    for _ in range(int(rng.integers(0, 4))):
        x = int(rng.integers(0, WIDTH - 80))
        w, h = int(rng.integers(60, 240)), int(rng.integers(30, 140))
        grey = int(rng.integers(110, 220))
        cv2.rectangle(frame, (x, horizon - h), (x + w, horizon), (grey, grey, grey - 10), -1)
        for wy in range(horizon - h + 10, horizon - 12, 22):  # windows
            cv2.line(frame, (x + 8, wy), (x + w - 8, wy), (grey // 2, grey // 2, grey // 2), 4)
    # lane edges and dashed centre line converging on a vanishing point
    vx = WIDTH / 2 + rng.uniform(-200, 200)
    for bottom_x, dashed in ((-200.0, False), (WIDTH + 200.0, False), (WIDTH / 2 + rng.uniform(-500, 500), True)):
        steps = 14 if dashed else 1
        for i in range(steps):
            if dashed and i % 2:
                continue
            a, b = i / steps, (i + 1) / steps
            p0 = (int(vx + (bottom_x - vx) * a), int(horizon + (HEIGHT - horizon) * a))
            p1 = (int(vx + (bottom_x - vx) * b), int(horizon + (HEIGHT - horizon) * b))
            cv2.line(frame, p0, p1, (215, 215, 215), max(1, int(8 * b)), cv2.LINE_AA)
    # the ranger's booth and the barrier's post at one side
    side = WIDTH - 130 if rng.random() < 0.5 else 20
    booth_grey = int(rng.integers(150, 230))
    cv2.rectangle(
        frame, (side, horizon - 170), (side + 110, horizon + 60), (booth_grey, booth_grey, booth_grey - 20), -1
    )
    cv2.rectangle(frame, (side + 15, horizon - 140), (side + 95, horizon - 60), (90, 70, 50), -1)
    return frame, horizon


# --- plate face ------------------------------------------------------------------------------------------


def _dirty(face: np.ndarray, kind: str, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Mud splashes (mostly low) or snow (mostly on the top edge) covering about ``amount`` of the face."""
    h, w = face.shape[:2]
    overlay = face.copy()
    mask = np.zeros((h, w), dtype=np.uint8)
    covered_target = amount * h * w
    covered = 0.0
    color = (int(rng.integers(30, 60)), int(rng.integers(60, 90)), int(rng.integers(85, 120)))
    if kind == "snow":
        color = (236, 238, 240)
    while covered < covered_target:
        r = float(rng.uniform(4.0, 16.0))
        if kind == "snow":
            cx, cy = float(rng.uniform(0, w)), float(abs(rng.normal(0.0, h * 0.25)))
        else:
            cx, cy = float(rng.uniform(0, w)), float(h - abs(rng.normal(0.0, h * 0.35)))
        axes = (int(r * rng.uniform(0.7, 2.2)), int(r))
        cv2.ellipse(mask, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1, cv2.LINE_AA)
        covered += math.pi * axes[0] * axes[1] * 0.8
    overlay[:] = color
    alpha = mask.astype(np.float32)[..., None] / 255.0 * float(rng.uniform(0.65, 0.9))
    dirty: np.ndarray = (face * (1 - alpha) + overlay * alpha).astype(np.uint8)
    return dirty


def _framed(face: np.ndarray, text: str, rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """The face inside a dealer's frame with its name on the bottom bar; returns it and the face's offset."""
    h, w = face.shape[:2]
    side, top, bottom = 10, 10, 30
    frame_color = (20, 20, 22) if rng.random() < 0.7 else (185, 185, 190)
    letter_color = (235, 235, 235) if frame_color[0] < 100 else (30, 30, 30)
    out = np.empty((h + top + bottom, w + 2 * side, 3), dtype=np.uint8)
    out[:] = frame_color
    out[top : top + h, side : side + w] = face
    letters = tuple(text.split())
    draw_row(out, letters, (side, top + h + 5, side + w, top + h + bottom - 3), 16, letter_color)
    return out, side, top


def _night_face(face: np.ndarray) -> np.ndarray:
    """A retro-reflective plate under the camera's infrared lamp: grey, the white ground saturated."""
    grey = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    lifted = cv2.convertScaleAbs(grey, alpha=1.6, beta=20.0)
    return cv2.cvtColor(lifted, cv2.COLOR_GRAY2BGR)


def _paste_face(frame: Frame, face: np.ndarray, view: View, face_mm: tuple[float, float, float, float]) -> None:
    """Warp ``face`` (covering ``face_mm`` = x0, y0, x1, y1 on the plate's plane) into ``frame`` in place."""
    x0, y0, x1, y1 = face_mm
    target = view.project(np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], dtype=np.float64))
    width_px = float(np.linalg.norm(target[1] - target[0]))
    # shrink the face close to its final size first: a warp that shrinks a lot aliases
    k = min(1.0, 1.3 * width_px / face.shape[1])
    if k < 1.0:
        face = cv2.resize(
            face, (max(2, round(face.shape[1] * k)), max(2, round(face.shape[0] * k))), interpolation=cv2.INTER_AREA
        )
    h, w = face.shape[:2]
    source = np.array([(0, 0), (w, 0), (w, h), (0, h)], dtype=np.float32)
    bx0, by0 = max(0, math.floor(target[:, 0].min()) - 1), max(0, math.floor(target[:, 1].min()) - 1)
    bx1, by1 = min(WIDTH, math.ceil(target[:, 0].max()) + 2), min(HEIGHT, math.ceil(target[:, 1].max()) + 2)
    if bx0 >= bx1 or by0 >= by1:
        return
    homography = cv2.getPerspectiveTransform(source, (target - (bx0, by0)).astype(np.float32))
    roi = np.ascontiguousarray(frame[by0:by1, bx0:bx1])
    cv2.warpPerspective(
        face, homography, (bx1 - bx0, by1 - by0), dst=roi, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT
    )
    frame[by0:by1, bx0:bx1] = roi


# --- optics ----------------------------------------------------------------------------------------------


def _glare(frame: Frame, spots: list[tuple[float, float]], radius: float, strength: float) -> None:
    """Headlights blooming into the lens: soft bright discs added in place."""
    scale = 8  # a blurred blob needs no detail: draw it small and blow it up
    small = np.zeros((HEIGHT // scale, WIDTH // scale), dtype=np.float32)
    for x, y in spots:
        cv2.circle(small, (int(x / scale), int(y / scale)), max(1, int(radius / scale)), 1.0, -1)
    soft = cv2.GaussianBlur(small, (0, 0), max(1.0, radius / scale / 2))
    peak = float(soft.max())
    if peak <= 0.0:
        return
    spot = cv2.resize(cv2.convertScaleAbs(soft, alpha=strength / peak), (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
    cv2.add(frame, cv2.merge([spot, spot, spot]), dst=frame)


@lru_cache(maxsize=64)
def _motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    size = max(3, math.ceil(length) | 1)
    kernel = np.zeros((size, size), dtype=np.float32)
    c = size // 2
    dx, dy = math.cos(math.radians(angle_deg)) * length / 2, math.sin(math.radians(angle_deg)) * length / 2
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    kernel /= max(float(kernel.sum()), 1e-6)
    return kernel


_NOISE_MARGIN = 61
_NOISE_SCALE = 32.0


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """Fixed sensor noise; frames take a shifted window of it (far faster than drawing anew)."""
    bank = np.random.default_rng(0x51A7E).normal(
        128.0, _NOISE_SCALE, size=(HEIGHT + _NOISE_MARGIN, WIDTH + _NOISE_MARGIN)
    )
    result = np.clip(bank, 0, 255).astype(np.uint8)
    result.setflags(write=False)
    return result


# --- the frame -------------------------------------------------------------------------------------------


def _place(rng: np.random.Generator, cond: Condition, size_mm: tuple[int, int]) -> View:
    """The main car's view: the plate head-on ``cond.plate_width_px`` wide, somewhere in the lower frame."""
    scale = cond.plate_width_px / 520.0  # plate widths are quoted for a standard 520 mm plate
    view = View(
        scale,
        cond.yaw_deg,
        cond.pitch_deg,
        cond.roll_deg,
        (float(rng.uniform(0.3, 0.7) * WIDTH), float(rng.uniform(0.5, 0.82) * HEIGHT)),
    )
    w, h = size_mm
    quad = view.project(np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]))
    # keep the whole plate (and a dealer frame) in view
    pad = _MARGIN + 40 * scale
    dx = max(0.0, pad - quad[:, 0].min()) - max(0.0, quad[:, 0].max() - (WIDTH - pad))
    dy = max(0.0, pad - quad[:, 1].min()) - max(0.0, quad[:, 1].max() - (HEIGHT - pad))
    return view.moved(dx, dy)


def _car_bbox(view: View, style: CarStyle) -> tuple[float, float, float, float]:
    corners = view.project(outline_mm(style))
    return (
        float(corners[:, 0].min()),
        float(corners[:, 1].min()),
        float(corners[:, 0].max()),
        float(corners[:, 1].max()),
    )


def _inside(quad: np.ndarray) -> bool:
    return bool(
        quad[:, 0].min() >= _MARGIN
        and quad[:, 1].min() >= _MARGIN
        and quad[:, 0].max() <= WIDTH - _MARGIN
        and quad[:, 1].max() <= HEIGHT - _MARGIN
    )


def _face_for(text: str, fmt: PlateFormat, night: bool) -> np.ndarray:
    face = draw_plate(text, fmt)
    return _night_face(face) if night else face


def _plate_corners_mm(size_mm: tuple[int, int]) -> np.ndarray:
    w, h = size_mm
    return np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)], dtype=np.float64)


def render_car_frame(
    plate_text: str,
    rng: np.random.Generator,
    country: str = "KZ",
    fmt: str = "kz_2012",
    condition: str | Condition = "day",
    rows: int | None = None,
) -> tuple[Frame, PlateTruth]:
    """A 1280×720 BGR uint8 frame of a car showing ``plate_text`` at a gate, and the truth about it.

    ``condition`` is a name from ``CONDITIONS`` (its parameters are drawn from ``rng``) or a ready
    ``Condition``. The text may carry spaces or lower case; it must fit the format's grammar (``fmt`` is a
    ``protocol.plates`` format id). ``rows`` 2 draws a two-row plate (motorcycles, square mounts); the
    default is how the format is usually made.
    """
    chosen = plate_format(country, fmt)
    rows = chosen.rows if rows is None else rows
    size_mm = plate_size_mm(rows)
    text = "".join(plate_text.split()).upper()
    if not chosen.matches(text):
        raise RenderError(f"{plate_text!r} is not a valid {fmt} plate (pattern {chosen.pattern})")
    cond = condition if isinstance(condition, Condition) else sample_condition(rng, condition)
    frame, horizon = _background(rng)
    view = _place(rng, cond, size_mm)
    style = sample_style(rng)
    main_box = _car_bbox(view, style)

    # other cars further away, drawn first so the main car hides them where they overlap
    pending: list[tuple[np.ndarray, View, tuple[float, float, float, float]]] = []
    others: list[OtherPlate] = []
    for _ in range(cond.other_cars):
        o_text, o_fmt_id = random_plate(rng, "KZ" if rng.random() < 0.8 else "RU")
        o_fmt = FORMATS[o_fmt_id]
        o_scale = view.scale * float(rng.uniform(0.3, 0.55))
        o_view = View(
            o_scale,
            float(rng.uniform(-15, 15)),
            float(rng.uniform(0, 8)),
            float(rng.uniform(-3, 3)),
            (float(rng.uniform(0.06, 0.94) * WIDTH), float(horizon + rng.uniform(0.7, 1.6) * 450 * o_scale)),
        )
        o_style = sample_style(rng)
        o_size = plate_size_mm(o_fmt.rows)
        w, h = o_size
        draw_car(frame, o_view, o_style, o_size)
        quad = o_view.project(_plate_corners_mm(o_size))
        pending.append((_face_for(o_text, o_fmt, cond.night), o_view, (-w / 2, -h / 2, w / 2, h / 2)))
        x0, y0, x1, y1 = main_box
        hidden = quad[:, 0].max() >= x0 and quad[:, 0].min() <= x1 and quad[:, 1].max() >= y0 and quad[:, 1].min() <= y1
        if _inside(quad) and not hidden:
            others.append(OtherPlate(o_text, o_fmt.country, o_fmt.id, _as_quad(quad)))

    w, h = size_mm
    lights = draw_car(frame, view, style, (w, h))
    if cond.night:  # infrared: a grey picture, dark beyond the lamp's reach
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        frame = cv2.cvtColor(cv2.convertScaleAbs(grey, alpha=float(rng.uniform(0.15, 0.35))), cv2.COLOR_GRAY2BGR)
    for face, o_view, face_mm in pending:  # (the main car may cover these)
        _paste_face(frame, face, o_view, face_mm)
    # the main car is drawn over the others, so repaint it above them before its plate
    if pending:
        car_layer = frame.copy()
        draw_car(car_layer, view, style, (w, h))
        if cond.night:
            car_layer = cv2.cvtColor(
                cv2.convertScaleAbs(cv2.cvtColor(car_layer, cv2.COLOR_BGR2GRAY), alpha=0.25), cv2.COLOR_GRAY2BGR
            )
        mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
        body = view.project(outline_mm(style))
        cv2.fillPoly(mask, [np.round(body).astype(np.int32)], 255)
        cv2.copyTo(car_layer, mask, frame)

    face = draw_plate(text, chosen, rows)
    if cond.dirt is not None:
        face = _dirty(face, cond.dirt, cond.dirt_amount, rng)
    face_mm = (-w / 2, -h / 2, w / 2, h / 2)
    if cond.frame_text is not None:
        face, ox, oy = _framed(face, cond.frame_text, rng)
        face_mm = (-w / 2 - ox, -h / 2 - oy, -w / 2 - ox + face.shape[1], -h / 2 - oy + face.shape[0])
    if cond.night:
        face = _night_face(face)
    _paste_face(frame, face, view, face_mm)
    quad = view.project(_plate_corners_mm(size_mm))

    if cond.night:
        lights_radius = view.scale * 140
        _glare(frame, lights, lights_radius, 200.0)
    if cond.glare > 0:
        spots = (
            lights
            if rng.random() < 0.6
            else [*lights, (float(quad[:, 0].mean() + rng.normal(0, 60)), float(quad[:, 1].mean() + rng.normal(0, 30)))]
        )
        _glare(frame, spots, view.scale * float(rng.uniform(250, 500)), cond.glare)
    if cond.exposure != 1.0:
        frame = cv2.convertScaleAbs(frame, alpha=cond.exposure)
    if cond.blur_sigma > 0.2:
        frame = cv2.GaussianBlur(frame, (0, 0), cond.blur_sigma)
    if cond.motion_px >= 1.0:  # only the car moves: blur its box
        x0, y0, x1, y1 = (int(v) for v in main_box)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(WIDTH, x1), min(HEIGHT, y1)
        if x1 > x0 and y1 > y0:
            frame[y0:y1, x0:x1] = cv2.filter2D(frame[y0:y1, x0:x1], -1, _motion_kernel(cond.motion_px, cond.motion_deg))
    if cond.noise_sigma > 0:
        ox, oy = int(rng.integers(0, _NOISE_MARGIN)), int(rng.integers(0, _NOISE_MARGIN))
        noise = _noise_bank()[oy : oy + HEIGHT, ox : ox + WIDTH]
        k = cond.noise_sigma / _NOISE_SCALE
        frame = cv2.addWeighted(frame, 1.0, cv2.merge([noise, noise, noise]), k, -128.0 * k)
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, cond.jpeg_quality])
    if not ok:
        raise RenderError("JPEG encoding failed")
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RenderError("JPEG decoding failed")
    truth = PlateTruth(text, chosen.country, chosen.id, _as_quad(quad), cond, rows, tuple(others))
    return np.ascontiguousarray(decoded), truth


def text_zone_quads(truth: PlateTruth) -> tuple[tuple[str, Quad], ...]:
    """Each zone of characters on the truth's plate (main group, region box, rows) and its quad in the frame.

    For tests and debugging of a reader: which characters stand where, without the flag band.
    """
    fmt = FORMATS[truth.format]
    w, h = plate_size_mm(truth.rows)
    to_frame = cv2.getPerspectiveTransform(
        np.array([(0, 0), (w, 0), (w, h), (0, h)], dtype=np.float32), np.array(truth.quad, dtype=np.float32)
    )
    zones = []
    for chars, (x0, y0, x1, y1) in text_zones(truth.text, fmt, truth.rows):
        box = np.array([[(x0, y0), (x1, y0), (x1, y1), (x0, y1)]], dtype=np.float64)
        zones.append((chars, _as_quad(cv2.perspectiveTransform(box, to_frame)[0])))
    return tuple(zones)
