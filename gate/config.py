"""The gate's configuration: ``gate.toml`` → ``GateConfig``.

Build one in code with the section dataclasses (only ``GateSettings`` and ``ServerSettings`` have required
fields)::

    GateConfig(
        gate=GateSettings(park="altyn-emel", name="north-1", direction=Direction.ENTRY, data_dir=Path("var/g1")),
        server=ServerSettings(url="http://127.0.0.1:8000", device_token="qd_...", sync_interval_s=1),
    )

or from a dict shaped like the TOML file with ``config_from_dict(d)``.

Card readers are an array of tables, one per reader on the lane::

    [[readers]]
    name = "door"
    protocol = "em4100"          # em4100 | pn532 | ascii | osdp
    port = "/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0"

    [[readers]]
    name = "osdp-1"
    protocol = "osdp"
    port = "/dev/ttyUSB1"
    baudrate = 9600              # optional: each protocol has its default
    address = 0                  # osdp: the reader's address on the RS-485 bus
    scbk = "000102030405060708090a0b0c0d0e0f"   # osdp: its Secure Channel base key, 16 bytes of hex

``ascii`` readers take ``format`` (hex | decimal | wiegand26 | wiegand34), ``decimal_bytes`` (the uid's
length in bytes for a decimal id, default 4) and ``wiegand_base`` (10 or 16: how the bridge prints the
Wiegand value).

A vehicle lane reads licence plates from the same camera: ``[gate] lane = "vehicle"`` or
``[plates] enabled = true``. ``[plates]`` takes the plate reader's settings
(``gate.plates.settings.PlateSettings``) and ``qr_window_s``, how long a read plate is "the car at the
barrier" for a permit QR shown meanwhile (its plate must match)::

    [gate]
    lane = "vehicle"

    [plates]
    countries = ["KZ", "RU"]     # grammars to read (protocol.plates); generic = true for any other country
    trigger = "motion"           # motion | loop | always
    roi = [0.1, 0.3, 0.8, 0.7]   # the lane in front of the barrier, as fractions (x, y, width, height)
    min_char_px = 16             # smaller characters are cars further off (0: off; camera sees plates ≥ 150 px wide)
    votes_needed = 2
    qr_window_s = 10
    recogniser = "plates"        # plates (shipped, trained for plates) | easyocr (scene text; needs plate-models)
    learned = true               # PP-OCRv4 re-reads unsure crops, then its detector looks at the lane
    detector_side = 960          # px of the lane's longer side the detector sees (640: faster, finds fewer)

The plate reader (OpenCV, the plate recogniser and PP-OCRv4 on ONNX Runtime) is imported only for a vehicle
lane, so a QR-only gate never loads it.

The ranger page (gate.web) and the store's housekeeping (gate.disk)::

    [ranger]
    port = 8080                  # 0 (the default): no ranger page
    host = "0.0.0.0"             # default 127.0.0.1 (a kiosk screen on the Pi itself)
    pin_hash = "$argon2id$..."   # qaqpa-gate ranger-pin; empty: ranger cards only

    [store]
    retention_days = 30          # uploaded events are pruned after this; pending ones never
    min_free_mb = 64             # disk alarm under this much free space

Prometheus metrics (gate.metrics), off unless a port is given::

    [metrics]
    port = 9101                  # 0 (the default): no metrics endpoint
    host = "127.0.0.1"           # "0.0.0.0" to let a Prometheus elsewhere (over the VPN) scrape it
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gate.errors import ConfigError, GateError
from protocol import Direction
from protocol.cards import MAX_UID_BYTES

if TYPE_CHECKING:
    from gate.plates.settings import PlateSettings

LANES = ("pedestrian", "vehicle")


@dataclass(frozen=True)
class GateSettings:
    park: str
    name: str
    direction: Direction = Direction.ENTRY
    data_dir: Path = Path("var/gate")
    clock_skew_s: int = 300
    passback_timeout_s: int = 43200
    debounce_s: float = 3.0
    lane: str = "pedestrian"  # pedestrian | vehicle (reads plates: see [plates])

    @property
    def db_path(self) -> Path:
        return self.data_dir / "gate.db"


@dataclass(frozen=True)
class ServerSettings:
    url: str
    device_token: str
    sync_interval_s: float = 10.0
    upload_batch: int = 500


@dataclass(frozen=True)
class CameraSettings:
    source: str = "opencv"  # opencv | folder | video
    uri: str = "0"
    fps: float = 15.0
    loop: bool = False


@dataclass(frozen=True)
class RelaySettings:
    pin: int = 17
    pulse_s: float = 1.0


@dataclass(frozen=True)
class LightsSettings:
    green: int = 27
    red: int = 22


READER_PROTOCOLS = ("em4100", "pn532", "ascii", "osdp")
ASCII_FORMATS = ("hex", "decimal", "wiegand26", "wiegand34")
_READER_OPTIONS: dict[str, tuple[str, ...]] = {
    "em4100": (),
    "pn532": (),
    "ascii": ("format", "decimal_bytes", "wiegand_base"),
    "osdp": ("address", "scbk"),
}
SCBK_BYTES = 16
OSDP_MAX_ADDRESS = 126  # 127 is the broadcast address


@dataclass(frozen=True)
class ReaderSettings:
    """One card reader: what ``gate.readers.factory.open_reader`` is called with."""

    name: str
    protocol: str
    port: str
    baudrate: int | None = None  # None: the protocol's usual speed
    # protocol options, already checked and converted (osdp ``scbk`` is bytes here)
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def open_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``open_reader`` besides name, protocol and port."""
        kwargs = dict(self.options)
        if "format" in kwargs:  # the reader's keyword is ``fmt`` (``format`` is a builtin)
            kwargs["fmt"] = kwargs.pop("format")
        if self.baudrate is not None:
            kwargs["baudrate"] = self.baudrate
        return kwargs


