"""Licence-plate reading for vehicle lanes: OpenCV finds plates, CTC recognisers read the crops, and PP-OCRv4's
text detector looks where the localiser found nothing that reads surely (see ``reader``).

``PlateReader`` runs a lane's reading on its own thread; ``find_plates``/``rectify`` and ``PlateOcr`` (every
model: the plate-trained recogniser shipped in ``gate/plates/models``, and PP-OCRv4's detector and recogniser
from the ``rapidocr-onnxruntime`` wheel) are its steps, usable alone (tests, the benchmark). ONNX Runtime
comes with the ``plates`` extra; nothing needs torch.
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
