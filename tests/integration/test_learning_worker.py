"""The learning worker as a real process: fits, errors, restarts, idle stop, and isolation of sklearn.

Every test talks to a real ``python -m cadence.learning.worker`` through :class:`LearningWorker`. The
reference probabilities come from scikit-learn in this test process (allowed here: the isolation check
runs the client in a fresh interpreter of its own).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pytest

from cadence.analytics.linear_classifier import LinearClassifier
from cadence.clock import SimClock
from cadence.errors import (
    LearningError,
    LearningInvalidParams,
    LearningTimeout,
    LearningUnknownJob,
    LearningWorkerUnavailable,
)
from cadence.learning import worker as worker_main
from cadence.services.learning import LearningWorker

FEATURES = ["oil_temp", "pressure_rms", "stroke_time"]
CENTRES = {"ok": (40.0, 1.0, 2.0), "worn": (48.0, 1.6, 2.4), "fouled": (55.0, 0.9, 2.1)}
SPREAD = (1.2, 0.08, 0.05)


def blobs(rng: np.random.Generator, per_class: int) -> tuple[np.ndarray, list[str]]:
    """Three well separated classes of 3 features, in a seeded order."""
    rows, labels = [], []
    for label, centre in CENTRES.items():
        rows.append(rng.normal(centre, SPREAD, size=(per_class, 3)))
        labels += [label] * per_class
    x = np.vstack(rows)
    order = rng.permutation(len(labels))
    return x[order], [labels[i] for i in order]


def sklearn_reference(x: np.ndarray, y: list[Any], seed: int = 0) -> Any:
    """The fit the worker's job is documented to make, done here with scikit-learn directly."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=2000, random_state=seed, solver="lbfgs"),
    ).fit(x, np.asarray(y))


@pytest.fixture
def client() -> Iterator[LearningWorker]:
    with LearningWorker(SimClock(), timeout_s=120.0) as learning:
        yield learning


def wait_dead(pid: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                if any(line.startswith("State:") and "Z" in line for line in status):
                    return  # a zombie: dead, not yet reaped by its parent (the client)
        except FileNotFoundError:
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still alive after {timeout_s} s")


def test_fit_in_worker_reproduces_sklearn_probabilities(client: LearningWorker) -> None:
    rng = np.random.default_rng(7)
    x_train, y_train = blobs(rng, 60)
    x_test, y_test = blobs(rng, 20)

    before = client.ping()
    assert before["modules"] == {"sklearn": False, "scipy": False}  # imported only when a fit is asked
    model = client.fit_classifier(x_train.tolist(), y_train, FEATURES)
    after = client.ping()
    assert after["pid"] == before["pid"] == client.pid
    assert after["modules"] == {"sklearn": True, "scipy": True}

    assert model["format"] == "cadence.linear-classifier/1"
    assert model["converged"] and model["n_samples"] == 180
    classifier = LinearClassifier.from_dict(json.loads(json.dumps(model)))
    assert classifier.classes == ("fouled", "ok", "worn")

    reference = sklearn_reference(x_train, y_train)
    expected = reference.predict_proba(x_test)
    ours = np.array([classifier.probabilities(row) for row in x_test])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)
    by_name = classifier.predict_proba(dict(zip(FEATURES, x_test[0], strict=True)))
    assert list(by_name) == list(reference.classes_)
    np.testing.assert_allclose(list(by_name.values()), expected[0], atol=1e-9)
    accuracy = np.mean([classifier.predict(row) == label for row, label in zip(x_test, y_test, strict=True)])
    assert accuracy == 1.0  # the classes are ~7 spreads apart


def test_binary_fit_matches_sklearn(client: LearningWorker) -> None:
    rng = np.random.default_rng(11)
    x = np.vstack([rng.normal(0.0, 1.0, (50, 2)), rng.normal(2.5, 1.0, (20, 2))])
    y = [0] * 50 + [1] * 20  # unbalanced and overlapping: class_weight matters
    model = client.fit_classifier(x.tolist(), y, ["a", "b"], seed=3)
    assert len(model["coef"]) == 1 and model["classes"] == [0, 1]
    classifier = LinearClassifier.from_dict(model)
    held_out = rng.normal(1.2, 1.5, (30, 2))
    expected = sklearn_reference(x, y, seed=3).predict_proba(held_out)
    ours = np.array([classifier.probabilities(row) for row in held_out])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)


