"""Synthetic camera frames: a permit's QR on a phone screen or a printed page, as a gate camera sees it.

A frame is made in two steps so that a camera can show one presentation over several frames:
``sample_scene`` draws every random choice (background, carrier, pose, optics) into a ``Scene``, and
``render_scene`` turns a scene and a QR text into pixels. ``Scene.moved`` nudges a scene the way a hand
moves between two frames at 15 fps. The pipeline follows what a real camera does to the picture: the
carrier is placed in the world (scale, rotation, perspective), then the lens and sensor act on the whole
frame (glare, exposure, defocus or motion blur, noise), and last the camera compresses it (JPEG).

Everything random comes from the caller's ``numpy.random.Generator``: the same generator state gives
the same frame, byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import cv2
import numpy as np
import qrcode
import qrcode.constants

from sim.errors import RenderError

WIDTH, HEIGHT = 1280, 720
QUIET_ZONE = 4  # modules of light margin the QR standard asks for
Style = Literal["phone", "paper"]
Frame = np.ndarray  # HEIGHT × WIDTH × 3, uint8, BGR


@dataclass(frozen=True)
class Difficulty:
    """Ranges the scene parameters are drawn from."""

    module_px: tuple[float, float]  # size of one QR module in the frame, pixels
    rotation_deg: float  # ± in-plane rotation
    perspective: float  # corner jitter as a fraction of the QR's size
    blur_sigma: tuple[float, float]  # defocus, as a fraction of the module size
    motion_px: tuple[float, float]  # motion blur length, as a fraction of the module size
    motion_chance: float
    noise_sigma: tuple[float, float]  # grey levels
    glare_chance: float
    glare_strength: tuple[float, float]  # grey levels added at the glare's centre
    contrast: tuple[float, float]
    brightness: tuple[float, float]
    jpeg_quality: tuple[int, int]


DIFFICULTIES: dict[str, Difficulty] = {
    "easy": Difficulty(
        module_px=(4.0, 8.0),
        rotation_deg=10.0,
        perspective=0.03,
        blur_sigma=(0.0, 0.2),
        motion_px=(0.0, 0.3),
        motion_chance=0.1,
        noise_sigma=(1.0, 3.0),
        glare_chance=0.2,
        glare_strength=(20.0, 50.0),
        contrast=(0.9, 1.1),
        brightness=(-10.0, 10.0),
        jpeg_quality=(85, 95),
    ),
    "default": Difficulty(
        module_px=(2.5, 8.0),
        rotation_deg=30.0,
        perspective=0.08,
        blur_sigma=(0.0, 0.35),
        motion_px=(0.0, 0.6),
        motion_chance=0.25,
        noise_sigma=(1.5, 6.0),
        glare_chance=0.5,
        glare_strength=(30.0, 90.0),
        contrast=(0.7, 1.15),
        brightness=(-25.0, 20.0),
        jpeg_quality=(60, 92),
    ),
    "hard": Difficulty(
        module_px=(2.4, 8.0),
        rotation_deg=45.0,
        perspective=0.12,
        blur_sigma=(0.1, 0.5),
        motion_px=(0.0, 1.0),
        motion_chance=0.4,
        noise_sigma=(3.0, 10.0),
        glare_chance=0.8,
        glare_strength=(50.0, 150.0),
        contrast=(0.5, 1.2),
        brightness=(-45.0, 30.0),
        jpeg_quality=(35, 80),
    ),
}


@dataclass(frozen=True)
class Blob:
    """A filled ellipse of the background: clutter or a part of a person."""

    center: tuple[int, int]
    axes: tuple[int, int]
    angle: float
    color: tuple[int, int, int]


@dataclass(frozen=True)
class Scene:
    """Every random choice of one frame; ``render_scene`` is a pure function of it and the QR text."""

    style: Style
    corners: tuple[tuple[float, float], ...]  # quiet-zone-inclusive QR square, TL TR BR BL, frame pixels
    background: tuple[tuple[int, int, int], ...]  # gradient colours at the four frame corners
    blobs: tuple[Blob, ...]
    carrier_tint: tuple[int, int, int]  # screen or paper colour
    bezel: tuple[int, int, int]
    text_lines: tuple[tuple[float, float, float], ...]  # page/screen text bars: x, y, length in QR units
    glare: tuple[float, float, float, float] | None  # x, y, radius, strength
    contrast: float
    brightness: float
    blur_sigma: float  # pixels
    motion: tuple[float, float] | None  # length in pixels, angle in degrees
    noise_sigma: float
    noise_offset: tuple[int, int]
    jpeg_quality: int
    show_qr: bool = True

    def moved(self, rng: np.random.Generator, pixels: float = 6.0) -> Scene:
        """The same presentation a frame later: the carrier drifts a little, the sensor noise is new."""
        shift = rng.normal(0.0, pixels, size=2)
        wobble = rng.normal(0.0, pixels * 0.15, size=(4, 2))
        corners = tuple(
            (x + float(shift[0] + wobble[i, 0]), y + float(shift[1] + wobble[i, 1]))
            for i, (x, y) in enumerate(self.corners)
        )
        return replace(
            self,
            corners=_clamp_corners(corners),
            noise_offset=_noise_offset(rng),
            jpeg_quality=int(np.clip(self.jpeg_quality + rng.integers(-5, 6), 20, 98)),
        )


def difficulty_named(difficulty: str | Difficulty) -> Difficulty:
    if isinstance(difficulty, Difficulty):
        return difficulty
    try:
        return DIFFICULTIES[difficulty]
    except KeyError:
        raise RenderError(f"unknown difficulty {difficulty!r}; choose one of {sorted(DIFFICULTIES)}") from None


@lru_cache(maxsize=256)
def qr_modules(text: str) -> np.ndarray:
    """The QR symbol of ``text`` as a bool matrix (True = dark), without quiet zone; error correction M."""
    if not text:
        raise RenderError("cannot render an empty QR text")
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    try:
        code.add_data(text)
        code.make(fit=True)
    except (ValueError, qrcode.exceptions.DataOverflowError) as err:
        raise RenderError(f"cannot encode {len(text)} characters as a QR code: {err}") from err
    matrix = np.array(code.get_matrix(), dtype=bool)
    matrix.setflags(write=False)
    return matrix


def _color(rng: np.random.Generator, low: int, high: int) -> tuple[int, int, int]:
    c = rng.integers(low, high, size=3)
    return (int(c[0]), int(c[1]), int(c[2]))


def _noise_offset(rng: np.random.Generator) -> tuple[int, int]:
    return (int(rng.integers(0, _NOISE_MARGIN)), int(rng.integers(0, _NOISE_MARGIN)))


def _clamp_corners(corners: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    """Shift a quad back inside the frame (with a small margin) if a move pushed it out."""
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    margin = 4.0
    dx = max(0.0, margin - min(xs)) - max(0.0, max(xs) - (WIDTH - margin))
    dy = max(0.0, margin - min(ys)) - max(0.0, max(ys) - (HEIGHT - margin))
    return tuple((x + dx, y + dy) for x, y in corners)


def _sample_background(
    rng: np.random.Generator, carrier_center: tuple[float, float]
) -> tuple[tuple[tuple[int, int, int], ...], tuple[Blob, ...]]:
    corners = tuple(_color(rng, 30, 200) for _ in range(4))
    blobs: list[Blob] = []
    for _ in range(int(rng.integers(3, 9))):  # clutter: signs, cars, trees, a booth
        blobs.append(
            Blob(
                center=(int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))),
                axes=(int(rng.integers(20, 260)), int(rng.integers(20, 200))),
                angle=float(rng.uniform(0, 180)),
                color=_color(rng, 0, 256),
            )
        )
    # the visitor holding the carrier: a torso behind it and a head above it
    cx, cy = carrier_center
    skin = (int(rng.integers(60, 140)), int(rng.integers(100, 170)), int(rng.integers(150, 230)))
    coat = _color(rng, 10, 200)
    torso_w = int(rng.integers(220, 340))
    blobs.append(Blob((int(cx + rng.normal(0, 40)), int(cy + 260)), (torso_w, 330), 0.0, coat))
    blobs.append(Blob((int(cx + rng.normal(0, 30)), int(cy - 250)), (90, 115), float(rng.uniform(-10, 10)), skin))
    return corners, tuple(blobs)


def sample_scene(
    rng: np.random.Generator,
    style: Style = "phone",
    difficulty: str | Difficulty = "default",
    show_qr: bool = True,
    qr_modules_count: int = 53,
) -> Scene:
    """Draw the random choices of one frame.

    ``qr_modules_count`` is the symbol's width in modules (53 for a v1 permit token) so the chosen
    module size gives a QR that fits in the frame.
    """
    if style not in ("phone", "paper"):
        raise RenderError(f"style must be 'phone' or 'paper', not {style!r}")
    d = difficulty_named(difficulty)
    side_modules = qr_modules_count + 2 * QUIET_ZONE
    module = float(rng.uniform(*d.module_px))
    side = min(side_modules * module, HEIGHT * 0.9)  # a QR closer than this would not fit the frame
    angle = math.radians(float(rng.uniform(-d.rotation_deg, d.rotation_deg)))
    # corners of the square around its centre, rotated, then each jittered: a tilted, foreshortened QR
    half = side / 2.0
    square = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    quad = square @ rot.T + rng.uniform(-d.perspective, d.perspective, size=(4, 2)) * side
    margin = 8.0
    # a big QR turned far would not fit: step back from the camera until it does
    extent = quad.max(axis=0) - quad.min(axis=0)
    quad *= min(1.0, float(np.min((np.array([WIDTH, HEIGHT]) - 2 * margin - 1) / extent)))
    lo, hi = quad.min(axis=0), quad.max(axis=0)
    cx = float(rng.uniform(margin - lo[0], WIDTH - margin - hi[0]))
    cy = float(rng.uniform(margin - lo[1], HEIGHT - margin - hi[1]))
    corners = tuple((float(x + cx), float(y + cy)) for x, y in quad)
    background, blobs = _sample_background(rng, (cx, cy))
    if style == "phone":
        tint = _color(rng, 225, 256)
        lines = tuple(
            (float(rng.uniform(0.0, 0.2)), float(y), float(rng.uniform(0.3, 0.9))) for y in (-0.35, -0.25, 1.15, 1.25)
        )
    else:
        base = int(rng.integers(200, 245))  # off-white, under whatever light the gate has
        tint = (base - int(rng.integers(0, 20)), base, min(255, base + int(rng.integers(0, 10))))
        lines = tuple(
            (float(rng.uniform(-0.45, -0.35)), float(y), float(rng.uniform(0.6, 1.8)))
            for y in np.arange(-0.7, -0.1, 0.1)
        ) + tuple((-0.45, float(y), float(rng.uniform(0.8, 1.9))) for y in np.arange(1.15, 1.7, 0.1))
    glare = None
    if rng.random() < d.glare_chance:
        glare = (
            float(cx + rng.normal(0, side * 0.6)),
            float(cy + rng.normal(0, side * 0.6)),
            float(rng.uniform(0.1, 0.35) * side + 20),
            float(rng.uniform(*d.glare_strength)),
        )
    motion = None
    if rng.random() < d.motion_chance:
        motion = (float(rng.uniform(*d.motion_px) * module), float(rng.uniform(0, 180)))
    return Scene(
        style=style,
        corners=corners,
        background=background,
        blobs=blobs,
        carrier_tint=tint,
        bezel=_color(rng, 10, 45),
        text_lines=lines,
        glare=glare,
        contrast=float(rng.uniform(*d.contrast)),
        brightness=float(rng.uniform(*d.brightness)),
        blur_sigma=float(rng.uniform(*d.blur_sigma) * module),
        motion=motion,
        noise_sigma=float(rng.uniform(*d.noise_sigma)),
        noise_offset=_noise_offset(rng),
        jpeg_quality=int(rng.integers(d.jpeg_quality[0], d.jpeg_quality[1] + 1)),
        show_qr=show_qr,
    )


# --- rendering -------------------------------------------------------------------------------------------

_NOISE_MARGIN = 97
_NOISE_SCALE = 32.0  # the noise bank's standard deviation in grey levels, around 128


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """A fixed bank of sensor noise; frames take a shifted window of it (much faster than drawing anew)."""
    shape = (HEIGHT + _NOISE_MARGIN, WIDTH + _NOISE_MARGIN, 3)
    bank = np.random.default_rng(0x9A9FA).normal(128.0, _NOISE_SCALE, size=shape)
    result = np.clip(bank, 0, 255).astype(np.uint8)
    result.setflags(write=False)
    return result


def _background(scene: Scene) -> Frame:
    tl, tr, br, bl = scene.background
    tiny = np.array([[tl, tr], [bl, br]], dtype=np.uint8)
    frame = cv2.resize(tiny, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
    for blob in scene.blobs:
        cv2.ellipse(frame, blob.center, blob.axes, blob.angle, 0, 360, blob.color, -1, cv2.LINE_AA)
    return frame


def _filled(h: int, w: int, color: tuple[int, int, int]) -> np.ndarray:
    # numpy broadcasting of a 3-tuple over a large image is ~20× slower than merging three planes
    return cv2.merge([np.full((h, w), c, dtype=np.uint8) for c in color])


def _carrier(scene: Scene, modules: np.ndarray, px: int) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The flat phone or page, ``px`` pixels a module, and where its QR square (with quiet zone) sits."""
    n = modules.shape[0] + 2 * QUIET_ZONE
    side = n * px
    if scene.style == "phone":
        screen_w, screen_h = int(side * 1.12), int(side * 2.0)
        bezel = max(4, int(side * 0.06))
        w, h = screen_w + 2 * bezel, screen_h + 2 * bezel
        carrier = _filled(h, w, scene.bezel)
        cv2.rectangle(carrier, (bezel, bezel), (bezel + screen_w - 1, bezel + screen_h - 1), scene.carrier_tint, -1)
        # a coloured app bar at the top of the screen
        bar = (int(scene.bezel[0]) * 3 % 200 + 40, 120, int(scene.bezel[2]) * 5 % 200 + 40)
        cv2.rectangle(carrier, (bezel, bezel), (bezel + screen_w - 1, bezel + int(side * 0.18)), bar, -1)
        x0, y0 = bezel + (screen_w - side) // 2, bezel + int(side * 0.55)
    else:
        w = int(side * 2.1)
        h = int(w * 1.414)
        carrier = _filled(h, w, scene.carrier_tint)
        x0, y0 = (w - side) // 2, int(h * 0.3)
    ink = (40, 40, 40)
    bar_h = max(2, px * 2)
    for lx, ly, length in scene.text_lines:
        x, y = int(x0 + lx * side), int(y0 + ly * side)
        x1 = min(w - 1, int(x + length * side))
        if 0 <= y < h - bar_h and 0 <= x < x1:
            cv2.rectangle(carrier, (x, y), (x1, y + bar_h - 1), ink, -1)
    qz = QUIET_ZONE * px
    cv2.rectangle(carrier, (x0, y0), (x0 + side - 1, y0 + side - 1), scene.carrier_tint, -1)
    if scene.show_qr:
        count = modules.shape[0]
        dark = np.asarray(
            cv2.resize(modules.view(np.uint8), (count * px, count * px), interpolation=cv2.INTER_NEAREST), dtype=np.intp
        )
        colours = np.array([scene.carrier_tint, (20, 20, 20)], dtype=np.uint8)
        region = carrier[y0 + qz : y0 + qz + count * px, x0 + qz : x0 + qz + count * px]
        np.take(colours, dark, axis=0, out=region)
    return carrier, (float(x0), float(y0), float(side))


