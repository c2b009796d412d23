from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.demo import DemoOptions, run_demo
from sim.errors import ScenarioError

pytestmark = pytest.mark.slow


def test_a_small_day_keeps_every_promise(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    progress = io.StringIO()
    options = DemoOptions(
        gates=2,
        visitors=30,
        cardholders=12,
        vehicles=0,
        duration_s=40.0,
        seed=7,
        report=report_path,
        work_dir=tmp_path / "w",
    )
    report = run_demo(options, out=progress)

    assert json.loads(report_path.read_text()) == report
    assert report["visitors"]["mismatches"] == []
    assert report["visitors"]["expected_ok"] == report["visitors"]["total"] == 30
    assert all(report["checks"].values()), report["checks"]
    assert report["ok"] is True
    assert report["lost_events"] == 0
    assert report["duplicate_events"] == 0

    gates = {gate["name"]: gate for gate in report["gates"]}
    assert set(gates) == {"entry-1", "entry-2", "exit"}
    server, totals = report["server"], report["gate_totals"]
    assert server["events"] == totals["events"] == sum(gate["events"] for gate in gates.values())
    assert server["entries"] == totals["entries"] > 0
    assert server["exits"] == totals["exits"] == server["entries"]  # everybody admitted left again
    assert server["inside_now"] == 0

    # the cut gate decided offline and flagged the permit issued while it was cut
    cut = gates["entry-1"]
    assert report["network_cut"]["gate"] == "entry-1"
    assert cut["network"]["cuts"] == 1
    assert cut["offline_decisions"] > 0
    assert cut["unlisted"] >= 1
    denied = {reason for gate in gates.values() for reason in gate["denied"]}
    assert {"expired", "not_yet_valid", "revoked", "wrong_park", "unknown_key", "bad_signature", "malformed"} <= denied
    assert {"entries_used", "already_inside"} <= denied
    assert gates["exit"]["denied"] == {}
    assert "CUT" in progress.getvalue() and "restored" in progress.getvalue()


def test_card_holders_tap_in_and_out_on_every_protocol(tmp_path: Path) -> None:
    progress = io.StringIO()
    options = DemoOptions(
        gates=2, visitors=12, cardholders=12, vehicles=0, duration_s=40.0, seed=3, work_dir=tmp_path / "w"
    )
    report = run_demo(options, out=progress)

    assert all(report["checks"].values()), report["checks"]
    cards = report["cards"]
    assert cards["mismatches"] == []
    assert cards["expected_ok"] == cards["total"] == 12
    # every kind of card holder came once at least, and each was answered as expected
    assert set(cards["by_kind"]) == {
        "resident",
        "ranger",
        "staff",
        "guide",
        "resident_twice",
        "unknown_card",
        "deactivated_card",
        "expired_card",
        "after_replug",
    }
    assert all(kind["ok"] == kind["count"] >= 1 for kind in cards["by_kind"].values())

    gates = {gate["name"]: gate for gate in report["gates"]}
    protocols = {gate: [reader["protocol"] for reader in gates[gate]["readers"]] for gate in gates}
    assert protocols == {"entry-1": ["em4100"], "entry-2": ["osdp"], "exit": ["pn532", "ascii"]}
    assert gates["entry-2"]["readers"][0]["secure_channel"] == "active"
    for gate in gates.values():
        assert gate["phantom_cards"] == []
        assert gate["card_events"] > 0
        assert all(reader["connected"] and reader["frames_ok"] > 0 for reader in gate["readers"])
    denied = {reason for gate in gates.values() for reason in gate["denied"]}
    assert {"unknown_card", "revoked", "expired", "already_inside"} <= denied

    # the reader pulled out mid-day came back by itself, and the card tapped on it afterwards was decided
    fault = report["reader_fault"]
    assert fault["reader"] == "entry-2-osdp"
    assert fault["recovered"] is True
    assert fault["gate_reader_reconnects"] >= 1
    assert [tap["got"] for tap in fault["taps_after_replug"]] == ["granted"]
    assert "UNPLUGGED" in progress.getvalue() and "plugged back in" in progress.getvalue()

    # residents are visitors: counted in and out; staff are logged with nobody counted
    server = report["server"]
    assert server["card_events"] == sum(gate["card_events"] for gate in gates.values())
    assert server["inside_now"] == 0
    assert cards["residents"] >= 2


def test_cars_at_the_vehicle_lanes_are_read_by_plate_and_the_ranger_handles_the_rest(tmp_path: Path) -> None:
    progress = io.StringIO()
    options = DemoOptions(
        gates=1, visitors=6, cardholders=0, vehicles=6, duration_s=40.0, seed=5, work_dir=tmp_path / "w"
    )
    report = run_demo(options, out=progress)

    assert all(report["checks"].values()), report["checks"]
    cars = report["vehicles"]
    assert cars["mismatches"] == [] and cars["wrong_admissions"] == []
    assert cars["expected_ok"] == cars["total"] == 6
    assert set(cars["by_kind"]) == {"permit", "pass", "unknown", "mismatch"}
    # the real reader read plates (a no-read goes to the ranger, but not every car)
    assert cars["plates_read"] >= 2
    assert cars["manual_opens"] >= 1  # the unknown car at least, let in by the ranger
    gates = {gate["name"]: gate for gate in report["gates"]}
    assert {"car-entry", "car-exit"} <= set(gates)
    assert "unknown_plate" in gates["car-entry"]["denied"]
    assert gates["car-entry"]["admitted"] >= 1 and gates["car-exit"]["admitted"] >= 1
    server = report["server"]
    assert server["inside_now"] == 0 and server["exits"] == server["entries"]


def test_bad_demo_options_are_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="duration"):
        run_demo(DemoOptions(duration_s=5, work_dir=tmp_path / "w"))
    assert not (tmp_path / "w").exists()
    assert main(["demo", "--duration", "5"]) == 1
    with pytest.raises(SystemExit):
        main(["demo", "--gates", "0"])
    with pytest.raises(SystemExit):
        main(["demo", "--cardholders", "-1"])
    with pytest.raises(ScenarioError, match="cardholders"):
        run_demo(DemoOptions(cardholders=-1, work_dir=tmp_path / "w"))
    with pytest.raises(ScenarioError, match="vehicles"):
        run_demo(DemoOptions(vehicles=-1, work_dir=tmp_path / "w"))
    assert not (tmp_path / "w").exists()


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["demo", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--visitors" in out and "--cardholders" in out
