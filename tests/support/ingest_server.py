"""A real ingest server process for crash tests: FastAPI + the ingest router + a SqliteStore on a file.

Run by tests as a subprocess::

    python tests/support/ingest_server.py --db cadence.db --fd 5 [--plant plant.toml]

It serves on an already-listening socket inherited from the test (``--fd``), so that the test keeps the
same address across crashes and restarts, and requests sent while no server runs simply wait in the
socket's backlog for the next one. Failpoints come from ``CADENCE_FAILPOINTS`` (cadence.ingest.failpoints).
SIGTERM shuts it down cleanly (uvicorn stops, then ingest and the store close).
"""

from __future__ import annotations

import argparse
import logging
import socket
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from cadence.clock import WallClock
from cadence.ingest.http import ingest_router
from cadence.ingest.pipeline import IngestPipeline
from cadence.plantfile import load_plant
from cadence.store.sqlite import SqliteStore

EXAMPLE_PLANT = Path(__file__).resolve().parents[2] / "src" / "cadence" / "examples" / "plant.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--fd", type=int, required=True, help="an inherited, listening TCP socket")
    parser.add_argument("--plant", type=Path, default=EXAMPLE_PLANT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="server %(levelname)s %(name)s: %(message)s")

    store = SqliteStore(args.db, auto_compact_interval_s=0)
    pipeline = IngestPipeline(load_plant(args.plant), store, WallClock())
    app = FastAPI()
    app.include_router(ingest_router(pipeline))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    try:
        server.run(sockets=[socket.socket(fileno=args.fd)])
    finally:
        pipeline.close()
        store.close()


if __name__ == "__main__":
    main()
