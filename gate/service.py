"""Running under systemd: ``sd_notify`` readiness, watchdog pings and status, from ``qaqpa-gate run``.

With ``Type=notify`` systemd passes ``$NOTIFY_SOCKET`` (an AF_UNIX datagram socket; a leading ``@`` is
the abstract namespace) and, with ``WatchdogSec=``, ``$WATCHDOG_USEC``. The protocol is one datagram of
``KEY=value`` lines (sd_notify(3)), so it is written here rather than pulled in as a dependency.

``WATCHDOG=1`` is sent only while the gate's own threads are alive: a gate whose decision or camera thread
died stops pinging, and systemd restarts it (``Restart=on-failure``) after ``WatchdogSec``. Outside systemd
(no ``$NOTIFY_SOCKET``) every call is a no-op and the loop just waits for the stop signal.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Mapping

log = logging.getLogger(__name__)

# the threads GateController.start() runs; without any of them the lane is not deciding or not syncing
GATE_THREADS = ("gate-camera", "gate-decide", "gate-sync")
IDLE_PING_S = 5.0  # how often the loop looks at the threads when systemd asked for no watchdog


class Notifier:
    """Sends sd_notify datagrams to ``$NOTIFY_SOCKET``; ``enabled`` is False (and sending a no-op) without one."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_s = _watchdog_seconds(env)

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, **fields: str) -> bool:
        """Send ``KEY=value`` lines in one datagram; False (logged) if systemd could not be told."""
        if not self.enabled:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, self.address)
        except OSError as err:
            log.warning("sd_notify to %s failed: %s", self.address.lstrip("\0"), err)
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send(READY="1", STATUS=status)

    def watchdog(self, status: str) -> bool:
        return self.send(WATCHDOG="1", STATUS=status)

    def status(self, status: str) -> bool:
        return self.send(STATUS=status)

    def stopping(self) -> bool:
        return self.send(STOPPING="1", STATUS="stopping")


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """systemd's watchdog interval in seconds, or None when no watchdog was asked for this process."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):  # meant for another process (we were started by a wrapper)
        return None
    return int(usec) / 1_000_000


def dead_threads(required: Iterable[str]) -> list[str]:
    """The names among ``required`` with no live thread of that name in this process."""
    alive = {thread.name for thread in threading.enumerate() if thread.is_alive()}
    return [name for name in required if name not in alive]


def supervise(
    done: threading.Event,
    notifier: Notifier,
    status: Callable[[], str],
    required: Iterable[str] = GATE_THREADS,
) -> int:
    """Tell systemd the gate is ready, then ping its watchdog while the threads live, until ``done`` is set.

    Pings at half the watchdog interval (as sd_watchdog_enabled(3) advises). A dead thread is logged once and
    shown in ``STATUS=``, and the pings stop so that systemd restarts the gate. Returns how many pings were sent.
    """
    required = tuple(required)
    interval = notifier.watchdog_s / 2 if notifier.watchdog_s else IDLE_PING_S
    notifier.ready(status())
    pings = 0
    reported: list[str] = []
    while not done.wait(interval):
        dead = dead_threads(required)
        if dead:
            if dead != reported:
                log.error("thread(s) %s stopped: no more watchdog pings, systemd will restart the gate", dead)
                reported = dead
            notifier.status(f"unhealthy: {', '.join(dead)} stopped")
            continue
        if notifier.watchdog_s and notifier.watchdog(status()):
            pings += 1
    notifier.stopping()
    return pings
