"""The simulated world: camera frames, network faults, a real server and real gates; ``qaqpa-sim demo``."""

from __future__ import annotations