def _glare(frame: Frame, glare: tuple[float, float, float, float]) -> None:
    """Add a soft bright spot in place (a lamp or the sun on a screen or a glossy page)."""
    gx, gy, radius, strength = glare
    scale = 8  # draw the spot small and blow it up: a blurred blob needs no detail
    disc = np.zeros((HEIGHT // scale, WIDTH // scale), dtype=np.float32)
    cv2.circle(disc, (int(gx / scale), int(gy / scale)), max(1, int(radius / scale)), 1.0, -1)
    small = cv2.GaussianBlur(disc, (0, 0), max(1.0, radius / scale / 2))
    peak = float(small.max())
    if peak <= 0.0:
        return
    small8 = cv2.convertScaleAbs(small, alpha=strength / peak)
    spot = cv2.resize(small8, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
    cv2.add(frame, cv2.merge([spot, spot, spot]), dst=frame)


def render_scene(scene: Scene, text: str | None) -> Frame:
    """Pixels of ``scene``; ``text`` is the QR content (ignored when the scene shows no QR)."""
    if scene.show_qr and not text:
        raise RenderError("a scene that shows a QR needs its text")
    modules = qr_modules(text) if scene.show_qr and text else np.zeros((53, 53), dtype=bool)
    frame = _background(scene)
    n = modules.shape[0] + 2 * QUIET_ZONE
    target = np.array(scene.corners, dtype=np.float32)
    module_px = float(np.linalg.norm(target[1] - target[0])) / n
    # draw the flat carrier near the final scale so the warp never shrinks much (which would alias)
    px = max(3, math.ceil(module_px))
    carrier, (x0, y0, side) = _carrier(scene, modules, px)
    source = np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]], dtype=np.float32)
    homography = cv2.getPerspectiveTransform(source, target)
    cv2.warpPerspective(
        carrier, homography, (WIDTH, HEIGHT), dst=frame, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT
    )
    if scene.glare is not None:
        _glare(frame, scene.glare)
    if scene.contrast != 1.0 or scene.brightness != 0.0:
        # pivot the contrast around mid-grey so dimming does not also darken everything
        frame = cv2.convertScaleAbs(frame, alpha=scene.contrast, beta=scene.brightness + 128.0 * (1 - scene.contrast))
    if scene.blur_sigma > 0.05:
        frame = cv2.GaussianBlur(frame, (0, 0), scene.blur_sigma)
    if scene.motion is not None and scene.motion[0] >= 1.0:
        frame = cv2.filter2D(frame, -1, _motion_kernel(*scene.motion))
    if scene.noise_sigma > 0:
        ox, oy = scene.noise_offset
        noise = _noise_bank()[oy : oy + HEIGHT, ox : ox + WIDTH]
        k = scene.noise_sigma / _NOISE_SCALE
        frame = cv2.addWeighted(frame, 1.0, noise, k, -128.0 * k)
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, scene.jpeg_quality])
    if not ok:
        raise RenderError("JPEG encoding failed")
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RenderError("JPEG decoding failed")
    return np.ascontiguousarray(decoded)


