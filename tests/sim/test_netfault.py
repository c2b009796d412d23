from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from sim.errors import LinkError
from sim.netfault import FaultyLink


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            while data := self.request.recv(4096):
                self.request.sendall(data)
        except ConnectionResetError:
            return  # the proxy reset us: that is what the tests do


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = _EchoServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def link(echo_port: int) -> Iterator[FaultyLink]:
    with FaultyLink("127.0.0.1", echo_port) as proxy:
        yield proxy


def connect(link: FaultyLink) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", link.listen_port), timeout=5.0)
    return sock


def roundtrip(sock: socket.socket, payload: bytes) -> bytes:
    sock.sendall(payload)
    received = b""
    while len(received) < len(payload):
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def is_dead(sock: socket.socket) -> bool:
    """A reset or closed connection: sending and reading fails or reads end-of-stream."""
    try:
        sock.sendall(b"ping")
        return sock.recv(16) == b""
    except OSError:
        return True


def refused_or_dead(link: FaultyLink) -> bool:
    """A new connection while cut: the reset may already hit the handshake, or the first read."""
    try:
        sock = connect(link)
    except ConnectionError:
        return True
    with sock:
        return is_dead(sock)


def test_bytes_pass_through_both_ways(link: FaultyLink) -> None:
    with connect(link) as sock:
        assert roundtrip(sock, b"hello gate") == b"hello gate"
        big = bytes(range(256)) * 1000
        assert roundtrip(sock, big) == big
    stats = link.stats
    assert stats.accepted == 1
    assert stats.bytes_up == stats.bytes_down == len(b"hello gate") + len(big)
    assert not stats.cut


def test_reset_cut_drops_live_connections_and_refuses_new_ones(link: FaultyLink) -> None:
    live = connect(link)
    assert roundtrip(live, b"before") == b"before"
    link.cut()
    assert link.is_cut
    assert is_dead(live)
    live.close()
    assert refused_or_dead(link)
    link.restore()
    with connect(link) as after:
        assert roundtrip(after, b"after") == b"after"
    stats = link.stats
    assert (stats.cuts, stats.dropped, stats.refused, stats.cut) == (1, 1, 1, False)


def test_blackhole_cut_swallows_bytes_until_restore(link: FaultyLink) -> None:
    live = connect(link)
    assert roundtrip(live, b"before") == b"before"
    link.cut("blackhole")
    live.settimeout(0.3)
    live.sendall(b"lost")
    with pytest.raises(TimeoutError):
        live.recv(16)
    held = connect(link)  # a new connection is accepted but nobody answers
    held.settimeout(0.3)
    held.sendall(b"hello?")
    with pytest.raises(TimeoutError):
        held.recv(16)
    link.restore()
    live.settimeout(5.0)
    held.settimeout(5.0)
    assert is_dead(live)
    assert is_dead(held)
    live.close()
    held.close()
    with connect(link) as after:
        assert roundtrip(after, b"back") == b"back"


def test_unreachable_server_resets_the_client() -> None:
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens there now
    with FaultyLink("127.0.0.1", port) as link:
        assert refused_or_dead(link)
        link.close()  # joins the acceptor, so the failure is counted
        assert link.stats.upstream_failures == 1


def test_misuse_is_refused(link: FaultyLink) -> None:
    with pytest.raises(LinkError, match="mode"):
        link.cut("unplug")  # type: ignore[arg-type]
    with pytest.raises(LinkError, match="not cut"):
        link.restore()
    link.cut()
    with pytest.raises(LinkError, match="already cut"):
        link.cut()
    with pytest.raises(LinkError, match="already started"):
        link.start()
    assert link.url == f"http://127.0.0.1:{link.listen_port}"


def test_listen_port_in_use_is_a_clear_error(link: FaultyLink) -> None:
    with pytest.raises(LinkError, match="cannot listen"):
        FaultyLink("127.0.0.1", 1, listen_port=link.listen_port).start()
