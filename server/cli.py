"""``qaqpa-server``: a thin command line over the server's functions. Every command has ``--help``.

Every command keeps its data (SQLite file, signing key) in ``$QAQPA_DATA_DIR``, else ``./var``; its database
is ``--db``, else ``$QAQPA_DATABASE_URL``, else the SQLite file there.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection

from protocol import Direction
from server.accounts import Role, add_user
from server.api.schemas import GateCreate, ParkCreate
from server.bookings import DAY_MINUTES, SlotPlan, hhmm, parse_hhmm, set_slots, slot_plan
from server.config import Settings, parse_trusted_proxies
from server.db import make_engine, upgrade
from server.errors import InvalidInput, ServerError
from server.parks import create_gate, create_park, get_park, issue_device_token

Body = TypeVar("Body", bound=BaseModel)


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(db=args.db)


def cmd_serve(args: argparse.Namespace, _stdin: TextIO) -> int:
    import uvicorn

    from server.app import create_app

    settings = _settings(args)
    if args.trusted_proxies is not None:
        settings = dataclasses.replace(settings, trusted_proxies=parse_trusted_proxies(args.trusted_proxies))
    app = create_app(settings)
    # the app reads proxy headers itself, from the proxies its settings trust (server.app); uvicorn must not
    # as well, or a forwarded address would be unwrapped twice
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, proxy_headers=False)
    return 0


def cmd_migrate(args: argparse.Namespace, _stdin: TextIO) -> int:
    settings = _settings(args)
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    print(f"database is at the newest schema: {engine.url.render_as_string(hide_password=True)}")
    return 0


def _checked(model: type[Body], **values: object) -> Body:
    """``values`` checked by the API's own body type, so the command line accepts exactly what the API does."""
    try:
        return model.model_validate({name: value for name, value in values.items() if value is not None})
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in err.errors()
        )
        raise InvalidInput(problems) from err


def cmd_park_add(args: argparse.Namespace, _stdin: TextIO) -> int:
    body = _checked(
        ParkCreate,
        slug=args.slug,
        name=args.name,
        capacity=args.capacity,
        daily_quota=args.daily_quota,
        timezone=args.timezone,
    )
    with _transaction(args) as conn:
        park = create_park(conn, body.slug, body.name, body.capacity, body.daily_quota, body.timezone)
    print(f"added park {park.slug!r} ({park.name}, {park.timezone}, capacity {park.capacity or 'unlimited'})")
    return 0


def cmd_gate_add(args: argparse.Namespace, _stdin: TextIO) -> int:
    body = _checked(GateCreate, slug=args.slug, name=args.name, direction=args.direction)
    with _transaction(args) as conn:
        gate = create_gate(conn, get_park(conn, args.park), body.slug, body.name, body.direction)
        token = issue_device_token(conn, gate) if args.device_token else None
    print(f"added {gate.direction.value} gate {gate.slug!r} to park {gate.park_slug!r}")
    if token is not None:
        # shown once: only its hash is stored (give it to `qaqpa-tools provision`)
        print(f"device token: {token}")
    return 0


def read_password(stdin: TextIO) -> str:
    """The first line of stdin without its line ending (``echo secret | qaqpa-server user add ...``)."""
    return stdin.readline().rstrip("\r\n")


