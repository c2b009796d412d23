"""A TCP proxy that can cut a gate off the network, for real, at the socket level.

The gate's config points at the proxy's port instead of the server's, so when the simulator cuts the
link the gate's HTTP client sees what it would see in the field: connections reset or hanging, new
connections failing. Two kinds of cut:

- ``reset``: live connections are torn down with a TCP RST; new ones are accepted and reset at once
  (the uplink router is up but the line behind it is dead).
- ``blackhole``: bytes are swallowed; live connections hang and new ones connect but never get an
  answer, so the client has to rely on its timeouts (a cable cut further away). On restore those
  connections are reset, as a real peer that lost the session would.

Every connection is one thread moving bytes both ways; a gate keeps one or two connections open, so
threads are the plain choice.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Literal

from sim.errors import LinkError

CutMode = Literal["reset", "blackhole"]
_POLL_S = 0.05  # how often a connection thread looks at the kill flag
_CHUNK = 65536


@dataclass(frozen=True)
class LinkStats:
    accepted: int = 0  # client connections accepted (including those reset while cut)
    refused: int = 0  # client connections reset or held because the link was cut
    upstream_failures: int = 0  # the server could not be reached
    dropped: int = 0  # live connections torn down by a cut
    bytes_up: int = 0  # gate → server
    bytes_down: int = 0  # server → gate
    cuts: int = 0
    cut: bool = False
    active: int = 0


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN: the peer sees 'connection reset', as after a lost session."""
    with contextlib.suppress(OSError):  # the socket may already be dead; closing it is all we want
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Pipe(threading.Thread):
    """One client connection and its upstream twin."""

    def __init__(self, link: FaultyLink, client: socket.socket, upstream: socket.socket) -> None:
        super().__init__(name=f"faultylink-{link.listen_port}-pipe", daemon=True)
        self.link = link
        self.client = client
        self.upstream = upstream
        self.kill = threading.Event()

    def run(self) -> None:
        peers = {self.client: self.upstream, self.upstream: self.client}
        reading = set(peers)
        killed = False
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            while reading and not killed:
                if self.kill.is_set():
                    killed = True
                    break
                for key, _ in selector.select(_POLL_S):
                    src = key.fileobj
                    assert isinstance(src, socket.socket)
                    dst = peers[src]
                    try:
                        data = src.recv(_CHUNK)
                        if not data:
                            # half-close: pass the FIN on and keep the other direction flowing
                            selector.unregister(src)
                            reading.discard(src)
                            with contextlib.suppress(OSError):  # the other side may be gone already
                                dst.shutdown(socket.SHUT_WR)
                            continue
                        if self.link.is_cut:
                            continue  # blackhole: swallowed
                        dst.sendall(data)
                    except OSError:
                        killed = True  # one side broke: tear the pair down like a router would
                        break
                    self.link._count(
                        up=len(data) if src is self.client else 0, down=0 if src is self.client else len(data)
                    )
        if killed:
            _reset(self.client)
            _reset(self.upstream)
        else:
            self.client.close()
            self.upstream.close()
        self.link._forget(self)


class FaultyLink:
    """A TCP proxy on 127.0.0.1 in front of ``target``, for one gate; ``cut()`` and ``restore()`` it."""

    def __init__(self, target_host: str, target_port: int, listen_host: str = "127.0.0.1", listen_port: int = 0):
        self.target = (target_host, target_port)
        self._listen_addr = (listen_host, listen_port)
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pipes: set[_Pipe] = set()
        self._held: list[socket.socket] = []  # connections accepted during a blackhole cut
        self._cut: CutMode | None = None
        self._stats = LinkStats()

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> FaultyLink:
        if self._listener is not None:
            raise LinkError("this link is already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(self._listen_addr)
        except OSError as err:
            listener.close()
            raise LinkError(f"cannot listen on {self._listen_addr[0]}:{self._listen_addr[1]}: {err}") from err
        listener.listen(64)
        listener.settimeout(_POLL_S * 2)
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"faultylink-{self.listen_port}", daemon=True)
        self._acceptor.start()
        return self

    def close(self) -> None:
        """Stop listening and tear down every connection."""
        if self._listener is None:
            return
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.join()
        self._listener.close()
        self._drop_all()
        self._release_held()

    def __enter__(self) -> FaultyLink:
        return self.start() if self._listener is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def listen_port(self) -> int:
        if self._listener is None:
            raise LinkError("the link is not started")
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: what a gate's ``server.url`` should be."""
        return f"http://{self._listen_addr[0]}:{self.listen_port}"

    # --- faults --------------------------------------------------------------------------------------------

    @property
    def is_cut(self) -> bool:
        return self._cut is not None

    def cut(self, mode: CutMode = "reset") -> None:
        """Cut the link: live connections are dropped (reset) or go silent (blackhole); returns when done."""
        if mode not in ("reset", "blackhole"):
            raise LinkError(f"cut mode must be 'reset' or 'blackhole', not {mode!r}")
        with self._lock:
            if self._cut is not None:
                raise LinkError(f"the link is already cut ({self._cut})")
            self._cut = mode
            self._stats = replace(self._stats, cuts=self._stats.cuts + 1, cut=True)
        if mode == "reset":
            self._drop_all()

    def restore(self) -> None:
        """Bring the link back; connections that hung in a blackhole are reset so clients reconnect."""
        with self._lock:
            if self._cut is None:
                raise LinkError("the link is not cut")
            was = self._cut
            self._cut = None
            self._stats = replace(self._stats, cut=False)
        if was == "blackhole":
            self._drop_all()
            self._release_held()

    @property
    def stats(self) -> LinkStats:
        with self._lock:
            return replace(self._stats, active=len(self._pipes))

    # --- internals -----------------------------------------------------------------------------------------

    def _count(self, up: int = 0, down: int = 0, **counters: int) -> None:
        with self._lock:
            values = {name: getattr(self._stats, name) + n for name, n in counters.items()}
            self._stats = replace(
                self._stats, bytes_up=self._stats.bytes_up + up, bytes_down=self._stats.bytes_down + down, **values
            )

    def _forget(self, pipe: _Pipe) -> None:
        with self._lock:
            self._pipes.discard(pipe)

    def _drop_all(self) -> None:
        with self._lock:
            pipes = list(self._pipes)
        for pipe in pipes:
            pipe.kill.set()
        for pipe in pipes:
            pipe.join()
        self._count(dropped=len(pipes))

    def _release_held(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        for sock in held:
            _reset(sock)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                raise
            client.settimeout(None)
            self._count(accepted=1)
            mode = self._cut
            if mode == "reset":
                self._count(refused=1)
                _reset(client)
                continue
            if mode == "blackhole":
                self._count(refused=1)
                with self._lock:
                    self._held.append(client)
                continue
            self._open_pipe(client)

    def _open_pipe(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5.0)
        except OSError:
            self._count(upstream_failures=1)
            _reset(client)
            return
        upstream.settimeout(10.0)  # sendall to a peer that stopped reading must not hang the pipe forever
        client.settimeout(10.0)
        pipe = _Pipe(self, client, upstream)
        with self._lock:
            self._pipes.add(pipe)
        pipe.start()
