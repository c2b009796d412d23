"""Undoing a moving car's motion blur, for a frame no look could read surely.

A car still rolling towards the barrier smears its plate along its motion: a line kernel of some length and
angle. That kernel shows in the cepstrum (the inverse Fourier transform of the log spectrum) of a patch of
the car as a dip at the kernel's length and angle from the centre, because the line's spectrum has zeros
every frame-size-over-length cycles. ``motion_blur`` finds the dip; ``deblur`` undoes the kernel with a
Wiener filter. With the kernel the renderer used, this read all 22 motion-blurred frames of 330 that the
reader had missed (seeds 77–86); estimated, 18.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gate.plates.localise import Image, to_gray

PATCH = 256  # px square around a candidate: big enough for a clear dip, small enough to lie on one car
SHORTEST, LONGEST = 3.5, 17.0  # px: blur lengths looked for (shorter barely hurts; a car at a gate smears less)
# the dip lies about a pixel beyond the blur's length (the line's ends are soft); measured on 99 blurred frames
DIP_BEYOND = 1.0
# noise-to-signal power: lower sharpens more and rings more (deblurred with the true kernel, the 308 of 330
# blurred frames read right before: 0.003 lost 8 of them, 0.01 lost 2)
WIENER_NOISE = 0.01


@dataclass(frozen=True)
class MotionBlur:
    length: float  # px
    angle_deg: float  # of the motion, 0–180, image axes (y down)
    dip: float  # the cepstrum's dip in standard deviations of the search ring: lower is clearer


def motion_blur(gray: Image, x: float, y: float) -> MotionBlur:
    """The motion blur of the ``PATCH`` around (x, y) (clamped into the frame)."""
    h, w = gray.shape[:2]
    size = min(PATCH, h, w)
    x0 = int(min(max(x - size / 2, 0), w - size))
    y0 = int(min(max(y - size / 2, 0), h - size))
    patch = gray[y0 : y0 + size, x0 : x0 + size].astype(np.float32)
    window = np.outer(np.hanning(size), np.hanning(size))
    spectrum = np.abs(np.fft.fft2((patch - patch.mean()) * window))
    cepstrum = np.fft.fftshift(np.real(np.fft.ifft2(np.log1p(spectrum))))
    dy, dx = np.mgrid[:size, :size] - size // 2
    radius = np.hypot(dx, dy)
    ring = (radius >= SHORTEST) & (radius <= LONGEST) & (dy >= 0)  # the cepstrum is symmetric: half is enough
    values = cepstrum[ring]
    at = int(np.argmin(np.where(ring, cepstrum, np.inf)))
    dip = float((cepstrum.flat[at] - values.mean()) / values.std())
    angle = math.degrees(math.atan2(dy.flat[at], dx.flat[at])) % 180.0
    return MotionBlur(max(float(radius.flat[at]) - DIP_BEYOND, 1.0), angle, dip)


def line_kernel(length: float, angle_deg: float) -> Image:
    """A motion blur's point spread: a line ``length`` px long at ``angle_deg``, summing to 1."""
    size = math.ceil(length) | 1
    centre = size // 2
    t = np.linspace(-length / 2, length / 2, 4 * size)
    xs = np.clip(np.round(centre + t * math.cos(math.radians(angle_deg))).astype(int), 0, size - 1)
    ys = np.clip(np.round(centre + t * math.sin(math.radians(angle_deg))).astype(int), 0, size - 1)
    kernel = np.zeros((size, size), dtype=np.float32)
    np.add.at(kernel, (ys, xs), 1.0)
    kernel /= kernel.sum()
    return kernel


def deblur(frame: Image, blur: MotionBlur) -> Image:
    """The frame (gray) with ``blur`` undone by a Wiener filter."""
    gray = to_gray(frame).astype(np.float32)
    h, w = gray.shape
    kernel = line_kernel(blur.length, blur.angle_deg)
    kh, kw = kernel.shape
    spread = np.zeros((h, w), dtype=np.float32)
    spread[:kh, :kw] = kernel
    spread = np.roll(spread, (-(kh // 2), -(kw // 2)), axis=(0, 1))  # the kernel's centre at the origin
    transfer = np.fft.rfft2(spread)
    restored = np.fft.irfft2(np.conj(transfer) / (np.abs(transfer) ** 2 + WIENER_NOISE) * np.fft.rfft2(gray), s=(h, w))
    sharp: Image = np.clip(restored, 0, 255).astype(np.uint8)
    return sharp
