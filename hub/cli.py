"""The `tcd-hub` command: serve, migrate, seed-demo, user, site, bench."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
from collections.abc import Sequence

from hub.config import (
    Settings,
    SettingsError,
    default_media_workers,
    parse_port_range,
    settings_from_env,
)


def _settings(args: argparse.Namespace) -> Settings:
    base = settings_from_env()
    return base.with_overrides(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        database_url=getattr(args, "database_url", None),
        redis_url=getattr(args, "redis_url", None),
        ice_announced_ips=(
            tuple(args.announced_ip) if getattr(args, "announced_ip", None) else None
        ),
        trust_proxy=getattr(args, "behind_proxy", None),
        media_workers=getattr(args, "media_workers", None),
        media_remote=getattr(args, "remote_media_workers", None),
        ice_udp_ports=(
            parse_port_range(args.udp_ports, "--udp-ports")
            if getattr(args, "udp_ports", None)
            else None
        ),
    )


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL, e.g. postgresql+asyncpg://user@127.0.0.1/tcd "
        "(default: SQLite under ./var)",
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the hub's HTTP, API and signaling server."""
    from aiohttp import web

    from hub.api.security import AccessLogger
    from hub.app import create_app

    settings = _settings(args)
    if args.media_workers is None and "TCD_MEDIA_WORKERS" not in os.environ:
        settings = settings.with_overrides(media_workers=default_media_workers())
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.migrate:
        from hub.storage.migrate import upgrade

        asyncio.run(upgrade(settings))
    print(f"tcd-hub serving on http://{settings.host}:{settings.port}", flush=True)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log_class=AccessLogger,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply database migrations."""
    from hub.storage.migrate import upgrade

    settings = _settings(args)
    asyncio.run(upgrade(settings))
    print(f"database is up to date: {_safe_url(settings.effective_database_url)}")
    return 0


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def cmd_seed_demo(args: argparse.Namespace) -> int:
    """Load demo offices, accounts and records; print the accounts."""
    from hub.seed import seed_demo

    settings = _settings(args)
    if args.offices_only:
        from hub.seed import seed_offices

        asyncio.run(seed_offices(settings))
        print("demo offices loaded (no accounts, no records)")
        return 0
    accounts = asyncio.run(seed_demo(settings, password=args.password))
    print(f"demo accounts (password: {args.password}):")
    for account in accounts:
        print(f"  {account.username:<18} {account.role:<9} {account.office}")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    """Create a user account at an office (by office code)."""
    from sqlalchemy import select

    from hub.domain.errors import DomainError
    from hub.domain.users import Role, UserDraft
    from hub.services.offices import add_user
    from hub.storage.db import Database
    from hub.storage.tables import OfficeRow

    settings = _settings(args)
    password = args.password or getpass.getpass("password: ")

    async def run() -> None:
        db = Database.from_settings(settings)
        try:
            async with db.transaction() as session:
                office = (
                    await session.execute(select(OfficeRow).where(OfficeRow.code == args.office))
                ).scalar_one_or_none()
                if office is None:
                    raise SystemExit(f"error: no office with code {args.office}")
                draft = UserDraft(
                    args.username,
                    args.display_name or args.username,
                    Role(args.role),
                    office.id,
                    password,
                )
                await add_user(session, None, draft)
        finally:
            await db.close()

    try:
        asyncio.run(run())
    except DomainError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        print(f"error: {exc.message}{' (' + detail + ')' if detail else ''}", file=sys.stderr)
        return 2
    print(f"user {args.username} added")
    return 0


def cmd_log_verify(args: argparse.Namespace) -> int:
    """Check hearings' session-log hash chains; exit 1 when one is broken."""
    from hub.services.sessionlog import verify_many

    if (args.hearing is None) == (not args.all):
        print("error: give a hearing id or --all", file=sys.stderr)
        return 2
    settings = _settings(args)

    async def run() -> list[dict[str, object]]:
        from hub.storage.db import Database

        db = Database.from_settings(settings)
        try:
            async with db.transaction() as session:
                return await verify_many(session, None if args.all else [args.hearing])
        finally:
            await db.close()

    results = asyncio.run(run())
    missing = [r for r in results if r.get("missing")]
    if args.json:
        ok = all(r["ok"] for r in results)
        print(json.dumps({"ok": ok, "hearings": results}, ensure_ascii=False))
    else:
        for r in results:
            if r.get("missing"):
                print(f"hearing {r['hearing_id']}: no such hearing")
            elif r["ok"]:
                print(f"hearing {r['hearing_id']}: ok ({r['events']} events)")
            else:
                broken = r["break"]
                assert isinstance(broken, dict)
                print(f"BROKEN {broken['message']}")
    if missing:
        return 2
    return 0 if all(r["ok"] for r in results) else 1