@dataclass(frozen=True)
class PlateLaneSettings:
    """A vehicle lane: its plate reader's settings and the plate/QR cross-check window."""

    reader: PlateSettings
    qr_window_s: float = 10.0  # a plate read this recently is the car a permit QR is shown in


@dataclass(frozen=True)
class StoreSettings:
    retention_days: float = 30.0  # events the server accepted are pruned this long after; pending ones never
    min_free_mb: int = 64  # less free space than this next to the store raises the disk alarm (gate.disk)


@dataclass(frozen=True)
class RangerSettings:
    """The ranger page (gate.web), served by the gate itself; ``port`` 0 leaves it off."""

    port: int = 0
    host: str = "127.0.0.1"  # "0.0.0.0" for rangers' phones on the gate's Wi-Fi
    pin_hash: str = ""  # argon2 hash of the ranger PIN (``qaqpa-gate ranger-pin``); empty: card login only
    session_hours: float = 12.0


@dataclass(frozen=True)
class MetricsSettings:
    """The Prometheus endpoint (gate.metrics); ``port`` 0 leaves it off."""

    port: int = 0
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class GateConfig:
    gate: GateSettings
    server: ServerSettings
    camera: CameraSettings = field(default_factory=CameraSettings)
    relay: RelaySettings = field(default_factory=RelaySettings)
    lights: LightsSettings = field(default_factory=LightsSettings)
    readers: tuple[ReaderSettings, ...] = ()
    plates: PlateLaneSettings | None = None  # None: not a vehicle lane, no plate reader
    store: StoreSettings = field(default_factory=StoreSettings)
    ranger: RangerSettings = field(default_factory=RangerSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    @property
    def vehicle_lane(self) -> bool:
        return self.plates is not None


_SECTIONS: dict[str, type[Any]] = {
    "gate": GateSettings,
    "server": ServerSettings,
    "camera": CameraSettings,
    "relay": RelaySettings,
    "lights": LightsSettings,
    "store": StoreSettings,
    "ranger": RangerSettings,
    "metrics": MetricsSettings,
}
_CAMERA_SOURCES = ("opencv", "folder", "video")


def _convert(key: str, value: object, kind: str) -> object:
    """Check one value against its field's annotation (the annotations are strings under PEP 563)."""
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key} must be a non-empty string, not {value!r}")
        return value
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{key} must be a non-negative integer, not {value!r}")
        return value
    if kind == "float":
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{key} must be a non-negative number, not {value!r}")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, not {value!r}")
        return value
    if kind == "Path":
        if not isinstance(value, str | Path) or not str(value):
            raise ConfigError(f"{key} must be a path, not {value!r}")
        return Path(value)
    if kind == "Direction":
        try:
            return Direction(str(value))
        except ValueError as err:
            raise ConfigError(f"{key} must be one of entry, exit; not {value!r}") from err
    raise ConfigError(f"{key}: unsupported setting type {kind}")  # a programming error in this module


