"""The simulator's exceptions.

SimError                 root of everything this package raises
├── RenderError          a frame cannot be rendered (bad style, difficulty or QR text)
├── LinkError            the fault-injecting TCP proxy cannot start or is misused
├── ServerProcessError   the real server subprocess cannot be started or answered an API call badly
└── ScenarioError        the demo scenario cannot be set up or run (bad arguments, a gate that never synced)
"""

from __future__ import annotations


class SimError(Exception):
    """Root of every error raised by ``sim``."""


class RenderError(SimError):
    """A frame cannot be rendered."""


class LinkError(SimError):
    """The fault-injecting proxy cannot start or was used wrongly."""


class ServerProcessError(SimError):
    """The server subprocess failed to start, stopped, or refused an API call."""


class ScenarioError(SimError):
    """The demo scenario cannot be set up or run."""
