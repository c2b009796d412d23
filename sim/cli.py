"""``qaqpa-sim``: the simulated world on the command line. Every command has ``--help``."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sim.demo import DemoOptions, run_demo
from sim.errors import SimError


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"cannot be negative, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qaqpa-sim", description="Qaqpa's simulated world.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run a whole simulated park day and write a report",
        description=(
            "Start a real server on a temporary SQLite file, create a park with N entry gates and one exit gate, "
            "issue permits to simulated visitors (valid, groups, expired, not yet valid, revoked, wrong park, "
            "forged, altered, reused, issued while a gate is offline) and RFID cards to residents, rangers, staff "
            "and guides (plus an unknown, a deactivated and an expired card), run real gate controllers fed by "
            "simulated cameras and simulated card readers on ptys (EM4100, OSDP with Secure Channel, PN532, "
            "ASCII-line), cut one gate's network and unplug one card reader for a while, then compare the gates' "
            "events with the server's. Exit status 0 only if every check holds."
        ),
    )
    demo.add_argument("--gates", type=_positive_int, default=2, help="entry gates (default 2; plus one exit gate)")
    demo.add_argument("--visitors", type=_positive_int, default=200, help="visitors in the day (default 200)")
    demo.add_argument(
        "--cardholders",
        type=_non_negative_int,
        default=24,
        help="people with RFID cards in the day (default 24; 0: readers only, nobody taps)",
    )
    demo.add_argument(
        "--vehicles",
        type=_non_negative_int,
        default=12,
        help="cars at the vehicle entry and exit lanes, read by plate (default 12; 0: no vehicle lanes)",
    )
    demo.add_argument(
        "--duration", type=float, default=120.0, metavar="SECONDS", help="real seconds the day lasts (default 120)"
    )
    demo.add_argument("--report", type=Path, metavar="FILE.json", help="write the report here")
    demo.add_argument("--seed", type=int, default=1, help="random seed of the visitors and frames (default 1)")
    demo.add_argument("--work-dir", type=Path, help="keep the server's and gates' files here (default: temporary)")
    demo.add_argument(
        "--difficulty", choices=["easy", "default", "hard"], default="default", help="how hard the camera frames are"
    )
    demo.set_defaults(func=cmd_demo)
    return parser


@contextmanager
def c_library_log(path: Path) -> Iterator[None]:
    """Send what C libraries write to file descriptor 2 into ``path``; Python's messages stay on the terminal.

    libosdp prints its own log lines straight to descriptor 2: "Invalid MAC" when a secure-channel handshake
    is retried, "Going offline" when the demo unplugs a reader. They are expected in a simulated day with
    faults, but read as failures in the middle of the demo's progress, before any fault is announced.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    terminal = os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)
    python_stderr = sys.stderr
    sys.stderr = open(terminal, "w", buffering=1, errors="backslashreplace")  # noqa: SIM115 (closed below)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(terminal, 2)
        sys.stderr.close()
        sys.stderr = python_stderr


def cmd_demo(args: argparse.Namespace) -> int:
    options = DemoOptions(
        gates=args.gates,
        visitors=args.visitors,
        cardholders=args.cardholders,
        vehicles=args.vehicles,
        duration_s=args.duration,
        seed=args.seed,
        report=args.report,
        work_dir=args.work_dir,
        difficulty=args.difficulty,
    )
    library_log = (args.report.parent if args.report else Path(tempfile.gettempdir())) / "demo-libosdp.log"
    print(
        f"libosdp (the OSDP card readers' library) logs to {library_log}: its [ERROR] lines there are the "
        "handshake retries and reader unplugs this demo makes on purpose",
        file=sys.stderr,
    )
    with c_library_log(library_log):
        report = run_demo(options, out=sys.stderr)  # the terminal's stderr, not descriptor 2
    checks = report["checks"]
    print("", file=sys.stderr)
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'}  {name.replace('_', ' ')}", file=sys.stderr)
    visitors = report["visitors"]
    cards = report["cards"]
    server = report["server"]
    print(
        f"\n{visitors['expected_ok']}/{visitors['total']} visitors and {cards['expected_ok']}/{cards['total']} card "
        f"holders as expected; server holds {server['events']} events ({server['card_events']} by card; "
        f"{server['entries']} people in, {server['exits']} out); lost {report['lost_events']}, "
        f"duplicate {report['duplicate_events']}",
        file=sys.stderr,
    )
    if args.report:
        print(f"report: {args.report.resolve()}", file=sys.stderr)
    print("demo " + ("PASSED" if report["ok"] else "FAILED"), file=sys.stderr)
    return 0 if report["ok"] else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``qaqpa-sim``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except SimError as err:
        print(f"qaqpa-sim: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qaqpa-sim: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