@lru_cache(maxsize=64)
def _motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    size = max(3, math.ceil(length) | 1)
    kernel = np.zeros((size, size), dtype=np.float32)
    c = size // 2
    dx, dy = math.cos(math.radians(angle_deg)) * length / 2, math.sin(math.radians(angle_deg)) * length / 2
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    total = float(kernel.sum())
    if total == 0.0:
        kernel[c, c] = 1.0
        total = 1.0
    return kernel / total


def render_qr_frame(
    text: str,
    rng: np.random.Generator,
    style: Style = "phone",
    difficulty: str | Difficulty = "default",
) -> Frame:
    """A 1280×720 BGR uint8 frame showing ``text`` as a QR on a phone or a printed page."""
    scene = sample_scene(rng, style, difficulty, qr_modules_count=qr_modules(text).shape[0])
    return render_scene(scene, text)


def render_empty_frame(rng: np.random.Generator) -> Frame:
    """A frame with no QR in it: the lane between visitors (sometimes with a blank phone or page)."""
    style: Style = "phone" if rng.random() < 0.5 else "paper"
    scene = sample_scene(rng, style, "easy", show_qr=False)
    if rng.random() < 0.5:
        # nobody holding anything up: move the carrier far outside the frame
        scene = replace(scene, corners=tuple((x + 4 * WIDTH, y) for x, y in scene.corners))
    return render_scene(scene, None)
