"""POST /api/v1/ingest over a real SQLite store: answered after the commit, with one result per message."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cadence.clock import SimClock
from cadence.domain import Plant
from cadence.ingest.http import ingest_router
from cadence.ingest.pipeline import IngestPipeline
from cadence.protocol import Limits
from cadence.store.sqlite import SqliteStore
from support.ingest_fixtures import check_idle_counts, pipeline, plant, store, writer_blocked  # noqa: F401
from support.messages import encode, message

URL = "/api/v1/ingest"


@pytest.fixture
def client(pipeline: IngestPipeline) -> Iterator[TestClient]:  # noqa: F811
    app = FastAPI()
    app.include_router(ingest_router(pipeline))
    with TestClient(app) as test_client:
        yield test_client


def test_array_of_messages_gets_one_result_each(client: TestClient, pipeline: IngestPipeline) -> None:  # noqa: F811
    body = [message(1), message(2, machine="P02"), message(1), message(3, signal="presure")]
    response = client.post(URL, json=body)

    assert response.status_code == 200
    reply = response.json()
    assert (reply["ok"], reply["stored"], reply["duplicate"], reply["rejected"]) == (True, 2, 1, 1)
    assert reply["results"][:3] == [
        {"index": 0, "source": "gw-test", "epoch": 1, "seq": 1, "status": "stored"},
        {"index": 1, "source": "gw-test", "epoch": 1, "seq": 2, "status": "stored"},
        {"index": 2, "source": "gw-test", "epoch": 1, "seq": 1, "status": "duplicate"},
    ]
    rejected = reply["results"][3]
    assert (rejected["index"], rejected["status"], rejected["code"], rejected["seq"]) == (
        3,
        "rejected",
        "ingest.unknown_signal",
        3,
    )
    assert "'presure'" in rejected["error"]
    check_idle_counts(pipeline.stats.snapshot())


def test_single_message_object(client: TestClient, store: SqliteStore) -> None:  # noqa: F811
    response = client.post(URL, content=encode(message(9, points=4)), headers={"Idempotency-Key": "abc"})
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"index": 0, "source": "gw-test", "epoch": 1, "seq": 9, "status": "stored"}
    ]
    assert store.stats().points == 4


def test_response_only_after_commit(client: TestClient, store: SqliteStore) -> None:  # noqa: F811
    replies: list[Any] = []
    with writer_blocked(store.path):
        sender = threading.Thread(
            target=lambda: replies.append(client.post(URL, json=[message(1), message(2)]))
        )
        sender.start()
        time.sleep(0.7)  # ample time to answer, were it not waiting for the commit
        assert replies == [] and sender.is_alive()
        assert store.stats().batches == 0
    sender.join(10)
    assert replies[0].status_code == 200
    assert store.stats().batches == 2  # committed by the time the answer arrived


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{oops", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2", "not JSON"),
        (b"42", "message object or a JSON array"),
        (b"[]", "empty array"),
        (b"", "not JSON"),
    ],
)
def test_body_that_is_not_messages_is_400_and_quarantined(
    client: TestClient,
    store: SqliteStore,  # noqa: F811
    pipeline: IngestPipeline,  # noqa: F811
    body: bytes,
    fragment: str,
) -> None:
    response = client.post(URL, content=body)
    assert response.status_code == 400
    envelope = response.json()
    assert (envelope["ok"], envelope["code"], envelope["status"]) == (False, "ingest.malformed", 400)
    assert fragment in envelope["error"]
    [kept] = store.quarantined()
    assert (kept.channel, kept.code, kept.payload) == ("http", "ingest.malformed", body)
    assert pipeline.stats.snapshot()["rejected"] == {"ingest.malformed": 1}


def test_array_element_that_is_not_a_message_is_rejected_alone(client: TestClient) -> None:
    response = client.post(URL, json=[message(1), 42, {"v": 1}])
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["stored", "rejected", "rejected"]


def test_too_large_by_content_length(plant: Plant, store: SqliteStore) -> None:  # noqa: F811
    with _client(plant, store, max_bytes=2048) as (client, pipe):
        response = client.post(URL, content=b"x" * 5000)
        assert response.status_code == 413
        envelope = response.json()
        assert (envelope["code"], envelope["status"], envelope["limit"], envelope["size"]) == (
            "ingest.too_large",
            413,
            2048,
            5000,
        )
        [kept] = store.quarantined()
        assert (kept.code, kept.size, kept.payload) == ("ingest.too_large", 5000, b"")
        assert pipe.stats.snapshot()["rejected"] == {"ingest.too_large": 1}


def test_too_large_when_streamed_without_content_length(plant: Plant, store: SqliteStore) -> None:  # noqa: F811
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"[" + b" " * 1000

    with _client(plant, store, max_bytes=2048) as (client, _pipe):
        response = client.post(URL, content=chunks())
        assert response.status_code == 413
        assert response.json()["code"] == "ingest.too_large"
        [kept] = store.quarantined()
        assert kept.code == "ingest.too_large" and kept.size > 2048


def test_store_backlog_full_is_503_with_retry_after(plant: Plant, tmp_path: Path) -> None:  # noqa: F811
    db_path = tmp_path / "busy.db"
    with (
        SqliteStore(db_path, max_backlog=1, auto_compact_interval_s=0) as db,
        _client(plant, db) as (client, pipe),
    ):
        with writer_blocked(db_path):
            held = db.submit([pipe.validate(encode(message(100)))])
            deadline = time.monotonic() + 5
            while db.backlog:  # the writer has taken it and waits for the lock
                assert time.monotonic() < deadline
                time.sleep(0.005)
            queued = db.submit([pipe.validate(encode(message(101)))])
            response = client.post(URL, json=[message(1)])
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            assert response.json()["code"] == "store.backlog_full"
        held.result(10)
        queued.result(10)
        retry = client.post(URL, json=[message(1)])
        assert retry.status_code == 200 and retry.json()["stored"] == 1
        assert pipe.stats.snapshot()["store_busy"] == 1


class _client:
    """A TestClient over its own pipeline with the given payload cap."""

    def __init__(self, plant: Plant, store: SqliteStore, max_bytes: int = Limits().max_bytes) -> None:  # noqa: F811
        self.pipeline = IngestPipeline(plant, store, SimClock(), Limits(max_bytes=max_bytes))
        app = FastAPI()
        app.include_router(ingest_router(self.pipeline))
        self.client = TestClient(app)

    def __enter__(self) -> tuple[TestClient, IngestPipeline]:
        self.client.__enter__()
        return self.client, self.pipeline

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(*exc)
        self.pipeline.close()
