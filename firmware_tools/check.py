"""Check a provisioned gate, device by device: ``qaqpa-tools check --config gate.toml``.

Each check opens the real device the gate would use (the same frame source, card-reader and pin-factory
code as ``qaqpa-gate run``), so stop the gate's service first (``systemctl stop qaqpa-gate``): a serial
port or a GPIO pin has one owner at a time. Every failure carries what to do about it.

    config → store → outbox → disk → camera → readers → relay/lights → inputs → clock → server link

A check that passes but wants a person's attention (events the gate set aside) is a warning: shown, with
what to do, and not a failure.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson
from gpiozero import DigitalInputDevice, DigitalOutputDevice, GPIOZeroError
from gpiozero.pins.mock import MockFactory
from pydantic import ValidationError

from gate.actuators import default_pin_factory
from gate.clock import KnownTimes, known_times
from gate.config import GateConfig, load_config
from gate.errors import GateError
from gate.frames import open_frame_source
from gate.readers.factory import open_reader
from gate.store import GateStore
from protocol import Keyring, KeyringError, SyncPage

Status = Literal["pass", "warn", "fail", "skip"]
Confirm = Callable[[str], bool]

API = "/api/v1"
MIN_FREE_BYTES = 200 * 1024 * 1024  # below this the outbox has little room for days offline
RTC_DEVICE = Path("/dev/rtc0")
RELAY_CHECK_S = 0.3
SET_ASIDE_SHOWN = 5  # set-aside events named with their reasons; `qaqpa-gate status` lists more


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str  # what was seen
    advice: str = ""  # what to do, for a failure

    @property
    def ok(self) -> bool:
        return self.status != "fail"


def _pass(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "pass", detail)


def _fail(name: str, detail: str, advice: str) -> CheckResult:
    return CheckResult(name, "fail", detail, advice)


def _skip(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "skip", detail)


def _warn(name: str, detail: str, advice: str) -> CheckResult:
    return CheckResult(name, "warn", detail, advice)


# -- store and disk


def check_store(config: GateConfig) -> CheckResult:
    path = config.gate.db_path
    if not path.exists():
        return _fail(
            "store", f"no store at {path}", "run `qaqpa-tools provision` (it creates the store and pins the keys)"
        )
    try:
        with GateStore(path) as store:
            integrity = store.pragma("quick_check")
            keys = len(store.keyring().keys())
    except GateError as err:
        return _fail("store", str(err), f"the gate's database is damaged: move {path} aside and provision again")
    if integrity != "ok":
        return _fail("store", f"quick_check says {integrity}", f"move {path} aside and provision again")
    if keys == 0:
        return _fail("store", "no permit keys pinned", "run `qaqpa-tools provision` again, or let the gate sync once")
    return _pass("store", f"{path}: integrity ok, {keys} permit key(s) trusted")


def check_outbox(config: GateConfig) -> CheckResult:
    """Events waiting for the server, and those set aside because a server refused them, with the reasons."""
    path = config.gate.db_path
    if not path.exists():
        return _skip("outbox", f"no store at {path}")
    try:
        with GateStore(path) as store:
            waiting = store.outbox_depth()
            aside = store.set_aside_events()
    except GateError as err:
        return _fail("outbox", str(err), "see the store check")
    detail = f"{waiting} event(s) waiting for the server"
    if not aside:
        return _pass("outbox", f"{detail}; none set aside")
    named = "; ".join(f"{event.id}: {event.reason}" for event in aside[:SET_ASIDE_SHOWN])
    more = f" (and {len(aside) - SET_ASIDE_SHOWN} more)" if len(aside) > SET_ASIDE_SHOWN else ""
    return _warn(
        "outbox",
        f"{detail}; {len(aside)} set aside and never sent, newest first: {named}{more}",
        "the gate keeps syncing; these events stay in its store for review (`qaqpa-gate status` lists them) and "
        "the park's dashboard lists what the server refused: report them with the gate's software version; once "
        "the server takes them, `qaqpa-gate resend` puts them back in the outbox",
    )


def check_disk(config: GateConfig, min_free: int = MIN_FREE_BYTES) -> CheckResult:
    folder = config.gate.data_dir
    try:
        usage = shutil.disk_usage(folder)
    except OSError as err:
        return _fail("disk", f"cannot look at {folder}: {err.strerror}", "create the data folder on the writable disk")
    free_mb = usage.free / 1024 / 1024
    if usage.free < min_free:
        return _fail(
            "disk",
            f"{free_mb:.0f} MB free on {folder}",
            f"free at least {min_free // 1024 // 1024} MB (old logs, /var/cache) or use a larger SD card/SSD",
        )
    return _pass("disk", f"{free_mb:.0f} MB free on {folder}")


# -- camera and readers


def check_camera(config: GateConfig, wait_s: float = 10.0) -> CheckResult:
    camera = config.camera
    where = f"{camera.source} {camera.uri}"
    advice = {
        "opencv": "check the camera's cable and power; for an IP camera open the RTSP URL in VLC from a laptop on "
        "the same network; for a USB camera see `ls /dev/video*`",
        "folder": "camera.uri must name a folder of images",
        "video": "camera.uri must name a readable video file",
    }[camera.source]
    try:
        source = open_frame_source(camera)
    except GateError as err:
        return _fail("camera", str(err), advice)
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            frame = source.read(0.5)
            if frame is not None:
                height, width = frame.shape[:2]
                hint = "" if width >= 1280 else " (below 1280×720: QR codes must be held closer)"
                return _pass("camera", f"a {width}×{height} frame from {where}{hint}")
    except GateError as err:
        return _fail("camera", str(err), advice)
    finally:
        source.close()
    return _fail("camera", f"no frame from {where} within {wait_s:.0f} s", advice)


def check_readers(config: GateConfig, wait_s: float = 5.0) -> list[CheckResult]:
    """Each configured card reader opens its port and reports itself healthy."""
    if not config.readers:
        return [_skip("readers", "no card readers in gate.toml")]
    results = []
    for settings in config.readers:
        name = f"reader {settings.name}"
        advice = (
            f"is the reader's adapter plugged in and named {settings.port}? `qaqpa-tools serial list` shows the "
            "ports; see the udev rules in deploy/99-qaqpa-readers.rules; `qaqpa-tools serial sniff` shows its cards"
        )
        try:
            reader = open_reader(settings.name, settings.protocol, settings.port, **settings.open_kwargs())
        except GateError as err:
            results.append(_fail(name, str(err), "fix the reader's settings in gate.toml"))
            continue
        reader.start(lambda _read: None)
        try:
            deadline = time.monotonic() + wait_s
            health = reader.health()
            while not health.connected and time.monotonic() < deadline:
                time.sleep(0.1)
                health = reader.health()
        finally:
            reader.stop()
        if health.connected:
            results.append(_pass(name, f"{settings.protocol} on {settings.port}: connected"))
        else:
            seen = health.last_error or "no answer"
            results.append(_fail(name, f"{settings.protocol} on {settings.port}: {seen}", advice))
    return results


# -- pins


def _is_mock(factory: Any) -> bool:
    return isinstance(factory, MockFactory)


def check_outputs(
    config: GateConfig, pin_factory: Any | None = None, confirm: Confirm | None = None
) -> list[CheckResult]:
    """Click the relay and flash the lights. Mock pins are read back; on a Pi the technician listens."""
    factory = pin_factory if pin_factory is not None else default_pin_factory()
    results = []
    outputs = (("relay", config.relay.pin), ("light green", config.lights.green), ("light red", config.lights.red))
    for name, pin in outputs:
        try:
            device = DigitalOutputDevice(pin, initial_value=False, pin_factory=factory)
        except (GPIOZeroError, OSError) as err:
            results.append(
                _fail(name, f"GPIO{pin}: {err}", "is another program using the pin? `systemctl stop qaqpa-gate`")
            )
            continue
        try:
            device.on()
            read_on = device.pin.state if factory is not None and _is_mock(factory) else None
            time.sleep(RELAY_CHECK_S)
            device.off()
            read_off = device.pin.state if factory is not None and _is_mock(factory) else None
        finally:
            device.close()
        if read_on is not None:
            if read_on and not read_off:
                results.append(_pass(name, f"GPIO{pin} went high and low again (mock pins)"))
            else:
                results.append(
                    _fail(name, f"GPIO{pin} read back {read_on}/{read_off}", "check relay.pin / lights in gate.toml")
                )
        elif confirm is not None:
            question = "click" if name == "relay" else "light up"
            if confirm(f"Did the {name} on GPIO{pin} {question}?"):
                results.append(_pass(name, f"GPIO{pin} pulsed; the technician confirmed"))
            else:
                results.append(
                    _fail(
                        name,
                        f"GPIO{pin} pulsed; nothing seen or heard",
                        "check the wiring to the relay board (VCC, GND, IN) against hardware.md's GPIO map and that "
                        "the relay board's jumper selects the right trigger level",
                    )
                )
        else:
            results.append(_pass(name, f"GPIO{pin} pulsed for {RELAY_CHECK_S} s: listen for the click (not confirmed)"))
    return results


def check_inputs(config: GateConfig, pin_factory: Any | None = None) -> CheckResult:
    """The loop detector's pin can be read (a vehicle lane with a loop trigger)."""
    loop_pin = None if config.plates is None else config.plates.reader.loop_pin
    if loop_pin is None:
        return _skip("loop detector", "no loop detector configured (plates.loop_pin)")
    factory = pin_factory if pin_factory is not None else default_pin_factory()
    try:
        # as gate.plates.trigger.LoopTrigger: the detector's relay pulls the pin to ground while it sees a vehicle
        device = DigitalInputDevice(loop_pin, pull_up=True, pin_factory=factory)
    except (GPIOZeroError, OSError) as err:
        return _fail("loop detector", f"GPIO{loop_pin}: {err}", "check plates.loop_pin; stop the gate service first")
    try:
        value = device.value
    finally:
        device.close()
    state = "vehicle present" if value else "no vehicle"
    return _pass("loop detector", f"GPIO{loop_pin} reads {value} ({state}); drive onto the loop to see it change")