def _section(name: str, cls: type[Any], values: object) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"[{name}] has unknown key(s): {', '.join(unknown)}")
    kwargs: dict[str, object] = {}
    for fname, f in fields.items():
        if fname in values:
            kwargs[fname] = _convert(f"{name}.{fname}", values[fname], str(f.type))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{name}.{fname} is required")
    return cls(**kwargs)


def _reader_option(where: str, protocol: str, key: str, value: object) -> object:
    if key == "format":
        if value not in ASCII_FORMATS:
            raise ConfigError(f"{where}.format must be one of {', '.join(ASCII_FORMATS)}, not {value!r}")
        return value
    if key == "decimal_bytes":
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_UID_BYTES:
            raise ConfigError(f"{where}.decimal_bytes must be an integer from 1 to {MAX_UID_BYTES}, not {value!r}")
        return value
    if key == "wiegand_base":
        if value not in (10, 16) or isinstance(value, bool):
            raise ConfigError(f"{where}.wiegand_base must be 10 or 16, not {value!r}")
        return value
    if key == "address":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= OSDP_MAX_ADDRESS:
            raise ConfigError(f"{where}.address must be an integer from 0 to {OSDP_MAX_ADDRESS}, not {value!r}")
        return value
    if key == "scbk":
        try:
            key_bytes = bytes.fromhex(value) if isinstance(value, str) else b""
        except ValueError:
            key_bytes = b""
        if len(key_bytes) != SCBK_BYTES:
            raise ConfigError(f"{where}.scbk must be {SCBK_BYTES} bytes as {2 * SCBK_BYTES} hex digits")
        return key_bytes
    raise ConfigError(f"{where}: unsupported {protocol} option {key}")  # a programming error in this module


def _readers(values: object) -> tuple[ReaderSettings, ...]:
    if not isinstance(values, list):
        raise ConfigError("readers must be an array of tables: [[readers]]")
    readers: list[ReaderSettings] = []
    for index, entry in enumerate(values):
        where = f"readers[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table")
        for required in ("name", "protocol", "port"):
            if required not in entry:
                raise ConfigError(f"{where}.{required} is required")
        name = _convert(f"{where}.name", entry["name"], "str")
        port = _convert(f"{where}.port", entry["port"], "str")
        protocol = entry["protocol"]
        if protocol not in READER_PROTOCOLS:
            raise ConfigError(f"{where}.protocol must be one of {', '.join(READER_PROTOCOLS)}, not {protocol!r}")
        allowed = _READER_OPTIONS[protocol]
        unknown = sorted(set(entry) - {"name", "protocol", "port", "baudrate", *allowed})
        if unknown:
            raise ConfigError(f"{where} ({protocol}) has unknown key(s): {', '.join(unknown)}")
        baudrate = entry.get("baudrate")
        if baudrate is not None and (not isinstance(baudrate, int) or isinstance(baudrate, bool) or baudrate <= 0):
            raise ConfigError(f"{where}.baudrate must be a positive integer, not {baudrate!r}")
        options = {key: _reader_option(where, protocol, key, entry[key]) for key in allowed if key in entry}
        assert isinstance(name, str) and isinstance(port, str)
        if any(reader.name == name for reader in readers):
            raise ConfigError(f"{where}.name {name!r} is used by another reader")
        readers.append(ReaderSettings(name, protocol, port, baudrate, MappingProxyType(options)))
    return tuple(readers)


_PLATE_LANE_KEYS = ("enabled", "qr_window_s")


