"""Licence-plate reading for vehicle lanes: OpenCV finds the plate, a CTC recogniser reads only the crop.

``PlateReader`` runs a lane's reading on its own thread; ``find_plates``/``rectify`` and ``PlateOcr`` are
its steps, usable alone (tests, the benchmark). ONNX Runtime comes with the ``plates`` extra; the
plate-trained recogniser ships in ``gate/plates/models``.
"""

from __future__ import annotations

from gate.plates.errors import OcrUnavailable, PlateError, PlateSettingsError
from gate.plates.localise import PlateCandidate, find_plates, quad_iou, rectify
from gate.plates.ocr import PlateOcr
from gate.plates.reader import PlateRead, PlateReader, PlateResult, PlateVote
from gate.plates.settings import PlateSettings
from gate.plates.trigger import AlwaysTrigger, LoopTrigger, MotionTrigger, VehicleTrigger, make_trigger

__all__ = [
    "AlwaysTrigger",
    "LoopTrigger",
    "MotionTrigger",
    "OcrUnavailable",
    "PlateCandidate",
    "PlateError",
    "PlateOcr",
    "PlateRead",
    "PlateReader",
    "PlateResult",
    "PlateSettings",
    "PlateSettingsError",
    "PlateVote",
    "VehicleTrigger",
    "find_plates",
    "make_trigger",
    "quad_iou",
    "rectify",
]
