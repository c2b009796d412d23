"""``qaqpa-gate``: a thin command line over GateController and GateStore."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from gate.config import load_config
from gate.controller import GateController
from gate.errors import GateError
from gate.store import GateStore


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    controller = GateController(config)
    done = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("gate").info("signal %d: stopping", signum)
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    controller.start()
    logging.getLogger("gate").info(
        "gate %s/%s (%s) running", config.gate.park, config.gate.name, config.gate.direction.value
    )
    try:
        done.wait()
    finally:
        controller.close()
    return 0


def _status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with GateStore(config.gate.db_path) as store:
        summary = store.summary()
    print(json.dumps(summary, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qaqpa-gate", description="The Qaqpa gate controller.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the gate until SIGTERM/SIGINT", description="Run the gate lane.")
    run.add_argument("--config", type=Path, required=True, help="gate.toml")
    run.set_defaults(func=_run)
    status = commands.add_parser(
        "status", help="print the local store's summary", description="Summarise the gate's local store as JSON."
    )
    status.add_argument("--config", type=Path, required=True, help="gate.toml")
    status.set_defaults(func=_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.func(args)
    except GateError as err:
        print(f"qaqpa-gate: {err}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
