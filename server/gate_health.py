"""What a gate says about itself when it syncs: the ``X-Gate-Status`` header, stored per gate.

For the gate side: send on every ``GET /api/v1/gate/sync`` a header ``X-Gate-Status`` whose value is a
compact JSON object, every member optional::

    X-Gate-Status: {"outbox": 12, "refused": 1, "readers": {"camera": "ok", "rfid": "no_data"}, "software": "0.1.0"}

``outbox`` is the number of events not yet uploaded; ``refused`` the number of events the gate set aside
because a server refused them (kept on the gate, never sent again; see ``server.events``); ``readers`` maps
each reader's name to a short status word; ``software`` is the gate's version. Every text is one printable
line (``protocol.fields.check_line``). The sync itself marks the gate as seen, header or not. A header that
is not such an object is refused (422) and nothing is stored.
"""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from protocol.fields import check_line
from server.db import gate_health
from server.errors import InvalidInput

HEADER = "X-Gate-Status"
MAX_HEADER_CHARS = 2000

ReaderName = Annotated[StrictStr, Field(min_length=1, max_length=32), AfterValidator(check_line)]
Word = Annotated[StrictStr, Field(max_length=32), AfterValidator(check_line)]


class GateStatus(BaseModel):
    """The ``X-Gate-Status`` header's JSON object."""

    model_config = ConfigDict(extra="forbid")

    outbox: Annotated[StrictInt, Field(ge=0, le=100_000_000)] | None = None
    refused: Annotated[StrictInt, Field(ge=0, le=100_000_000)] | None = None
    readers: Annotated[dict[ReaderName, Word], Field(max_length=16)] = {}
    software: Annotated[StrictStr, Field(max_length=64), AfterValidator(check_line)] | None = None


def parse_status(header: str | None) -> GateStatus:
    """The status a gate sent; an empty one without the header; InvalidInput when it is malformed."""
    if header is None or not header.strip():
        return GateStatus()
    try:
        return GateStatus.model_validate_json(header)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in err.errors())
        raise InvalidInput(f'{HEADER} must be a JSON object like {{"outbox": 3}}: {problems}') from err


def record_sync(conn: Connection, gate_id: int, status: GateStatus, now: int) -> None:
    """Mark the gate seen at ``now`` with what it reported (fields it left out keep their last value)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    values = {
        "gate_id": gate_id,
        "last_seen_at": now,
        "outbox": status.outbox,
        "refused": status.refused,
        "readers": json.dumps(status.readers) if status.readers else None,
        "software": status.software,
    }
    upsert = dialect.insert(gate_health).values(values)
    update = {"last_seen_at": upsert.excluded.last_seen_at}
    for name in ("outbox", "refused", "readers", "software"):
        if values[name] is not None:
            update[name] = upsert.excluded[name]
    conn.execute(upsert.on_conflict_do_update(index_elements=[gate_health.c.gate_id], set_=update))
