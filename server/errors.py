"""The server's exceptions.

    ServerError            root of everything this package raises
    ├── ConfigError        settings that cannot be used (e.g. production mode without an explicit data dir)
    ├── InvalidInput       a request or command that is well-formed but not acceptable; HTTP 422
    ├── NotFound           an unknown park, gate, permit or user; HTTP 404
    ├── Conflict           a duplicate slug or name; HTTP 409
    ├── AccessDenied       a credential that does not allow this; HTTP 403
    └── Unavailable        the database is out of reach for now; HTTP 503 with Retry-After

The library functions raise these; the API maps them to HTTP status codes in one place (``server.app``)
and the CLI prints them. Database driver errors are converted at the boundary with ``raise … from err``.
"""

from __future__ import annotations


class ServerError(Exception):
    """Root of every error raised by ``server``."""

    status_code = 500


class ConfigError(ServerError):
    status_code = 500


class InvalidInput(ServerError):
    status_code = 422


class NotFound(ServerError):
    status_code = 404


class Conflict(ServerError):
    status_code = 409


class AccessDenied(ServerError):
    status_code = 403


class Unavailable(ServerError):
    status_code = 503
    retry_after_s = 5  # a database that went away is usually back (or failed over) within seconds
