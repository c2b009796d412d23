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
from gate.errors import GateError, StoreError
from gate.metrics import GateMetrics
from gate.private_files import private_dir
from gate.service import Notifier, supervise
from gate.store import GateStore


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        private_dir(config.gate.data_dir)  # an older version left it 0755: the store and plate crops are in it
    except OSError as err:
        raise StoreError(f"cannot make the data directory {config.gate.data_dir} private: {err}") from err
    controller = GateController(config)
    done = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("gate").info("signal %d: stopping", signum)
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    metrics = None
    if config.metrics.port:
        metrics = GateMetrics(controller.status, config.gate.data_dir)
        controller.add_listener(metrics.decided)
        controller.on_latency = metrics.observe_latency
    controller.start()
    ranger = None
    try:
        if config.ranger.port:
            from gate.web import RangerServer  # FastAPI and uvicorn load only on gates that serve the page

            ranger = RangerServer(controller, config.ranger)
            ranger.start()
        if metrics is not None:
            metrics.serve(config.metrics.port, config.metrics.host)
        logging.getLogger("gate").info(
            "gate %s/%s (%s) running", config.gate.park, config.gate.name, config.gate.direction.value
        )
        # under systemd: READY=1 now, WATCHDOG=1 while the gate's threads live (gate.service)
        supervise(done, Notifier(), lambda: _status_line(controller))
    finally:
        if ranger is not None:
            ranger.stop()
        if metrics is not None:
            metrics.close()
        controller.close()
    return 0


def _status_line(controller: GateController) -> str:
    status = controller.status()
    link = "online" if status["online"] else "offline"
    return f"{link}, outbox {status['outbox']}, {status['decisions']} decisions"


def _status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with GateStore(config.gate.db_path) as store:
        summary = store.summary()
    print(json.dumps(summary, indent=2))
    return 0


def _resend(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with GateStore(config.gate.db_path) as store:
        resent = store.resend_set_aside(args.ids)
    print(f"{resent} set-aside events back in the outbox; the gate sends them on its next sync")
    return 0


def _ranger_pin(args: argparse.Namespace) -> int:
    from gate.web.sessions import hash_pin

    pin = sys.stdin.readline().strip()
    print(f'pin_hash = "{hash_pin(pin)}"')
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
    resend = commands.add_parser(
        "resend",
        help="put events set aside (refused by the server) back in the outbox",
        description="Put events the server refused, and the gate set aside, back in the outbox: after the server "
        "was fixed to take them. One it refuses again is set aside again. `qaqpa-tools check` lists them.",
    )
    resend.add_argument("--config", type=Path, required=True, help="gate.toml")
    resend.add_argument("ids", nargs="*", metavar="ID", help="the events' ids (default: every set-aside event)")
    resend.set_defaults(func=_resend)
    pin = commands.add_parser(
        "ranger-pin",
        help="hash a ranger PIN read from stdin for gate.toml [ranger] pin_hash",
        description="Read a PIN (at least 4 digits) on stdin; print the [ranger] pin_hash line for gate.toml.",
    )
    pin.set_defaults(func=_ranger_pin)
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
