"""Synthetic licence plates on cars at a gate: Kazakh (current, organisation, two-row, 1993, yellow),
Russian, Kyrgyz and Uzbek plates, in day, night/IR, glare, tilt, blur, low resolution, mud/snow, dealer
frames and traffic.

``render_car_frame`` gives a 1280×720 frame and a ``PlateTruth`` (the text, the plate's quad, the
conditions); ``random_plate`` gives valid plate texts; ``plate_dataset`` a balanced set for benchmarks.
"""

from __future__ import annotations

from sim.plates.conditions import CONDITIONS, Condition, sample_condition
from sim.plates.dataset import DEFAULT_MIX, PlateSample, plate_dataset, write_dataset
from sim.plates.formats import COUNTRIES, FORMATS, PlateFormat, formats_of, plate_format, random_plate
from sim.plates.plate import draw_plate, plate_size_mm, text_zones
from sim.plates.scene import HEIGHT, WIDTH, OtherPlate, PlateTruth, render_car_frame, text_zone_quads

__all__ = [
    "CONDITIONS",
    "COUNTRIES",
    "DEFAULT_MIX",
    "FORMATS",
    "HEIGHT",
    "WIDTH",
    "Condition",
    "OtherPlate",
    "PlateFormat",
    "PlateSample",
    "PlateTruth",
    "draw_plate",
    "formats_of",
    "plate_dataset",
    "plate_format",
    "plate_size_mm",
    "random_plate",
    "render_car_frame",
    "sample_condition",
    "text_zone_quads",
    "text_zones",
    "write_dataset",
]
