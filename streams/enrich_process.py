"""Enrichment in a helper process: the worker's second core.

Enrichment (what + where, and the fast lane's missing-person test) is the largest share of a
batch, and it is pure Python: inside the worker it holds the GIL, so the worker could never use
more than one core however many the machine has. ``EnrichmentProcess`` runs it in a child process
(``python -m streams.enrich_process``) that loads the models once and then answers one batch at
a time over its stdin/stdout pipes, while the worker validates, assigns incidents, writes and
publishes (``TSUR_ENRICH_PROCESS``, on by default; off enriches in the worker's own thread).

The pipes carry length-prefixed pickles between the worker and its own child only. The child
ignores SIGINT/SIGTERM (the worker decides when a batch is done) and exits when its stdin closes,
which is also what happens when the worker dies, even by SIGKILL. A child that dies or answers
nothing within ``batch_timeout`` seconds is replaced and the batch is tried once more on the new
one; a second failure is raised as :class:`EnrichmentProcessError`, which the worker treats like
any bug in a batch (its messages go to the dead-letter topic with the reason).
"""
from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("tsur.worker")

_HEADER = struct.Struct("<Q")
START_TIMEOUT_S = 300.0     # imports + models: seconds here, minutes on a loaded machine
BATCH_TIMEOUT_S = 300.0     # a 2,000-post batch takes about a second


class EnrichmentProcessError(RuntimeError):
    """The helper process could not enrich a batch (it died or hung twice)."""


def write_frame(out: BinaryIO, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, left = [], n
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError("no answer in time")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None):
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return pickle.loads(_read_exact(fd, size, deadline))


class EnrichmentProcess:
    """The worker's side: start the child, send it batches, replace it when it fails."""

    def __init__(self, region_centre: bool, sector_model: Path, start_timeout: float = START_TIMEOUT_S,
                 batch_timeout: float = BATCH_TIMEOUT_S):
        self.args = ["--region-centre" if region_centre else "--no-region-centre", "--sector-model", str(sector_model)]
        self.start_timeout = start_timeout
        self.batch_timeout = batch_timeout
        self.version = ""
        self.restarts = 0
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def start(self) -> str:
        """Start the child and wait until its models are loaded; returns the enricher's version."""
        with self._lock:
            self._start()
            return self.version

    def _start(self) -> None:
        self._stop()
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen([sys.executable, "-m", "streams.enrich_process", *self.args],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        try:
            kind, value = read_frame(self._proc.stdout.fileno(), time.monotonic() + self.start_timeout)
        except (EOFError, TimeoutError, OSError) as exc:
            self._stop()
            raise EnrichmentProcessError(f"the enrichment process did not start ({exc}); see the worker's log") from None
        if kind != "ready":
            self._stop()
            raise EnrichmentProcessError(f"the enrichment process did not start: {value}")
        self.version = value

    def enrich(self, inputs: list[dict]) -> tuple[list, list]:
        """(enrichments, missing-person results, incident signatures) of the posts (``streams.pipeline.enrich_and_detect``)."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._proc is None or self._proc.poll() is not None:
                        self._start()
                    write_frame(self._proc.stdin, inputs)
                    kind, value = read_frame(self._proc.stdout.fileno(), time.monotonic() + self.batch_timeout)
                except (EOFError, TimeoutError, OSError, pickle.PickleError, EnrichmentProcessError) as exc:
                    code = self._proc.poll() if self._proc is not None else None
                    self._stop()
                    self.restarts += 1
                    log.warning("the enrichment process failed on a batch of %d posts (%s, exit code %s); %s",
                                len(inputs), exc or type(exc).__name__, code,
                                "starting a new one and trying again" if attempt == 1 else "giving up on the batch")
                    continue
                if kind == "ok":
                    return value
                raise EnrichmentProcessError(f"enrichment failed: {value}")
            raise EnrichmentProcessError("the enrichment process failed twice on this batch")

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=5)        # stdin closed: the child leaves its loop
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ----------------------------------------------------------------------------- the child
def serve(region_centre: bool, sector_model: Path) -> int:
    """Load the models, say ready, then answer batches until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    frames = os.fdopen(os.dup(1), "wb")     # the answers; anything printed goes to the log instead
    os.dup2(2, 1)
    from enrichment.enricher import Enricher
    from streams.pipeline import enrich_and_detect

    try:
        enricher = Enricher.load(region_centre=region_centre, sector_model=sector_model)
    except Exception as exc:
        write_frame(frames, ("error", f"{type(exc).__name__}: {exc}"[:500]))
        return 1
    run = partial(enrich_and_detect, enricher)
    write_frame(frames, ("ready", enricher.version))
    while True:
        try:
            inputs = read_frame(0)
        except EOFError:
            return 0
        try:
            answer = ("ok", run(inputs))
        except Exception as exc:        # a bug in enrichment: the worker dead-letters the batch
            answer = ("error", f"{type(exc).__name__}: {exc}"[:500])
        try:
            write_frame(frames, answer)
        except BrokenPipeError:
            return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m streams.enrich_process",
                                 description="The stream worker's enrichment process (started by the worker, "
                                             "not by hand): length-prefixed pickles on stdin/stdout.")
    ap.add_argument("--region-centre", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--sector-model", type=Path, required=True)
    args = ap.parse_args(argv)
    return serve(args.region_centre, args.sector_model)


if __name__ == "__main__":
    sys.exit(main())
