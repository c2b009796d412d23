"""``qaqpa-tools``: a thin command line over firmware_tools."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from firmware_tools.permit_inspect import InspectError, describe, load_keyring, texts_in_image


def _permit_inspect(args: argparse.Namespace) -> int:
    keyring = load_keyring(args.keys) if args.keys else None
    texts = texts_in_image(args.image) if args.image else [args.text]
    if not texts:
        print(f"no QR code found in {args.image}", file=sys.stderr)
        return 1
    for text in texts:
        print(json.dumps(describe(text, keyring), ensure_ascii=False, indent=2))
    return 0


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InspectError as err:
        print(f"qaqpa-tools: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
