"""Fixtures for provisioning and check tests: one real server process per module, a park on it, and a lane's
simulated devices (a folder of camera frames, an EM4100 reader on a pty)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from sim.readers.em4100 import SimEm4100Module
from sim.server_proc import ServerApi, ServerProcess

PARK = "altyn-emel"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("server")) as process:
        api = ServerApi(process.url)
        api.login(process.admin_user, process.admin_password)
        api.create_park(PARK, "Altyn-Emel")
        api.close()
        yield process


@pytest.fixture
def api(server: ServerProcess) -> Iterator[ServerApi]:
    client = ServerApi(server.url)
    client.login(server.admin_user, server.admin_password)
    yield client
    client.close()


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    """A camera as a folder of 1280×720 frames."""
    folder = tmp_path / "frames"
    folder.mkdir()
    frame = np.full((720, 1280, 3), 90, dtype=np.uint8)
    cv2.putText(frame, "lane 1", (100, 360), cv2.FONT_HERSHEY_SIMPLEX, 3.0, (255, 255, 255), 5)
    for index in range(3):
        assert cv2.imwrite(str(folder / f"{index:03d}.png"), frame)
    return folder


@pytest.fixture
def rfid(tmp_path: Path) -> Iterator[SimEm4100Module]:
    """An RDM6300-style reader on a real pty, reached through a stable link like /dev/qaqpa-rfid0."""
    with SimEm4100Module(tmp_path / "qaqpa-rfid0") as module:
        yield module