def cmd_export(args: argparse.Namespace) -> int:
    """Write an office's petitions and reception register rows in the national format."""
    from datetime import date

    from sqlalchemy import select

    from hub.services import national_export
    from hub.storage.db import Database
    from hub.storage.tables import OfficeRow

    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError:
        print(f"error: --since {args.since}: not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    settings = _settings(args)

    async def run() -> tuple[str, int, int] | None:
        db = Database.from_settings(settings)
        try:
            async with db.transaction() as session:
                office = None
                if args.office is not None:
                    # A code first (a code may be all digits), else an id.
                    office = (
                        await session.execute(
                            select(OfficeRow).where(OfficeRow.code == args.office)
                        )
                    ).scalar_one_or_none()
                    if office is None and args.office.isdigit():
                        office = await session.get(OfficeRow, int(args.office))
                    if office is None:
                        return None
                rows = await national_export.collect(session, office, since)
        finally:
            await db.close()
        if args.format == "json":
            document = national_export.to_json(rows, office, since)
            text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
        else:
            text = national_export.to_csv(rows)
        counts = [len(v) for v in rows.values()]
        return text, counts[0], counts[1]

    done = asyncio.run(run())
    if done is None:
        print(f"error: no office {args.office}", file=sys.stderr)
        return 2
    text, petitions, register = done
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        print(
            f"exported {petitions} petitions and {register} reception register rows to {args.out}"
        )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import a national-format file; print the JSON report; exit 1 if a row was refused."""
    from hub.services import national_import
    from hub.storage.db import Database

    settings = _settings(args)
    try:
        with open(args.file, "rb") as source:
            data = source.read()
        rows = national_import.read_file(data)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except national_import.FileRefused as exc:
        print(json.dumps({"error": exc.message, "fields": exc.fields}, ensure_ascii=False))
        return 2

    async def run() -> dict[str, object]:
        db = Database.from_settings(settings)
        try:
            async with db.transaction() as session:
                return await national_import.import_rows(session, rows, None)
        finally:
            await db.close()

    report = asyncio.run(run())
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 1 if report["refused"] else 0


def _add_bench_mixed_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.mixed import add_bench_mixed_arguments

    add_bench_mixed_arguments(parser)


def cmd_bench_mixed(args: argparse.Namespace) -> int:
    """A six-site hearing on a media worker, then in-process, while the API takes a storm."""
    from bench.mixed import cmd_bench_mixed as run

    return run(args)


def cmd_bench_api(args: argparse.Namespace) -> int:
    """Benchmark petition list and search over the real HTTP API."""
    from bench.api import run_bench_api

    try:
        result = asyncio.run(run_bench_api(args))
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=None if args.json else 2, ensure_ascii=False))
    # The figures print either way; a request that failed fails the command.
    return 1 if result["failed"] else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="tcd-hub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the hub")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    _add_db(serve)
    serve.add_argument("--redis-url", help="redis://host:port/db: Socket.IO across processes")
    serve.add_argument(
        "--announced-ip",
        action="append",
        help="address the SFU announces in ICE candidates (repeatable)",
    )
    serve.add_argument(
        "--udp-ports",
        metavar="LO-HI",
        help="UDP port range of the SFU's ICE host candidates, e.g. 40000-40199, one port per "
        "peer connection and announced address (TCD_ICE_UDP_PORTS)",
    )
    serve.add_argument(
        "--behind-proxy",
        action="store_true",
        default=None,
        help="behind a TLS-terminating proxy: believe its X-Forwarded-Proto (TCD_TRUST_PROXY)",
    )
    serve.add_argument(
        "--media-workers",
        type=int,
        help="media worker processes to start (default: one per core; 0: media in the serving "
        "process, for development) (TCD_MEDIA_WORKERS)",
    )
    serve.add_argument(
        "--remote-media-workers",
        action="store_true",
        default=None,
        help="place rooms on workers registered in Redis too (tcd-hub media-worker)",
    )
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    _add_db(migrate)
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed-demo", help="load demo offices, accounts and records")
    _add_db(seed)
    seed.add_argument("--password", default="demo", help="password of every demo account")
    seed.add_argument(
        "--offices-only",
        action="store_true",
        help="only the office tree: a database ready to import another hub's records",
    )
    seed.set_defaults(func=cmd_seed_demo)

    user = sub.add_parser("user", help="manage user accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=["leader", "staff", "operator", "admin"])
    add.add_argument("--office", required=True, help="office code, e.g. HY")
    add.add_argument("--display-name")
    add.add_argument("--password", help="prompted for when omitted")
    _add_db(add)
    add.set_defaults(func=cmd_user_add)

    log = sub.add_parser("log", help="the session logs")
    log_sub = log.add_subparsers(dest="log_command", required=True)
    verify = log_sub.add_parser(
        "verify",
        help="check hearings' log hash chains; print the first broken link, exit 1 if any",
    )
    verify.add_argument("hearing", type=int, nargs="?", help="a hearing id")
    verify.add_argument("--all", action="store_true", help="every hearing")
    verify.add_argument("--json", action="store_true", help="print the results as JSON")
    _add_db(verify)
    verify.set_defaults(func=cmd_log_verify)

    export = sub.add_parser(
        "export",
        help="write petitions and reception register rows for the national database "
        "(docs/export-format.md)",
    )
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.add_argument("--since", help="only rows changed from this day on (YYYY-MM-DD)")
    export.add_argument(
        "--office", help="an office id or code: its subtree (default: every office)"
    )
    export.add_argument("out", help="the file to write ('-': standard output)")
    _add_db(export)
    export.set_defaults(func=cmd_export)

    import_ = sub.add_parser(
        "import",
        help="read a national-format file (JSON or CSV); print a JSON report; exit 1 if a row "
        "was refused",
    )
    import_.add_argument("file")
    _add_db(import_)
    import_.set_defaults(func=cmd_import)

    bench = sub.add_parser("bench", help="benchmarks that print figures")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    bench_api = bench_sub.add_parser("api", help="petition list/search latency over HTTP")
    bench_api.add_argument("--petitions", type=int, default=200_000)
    bench_api.add_argument("--requests", type=int, default=300, help="of each kind")
    bench_api.add_argument(
        "--concurrency", type=int, default=1, help="users sending requests at once"
    )
    bench_api.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="a user's mean pause between an answer and its next request (0: none)",
    )
    bench_api.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL server (postgresql+asyncpg://user@host:port/db): the bench creates "
        "the database tcdhub_bench_<pid> there and drops it afterwards (default: SQLite)",
    )
    bench_api.add_argument(
        "--keep-database", action="store_true", help="keep the scratch database (for EXPLAIN)"
    )
    bench_api.add_argument(
        "--reuse-database",
        default="",
        metavar="NAME",
        help="time a database kept before, migrated to head, instead of seeding a new one (it is "
        "kept again: drop it with DROP DATABASE when done)",
    )
    bench_api.add_argument(
        "--statements",
        action="store_true",
        help="also report the hub's SQL statements by shape: count, time, checkouts, commits",
    )
    bench_api.add_argument("--json", action="store_true")
    bench_api.set_defaults(func=cmd_bench_api)
    bench_mixed = bench_sub.add_parser(
        "mixed", help="a live hearing's frame rate while the API takes a storm"
    )
    _add_bench_mixed_arguments(bench_mixed)
    bench_mixed.set_defaults(func=cmd_bench_mixed)

    _add_media_commands(sub, bench_sub)
    return parser


def _add_media_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    bench_sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """`tcd-hub site` and `tcd-hub bench sfu`: their own parsers live with the media modules,
    loaded only when asked for, so the records commands do not pay for importing aiortc."""
    # Listed here for --help; main() hands their arguments to the modules' own parsers.
    sub.add_parser("site", help="join a hearing as a bridge-point agent (see: tcd-hub site -h)")
    sub.add_parser("media-worker", help="run one media worker (see: tcd-hub media-worker -h)")
    bench_sub.add_parser("sfu", help="SFU forwarding benchmark (see: tcd-hub bench sfu -h)")
    bench_sub.add_parser(
        "presence", help="operators' board across Redis nodes (see: tcd-hub bench presence -h)"
    )


def _run_media_command(name: str, rest: list[str]) -> int:
    if name == "site":
        from signaling.site_agent import add_site_arguments as add_arguments

        prog = "tcd-hub site"
    elif name == "presence":
        from bench.presence import add_bench_presence_arguments as add_arguments

        prog = "tcd-hub bench presence"
    elif name == "media-worker":
        from rooms.worker import add_media_worker_arguments as add_arguments

        prog = "tcd-hub media-worker"
    else:
        from bench.sfu import add_bench_sfu_arguments as add_arguments

        prog = "tcd-hub bench sfu"
    parser = argparse.ArgumentParser(prog=prog)
    add_arguments(parser)
    args = parser.parse_args(rest)
    return int(args.func(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tcd-hub` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["site"]:
        return _run_media_command("site", argv[1:])
    if argv[:1] == ["media-worker"]:
        return _run_media_command("media-worker", argv[1:])
    if argv[:2] in (["bench", "sfu"], ["bench", "presence"]):
        return _run_media_command(argv[1], argv[2:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
