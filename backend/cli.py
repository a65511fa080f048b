"""`vigil`: the operator's entry point — serve, migrate, manage users and tokens, set up a demo,
check the audit trail."""

import argparse
import getpass
import ipaddress
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from backend.core.database import Database
from backend.core.roles import Role
from backend.core.settings import Settings
from backend.users import service as users

if TYPE_CHECKING:
    import uvicorn

ROLES = [r.value for r in Role]


def _read_password(prompt_for: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(f"Password for {prompt_for}: ")
        if getpass.getpass("Again: ") != first:
            raise SystemExit("the two passwords differ; nothing changed")
        return first
    return sys.stdin.readline().rstrip("\n")


@contextmanager
def _unit_of_work(settings: Settings, *, write: bool) -> Iterator[Session]:
    """One transaction on a database opened for this command and closed after it."""
    database = Database(settings.database_url)
    try:
        with database.unit_of_work(write=write) as db:
            yield db
    finally:
        database.dispose()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import os

    import uvicorn

    from backend.core.timeouts import server_options

    if args.body_timeout:
        # The app is built by uvicorn from the environment's settings: hand the option on there.
        os.environ["VIGIL_BODY_TIMEOUT_SECONDS"] = str(args.body_timeout)
    host = args.host or settings.host
    port = args.port or settings.port
    lines = _setup(settings, demo=args.demo) if args.setup or args.demo else []
    config = uvicorn.Config(
        "backend.main:create_app",
        factory=True,
        host=host,
        port=port,
        proxy_headers=True,
        log_level=args.log_level,
        # No permessage-deflate on the live stream: every event is serialized once and the
        # same bytes go to every screen (issue 18), but deflate compresses them again for each
        # socket, about 1 ms of CPU per reading per screen (py-spy under benchmarks.capacity)
        # to save a few hundred bytes on a clinic's LAN.
        ws_per_message_deflate=False,
        **server_options(
            args.header_timeout or settings.header_timeout_seconds,
            settings.keep_alive_seconds,
            settings.max_connections,
        ),
    )
    shown = socket.gethostname() if _unspecified(host) else host
    banner = _ready_banner(f"http://{shown}:{port}", lines)
    if args.workers == 1:
        _announcing_server(config, banner).run()
    else:
        _serve_workers(config, args.workers, banner)


def _serve_workers(config: "uvicorn.Config", workers: int, banner: str) -> None:
    """`workers` processes of the app on one listening socket, as uvicorn runs them (a worker
    that dies is started again). They share the database: one holds the alarm clock's lease
    (README "Several processes and hosts"); the MLLP listener binds in whichever is first and
    the others keep trying, so one takes the port over if that one dies."""
    from uvicorn.supervisors import Multiprocess

    config.workers = workers
    # uvicorn restarts a worker that has not answered its supervisor within this; its 5 s
    # default killed workers still starting on a busy host (each imports the whole app).
    config.timeout_worker_healthcheck = 30

    class Announcing(Multiprocess):
        announced = False

        def keep_subprocess_alive(self) -> None:
            # Asked on the supervisor's own round (every 0.5 s), so Ctrl+C is heard meanwhile.
            super().keep_subprocess_alive()
            if self.announced or self.should_exit.is_set():
                return
            if all(p.is_ready(timeout=0.5) for p in self.processes):
                self.announced = True
                print(banner, flush=True)

    Announcing(config, sockets=[config.bind_socket()]).run()


def _announcing_server(config: "uvicorn.Config", banner: str) -> "uvicorn.Server":
    """uvicorn's server, saying once it listens what a person needs next: after the install's
    and the server's own log lines, so the first admin's password is not scrolled away."""
    import uvicorn

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:  # it could not listen: its error is the last word
                print(banner, flush=True)

    return Announcing(config)


def _unspecified(host: str) -> bool:
    """Listening on every interface: the address to open is this machine's name."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _ready_banner(url: str, setup_lines: list[str]) -> str:
    rule = "-" * 72
    body = [f"  Vigil is running: open {url} in a browser (Ctrl+C stops it)."]
    if setup_lines:
        body += setup_lines
    else:
        body += [
            "  Sign in with your account. The administrator's password was shown at the first",
            "  start; 'vigil user reset-password admin' gives it a new one-time password.",
        ]
    return "\n".join(["", rule, *body, rule])


def _setup(settings: Settings, *, demo: bool) -> list[str]:
    """First-run set-up (the first admin account; demo sessions when asked and the ward is
    empty): what a person must be told about it, one line each."""
    lines: list[str] = []
    with _unit_of_work(settings, write=True) as db:
        generated = users.ensure_admin(db, settings.admin_password)
    if generated:
        lines += [
            "  First start: the administrator account was created. Its password is shown only",
            "  now (you choose your own from your name in the header once signed in):",
            f"    username: {users.ADMIN_USERNAME}",
            f"    password: {generated}",
        ]
    if demo:
        from backend.demo import seed_demo

        with _unit_of_work(settings, write=True) as db:
            created = seed_demo(db)
        if created:
            lines.append(
                f"  Demo data: {created} simulated sessions, played live by the server "
                "(marked SIMULATED everywhere)."
            )
    return lines


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> None:
    from backend.migrations import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"database at {settings.database_url} is at revision {args.revision}")


def cmd_db_backup(args: argparse.Namespace, settings: Settings) -> None:
    from pathlib import Path

    from backend.backup import BackupError, backup, sqlite_path

    try:
        made = backup(sqlite_path(settings.database_url), Path(args.file), force=args.force)
    except BackupError as exc:
        raise SystemExit(f"vigil db backup: {exc}") from None
    print(
        f"backed up to {made.path}: {made.sessions} sessions, {made.readings} readings, "
        f"migration {made.revision}, {made.size_bytes} bytes (integrity checked)"
    )


def cmd_db_restore(args: argparse.Namespace, settings: Settings) -> None:
    from pathlib import Path

    from backend.backup import BackupError, known_revisions, restore, sqlite_path

    try:
        database = sqlite_path(settings.database_url)
        restored, kept = restore(Path(args.file), database)
    except BackupError as exc:
        raise SystemExit(f"vigil db restore: {exc}") from None
    print(
        f"restored {args.file} to {database}: {restored.sessions} sessions, "
        f"{restored.readings} readings, migration {restored.revision}"
    )
    if kept is not None:
        print(f"the database it replaced is kept as {kept}")
    if restored.revision != max(known_revisions()):
        print("the backup is from an older version: run 'vigil db upgrade' before starting Vigil")


def cmd_user_add(args: argparse.Namespace, settings: Settings) -> None:
    from pydantic import ValidationError

    from backend.users.schemas import UserCreate

    try:
        body = UserCreate(
            username=args.name,
            password=_read_password(args.name),
            role=Role(args.role),
            display_name=args.display_name,
        )
    except ValidationError as exc:
        raise SystemExit("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())) from None
    with _unit_of_work(settings, write=True) as db:
        users.create_user(db, body.username, body.password, body.role, body.display_name)
    print(f"created {body.role.value} {body.username}")


def cmd_user_list(_: argparse.Namespace, settings: Settings) -> None:
    with _unit_of_work(settings, write=False) as db:
        for user in users.list_users(db):
            state = "" if user.is_active else "  (disabled)"
            print(f"{user.username:20} {user.role:8} {user.display_name}{state}")


def cmd_user_reset_password(args: argparse.Namespace, settings: Settings) -> None:
    """For IT when nobody who could reset it on the accounts page can sign in (the last admin
    forgot theirs): a one-time password, printed once; the account chooses its own at sign-in."""
    with _unit_of_work(settings, write=True) as db:
        user = users.find_user(db, args.name)
        if user is None:
            raise SystemExit(f"vigil: no account named {args.name!r}")
        password = users.reset_password(db, user)
    print(password)
    print(
        f"(one-time password for {args.name}; shown once: they choose their own at sign-in)",
        file=sys.stderr,
    )


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> None:
    with _unit_of_work(settings, write=True) as db:
        _, secret = users.create_token(db, args.name, Role(args.role))
    print(secret)
    print(f"(token {args.name!r}, role {args.role}; shown once, store it now)", file=sys.stderr)


def cmd_setup(args: argparse.Namespace, settings: Settings) -> None:
    """First-run set-up: the first admin account, and demo data when asked for."""
    lines = _setup(settings, demo=args.demo)
    if lines:
        print("\n" + "\n".join(lines) + "\n")


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> None:
    """Walk the audit trail's hash chain; say where it breaks, and fail, if it does."""
    from backend.audit.service import verify

    database = Database(settings.database_url)
    try:
        verdict = verify(database, batch=args.batch)
    finally:
        database.dispose()
    if verdict.broken is not None:
        print(
            f"BROKEN at event {verdict.broken.id}: {verdict.broken.reason} "
            f"({verdict.count} events before it hold)"
        )
        raise SystemExit(1)
    # The last hash, noted somewhere else (a ticket, a printout), lets a later check show that
    # the trail was not rewritten wholesale since.
    print(f"OK: {verdict.count} audit events, chain intact; last hash {verdict.last_hash}")


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> None:
    """Play a scenario into a running Vigil over HTTP, like a device gateway."""
    import secrets
    from pathlib import Path

    from simulators import ScenarioError, load_packaged, load_scenario
    from simulators.gateway import Client, Gateway, GatewayError, SessionEnded

    try:
        path = Path(args.scenario)
        scenario = load_scenario(path) if path.suffix == ".toml" else load_packaged(args.scenario)
    except ScenarioError as exc:
        raise SystemExit(f"vigil simulate: {exc}") from None
    from simulators.clock import speed_error

    if problem := speed_error(args.speed):
        raise SystemExit(f"vigil simulate: --speed: {problem}")
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    gateway = Gateway(Client(args.url, args.token), scenario, seed=seed, speed=args.speed)
    try:
        sid = gateway.create_session(args.chair, args.patient)
        print(f"Simulating '{scenario.title}' (seed {seed}) on {args.chair}: session {sid}")
        gateway.run(until_s=args.minutes * 60 if args.minutes else None)
    except SessionEnded as exc:
        print(f"The session was ended on the server: {exc}")
    except GatewayError as exc:
        raise SystemExit(f"vigil simulate: {exc}") from None
    except KeyboardInterrupt:
        print(f"Interrupted; {len(gateway.pending.items)} items were not sent")
        raise SystemExit(130) from None
    print(f"Done: {gateway.stored} readings stored")


def cmd_hl7_send(args: argparse.Namespace, settings: Settings) -> None:
    """Send a file's HL7 v2 messages over MLLP and print each ACK: to test a clinic's link."""
    import asyncio
    from pathlib import Path

    from backend.hl7.client import SendError, send_all, split_messages
    from backend.hl7.listener import mllp_address

    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise SystemExit(f"vigil hl7 send: {exc}") from None
    # Latin-1 maps every byte to one character and back: the messages go out byte for byte as
    # the file holds them, whatever character set their MSH-18 names.
    try:
        messages = [m.encode("latin-1") for m in split_messages(raw.decode("latin-1"))]
    except ValueError as exc:
        raise SystemExit(f"vigil hl7 send: {args.file}: {exc}") from None
    if not messages:
        raise SystemExit(f"vigil hl7 send: no HL7 message (MSH segment) in {args.file}")
    host = args.host or mllp_address(settings)
    port = args.port or settings.mllp_port
    if not port:
        raise SystemExit("vigil hl7 send: no port (VIGIL_MLLP_PORT is 0): give --port")
    answers = asyncio.run(send_all(messages, host, port, wait_s=args.timeout))
    failed = 0
    for number, (message, answer) in enumerate(zip(messages, answers, strict=True), 1):
        header = message.split(b"\r", 1)[0].decode("latin-1")
        fields = header.split(header[3:4] or "|")
        control_id = fields[9] if len(fields) > 9 else "?"
        print(f"message {number} of {len(messages)} (MSH-10 {control_id}) to {host}:{port}:")
        if isinstance(answer, SendError):
            failed += 1
            print(f"  no ACK: {answer}")
            continue
        if not answer.accepted:
            failed += 1
        print("  " + answer.describe().replace("\n", "\n  "))
        if args.verbose:
            print("  " + answer.text.replace("\r", "\n  "))
    if failed:
        raise SystemExit(1)


def _positive_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError(f"{count} is not between 1 and 64")
    return count


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--header-timeout",
        type=float,
        help="seconds a request's headers may take to arrive (VIGIL_HEADER_TIMEOUT_SECONDS)",
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        help="seconds a request's body may take to arrive (VIGIL_BODY_TIMEOUT_SECONDS)",
    )
    serve.add_argument(
        "--setup",
        action="store_true",
        help="first-run set-up before serving (as 'vigil setup'); its details are shown once "
        "the server listens",
    )
    serve.add_argument(
        "--demo", action="store_true", help="--setup, and the demo ward when the ward is empty"
    )
    serve.add_argument(
        "--workers",
        type=_positive_count,
        default=1,
        help="processes serving on the one port, sharing the database (default 1)",
    )
    serve.set_defaults(func=cmd_serve)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    upgrade = db.add_parser("upgrade", help="apply migrations")
    upgrade.add_argument("--revision", default="head")
    upgrade.set_defaults(func=cmd_db_upgrade)
    backup = db.add_parser(
        "backup", help="copy the SQLite database as of one moment, safe while Vigil runs"
    )
    backup.add_argument("file", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    backup.set_defaults(func=cmd_db_backup)
    restore = db.add_parser(
        "restore", help="replace the SQLite database with a backup (Vigil must be stopped)"
    )
    restore.add_argument("file", help="a backup made by 'vigil db backup'")
    restore.set_defaults(func=cmd_db_restore)

    user = commands.add_parser("user", help="accounts").add_subparsers(dest="user", required=True)
    add = user.add_parser("add", help="create an account (password from a prompt or stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--display-name")
    add.set_defaults(func=cmd_user_add)
    user.add_parser("list", help="list accounts").set_defaults(func=cmd_user_list)
    reset = user.add_parser(
        "reset-password", help="give an account a one-time password (printed once)"
    )
    reset.add_argument("name")
    reset.set_defaults(func=cmd_user_reset_password)

    token = commands.add_parser("token", help="API tokens").add_subparsers(
        dest="token", required=True
    )
    create = token.add_parser("create", help="create a bearer token for a machine client")
    create.add_argument("name")
    create.add_argument("--role", required=True, choices=ROLES)
    create.set_defaults(func=cmd_token_create)

    setup = commands.add_parser("setup", help="first-run set-up: admin account, optional demo data")
    setup.add_argument("--demo", action="store_true", help="add demo sessions if the ward is empty")
    setup.set_defaults(func=cmd_setup)

    audit = commands.add_parser("audit", help="the access audit trail").add_subparsers(
        dest="audit", required=True
    )
    verify = audit.add_parser("verify", help="check the audit trail's hash chain")
    verify.add_argument("--batch", type=int, default=1000, help=argparse.SUPPRESS)
    verify.set_defaults(func=cmd_audit_verify)

    simulate = commands.add_parser(
        "simulate", help="play a simulator scenario into a Vigil server over HTTP"
    )
    simulate.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    simulate.add_argument("--token", required=True, help="an API token of a trainer or admin")
    simulate.add_argument(
        "--scenario", required=True, help="a packaged scenario's name, or a .toml file"
    )
    simulate.add_argument(
        "--chair", required=True, help="a configured chair's name (an admin adds chairs on /sites)"
    )
    simulate.add_argument("--patient", help="the simulated patient's display name")
    simulate.add_argument("--seed", type=int, help="the same seed gives the same readings")
    simulate.add_argument("--speed", type=float, default=1.0, help="1 (real time) to 60")
    simulate.add_argument("--minutes", type=float, help="stop after this many simulated minutes")
    simulate.set_defaults(func=cmd_simulate)
    hl7 = commands.add_parser("hl7", help="HL7 v2 over MLLP").add_subparsers(
        dest="hl7", required=True
    )
    send = hl7.add_parser(
        "send",
        help="send the HL7 v2 messages of a file to an MLLP listener and print each ACK "
        "(exit status 1 on AE, AR or no answer)",
    )
    send.add_argument(
        "file", help="messages, one segment a line (or \\r); each MSH starts one; - for stdin"
    )
    send.add_argument("--host", help="default: VIGIL_MLLP_HOST (127.0.0.1 if it is 0.0.0.0)")
    send.add_argument("--port", type=int, help="default: VIGIL_MLLP_PORT (2575)")
    send.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for each ACK (10)"
    )
    send.add_argument("--verbose", action="store_true", help="print each ACK whole, too")
    send.set_defaults(func=cmd_hl7_send)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    from backend.core.errors import DomainError

    args = build_parser().parse_args(argv)
    try:
        args.func(args, Settings())
    except DomainError as exc:
        raise SystemExit(f"vigil: {exc.message}") from None


if __name__ == "__main__":
    main()
