"""``qaqpa-tools``: a thin command line over firmware_tools."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from firmware_tools.enroll import EnrollError, read_one_card, register_card
from firmware_tools.permit_inspect import InspectError, describe, load_keyring, texts_in_image
from firmware_tools.serial_ports import card_line, list_serial_ports, open_for_cli, sniff
from gate.errors import GateError
from protocol import CardRole

PROTOCOLS = ["em4100", "pn532", "ascii", "osdp"]


def _permit_inspect(args: argparse.Namespace) -> int:
    keyring = load_keyring(args.keys) if args.keys else None
    texts = texts_in_image(args.image) if args.image else [args.text]
    if not texts:
        print(f"no QR code found in {args.image}", file=sys.stderr)
        return 1
    for text in texts:
        print(json.dumps(describe(text, keyring), ensure_ascii=False, indent=2))
    return 0


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
        "inspect", help="decode a permit (QR text or a photo of it) and verify it against the server's keys"
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (InspectError, EnrollError, GateError) as err:
        print(f"qaqpa-tools: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