# -- clock


def _known_times(config: GateConfig) -> KnownTimes:
    """What the gate's store knows of the time (gate.clock, the same bounds the gate checks at start)."""
    if not config.gate.db_path.exists():
        return KnownTimes()
    with GateStore(config.gate.db_path) as store:
        return known_times(store)


def _ntp_synchronized() -> bool | None:
    """timedatectl's NTPSynchronized; None when it cannot tell (no systemd, no timedatectl)."""
    if shutil.which("timedatectl") is None:
        return None
    try:
        done = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() == "yes"


def check_clock(
    config: GateConfig,
    now: float | None = None,
    rtc_device: Path = RTC_DEVICE,
    require_rtc: bool = True,
    ntp: Callable[[], bool | None] = _ntp_synchronized,
) -> list[CheckResult]:
    """The clock judged as the gate judges it at start (gate.clock), then NTP and the RTC."""
    now = time.time() if now is None else now
    shown = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    try:
        problem = _known_times(config).problem(now)
    except GateError as err:
        results = [_fail("clock", f"the clock says {shown}; the store cannot tell more: {err}", "see the store check")]
    else:
        if problem is None:
            results = [_pass("clock", f"the clock says {shown}: not before anything this gate saw happen")]
        else:
            results = [
                _fail(
                    "clock",
                    f"{problem} (it says {shown}); the gate would decide on the last known good time and flag "
                    "its events",
                    "set the clock: connect the network so NTP sets it, or `sudo date -s 'YYYY-MM-DD hh:mm:ss'` then "
                    "`sudo hwclock -w`, and check the RTC battery; if the clock is right, let the gate sync once "
                    "(the server's time clears it)",
                )
            ]
    synced = ntp()
    if synced is None:
        results.append(_skip("NTP", "timedatectl cannot tell (not running under systemd)"))
    elif synced:
        results.append(_pass("NTP", "synchronised"))
    else:
        results.append(
            _fail(
                "NTP",
                "not synchronised",
                "check the network (LTE router) and `timedatectl set-ntp true`; `timedatectl timesync-status`",
            )
        )
    if rtc_device.exists():
        results.append(_pass("RTC", f"{rtc_device} present"))
    elif require_rtc:
        results.append(
            _fail(
                "RTC",
                f"no {rtc_device}",
                "Pi 5: plug the RTC battery into the BAT connector; older Pi: fit a DS3231 module and add "
                "`dtoverlay=i2c-rtc,ds3231` to /boot/firmware/config.txt",
            )
        )
    else:
        results.append(_skip("RTC", f"no {rtc_device}; not required (--no-rtc)"))
    return results


