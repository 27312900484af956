"""The `concord` command.

    concord demo                 sandboxes + sync + planted drift + reconcile + alert (what `make demo` runs)
    concord ui                   the Dagster UI on this code location, sandboxes started (`make ui`)
    concord sync                 run the sync job once (read, map, push to QuickBooks, reconcile)
    concord reconcile [--json]   fresh read of QuickBooks, reconcile, print every mismatch
    concord sandbox up           run the sandboxes in the foreground and print their export lines
                                 [--systems ...] [--scale N] [--seed S] [--faults PROFILE] [--port N]
                                 [--state FILE] [--no-limits] [--history-months N]
    concord sandbox env          print the export lines of `concord sandbox up` again
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

from concord.logging_setup import configure_logging
from concord.runtime import REPO_ROOT, concord_environment, say
from concord.settings import STATE_DIR
from sandboxes.faults import PROFILES

SANDBOX_ENV_FILE = STATE_DIR / "sandbox.env"


def _cmd_demo(args: argparse.Namespace) -> int:
    from concord.demo import run_demo

    return run_demo()


def _cmd_sync(args: argparse.Namespace) -> int:
    from concord.jobs import failure_summary, run_job
    from store.hub import Hub

    with concord_environment(seed=args.seed):
        hub = Hub(os.environ["CONCORD_DATABASE_URL"])
        hub.migrate()
        done_before = hub.done_by_system()
        say("concord: running job concord_sync")
        result = run_job("concord_sync")
        if not result.success:
            say("sync failed:\n" + failure_summary(result))
            return 1
        counts = hub.outbox_counts()
        say(f"concord: sync done; writes this run: {_writes_since(done_before, hub.done_by_system())}; "
            f"{counts.get('pending', 0) + counts.get('failed', 0)} waiting in the outbox; "
            f"dead letters {len(hub.dead_letters())}; open mismatches {len(hub.open_mismatches())}")
        return 0


def _writes_since(before: dict[str, int], after: dict[str, int]) -> str:
    """'quickbooks 45, stripe 60' (writes done per target system since `before`), or 'none'."""
    made = {system: after[system] - before.get(system, 0) for system in sorted(after)}
    return ", ".join(f"{system} {count}" for system, count in made.items() if count) or "none"


def _cmd_reconcile(args: argparse.Namespace) -> int:
    from concord.jobs import failure_summary, run_job
    from reconciliation.report import render_json, render_text
    from store.hub import Hub

    with concord_environment(seed=args.seed) as runtime:
        if runtime.sandboxed:
            say("concord: reconciling against fresh embedded sandboxes: run `concord sync` in the same "
                "environment first (see `concord sandbox up`), or every Stripe invoice shows as missing")
        result = run_job("concord_reconcile")
        if not result.success:
            say("reconciliation failed:\n" + failure_summary(result))
            return 1
        found = [row.mismatch for row in Hub(os.environ["CONCORD_DATABASE_URL"]).open_mismatches()]
        print(render_json(found) if args.json else render_text(found))
        return 0


def _cmd_ui(args: argparse.Namespace) -> int:
    with concord_environment(seed=args.seed):
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(REPO_ROOT / "workspace.yaml"),
                   "--host", args.host, "--port", str(args.port)]
        say(f"concord: Dagster UI at http://{args.host}:{args.port} (Ctrl-C stops it and the sandboxes)")
        process = subprocess.Popen(command, cwd=REPO_ROOT)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            return process.wait()


def _export_lines(env: dict[str, str]) -> str:
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items()))


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from sandboxes.runner import start_sandboxes

    if args.action == "env":
        if not SANDBOX_ENV_FILE.exists():
            say("concord: no sandboxes are up; start them with `concord sandbox up`")
            return 1
        print(SANDBOX_ENV_FILE.read_text(), end="")
        return 0
    systems = args.systems.split(",") if args.systems else None
    ports = None
    if args.port:
        names = systems or ["stripe", "salesforce", "quickbooks"]
        ports = {name: args.port + offset for offset, name in enumerate(names)}
    state_file = Path(args.state).resolve() if args.state else None
    running = start_sandboxes(systems, seed=args.seed, scale=args.scale, state_dir=STATE_DIR / "sandbox", ports=ports,
                              faults=args.faults, state_file=state_file, vendor_limits=not args.no_limits,
                              history_months=args.history_months)
    exports = _export_lines(running.environment()) + "\n"
    SANDBOX_ENV_FILE.parent.mkdir(parents=True, exist_ok=True)
    SANDBOX_ENV_FILE.write_text(exports)
    print("# sandboxes ready; point Concord at them with:", flush=True)
    print(exports, end="", flush=True)
    say("concord: sandboxes running; Ctrl-C stops them")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if state_file is not None:
            running.save_state(state_file)
            say(f"concord: sandbox state saved to {state_file}")
        running.stop()
        SANDBOX_ENV_FILE.unlink(missing_ok=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concord", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="end-to-end demo on embedded sandboxes").set_defaults(func=_cmd_demo)
    for name, func, text in [("sync", _cmd_sync, "run the sync job once"),
                             ("reconcile", _cmd_reconcile, "reconcile and print mismatches")]:
        command = sub.add_parser(name, help=text)
        command.add_argument("--seed", type=int, default=None, help="seed of embedded sandboxes (default 42)")
        command.set_defaults(func=func)
        if name == "reconcile":
            command.add_argument("--json", action="store_true", help="one JSON object per mismatch")
    ui = sub.add_parser("ui", help="the Dagster UI with sandboxes started")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--seed", type=int, default=None)
    ui.set_defaults(func=_cmd_ui)
    sandbox = sub.add_parser("sandbox", help="run the vendor sandboxes")
    sandbox.add_argument("action", choices=["up", "env"])
    sandbox.add_argument("--systems", default=None, help="comma-separated: stripe,salesforce,quickbooks")
    sandbox.add_argument("--seed", type=int, default=42)
    sandbox.add_argument("--scale", type=int, default=1, help="multiply the seeded customers")
    sandbox.add_argument("--history-months", type=int, default=12, metavar="N",
                         help="months of Stripe renewal invoices and payments before the clock (0: none)")
    sandbox.add_argument("--port", type=int, default=0, help="first port (one per system); default: free ports")
    sandbox.add_argument("--no-limits", action="store_true",
                         help="switch off the vendors' rate limits and token expiry (for benchmarks)")
    sandbox.add_argument("--state", default=None, metavar="FILE",
                         help="restore the sandboxes from FILE if it exists, and save them there on exit")
    sandbox.add_argument("--faults", default="none", choices=sorted(PROFILES),
                         help="fault profile: " + "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values()))
    sandbox.set_defaults(func=_cmd_sandbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return args.func(args)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            say(f"concord: {exc.code}")
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
