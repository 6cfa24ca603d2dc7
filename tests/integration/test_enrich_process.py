"""The worker's enrichment process (streams/enrich_process.py): the same answers as enrichment in
the worker's own thread, replaced when it dies or hangs, an error reported without killing it, and
gone when the worker is gone (even after SIGKILL)."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from enrichment.enricher import Enricher
from intake.sample import generate
from streams.enrich_process import EnrichmentProcess, EnrichmentProcessError
from streams.pipeline import enrich_and_detect

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
NO_MODEL = Path("/nonexistent/what.json")   # → the packaged sector model, as in a fresh data dir


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


@pytest.fixture(scope="module")
def inputs():
    posts = list(generate("Краснодарский край", 2, 1, per_day=150))[:200]
    posts.append({"text": "Пропал ребёнок, мальчик 9 лет, ушёл из дома вчера вечером в станице Полтавской, помогите найти"})
    return [{"text": p["text"], "region_hint": None, "place_hint": None, "community": None, "geo": None} for p in posts]


@pytest.fixture
def process():
    p = EnrichmentProcess(True, NO_MODEL, batch_timeout=20)
    p.start()
    yield p
    p.close()


def as_plain(answer):
    enrichments, missing, signatures = answer
    return [e.to_json() for e in enrichments], [m.rule if m else None for m in missing], signatures


def test_same_answers_as_in_the_worker(process, inputs):
    got = as_plain(process.enrich(inputs))
    want = as_plain(enrich_and_detect(Enricher.load(), inputs))
    assert got == want
    assert any(want[1]), "the missing-person post must be detected"
    assert sum(s is not None for s in want[2]) > 20, "complaints carry their incident signature"
    assert process.version and process.restarts == 0


def test_a_dead_or_hung_process_is_replaced(process, inputs):
    first = process._proc.pid
    os.kill(first, signal.SIGKILL)
    time.sleep(0.5)
    assert len(process.enrich(inputs[:20])[0]) == 20          # a new process answers
    assert process.restarts == 0 and process._proc.pid != first   # found dead before the batch: started anew
    second = process._proc.pid
    os.kill(second, signal.SIGSTOP)                          # hangs: no answer within batch_timeout
    process.batch_timeout = 2
    t0 = time.monotonic()
    assert len(process.enrich(inputs[:20])[0]) == 20
    assert process.restarts == 1 and process._proc.pid != second and time.monotonic() - t0 < 60
    assert not alive(second)


def test_an_error_is_reported_and_the_process_goes_on(process, inputs):
    pid = process._proc.pid
    with pytest.raises(EnrichmentProcessError, match="enrichment failed: .*Error"):
        process.enrich([{"text": None}])                     # never from the worker (texts are validated)
    assert process._proc.pid == pid and len(process.enrich(inputs[:5])[0]) == 5


def test_it_leaves_with_its_worker_even_after_sigkill():
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from streams.enrich_process import EnrichmentProcess
        p = EnrichmentProcess(True, Path({str(NO_MODEL)!r}))
        p.start()
        print(p._proc.pid, flush=True)
        time.sleep(600)
    """)
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child = int(worker.stdout.readline())
        assert alive(child)
        worker.send_signal(signal.SIGTERM)                   # the child ignores SIGTERM; its worker does not
        worker.wait(timeout=30)
        deadline = time.monotonic() + 20
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(child), "the enrichment process outlived its worker"
    finally:
        worker.kill()
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(worker.stdout.readline())
    worker.kill()
    worker.wait()
    deadline = time.monotonic() + 20
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(child), "the enrichment process outlived a SIGKILLed worker"


def test_a_process_that_cannot_start_says_so(tmp_path):
    bad = tmp_path / "what.json"
    bad.write_text(json.dumps({"format": "not ours"}))
    (tmp_path / "what.npz").write_bytes(b"")
    with pytest.raises(EnrichmentProcessError, match="did not start"):
        EnrichmentProcess(True, bad, start_timeout=120).start()
