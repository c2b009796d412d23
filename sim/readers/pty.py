"""The device end of a simulated serial line: a real pty, reached by the gate through a stable symlink.

    gate reader ──opens──▶ link (tmp/ttyEM0) ──▶ /dev/pts/N ◀──pty──▶ master fd ◀── simulated module

A pty's slave name cannot be chosen, so the gate is given a symlink that stays put. ``unplug`` closes the
master (the gate's open port then fails: pyserial raises SerialException on its next read or write, as with
a USB adapter pulled out) and removes the link; ``replug`` makes a new pty and points the same link at it.

The port keeps its own slave fd open while plugged, so the master never sees EIO while the gate has the
port closed (between its reopen attempts); bytes written then are buffered like a UART's, and dropped once
the buffer is full, as a line with nobody listening drops them.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from pathlib import Path
from types import TracebackType

from sim.errors import SimError


class PortError(SimError):
    """A simulated serial port used while unplugged, or a link path that cannot be made."""


class PtyPort:
    """One pty plus the symlink the gate opens; plugged on creation unless ``plugged=False``."""

    def __init__(self, link: str | os.PathLike[str], *, plugged: bool = True) -> None:
        self.link = Path(link)
        self._lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self.device: str | None = None  # /dev/pts/N while plugged
        if plugged:
            self.plug()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def plug(self) -> None:
        """Make a fresh pty and point the link at its slave."""
        with self._lock:
            if self._master is not None:
                raise PortError(f"{self.link} is already plugged in")
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no line discipline: bytes pass as they are, like a UART
            os.set_blocking(master, False)
            device = os.ttyname(slave)
            tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            try:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                tmp.symlink_to(device)
                tmp.replace(self.link)  # atomic: the gate never sees a half-made link
            except OSError as err:
                os.close(master)
                os.close(slave)
                raise PortError(f"cannot link {self.link} to {device}: {err}") from err
            self._master, self._slave, self.device = master, slave, device

    def unplug(self) -> None:
        """Pull the adapter out: close the pty (the gate's port errors) and remove the link."""
        with self._lock:
            if self._master is None:
                return
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            os.close(self._master)
            if self._slave is not None:
                os.close(self._slave)
            self._master = self._slave = None
            self.device = None

    def replug(self) -> None:
        """Unplug and plug back in: a new pty under the same link."""
        self.unplug()
        self.plug()

    def close(self) -> None:
        self.unplug()

    def write(self, data: bytes) -> int:
        """Put bytes on the line; returns how many fitted (the rest is dropped, as on a full UART)."""
        with self._lock:
            if self._master is None:
                raise PortError(f"{self.link} is unplugged")
            sent = 0
            while sent < len(data):
                try:
                    sent += os.write(self._master, data[sent:])
                except BlockingIOError:
                    break
            return sent

    def read(self, timeout: float) -> bytes:
        """Bytes the gate sent, waiting up to ``timeout``; b"" when none came or the port is unplugged."""
        # no lock around the wait, so unplug is never held up; an fd closed under us reads as "unplugged"
        master = self._master
        if master is None:
            return b""
        try:
            ready, _, _ = select.select([master], [], [], max(timeout, 0.0))
            return os.read(master, 4096) if ready else b""
        except BlockingIOError:
            return b""
        except (OSError, ValueError):
            if self.plugged:
                raise
            return b""

    def __enter__(self) -> PtyPort:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