@contextmanager
def _transaction(args: argparse.Namespace) -> Iterator[Connection]:
    """One transaction on the newest schema of the command's database, committed when the block ends."""
    engine = make_engine(_settings(args).database_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def cmd_user_add(args: argparse.Namespace, stdin: TextIO) -> int:
    if not args.password_stdin:
        raise ServerError("give the password on stdin with --password-stdin (never on the command line)")
    password = read_password(stdin)
    with _transaction(args) as conn:
        user = add_user(conn, args.name, Role(args.role), password, args.park)
    where = f" of park {args.park}" if args.park else ""
    print(f"added {user.role.value} {user.name!r}{where}")
    return 0


def slot_spec(text: str) -> tuple[int, int, int]:
    """``HH:MM-HH:MM=QUOTA`` (park-local start, end, people) as ``(start_minute, minutes, quota)``."""
    times, sep, quota = text.partition("=")
    start, dash, end = times.partition("-")
    if not (sep and dash and quota.isascii() and quota.isdigit()):
        raise InvalidInput(f"{text!r} is not a slot: give HH:MM-HH:MM=QUOTA, e.g. 09:00-11:00=50")
    first = parse_hhmm(start)
    last = DAY_MINUTES if end == "24:00" else parse_hhmm(end)
    if last <= first:
        raise InvalidInput(f"the slot {text!r} ends before it starts")
    return first, last - first, int(quota)


def _print_slots(slug: str, plan: SlotPlan) -> None:
    if not plan.slots:
        print(f"{slug}: no entry slots (visitors book whole days)")
        return
    print(f"{slug}: entry slots (a slot's permit admits {plan.early_minutes} minutes early)")
    for start, minutes, quota in plan.slots:
        print(f"  {hhmm(start)}-{hhmm(start + minutes)}  quota {quota}")


def cmd_slots_list(args: argparse.Namespace, _stdin: TextIO) -> int:
    with _transaction(args) as conn:
        park = get_park(conn, args.park)
        plan = slot_plan(conn, park)
    _print_slots(park.slug, plan)
    return 0


def cmd_slots_set(args: argparse.Namespace, _stdin: TextIO) -> int:
    if not args.slots and not args.clear:
        raise InvalidInput("give the slots (HH:MM-HH:MM=QUOTA ...), or --clear to book whole days")
    if args.slots and args.clear:
        raise InvalidInput("give either slots or --clear, not both")
    slots = [slot_spec(text) for text in args.slots]
    with _transaction(args) as conn:
        park = get_park(conn, args.park)
        plan = set_slots(conn, park, slots, args.early_minutes)
    _print_slots(park.slug, plan)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qaqpa-server",
        description="Qaqpa central server. Data lives in $QAQPA_DATA_DIR, else ./var.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--db",
            metavar="URL",
            help="database URL (default: $QAQPA_DATABASE_URL, else the SQLite file in the data directory)",
        )
        return p

    serve = with_db(commands.add_parser("serve", help="run the HTTP server", description="Run the HTTP server."))
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument(
        "--trusted-proxies",
        metavar="ADDRESSES",
        help="reverse proxies whose X-Forwarded-For/-Proto to believe, e.g. 127.0.0.1,10.0.0.0/8 "
        "(default: $QAQPA_TRUSTED_PROXIES, else none)",
    )
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=cmd_serve)

    migrate = with_db(
        commands.add_parser(
            "migrate", help="bring the database to the newest schema", description="Apply database migrations."
        )
    )
    migrate.set_defaults(func=cmd_migrate)

    user = commands.add_parser("user", help="manage users", description="Manage users.")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    add = with_db(
        user_commands.add_parser(
            "add",
            help="add a user",
            description="Add a user; the password is read from the first line of stdin.",
        )
    )
    add.add_argument("name", help="login name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role], help="what the user may do")
    add.add_argument("--park", metavar="SLUG", help="the park a manager or ranger belongs to")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin (required)")
    add.set_defaults(func=cmd_user_add)

    park = commands.add_parser("park", help="manage parks", description="Manage parks.")
    park_commands = park.add_subparsers(dest="park_command", required=True, metavar="COMMAND")
    park_add = with_db(park_commands.add_parser("add", help="add a park", description="Add a park."))
    park_add.add_argument("slug", help="the park's short name in URLs: lowercase letters, digits, dashes")
    park_add.add_argument("--name", required=True, help="the park's name as people read it")
    park_add.add_argument("--capacity", type=int, metavar="N", help="people inside at one time (default 0: no limit)")
    park_add.add_argument("--daily-quota", type=int, metavar="N", help="entries a day (default 0: no limit)")
    park_add.add_argument("--timezone", metavar="ZONE", help="IANA time zone (default Asia/Almaty, UTC+5)")
    park_add.set_defaults(func=cmd_park_add)

    gate = commands.add_parser("gate", help="manage gate lanes", description="Manage a park's gate lanes.")
    gate_commands = gate.add_subparsers(dest="gate_command", required=True, metavar="COMMAND")
    gate_add = with_db(
        gate_commands.add_parser("add", help="add a gate lane", description="Add a gate lane to a park.")
    )
    gate_add.add_argument("park", metavar="PARK", help="the park's slug")
    gate_add.add_argument("slug", help="the gate's short name: lowercase letters, digits, dashes")
    gate_add.add_argument("--name", required=True, help="the gate's name as rangers read it")
    gate_add.add_argument("--direction", required=True, choices=[d.value for d in Direction], help="entry or exit")
    gate_add.add_argument(
        "--device-token", action="store_true", help="also issue the gate's device token and print it (shown once)"
    )
    gate_add.set_defaults(func=cmd_gate_add)

    slots = commands.add_parser(
        "slots", help="a park's entry time slots", description="A park's entry time slots and their quotas."
    )
    slot_commands = slots.add_subparsers(dest="slots_command", required=True, metavar="COMMAND")
    listing = with_db(slot_commands.add_parser("list", help="show the slots", description="Show a park's entry slots."))
    listing.add_argument("park", metavar="PARK", help="the park's slug")
    listing.set_defaults(func=cmd_slots_list)
    setting = with_db(
        slot_commands.add_parser(
            "set",
            help="replace the slots",
            description="Replace a park's entry slots; visitors then book a slot. Bookings made keep theirs.",
        )
    )
    setting.add_argument("park", metavar="PARK", help="the park's slug")
    setting.add_argument(
        "slots", nargs="*", metavar="HH:MM-HH:MM=QUOTA", help="park-local start and end, people (09:00-11:00=50)"
    )
    setting.add_argument("--clear", action="store_true", help="no slots: visitors book whole days")
    setting.add_argument(
        "--early-minutes", type=int, default=0, metavar="N", help="a slot's permit admits N minutes early (0)"
    )
    setting.set_defaults(func=cmd_slots_set)
    return parser


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None) -> int:
    """Entry point of ``qaqpa-server``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args, stdin or sys.stdin)
    except ServerError as err:
        print(f"qaqpa-server: error: {err}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
