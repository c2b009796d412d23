"""``qaqpa-tools check`` on a gate provisioned against a real server, with simulated devices: a folder of
frames as the camera, an EM4100 reader on a pty, mock GPIO pins."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from firmware_tools.check import CheckResult, check_clock, check_outbox, report_lines, run_checks
from firmware_tools.cli import main
from firmware_tools.provision import ReaderSpec, provision
from gate.clock import META_LAST_GOOD
from gate.config import GateConfig, GateSettings, ServerSettings, load_config
from gate.credentials import ManualCredential
from gate.decision import Policy, decide
from gate.events import make_event
from gate.store import GateStore
from protocol import Direction
from sim.readers.em4100 import SimEm4100Module
from sim.server_proc import ServerProcess
from tests.firmware_tools.conftest import PARK

pytestmark = pytest.mark.slow


def _gate(tmp_path: Path, server: ServerProcess, frames: Path, port: Path, gate: str) -> Path:
    out = tmp_path / "gate.toml"
    provision(
        server.url,
        PARK,
        gate,
        user=server.admin_user,
        password=server.admin_password,
        out=out,
        camera=("folder", str(frames)),
        readers=[ReaderSpec("door", "em4100", str(port))],
    )
    return out


def _by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.name: result for result in results}


def _failed(results: list[CheckResult]) -> list[str]:
    return [result.name for result in results if not result.ok]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_freshly_provisioned_gate_passes_every_check(
    tmp_path: Path, server: ServerProcess, frames: Path, rfid: SimEm4100Module
) -> None:
    config = _gate(tmp_path, server, frames, rfid.link, "check-ok")
    results = run_checks(config, pin_factory=MockFactory(), require_rtc=False)
    assert _failed(results) == []
    seen = _by_name(results)
    assert "1280×720" in seen["camera"].detail
    assert seen["reader door"].status == "pass"
    assert seen["relay"].status == "pass" and "went high and low" in seen["relay"].detail
    assert seen["server sync"].status == "pass" and seen["store"].status == "pass"
    assert seen["loop detector"].status == "skip" and seen["RTC"].status == "skip"
    assert list(report_lines(results))[-1] == "all checks passed"


def test_the_command_line_exits_0_only_when_all_pass(
    tmp_path: Path,
    server: ServerProcess,
    frames: Path,
    rfid: SimEm4100Module,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)  # no GPIO chip here: gpiozero's mock pins
    config = _gate(tmp_path, server, frames, rfid.link, "check-cli")
    assert main(["check", "--config", str(config), "--no-rtc", "--no-ask"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^PASS  camera ", out, re.M) and out.rstrip().endswith("all checks passed")
    # the same gate without --no-rtc on a machine without /dev/rtc0 fails, saying what to fit
    if not Path("/dev/rtc0").exists():
        assert main(["check", "--config", str(config), "--no-ask"]) == 1
        out = capsys.readouterr().out
        assert re.search(r"^FAIL  RTC ", out, re.M) and "RTC battery" in out and "1 check(s) failed" in out


def test_a_wrong_device_token_fails_the_server_link_with_advice(
    tmp_path: Path, server: ServerProcess, frames: Path, rfid: SimEm4100Module
) -> None:
    config = _gate(tmp_path, server, frames, rfid.link, "check-token")
    token = load_config(config).server.device_token
    _edit(config, token, "qd_not-the-token")
    results = run_checks(config, pin_factory=MockFactory(), require_rtc=False)
    assert _failed(results) == ["server sync"]
    failure = _by_name(results)["server sync"]
    assert "refused (HTTP 401)" in failure.detail and "qaqpa-tools provision --force" in failure.advice


def test_a_missing_reader_port_and_an_empty_camera_folder_fail_with_advice(
    tmp_path: Path, server: ServerProcess, frames: Path
) -> None:
    config = _gate(tmp_path, server, frames, tmp_path / "qaqpa-rfid9", "check-devices")
    for frame in frames.iterdir():
        frame.unlink()
    results = run_checks(config, pin_factory=MockFactory(), require_rtc=False, wait_s=1.0)
    assert _failed(results) == ["camera", "reader door"]
    seen = _by_name(results)
    assert "has no images" in seen["camera"].detail
    assert "cannot open" in seen["reader door"].detail and "qaqpa-tools serial list" in seen["reader door"].advice
    lines = list(report_lines(results))
    assert lines[-1] == "2 check(s) failed"
    assert any(line.strip().startswith("→ is the reader's adapter plugged in") for line in lines)


def test_an_unreachable_server_and_a_readable_config_file_fail(
    tmp_path: Path, server: ServerProcess, frames: Path, rfid: SimEm4100Module
) -> None:
    config = _gate(tmp_path, server, frames, rfid.link, "check-offline")
    _edit(config, server.url, "http://127.0.0.1:9")
    os.chmod(config, 0o644)
    results = run_checks(config, pin_factory=MockFactory(), require_rtc=False)
    assert _failed(results) == ["config mode", "server"]
    seen = _by_name(results)
    assert "chmod 600" in seen["config mode"].advice and "LTE router" in seen["server"].advice


def test_a_config_that_does_not_load_is_one_failure(tmp_path: Path) -> None:
    config = tmp_path / "gate.toml"
    config.write_text("[gate]\npark = 'p'\n")
    results = run_checks(config, pin_factory=MockFactory())
    assert [(r.name, r.status) for r in results] == [("config", "fail")]
    assert "provision" in results[0].advice


def test_the_clock_is_judged_as_the_gate_judges_it_at_start(
    tmp_path: Path, server: ServerProcess, frames: Path, rfid: SimEm4100Module
) -> None:
    config = load_config(_gate(tmp_path, server, frames, rfid.link, "check-clock"))
    now = time.time()
    no_rtc = tmp_path / "no-rtc0"
    at_1970 = _by_name(check_clock(config, now=5.0, rtc_device=no_rtc, require_rtc=False, ntp=lambda: True))
    assert at_1970["clock"].status == "fail" and "hwclock -w" in at_1970["clock"].advice
    assert "before this software was released" in at_1970["clock"].detail
    with GateStore(config.gate.db_path) as store:
        store.set_meta(META_LAST_GOOD, str(now + 3600))  # the gate knew it an hour "later" than the clock says
    behind = _by_name(check_clock(config, now=now, rtc_device=no_rtc, require_rtc=True, ntp=lambda: False))
    assert behind["clock"].status == "fail" and "behind the last known good time" in behind["clock"].detail
    assert behind["NTP"].status == "fail" and "set-ntp" in behind["NTP"].advice
    assert behind["RTC"].status == "fail"
    years_ahead = _by_name(check_clock(config, now=now + 3 * 365 * 86400, rtc_device=no_rtc, require_rtc=False))
    assert years_ahead["clock"].status == "fail" and "longer than any power cut" in years_ahead["clock"].detail
    fine = _by_name(check_clock(config, now=now + 7200, rtc_device=frames, require_rtc=True, ntp=lambda: None))
    assert [fine[name].status for name in ("clock", "NTP", "RTC")] == ["pass", "skip", "pass"]


def test_events_set_aside_are_a_warning_that_names_them_with_their_reasons(tmp_path: Path) -> None:
    config = GateConfig(
        gate=GateSettings(park=PARK, name="check-outbox", data_dir=tmp_path / "gate"),
        server=ServerSettings(url="http://127.0.0.1:9", device_token="qd_x"),
    )
    assert check_outbox(config).status == "skip"  # not provisioned yet
    with GateStore(config.gate.db_path) as store:
        ids = []
        for n in range(7):
            credential = ManualCredential(f"ranger test {n}")
            decision = decide(credential, store.view(Policy(PARK, Direction.ENTRY, 300, 43200)), 1_750_000_000 + n)
            event = make_event(decision)
            store.record(decision, event)
            ids.append(event.id)
        assert check_outbox(config).status == "pass"
        store.set_aside([(event_id, f"refused by the server: reason {n}") for n, event_id in enumerate(ids[:6])])
    result = check_outbox(config)
    assert result.status == "warn" and result.ok
    assert result.detail.startswith("1 event(s) waiting for the server; 6 set aside and never sent, newest first: ")
    assert f"{ids[5]}: refused by the server: reason 5" in result.detail and "(and 1 more)" in result.detail
    assert "qaqpa-gate status" in result.advice
    assert re.match(r"^WARN  outbox  1 event\(s\) waiting", next(report_lines([result])))
