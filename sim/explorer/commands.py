"""The ``explore`` command: serve the explorer page (the web framework is imported only when it runs)."""

from __future__ import annotations

import argparse

from sim.cli_options import db_url


def _cmd_explore(args: argparse.Namespace) -> int:
    from sim.explorer.server import serve

    serve(args.host, args.port, db_url(args), args.workers)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explore", help="serve the explorer: a local web page to try a reform and see its effect")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")
    p.add_argument("--db", default=None, help="results database URL (default $CRSIM_DB_URL or "
                                              "sqlite:///results/crsim.db)")
    p.add_argument("--workers", type=int, default=None, help="worker processes for the runs (default one per core)")
    p.set_defaults(func=_cmd_explore)
