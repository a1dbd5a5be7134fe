"""The learning worker process: ``python -m cadence.learning.worker``, one JSON request per line.

Started on demand by :class:`cadence.services.learning.LearningWorker`, so that scikit-learn and scipy
(100-190 MB each once imported) live in this process only, never in the web or ingest processes.

Protocol (UTF-8, one JSON object per line):

* request on stdin: ``{"id": <any JSON value>, "job": "<name>", "params": {...}}``;
* response on stdout, one per request, in order:
  ``{"id": …, "ok": true, "result": …}`` or ``{"id": …, "ok": false, "error": {"code", "message"}}``,
  the code being one of :mod:`cadence.errors` (``learning.unknown_job``, ``learning.invalid_params``,
  ``learning.error`` for a job that raised anything else, ``bad_request`` for a line that is not a
  request);
* logs on stderr; the worker exits with status 0 at the end of stdin.

A job that raises never ends the worker: it answers an error and reads the next line. Anything a library
prints is sent to stderr, so stdout carries only responses.

>>> import io, json
>>> out = io.StringIO()
>>> serve(io.StringIO('{"id": 1, "job": "nope", "params": {}}\\nnot json\\n'), out)
>>> first, second = (json.loads(line) for line in out.getvalue().splitlines())
>>> first["id"], first["ok"], first["error"]["code"]
(1, False, 'learning.unknown_job')
>>> second
{'id': None, 'ok': False, 'error': {'code': 'bad_request', 'message': 'request is not JSON: Expecting value'}}
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterable, Mapping
from typing import IO, Any

from cadence.errors import BadRequest, CadenceError, LearningError
from cadence.learning import jobs

log = logging.getLogger("cadence.learning.worker")


def _error(request_id: Any, code: str, message: str) -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}}


def handle(line: str, registry: Mapping[str, jobs.Job] | None = None) -> dict[str, Any]:
    """The response to one request line (never raises for a bad request or a failing job)."""
    try:
        request = json.loads(line)
    except ValueError as err:
        return _error(None, BadRequest.code, f"request is not JSON: {getattr(err, 'msg', err)}")
    if not isinstance(request, dict):
        return _error(None, BadRequest.code, "a request is a JSON object {id, job, params}")
    request_id = request.get("id")
    name, params = request.get("job"), request.get("params", {})
    if not isinstance(name, str):
        return _error(request_id, BadRequest.code, "the request has no job name (key 'job')")
    started = time.perf_counter()
    try:
        if registry is None:
            result = jobs.run(name, params)
        else:
            job = registry.get(name)
            if job is None:
                return _error(request_id, "learning.unknown_job", f"no learning job {name!r}")
            result = job(params)
    except CadenceError as err:
        log.warning("job %s (id %r) refused: %s", name, request_id, err.message)
        return _error(request_id, err.code, err.message)
    except Exception as err:  # the worker outlives any job: report it and serve the next request
        log.exception("job %s (id %r) failed", name, request_id)
        return _error(request_id, LearningError.code, f"{name} failed: {type(err).__name__}: {err}")
    log.info("job %s (id %r) done in %.3f s", name, request_id, time.perf_counter() - started)
    return {"id": request_id, "ok": True, "result": result}


def _encode(response: dict[str, Any]) -> str:
    try:
        return json.dumps(response, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:  # a result that is not plain JSON is the job's fault
        return json.dumps(
            _error(response.get("id"), LearningError.code, f"result is not JSON-serialisable: {err}"),
            separators=(",", ":"),
        )


def serve(lines: Iterable[str], out: IO[str], registry: Mapping[str, jobs.Job] | None = None) -> None:
    """Answer every request line of ``lines`` on ``out``, flushing after each answer."""
    for line in lines:
        if not line.strip():
            continue
        out.write(_encode(handle(line, registry)) + "\n")
        out.flush()


def main() -> int:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format=f"%(asctime)s learning-worker[{os.getpid()}] %(levelname)s %(message)s",
    )
    # Responses go to a private copy of stdout; file descriptor 1 then points to stderr, so that whatever
    # a library prints (Python or C level) cannot corrupt the protocol.
    responses = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    log.info("started, waiting for requests on stdin")
    try:
        serve(sys.stdin, responses)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        log.warning("the client closed the response pipe")  # it has gone away: nothing to answer
    log.info("end of input, exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