def test_failing_jobs_answer_errors_and_the_worker_keeps_serving(client: LearningWorker) -> None:
    pid = client.ping()["pid"]
    with pytest.raises(LearningUnknownJob, match="no learning job 'train_everything'"):
        client.call("train_everything", {})
    with pytest.raises(LearningInvalidParams, match="X has 2 rows but y has 3 values") as refused:
        client.fit_classifier([[1.0], [2.0]], ["a", "b", "c"], ["x"])
    assert refused.value.code == "learning.invalid_params"
    with pytest.raises(LearningInvalidParams, match="at least two classes"):
        client.fit_classifier([[1.0], [2.0]], ["a", "a"], ["x"])
    with pytest.raises(LearningInvalidParams, match="kind 'forest' is not supported"):
        client.fit_classifier([[1.0], [2.0]], ["a", "b"], ["x"], kind="forest")
    assert client.ping()["pid"] == pid  # the same process answered all of it
    assert client.starts == 1


def test_a_job_that_raises_is_answered_and_the_next_request_served() -> None:
    """The worker's loop on an arbitrary exception (no shipped job raises one on purpose)."""

    def explode(params: Mapping[str, Any]) -> Any:
        raise ZeroDivisionError("boom")

    registry = {"explode": explode, "echo": dict}
    requests = [
        {"id": "a", "job": "explode", "params": {}},
        {"id": "b", "job": "echo", "params": {"v": 1}},
    ]
    out = io.StringIO()
    worker_main.serve(io.StringIO("".join(json.dumps(r) + "\n" for r in requests)), out, registry)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first == {
        "id": "a",
        "ok": False,
        "error": {"code": "learning.error", "message": "explode failed: ZeroDivisionError: boom"},
    }
    assert second == {"id": "b", "ok": True, "result": {"v": 1}}