# -- server link


def check_server(config: GateConfig, client: httpx.Client | None = None) -> list[CheckResult]:
    """GET /keys, then one page of the device's sync with its token (read, not applied)."""
    base = config.server.url.rstrip("/")
    http = client or httpx.Client(timeout=httpx.Timeout(15.0, connect=5.0))
    unreachable = "check the network (LTE router, APN, SIM credit), the firewall, and server.url in gate.toml"
    results = []
    try:
        try:
            keys = http.get(f"{base}{API}/keys")
        except httpx.HTTPError as err:
            return [_fail("server", f"cannot reach {base}: {type(err).__name__}: {err}", unreachable)]
        if keys.status_code != 200:
            return [_fail("server", f"GET /keys: HTTP {keys.status_code}", f"is {base} a Qaqpa server?")]
        try:
            published = Keyring.from_jwks(keys.json()).keys()
            kids = sorted(key.kid for key in published)
        except (KeyringError, ValueError) as err:
            return [_fail("server", f"GET /keys is not a JWK Set: {err}", f"is {base} a Qaqpa server?")]
        results.append(_pass("server keys", f"{base} publishes key(s) {', '.join(kids)}"))
        headers = {"Authorization": f"Bearer {config.server.device_token}"}
        try:
            page = http.get(f"{base}{API}/gate/sync", params={"cursor": "0"}, headers=headers)
        except httpx.HTTPError as err:
            results.append(_fail("server sync", f"{type(err).__name__}: {err}", unreachable))
            return results
        if page.status_code in (401, 403):
            results.append(
                _fail(
                    "server sync",
                    f"the device token was refused (HTTP {page.status_code})",
                    "provision again (`qaqpa-tools provision --force`): a newer token was issued or the gate was "
                    "removed on the server",
                )
            )
            return results
        if page.status_code != 200:
            results.append(_fail("server sync", f"HTTP {page.status_code}: {page.text[:200]}", "see the server's log"))
            return results
        try:
            sync_page = SyncPage.model_validate(orjson.loads(page.content))
        except (orjson.JSONDecodeError, ValidationError) as err:
            results.append(_fail("server sync", f"not a sync page: {err}", "server and gate versions differ: update"))
            return results
        results.append(
            _pass("server sync", f"device token accepted; first page has {len(sync_page.permits)} permit(s)")
        )
    finally:
        if client is None:
            http.close()
    return results