def _plate_value(key: str, value: object, default: object) -> object:
    """Check a [plates] value against the kind of its PlateSettings default (TOML arrays become tuples)."""
    if isinstance(default, bool):
        return _convert(key, value, "bool")
    if isinstance(default, int):
        return _convert(key, value, "int")
    if isinstance(default, float):
        return _convert(key, value, "float")
    if isinstance(default, str):
        return _convert(key, value, "str")
    if isinstance(default, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be an array, not {value!r}")
        kind = "float" if default and isinstance(default[0], float) else "str"
        return tuple(_convert(key, item, kind) for item in value)
    if default is None:  # loop_pin: a GPIO number or a pin name
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ConfigError(f"{key} must be a pin number or name, not {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported setting type {type(default).__name__}")  # a programming error


def _plates(values: object, lane: str) -> PlateLaneSettings | None:
    if not isinstance(values, dict):
        raise ConfigError("[plates] must be a table")
    enabled = _convert("plates.enabled", values.get("enabled", False), "bool")
    if lane == "vehicle" and "enabled" in values and not enabled:
        raise ConfigError('gate.lane = "vehicle" reads plates; plates.enabled = false contradicts it')
    if lane != "vehicle" and not enabled:
        return None
    # imported here: only a vehicle lane loads the plate reader's package (its model loads at start)
    from gate.plates.settings import PlateSettings

    defaults = {f.name: f.default for f in dataclasses.fields(PlateSettings)}
    unknown = sorted(set(values) - set(defaults) - set(_PLATE_LANE_KEYS))
    if unknown:
        raise ConfigError(f"[plates] has unknown key(s): {', '.join(unknown)}")
    kwargs: dict[str, Any] = {
        name: _plate_value(f"plates.{name}", value, defaults[name])
        for name, value in values.items()
        if name not in _PLATE_LANE_KEYS
    }
    countries = kwargs.get("countries", ())
    assert isinstance(countries, tuple)
    from protocol.plates import COUNTRIES

    strange = [country for country in countries if country not in COUNTRIES]
    if strange:
        raise ConfigError(f"plates.countries: {', '.join(map(str, strange))} not among {', '.join(COUNTRIES)}")
    try:
        reader = PlateSettings(**kwargs)
    except (GateError, TypeError, ValueError) as err:
        raise ConfigError(str(err)) from err
    window = _convert("plates.qr_window_s", values.get("qr_window_s", 10.0), "float")
    assert isinstance(window, float)
    return PlateLaneSettings(reader, window)


def config_from_dict(data: dict[str, Any], base_dir: Path | None = None) -> GateConfig:
    """Build and check a GateConfig from a dict shaped like gate.toml.

    A relative ``gate.data_dir`` is taken relative to ``base_dir`` when given (the TOML file's folder).
    """
    unknown = sorted(set(data) - set(_SECTIONS) - {"readers", "plates"})
    if unknown:
        raise ConfigError(f"unknown section(s): {', '.join(unknown)}")
    for required in ("gate", "server"):
        if required not in data:
            raise ConfigError(f"[{required}] section is required")
    sections = {name: _section(name, cls, data.get(name, {})) for name, cls in _SECTIONS.items()}
    lane = sections["gate"].lane
    if lane not in LANES:
        raise ConfigError(f"gate.lane must be one of {', '.join(LANES)}, not {lane!r}")
    config = GateConfig(
        **sections, readers=_readers(data.get("readers", [])), plates=_plates(data.get("plates", {}), lane)
    )
    if config.camera.source not in _CAMERA_SOURCES:
        raise ConfigError(f"camera.source must be one of {', '.join(_CAMERA_SOURCES)}, not {config.camera.source!r}")
    if not config.server.url.startswith(("http://", "https://")):
        raise ConfigError(f"server.url must be an http(s) URL, not {config.server.url!r}")
    if not 1 <= config.server.upload_batch <= 1000:
        raise ConfigError("server.upload_batch must be between 1 and 1000")
    if config.server.sync_interval_s <= 0:
        raise ConfigError("server.sync_interval_s must be positive")
    if config.camera.fps <= 0:
        raise ConfigError("camera.fps must be positive")
    if config.metrics.port > 65535:
        raise ConfigError(f"metrics.port must be a TCP port (1-65535, 0 = off), not {config.metrics.port}")
    if config.ranger.port > 65535:
        raise ConfigError(f"ranger.port must be a TCP port (1-65535, 0 = off), not {config.ranger.port}")
    if base_dir is not None and not config.gate.data_dir.is_absolute():
        config = dataclasses.replace(
            config, gate=dataclasses.replace(config.gate, data_dir=base_dir / config.gate.data_dir)
        )
    return config


def load_config(path: str | Path) -> GateConfig:
    """Read gate.toml; raises ConfigError naming the file and the bad key."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    try:
        return config_from_dict(data, base_dir=path.parent)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err
