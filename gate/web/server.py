"""``RangerServer``: the ranger page under uvicorn on a thread of ``qaqpa-gate run``."""

from __future__ import annotations

import logging
import socket
import threading

import uvicorn

from gate.config import RangerSettings
from gate.controller import GateController
from gate.errors import GateError
from gate.web.app import create_app

log = logging.getLogger(__name__)


class RangerServer:
    """Binds ``host:port`` (port 0: any free port, see ``port``) and serves the page until ``stop()``."""

    def __init__(self, controller: GateController, settings: RangerSettings, port: int | None = None) -> None:
        self.settings = settings
        self.app = create_app(controller, settings.pin_hash, settings.session_hours)
        self._port = settings.port if port is None else port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            return self._port
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.settings.host in ("0.0.0.0", "") else self.settings.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Bind now (so a taken port is an error at start) and serve on a daemon thread."""
        family = socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.settings.host, self._port))
        except OSError as err:
            sock.close()
            raise GateError(f"ranger page cannot listen on {self.settings.host}:{self._port}: {err}") from err
        self._socket = sock
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2, access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="gate-ranger", daemon=True
        )
        self._thread.start()
        log.info("ranger page on %s", self.url)

    def stop(self) -> None:
        self.app.state.feed.close()  # ends the live streams so uvicorn can shut down
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
