"""``qaqpa-tools cards enroll`` against a real server process and a simulated reader on a pty."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import pytest

from firmware_tools.cli import main
from sim.readers.em4100 import SimEm4100Module
from sim.server_proc import ServerApi, ServerProcess

pytestmark = pytest.mark.slow


def test_enroll_reads_a_card_and_registers_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with ServerProcess(tmp_path / "server") as server, SimEm4100Module(tmp_path / "ttyEM0") as module:
        api = ServerApi(server.url)
        api.login(server.admin_user, server.admin_password)
        api.create_park("altyn-emel", "Altyn-Emel")

        def tap() -> None:
            time.sleep(0.5)
            module.tap(bytes.fromhex("0A1B2C3D4E"))

        tapper = threading.Thread(target=tap, daemon=True)
        tapper.start()
        monkeypatch.setattr("sys.stdin", io.StringIO(server.admin_password + "\n"))
        args = ["cards", "enroll", "--server", server.url, "--port", str(module.link), "--protocol", "em4100"]
        args += ["--holder", "Aigerim Nurlanovna", "--role", "resident", "--park", "altyn-emel"]
        args += ["--user", server.admin_user, "--password-stdin", "--timeout", "20"]
        assert main(args) == 0
        tapper.join()
        out = capsys.readouterr().out
        assert out.startswith(f"0A1B2C3D4E  decimal {0x0A1B2C3D4E}  em4100")
        card = json.loads(out[out.index("{") :])
        assert card["uid"] == "0A1B2C3D4E" and card["role"] == "resident" and card["parks"] == ["altyn-emel"]

        # the same card again is refused with the server's reason, and nothing changes
        tapper = threading.Thread(target=tap, daemon=True)
        tapper.start()
        monkeypatch.setattr("sys.stdin", io.StringIO(server.admin_password + "\n"))
        assert main(args) == 2
        tapper.join()
        assert "HTTP 409" in capsys.readouterr().err
        api.close()


def test_enroll_without_a_card_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QAQPA_PASSWORD", "unused")
    with SimEm4100Module(tmp_path / "ttyEM0") as module:
        args = ["cards", "enroll", "--server", "http://127.0.0.1:9", "--port", str(module.link), "--protocol", "em4100"]
        args += ["--holder", "Nobody", "--role", "staff", "--timeout", "1"]
        assert main(args) == 2
    assert "no card read" in capsys.readouterr().err
