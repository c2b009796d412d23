"""``qaqpa-gate run`` as systemd runs it: a real AF_UNIX datagram socket as ``$NOTIFY_SOCKET`` receives
READY=1 and WATCHDOG=1 pings, STOPPING=1 on SIGTERM; its Prometheus endpoint answers meanwhile."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from gate.service import Notifier, dead_threads, supervise
from sim.server_proc import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(60.0)  # a bound on a broken gate, not a speed claim
    yield sock
    sock.close()


def _messages(sock: socket.socket) -> Iterator[dict[str, str]]:
    while True:
        data = sock.recv(4096).decode()
        yield dict(line.split("=", 1) for line in data.splitlines())


def _gate_toml(tmp_path: Path, metrics_port: int) -> Path:
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "000.png"), np.zeros((480, 640, 3), dtype=np.uint8))
    config = tmp_path / "gate.toml"
    config.write_text(
        "[gate]\npark = 'altyn-emel'\nname = 'north-1'\ndata_dir = 'data'\n"
        # nobody listens on the server's port: the gate runs offline, as it must be able to
        f"[server]\nurl = 'http://127.0.0.1:{free_port()}'\ndevice_token = 'qd_test'\nsync_interval_s = 1\n"
        f"[camera]\nsource = 'folder'\nuri = '{frames}'\nloop = true\nfps = 2\n"
        f"[metrics]\nport = {metrics_port}\n"
    )
    return config


def test_the_gate_tells_systemd_it_is_ready_and_pings_the_watchdog(
    tmp_path: Path, notify_socket: socket.socket
) -> None:
    metrics_port = free_port()
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
        "WATCHDOG_USEC": "1000000",  # pings every 0.5 s
        "GPIOZERO_PIN_FACTORY": "mock",
    }
    gate = Path(sys.executable).with_name("qaqpa-gate")
    process = subprocess.Popen(
        [str(gate), "run", "--config", str(_gate_toml(tmp_path, metrics_port))],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        messages = _messages(notify_socket)
        first = next(messages)
        assert first["READY"] == "1" and "decisions" in first["STATUS"]
        pings = [message for message, _ in zip(messages, range(2), strict=False)]
        assert all(message.get("WATCHDOG") == "1" for message in pings)
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert "qaqpa_gate_outbox_events 0.0" in scraped
        assert "qaqpa_gate_online 0.0" in scraped and "qaqpa_gate_sync_lag_seconds +Inf" in scraped
        assert "qaqpa_gate_disk_free_bytes" in scraped and "qaqpa_gate_decision_seconds_bucket" in scraped
        process.send_signal(signal.SIGTERM)
        while "STOPPING" not in (message := next(messages)):
            assert message.get("WATCHDOG") == "1"
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        stderr = process.stderr.read().decode()
    assert "Traceback" not in stderr


def test_no_watchdog_ping_once_a_gate_thread_died(notify_socket: socket.socket, tmp_path: Path) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "100000"})
    done = threading.Event()
    stop_after = threading.Event()

    def worker() -> None:
        stop_after.wait()

    thread = threading.Thread(target=worker, name="test-decide", daemon=True)
    thread.start()
    runner = threading.Thread(target=lambda: supervise(done, notifier, lambda: "ok", ("test-decide",)))
    runner.start()
    messages = _messages(notify_socket)
    assert next(messages)["READY"] == "1"
    assert next(messages) == {"WATCHDOG": "1", "STATUS": "ok"}
    stop_after.set()
    thread.join()
    while "WATCHDOG" in (message := next(messages)):
        pass  # a ping may have been on its way when the thread ended
    assert message == {"STATUS": "unhealthy: test-decide stopped"}
    assert dead_threads(["test-decide"]) == ["test-decide"]
    done.set()
    runner.join()
    while "STOPPING" not in (message := next(messages)):
        assert "WATCHDOG" not in message


def test_an_abstract_socket_name_and_no_socket() -> None:
    assert Notifier({"NOTIFY_SOCKET": "@/org/systemd/notify"}).address == "\0/org/systemd/notify"
    quiet = Notifier({})
    assert not quiet.enabled and not quiet.ready("x") and quiet.watchdog_s is None
    assert Notifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}).watchdog_s is None  # another process's
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_s == 30.0