def test_garbage_on_the_wire_does_not_end_the_worker() -> None:
    lines = 'not json\n[1, 2]\n{"id": 5}\n{"id": 6, "job": "ping"}\n'
    done = subprocess.run(
        [sys.executable, "-m", "cadence.learning.worker"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["ok"] for a in answers] == [False, False, False, True]
    assert {a["error"]["code"] for a in answers[:3]} == {"bad_request"}
    assert answers[3]["id"] == 6 and answers[3]["result"]["pid"] > 0
    assert "end of input" in done.stderr


def test_a_killed_worker_is_restarted(client: LearningWorker) -> None:
    first = client.ping()["pid"]
    os.kill(first, signal.SIGKILL)
    wait_dead(first)
    second = client.ping()["pid"]
    assert second != first and client.starts == 2
    model = client.fit_classifier([[0.0], [1.0], [9.0], [10.0]], ["a", "a", "b", "b"], ["x"])
    assert model["classes"] == ["a", "b"]


def kill_once_sklearn_is_mapped(pid: int, deadline_s: float = 60.0) -> None:
    """SIGKILL ``pid`` as soon as scikit-learn's compiled modules appear in its memory map: the worker is
    then inside the fit job (only that job imports it) and cannot have answered yet."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as maps:
                if "sklearn" in maps.read():
                    os.kill(pid, signal.SIGKILL)
                    return
        except FileNotFoundError:
            return
        time.sleep(0.005)


def test_a_worker_killed_during_a_job_fails_that_call_only(client: LearningWorker) -> None:
    first = client.ping()["pid"]
    killer = threading.Thread(target=kill_once_sklearn_is_mapped, args=(first,))
    killer.start()
    try:
        with pytest.raises(LearningWorkerUnavailable, match="exited \\(code -9\\) before answering"):
            client.fit_classifier([[0.0], [1.0], [9.0], [10.0]], ["a", "a", "b", "b"], ["x"])
    finally:
        killer.join(70)
    assert client.pid is None
    second = client.ping()["pid"]
    assert second != first and client.starts == 2


def test_timeout_kills_a_stuck_worker_and_the_next_call_recovers(client: LearningWorker) -> None:
    first = client.ping()["pid"]
    with pytest.raises(LearningTimeout) as timed_out:
        # The first fit imports scikit-learn (about a second): far longer than 1 ms.
        client.call(
            "fit_classifier", {"X": [[0.0], [1.0]], "y": [0, 1], "feature_names": ["x"]}, timeout_s=0.001
        )
    assert timed_out.value.code == "learning.timeout"
    assert client.pid is None
    wait_dead(first)
    assert client.ping()["pid"] != first


def test_idle_worker_is_stopped_on_the_injected_clock() -> None:
    clock = SimClock()
    with LearningWorker(clock, idle_stop_s=600.0) as client:
        assert not client.stop_if_idle()  # nothing runs yet
        pid = client.ping()["pid"]
        clock.sleep(599.0)
        assert not client.stop_if_idle() and client.pid == pid
        client.ping()  # a call resets the idle time
        clock.sleep(599.0)
        assert not client.stop_if_idle()
        clock.sleep(1.0)
        assert client.stop_if_idle()
        assert client.pid is None
        wait_dead(pid)
        assert client.ping()["pid"] != pid and client.starts == 2
    assert client.pid is None
    with pytest.raises(LearningWorkerUnavailable, match="closed"):
        client.ping()


def test_idle_watch_thread_stops_the_worker() -> None:
    clock = SimClock()
    with LearningWorker(clock, idle_stop_s=60.0, watch_interval_s=0.05) as client:
        pid = client.ping()["pid"]
        time.sleep(0.3)
        assert client.pid == pid  # no simulated time has passed
        clock.sleep(61.0)
        deadline = time.monotonic() + 10.0
        while client.pid is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.pid is None


def test_error_codes_map_to_the_error_tree() -> None:
    assert issubclass(LearningUnknownJob, LearningError) and issubclass(LearningTimeout, LearningError)
    codes = {cls.code for cls in (LearningUnknownJob, LearningInvalidParams, LearningTimeout)}
    assert codes == {"learning.unknown_job", "learning.invalid_params", "learning.timeout"}


ISOLATION_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import cadence.web.app, cadence.services.learning  # what a server process imports
    from cadence.analytics.linear_classifier import LinearClassifier
    from cadence.clock import SimClock
    from cadence.services.learning import LearningWorker

    with LearningWorker(SimClock()) as client:
        model = client.fit_classifier([[0.0, 1.0], [1.0, 0.5], [9.0, 3.0], [10.0, 2.5]], ["a", "a", "b", "b"],
                                      ["u", "v"])
        worker = client.ping()
    print(json.dumps({
        "loaded_here": sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy")
                              or m.startswith("cadence.learning")),
        "worker_modules": worker["modules"],
        "prediction": LinearClassifier.from_dict(model).predict({"u": 9.5, "v": 2.8}),
    }))
    """
)


def test_client_process_never_loads_sklearn_or_scipy() -> None:
    done = subprocess.run(
        [sys.executable, "-c", ISOLATION_SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["worker_modules"] == {"sklearn": True, "scipy": True}
    assert report["loaded_here"] == []
    assert report["prediction"] == "b"


def test_concurrent_callers_share_one_worker(client: LearningWorker) -> None:
    """Eight threads at once: each gets the answer to its own request, from the one worker."""
    from concurrent.futures import ThreadPoolExecutor

    def fit(shift: int) -> list[Any]:
        x = [[float(shift)], [float(shift + 1)], [float(shift + 9)], [float(shift + 10)]]
        return client.fit_classifier(x, ["a", "a", "b", "b"], ["x"])["mean"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        means = list(pool.map(fit, range(8)))
    assert means == [[shift + 5.0] for shift in range(8)]
    assert client.starts == 1
