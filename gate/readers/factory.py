"""Build a card reader from its configuration: ``open_reader(name, protocol, port, **options)``.

Options are the reader class's keyword arguments (``baudrate``, ``fmt``, ``release_s``, …); one it does not
take is a ReaderError naming it, raised here at start-up rather than on the reader's thread.
"""

from __future__ import annotations

import inspect
from typing import Any

from gate.readers.base import CardReader, ReaderError

PROTOCOLS = ("em4100", "pn532", "ascii", "osdp")
ALIASES = {"rdm6300": "em4100"}


def open_reader(name: str, protocol: str, port: str, **options: Any) -> CardReader:
    """A reader for ``protocol`` on ``port`` (a device path or any pyserial URL); not started yet."""
    kind = ALIASES.get(protocol, protocol)
    factory: Any
    if kind == "em4100":
        from gate.readers.em4100 import Em4100Reader

        factory = Em4100Reader
    elif kind == "pn532":
        from gate.readers.pn532 import Pn532Reader

        factory = Pn532Reader
    elif kind == "ascii":
        from gate.readers.ascii_line import AsciiLineReader

        factory = AsciiLineReader
    elif kind == "osdp":
        # imported here: libosdp is a compiled extension the other readers do not need
        from gate.readers.osdp import OsdpReader

        factory = OsdpReader
    else:
        raise ReaderError(f"unknown card reader protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(options) - set(accepted) - {"name", "port"})
    if unknown:
        raise ReaderError(f"{kind} reader {name!r}: unknown option(s) {', '.join(unknown)}")
    try:
        reader: CardReader = factory(name, port, **options)
    except (TypeError, ValueError) as err:
        raise ReaderError(f"{kind} reader {name!r}: {err}") from err
    return reader
