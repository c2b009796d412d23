"""deploy/: the systemd units pass ``systemd-analyze verify``, the udev rules and the example gate.toml are
well-formed. ``.ci/run`` installs systemd's tools, so in CI the verify test runs rather than skips."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gate.config import load_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
INSTALL_PREFIX = "/opt/qaqpa/venv/bin/"  # where hardware.md installs Qaqpa; here: this interpreter's venv
UNITS = ("qaqpa-gate.service", "qaqpa-server.service")


def _settings(unit: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / unit).read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def _verify_needed() -> None:
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("QAQPA_REQUIRE_SYSTEMD_ANALYZE"):
            pytest.fail("systemd-analyze is required here (apt-get install systemd)")
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")


@pytest.mark.parametrize("unit", UNITS)
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path, unit: str) -> None:
    _verify_needed()
    # verify checks that ExecStart= is executable: point it at this environment's console scripts
    scripts = str(Path(sys.executable).parent) + "/"
    text = (DEPLOY / unit).read_text()
    assert INSTALL_PREFIX in text
    (tmp_path / unit).write_text(text.replace(INSTALL_PREFIX, scripts))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / unit)], capture_output=True, text=True, timeout=120, check=False
    )
    # verify exits 0 on settings it ignores ("Failed to parse ..., ignoring"): any output is a finding
    findings = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 0 and findings == []


def test_the_gate_unit_is_a_notify_service_with_a_watchdog_that_restarts_on_failure() -> None:
    gate = _settings("qaqpa-gate.service")
    assert gate["Type"] == ["notify"] and gate["WatchdogSec"] == ["30"] and gate["Restart"] == ["on-failure"]
    assert gate["ExecStart"] == [f"{INSTALL_PREFIX}qaqpa-gate run --config /etc/qaqpa/gate.toml"]
    assert gate["StandardError"] == ["journal"]
    assert "network-online.target" not in " ".join(gate.get("After", []) + gate.get("Requires", []))
    server = _settings("qaqpa-server.service")
    assert server["Restart"] == ["on-failure"] and server["Environment"][0] == "QAQPA_MODE=production"


def test_the_udev_rules_give_each_reader_a_stable_qaqpa_name() -> None:
    rule = re.compile(r'^[A-Za-z]+(\{[A-Za-z_]+\})?(==|!=|\+=|=)"[^"]*"$')
    links = []
    for line in (DEPLOY / "99-qaqpa-readers.rules").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pairs = [pair.strip() for pair in line.split(",")]
        assert all(rule.match(pair) for pair in pairs), line
        assert 'SUBSYSTEM=="tty"' in pairs
        links += [pair.split('"')[1] for pair in pairs if pair.startswith("SYMLINK+=")]
    assert links and all(link.startswith("qaqpa-") for link in links)
    assert len(set(links)) == len(links)


def test_the_example_gate_toml_loads_with_the_hardware_guides_pins() -> None:
    config = load_config(DEPLOY / "gate.toml.example")
    assert (config.relay.pin, config.lights.green, config.lights.red) == (17, 27, 22)
    assert config.readers[0].port == "/dev/qaqpa-osdp0"
    assert config.metrics.port == 9101
