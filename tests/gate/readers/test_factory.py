"""open_reader: protocol names, options checked at start-up."""

from __future__ import annotations

import pytest

from gate.readers.ascii_line import AsciiLineReader
from gate.readers.base import ReaderError
from gate.readers.em4100 import Em4100Reader
from gate.readers.factory import open_reader
from gate.readers.pn532 import Pn532Reader


def test_builds_each_serial_reader_without_opening_the_port() -> None:
    em = open_reader("a", "em4100", "/dev/does-not-exist", release_s=0.3)
    assert isinstance(em, Em4100Reader) and em.baudrate == 9600
    assert isinstance(open_reader("b", "rdm6300", "loop://"), Em4100Reader)
    pn = open_reader("c", "pn532", "loop://")
    assert isinstance(pn, Pn532Reader) and pn.baudrate == 115200
    ascii_reader = open_reader("d", "ascii", "loop://", fmt="wiegand34", baudrate=115200)
    assert isinstance(ascii_reader, AsciiLineReader) and ascii_reader.fmt == "wiegand34"
    assert ascii_reader.health().connected is False


@pytest.mark.parametrize(
    ("protocol", "options", "message"),
    [
        ("mifare", {}, "unknown card reader protocol 'mifare'"),
        ("em4100", {"fmt": "hex"}, "unknown option(s) fmt"),
        ("ascii", {"fmt": "octal"}, "format must be one of"),
        ("pn532", {"response_timeout_s": 0}, "response_timeout_s"),
        ("em4100", {"release_s": -1}, "release_s"),
    ],
)
def test_refuses_what_it_cannot_build(protocol: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(ReaderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_reader("x", protocol, "loop://", **options)
