"""The Raspberry Pi gate controller: frames → QR → decide() → store → relay, and a sync loop to the server."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("qaqpa")  # the installed distribution's; a gate reports it to the server on every sync
except PackageNotFoundError:  # run from a source tree that was never installed
    VERSION = "unknown"
