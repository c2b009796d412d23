"""The gate's exceptions.

    GateError                 root of everything this package raises
    ├── ConfigError           a gate.toml that cannot be used; the message names the bad key
    ├── StoreError            the local SQLite store cannot be opened, migrated or written
    ├── FrameSourceError      a camera, folder or video file that cannot be opened or read
    ├── QrError               a frame the QR decoder cannot take (wrong shape or type)
    └── SyncError             one sync cycle failed (network, HTTP status, or a page that is not a SyncPage)

Third-party errors (sqlite3, cv2, httpx, pydantic, tomllib) are converted at the boundary with ``raise … from err``.
"""

from __future__ import annotations


class GateError(Exception):
    """Root of every error raised by ``gate``."""


class ConfigError(GateError):
    """The configuration is missing a key or holds a value of the wrong kind."""


class StoreError(GateError):
    """The local store failed."""


class FrameSourceError(GateError):
    """A frame source cannot be opened or read."""


class QrError(GateError):
    """A frame the QR decoder cannot take."""


class SyncError(GateError):
    """A sync cycle with the server failed."""
