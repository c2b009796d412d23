"""``qaqpa-tools``: a thin command line over firmware_tools."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from firmware_tools.check import report_lines, run_checks
from firmware_tools.enroll import EnrollError, read_one_card, register_card
from firmware_tools.permit_inspect import VERIFIED, InspectError, describe, load_keyring, texts_in_image
from firmware_tools.provision import ProvisionError, ReaderSpec, provision
from firmware_tools.serial_ports import card_line, list_serial_ports, open_for_cli, sniff
from gate.errors import GateError
from protocol import CardRole, Direction

PROTOCOLS = ["em4100", "pn532", "ascii", "osdp"]


def _permit_inspect(args: argparse.Namespace) -> int:
    keyring = load_keyring(args.keys) if args.keys else None
    texts = texts_in_image(args.image) if args.image else [args.text]
    if not texts:
        print(f"no QR code found in {args.image}", file=sys.stderr)
        return 1
    verdicts = [describe(text, keyring) for text in texts]
    for verdict in verdicts:
        print(json.dumps(verdict, ensure_ascii=False, indent=2))
    # a script (or a technician's `&&`) must be able to tell a permit a gate would refuse from one it accepts
    return 0 if all(verdict["verdict"] == VERIFIED for verdict in verdicts) else 1


def _serial_list(_args: argparse.Namespace) -> int:
    ports = list_serial_ports()
    if not ports:
        print("no serial ports found (is the adapter plugged in? `dmesg | tail` shows what the kernel saw)")
        return 1
    for port in ports:
        usb = f"usb {port.usb_id}" if port.usb_id else "not usb"
        serial_no = f" serial {port.serial_number}" if port.serial_number else ""
        print(f"{port.device}  {usb}{serial_no}  {port.description}")
        for name in port.stable_names:
            print(f"    stable name: {name}")
    return 0


def _serial_sniff(args: argparse.Namespace) -> int:
    reader = open_for_cli("sniff", args.protocol, args.port, args)
    print(f"# listening on {args.port} ({args.protocol}); Ctrl-C to stop", file=sys.stderr)
    try:
        sniff(reader, raw=args.raw, count=args.count, seconds=args.seconds)
    except KeyboardInterrupt:
        return 0
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return os.environ.get("QAQPA_PASSWORD") or getpass.getpass(f"password for {args.user}: ")


def _cards_enroll(args: argparse.Namespace) -> int:
    password = _password(args)
    reader = open_for_cli("enroll", args.protocol, args.port, args)
    print(f"# present the card to the reader on {args.port}…", file=sys.stderr)
    read = read_one_card(reader, args.timeout)
    print(card_line(read, raw=False))
    parks = [args.park] if args.park else []
    card = register_card(args.server, args.user, password, read.uid, args.holder, args.role, parks)
    print(json.dumps(card, ensure_ascii=False, indent=2))
    return 0


def _provision(args: argparse.Namespace) -> int:
    password = _password(args)
    readers = [ReaderSpec.parse(text) for text in args.reader]
    done = provision(
        args.server,
        args.park,
        args.gate,
        user=args.user,
        password=password,
        out=args.out,
        data_dir=args.data_dir,
        direction=Direction(args.direction),
        camera=(args.camera_source, args.camera_uri),
        readers=readers,
        metrics_port=args.metrics_port,
        force=args.force,
    )
    action = "created" if done.gate_created else "already on the server"
    print(f"gate {args.park}/{args.gate} ({done.direction.value}): {action}")
    print(f"permit keys pinned in {done.data_dir / 'gate.db'}: {', '.join(done.kids)}")
    print(f"wrote {done.config_path} (mode 0600: it holds the device token)")
    print(f"next: qaqpa-tools check --config {done.config_path}")
    return 0


def _ask(question: str) -> bool:
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def _check(args: argparse.Namespace) -> int:
    confirm = _ask if sys.stdin.isatty() and not args.no_ask else None
    results = run_checks(args.config, confirm=confirm, require_rtc=not args.no_rtc, wait_s=args.wait)
    for line in report_lines(results):
        print(line)
    return 0 if all(result.ok for result in results) else 1


def _reader_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", required=True, choices=PROTOCOLS)
    parser.add_argument("--baudrate", type=int, help="default: the protocol's usual speed")
    parser.add_argument("--format", choices=["hex", "decimal", "wiegand26", "wiegand34"], help="ascii readers")
    parser.add_argument("--address", type=int, default=0, help="OSDP reader address (default 0)")
    parser.add_argument("--scbk", help="OSDP Secure Channel base key, 32 hex digits")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qaqpa-tools", description="Technician's tools for Qaqpa gates.")
    commands = parser.add_subparsers(dest="command", required=True)

    permit = commands.add_parser("permit", help="look at e-permits").add_subparsers(dest="action", required=True)
    inspect = permit.add_parser(
        "inspect",
        help="decode a permit (QR text or a photo of it) and verify it against the server's keys",
        description="Decode a permit and verify it against the server's keys. Exits 0 only when every permit "
        "found verifies; 1 when one is malformed, forged, signed by an unknown key or not checked (no --keys).",
    )
    source = inspect.add_mutually_exclusive_group(required=True)
    source.add_argument("text", nargs="?", help="the QR text, PK1:…")
    source.add_argument("--image", type=Path, help="a photo or screenshot showing the QR")
    inspect.add_argument("--keys", help="server URL or a JWK Set file; without it the signature is not checked")
    inspect.set_defaults(func=_permit_inspect)

    serial_cmd = commands.add_parser("serial", help="serial ports and card readers")
    serial_actions = serial_cmd.add_subparsers(dest="action", required=True)
    listing = serial_actions.add_parser("list", help="ports with USB ids and their stable /dev/serial/by-id names")
    listing.set_defaults(func=_serial_list)
    sniff_cmd = serial_actions.add_parser(
        "sniff", help="print each card a reader reports, with its id in hex and decimal"
    )
    sniff_cmd.add_argument("port", help="serial device (a /dev/serial/by-id name) or pyserial URL")
    _reader_arguments(sniff_cmd)
    sniff_cmd.add_argument("--raw", action="store_true", help="also print the frame bytes")
    sniff_cmd.add_argument("--count", type=int, default=0, help="stop after this many cards (default: never)")
    sniff_cmd.add_argument("--seconds", type=float, default=0.0, help="stop after this long (default: never)")
    sniff_cmd.set_defaults(func=_serial_sniff)

    cards = commands.add_parser("cards", help="staff and resident cards").add_subparsers(dest="action", required=True)
    enroll = cards.add_parser("enroll", help="read a card on a reader and register it on the server")
    enroll.add_argument("--server", required=True, help="server URL, e.g. https://qaqpa.example.kz")
    enroll.add_argument("--port", required=True, help="serial device, e.g. /dev/serial/by-id/usb-… or /dev/ttyAMA0")
    _reader_arguments(enroll)
    enroll.add_argument("--holder", required=True, help="the card holder's name")
    enroll.add_argument("--role", required=True, choices=[r.value for r in CardRole])
    enroll.add_argument("--park", help="park slug the card opens")
    enroll.add_argument("--user", default=os.environ.get("QAQPA_USER", "admin"), help="server user (admin or manager)")
    enroll.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    enroll.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the card")
    enroll.set_defaults(func=_cards_enroll)

    prov = commands.add_parser(
        "provision",
        help="register this gate on the server, pin its permit keys, write gate.toml",
        description="Log in as an admin or the park's manager, create the gate if needed, issue its device token, "
        "pin the server's permit keys in the gate's store and write gate.toml (mode 0600).",
    )
    prov.add_argument("--server", required=True, help="server URL, e.g. https://qaqpa.example.kz")
    prov.add_argument("--park", required=True, help="park slug")
    prov.add_argument("--gate", required=True, help="gate slug, e.g. north-1")
    prov.add_argument("--direction", choices=[d.value for d in Direction], default="entry", help="for a new gate")
    prov.add_argument("--user", default=os.environ.get("QAQPA_USER", "admin"), help="server user (admin or manager)")
    prov.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    prov.add_argument("--out", type=Path, default=Path("gate.toml"), help="where to write gate.toml")
    prov.add_argument("--data-dir", type=Path, help="the gate's data folder (default: data/ beside gate.toml)")
    prov.add_argument("--camera-source", choices=["opencv", "folder", "video"], default="opencv")
    prov.add_argument("--camera-uri", default="0", help="camera index, RTSP URL, folder or video file")
    prov.add_argument(
        "--reader", action="append", default=[], metavar="NAME,PROTOCOL,PORT", help="a card reader (repeatable)"
    )
    prov.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port (0 = off)")
    prov.add_argument("--force", action="store_true", help="overwrite gate.toml (the old device token stops working)")
    prov.set_defaults(func=_provision)

    check = commands.add_parser(
        "check",
        help="test camera, readers, relay, inputs, clock and server link; exit 0 only if all pass",
        description="Test every device of a provisioned gate and print a pass/fail list with what to do for each "
        "failure. Stop the gate's service first: ports and pins have one owner.",
    )
    check.add_argument("--config", type=Path, required=True, help="gate.toml")
    check.add_argument("--no-rtc", action="store_true", help="this gate has no RTC (do not fail without /dev/rtc0)")
    check.add_argument("--no-ask", action="store_true", help="do not ask whether the relay clicked")
    check.add_argument("--wait", type=float, default=5.0, help="seconds to wait for each reader (camera: twice)")
    check.set_defaults(func=_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (InspectError, EnrollError, ProvisionError, GateError) as err:
        print(f"qaqpa-tools: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