# -- all of it


def run_checks(
    config_path: Path,
    *,
    pin_factory: Any | None = None,
    confirm: Confirm | None = None,
    require_rtc: bool = True,
    rtc_device: Path = RTC_DEVICE,
    wait_s: float = 5.0,
    client: httpx.Client | None = None,
) -> list[CheckResult]:
    """Every check on the gate ``config_path`` describes, in order; a config that does not load is one failure."""
    try:
        config = load_config(config_path)
    except GateError as err:
        return [_fail("config", str(err), "fix gate.toml, or write it again with `qaqpa-tools provision`")]
    mode = config_path.stat().st_mode & 0o777
    results = [_pass("config", f"{config_path} loads")]
    if mode & 0o077:
        results.append(
            _fail(
                "config mode",
                f"{config_path} is mode {mode:o}",
                f"it holds the device token: chmod 600 {config_path}",
            )
        )
    results += [check_store(config), check_outbox(config), check_disk(config), check_camera(config, wait_s=2 * wait_s)]
    results += check_readers(config, wait_s=wait_s)
    results += check_outputs(config, pin_factory, confirm)
    results.append(check_inputs(config, pin_factory))
    results += check_clock(config, rtc_device=rtc_device, require_rtc=require_rtc)
    results += check_server(config, client)
    return results


def report_lines(results: list[CheckResult]) -> Iterator[str]:
    """``PASS  camera  a 1280×720 frame …`` lines, each failure followed by what to do."""
    width = max((len(result.name) for result in results), default=0)
    for result in results:
        yield f"{result.status.upper():4}  {result.name:{width}}  {result.detail}"
        if result.advice:
            yield f"{'':4}  {'':{width}}  → {result.advice}"
    failed = sum(1 for result in results if not result.ok)
    yield ""
    yield "all checks passed" if not failed else f"{failed} check(s) failed"
