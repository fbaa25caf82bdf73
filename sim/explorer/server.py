"""Serving the explorer: Solara's Starlette app under uvicorn, in this process, on 127.0.0.1 by default.

The page module is handed to Solara through ``SOLARA_APP`` before Solara's server is imported (it reads
the variable then); the results database is given to the page's runner first, so that every visitor's
runs go to the store named on the command line.
"""

from __future__ import annotations

import os
import socket
import warnings

from sim.errors import SimError

PAGE_MODULE = "sim.explorer.page"


class ExplorerSetupError(SimError):
    """The explorer cannot start: its extra is not installed, or the address is taken."""


def check_installed() -> None:
    """Refuse with the extra to install when Solara (or its offline assets) is missing."""
    missing = []
    for name in ("solara", "uvicorn", "solara_assets"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name.replace("_", "-"))
    if missing:
        raise ExplorerSetupError(
            f"The explorer needs {', '.join(missing)}: pip install -e '.[explorer]' (or '.[test]').")


def check_address(host: str, port: int) -> None:
    """Refuse a port outside 1-65535 or one already in use, naming the option, before anything starts."""
    if not 0 < port < 65536:
        raise ExplorerSetupError(f"--port must be a whole number from 1 to 65535, not {port}.")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ExplorerSetupError(
                f"Cannot serve on {host}:{port} ({exc.strerror or exc}); choose another --port or --host.") from None


def serve(host: str = "127.0.0.1", port: int = 8765, db: str | None = None, workers: int | None = None,
          announce: bool = True) -> None:
    """Serve the explorer until interrupted (Ctrl-C); the workers and the database are closed on the way out."""
    check_installed()
    check_address(host, port)
    os.environ["SOLARA_APP"] = PAGE_MODULE
    os.environ.setdefault("MPLBACKEND", "Agg")
    # Solara warns at every visit that a local http page cannot set a samesite=none cookie; it falls back
    # to samesite=lax, which is right for a page on this machine, so the warning only buries the address.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    import uvicorn

    from sim.explorer import page, runs

    page.RUNNER = runs.Runner(db, workers)
    from solara.server.starlette import app

    if announce:
        shown = f"[{host}]" if ":" in host else host
        print(f"Explorer: open http://{shown}:{port}/ in a browser (Ctrl-C stops it).", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        page.RUNNER.close()
