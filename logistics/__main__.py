"""Command line of the backend: serve, migrate, seed, init (migrate + seed when empty), agent-add, agent-passwd."""
from __future__ import annotations

import argparse
import logging
import sys

from logistics import db, migrate
from logistics import settings as settings_module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m logistics", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve the HTTP API and web pages")
    sub.add_parser("migrate", help="apply database migrations")
    seed = sub.add_parser("seed", help="generate demo data")
    seed.add_argument("--shipments", type=int, default=None, help="number of shipments (default SEED_SHIPMENTS)")
    seed.add_argument("--if-empty", action="store_true", help="do nothing when the database holds shipments")
    seed.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_parser("init", help="migrate, then seed if the database is empty")
    agent_add = sub.add_parser("agent-add", help="create a console agent (or set a new password); asks for it")
    agent_add.add_argument("username")
    agent_add.add_argument("--name", default=None, help="display name shown to colleagues")
    agent_add.add_argument("--role", choices=("agent", "supervisor", "ops"), default=None,
                           help="agent (default for a new one), supervisor (reads every handoff, opens the "
                                "operations dashboard) or ops (the operations dashboard)")
    agent_passwd = sub.add_parser("agent-passwd", help="set a console agent's password (asks for it); every "
                                  "session of the agent ends")
    agent_passwd.add_argument("username")
    revision = sub.add_parser("revision", help="autogenerate a migration from the models")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings_module.load()
    engine = db.make_engine(settings.database_url)

    if args.command == "serve":
        from waitress import serve

        settings.refuse_unsafe_production()
        if settings.demo_mode:
            print("DEMO MODE: one-time codes are shown on the page and the demo secrets are accepted "
                  "(production: DEMO_MODE=false and secrets of your own, see .env.example)", flush=True)

        from logistics.app import create_app

        app = create_app(settings, engine=engine)
        from logistics.handoffs import waiting

        # Waits for a human past HANDOFF_MAX_WAIT_MINUTES go back to the bot even when the user is silent.
        waiting.start_sweeper(app, settings.handoff_sweep_seconds)
        from logistics.analytics import scheduler

        # The detectors run on a schedule too (ANALYTICS_RUN_SECONDS), not only on POST /api/v1/analytics/run.
        scheduler.start(app)
        print(f"backend listening on http://{settings.host}:{settings.port}", flush=True)
        serve(app, host=settings.host, port=settings.port, threads=settings.threads, ident="logistics")
        return 0
    if args.command == "revision":
        migrate.revision(engine, args.message)
        return 0
    if args.command == "agent-add":
        import getpass

        from logistics.handoffs import service as handoff_service

        password = getpass.getpass(f"password for {args.username}: ")
        if len(password) < 8:
            print("the password needs at least 8 characters", file=sys.stderr)
            return 2
        with db.transaction(db.session_factory(engine)) as session:
            handoff_service.create_agent(session=session, username=args.username, password=password,
                                         display_name=args.name, role=args.role)
        print(f"agent {args.username} can log in at /agent/login", flush=True)
        return 0
    if args.command == "agent-passwd":
        import getpass

        from logistics.handoffs import service as handoff_service

        with db.transaction(db.session_factory(engine)) as session:
            agent = handoff_service.get_agent_by_username(session=session, username=args.username)
            if agent is None:
                print(f"no agent {args.username} (create one with agent-add)", file=sys.stderr)
                return 2
            password = getpass.getpass(f"new password for {args.username}: ")
            if len(password) < 8:
                print("the password needs at least 8 characters", file=sys.stderr)
                return 2
            revoked = handoff_service.set_password(session=session, agent=agent, password=password)
        print(f"password of {args.username} changed; {revoked} console sessions ended", flush=True)
        return 0
    if args.command in ("migrate", "init"):
        migrate.upgrade(engine)
    if args.command == "init" and not settings.demo_mode:
        print("migrated; no demo data or demo agent outside demo mode (add agents with agent-add)", flush=True)
        return 0
    if args.command in ("seed", "init"):
        from logistics import seed as seed_module

        factory = db.session_factory(engine)
        if_empty = args.command == "init" or args.if_empty
        count = getattr(args, "shipments", None) or settings.seed_shipments
        report = seed_module.seed(factory, shipments=count, random_seed=settings.seed_random,
                                  if_empty=if_empty, progress=not getattr(args, "quiet", False))
        print(report.describe(), flush=True)
        from logistics.handoffs import service as handoff_service

        with db.transaction(factory) as session:
            handoff_service.ensure_demo_agent(session=session, password=settings.agent_demo_password)
        print("Agent console: /agent/login as agent (password AGENT_DEMO_PASSWORD, demo default "
              "agent-demo-2026).", flush=True)
        from logistics.analytics import demo as analytics_demo

        print(analytics_demo.seed_demo(factory, password=settings.agent_demo_password,
                                       if_empty=if_empty).describe(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
