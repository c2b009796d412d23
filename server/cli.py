"""``qaqpa-server``: a thin command line over the server's functions. Every command has ``--help``.

Every command keeps its data (SQLite file, signing key) in ``$QAQPA_DATA_DIR``, else ``./var``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from server.accounts import Role, add_user
from server.config import Settings
from server.db import make_engine, upgrade
from server.errors import ServerError


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(db=args.db)


def cmd_serve(args: argparse.Namespace, _stdin: TextIO) -> int:
    import uvicorn

    from server.app import create_app

    app = create_app(_settings(args))
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
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


def read_password(stdin: TextIO) -> str:
    """The first line of stdin without its line ending (``echo secret | qaqpa-server user add ...``)."""
    return stdin.readline().rstrip("\r\n")


def cmd_user_add(args: argparse.Namespace, stdin: TextIO) -> int:
    if not args.password_stdin:
        raise ServerError("give the password on stdin with --password-stdin (never on the command line)")
    password = read_password(stdin)
    settings = _settings(args)
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            user = add_user(conn, args.name, Role(args.role), password, args.park)
    finally:
        engine.dispose()
    where = f" of park {args.park}" if args.park else ""
    print(f"added {user.role.value} {user.name!r}{where}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qaqpa-server",
        description="Qaqpa central server. Data lives in $QAQPA_DATA_DIR, else ./var.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db", metavar="URL", help="database URL (default: sqlite file in the data directory)")
        return p

    serve = with_db(commands.add_parser("serve", help="run the HTTP server", description="Run the HTTP server."))
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
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
