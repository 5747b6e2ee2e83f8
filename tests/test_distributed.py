"""vnncomp on a Dask cluster: a worker killed while it holds an instance loses nothing, every
instance is answered once and right, and the exact check here still gates every unsat."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from pytorch2lean import distributed
from pytorch2lean.distributed import _checked, check_scheduler
from pytorch2lean.errors import UserError
from pytorch2lean.vnncomp import Outcome, _Models, read_instances, run_instances

from .test_vnncomp import _assert_certified, _fixture_csv, _rows


class KillOnFirstTask(WorkerPlugin):
    """SIGKILLs its worker's process as the worker starts executing a task, once in the whole
    cluster (the marker file, created exclusively, says which task): a worker lost mid-instance."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key: str, start: str, finish: str, **kwargs: object) -> None:
        if finish != "executing":
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(key).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


def _answered_once(csv_path: Path, out: Path) -> list[dict[str, str]]:
    """The run's rows, after checking that each instance has exactly one row (in the CSV's order),
    one result file and its certificates, and nothing else is in the store."""
    rows = _rows(out)
    instances = read_instances(csv_path)
    assert [(r["onnx"], r["vnnlib"]) for r in rows] == [(i.onnx, i.vnnlib) for i in instances]  # in the CSV's order
    assert sorted(p.name for p in (out / "results").iterdir()) == sorted(f"{i.stem}.txt" for i in instances)
    certificates = [c for r in rows for c in r["certificate"].split(";") if c]
    assert sorted(certificates) == sorted(p.relative_to(out).as_posix() for p in (out / "certificates").iterdir())
    return rows


def test_killed_worker_instance_is_retried_and_answered_once(tmp_path):
    csv_path = _fixture_csv(tmp_path)
    out, marker = tmp_path / "out", tmp_path / "killed"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      memory_limit=0, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.register_plugin(KillOnFirstTask(str(marker)))
        summary = run_instances(csv_path, out, scheduler=cluster.scheduler_address, progress=False, workers=2)
        client.wait_for_workers(2, timeout=120)  # the nanny restarts the killed worker
    assert marker.read_text().startswith("vnncomp-")  # a worker died holding an instance
    assert summary.solved == 3 and summary.skipped == 0
    rows = _answered_once(csv_path, out)
    assert [r["result"] for r in rows] == ["unsat"] * 3
    for row in rows:
        _assert_certified(csv_path, out, row)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytorch2lean", *args], capture_output=True, text=True, timeout=300)


def test_local_scheduler_from_the_cli_then_resume(tmp_path):
    csv_path = _fixture_csv(tmp_path)
    out = tmp_path / "out"
    r = _cli("vnncomp", str(csv_path), "--out", str(out), "--scheduler", "local", "--jobs", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "3 unsat" in r.stdout
    assert [r["result"] for r in _answered_once(csv_path, out)] == ["unsat"] * 3
    again = run_instances(csv_path, out, scheduler="local", progress=False, workers=2)
    assert again.solved == 0 and again.skipped == 3


def test_a_worker_certificate_the_checker_rejects_is_not_unsat(tmp_path):
    csv_path = _fixture_csv(tmp_path)
    out = tmp_path / "out"
    run_instances(csv_path, out, progress=False)
    inst = read_instances(csv_path)[0]
    text = (out / _rows(out)[0]["certificate"]).read_text()
    forged = json.loads(text)  # the first leaf states its first node's interval as the single point of its upper end
    stated = next(iter(forged["leaves"][0]["bounds"].values()))
    stated["lower"] = stated["upper"]
    forged = json.dumps(forged)
    answer = _checked(inst, Outcome("unsat", "unsat", (forged,), 1.0, "worker says so"), _Models(), 1)
    assert answer.result == "unknown" and "rejected" in answer.reason
    honest = _checked(inst, Outcome("unsat", "unsat", (text,), 1.0, "worker says so"), _Models(), 1)
    assert honest.result == "unsat"


def test_a_bad_scheduler_is_one_message(tmp_path):
    with pytest.raises(UserError, match="--scheduler"):
        check_scheduler("127.0.0.1:8786")
    r = _cli("vnncomp", str(_fixture_csv(tmp_path)), "--out", str(tmp_path / "out"), "--scheduler", "udp://x")
    assert r.returncode == 1 and "--scheduler 'udp://x'" in r.stderr and "Traceback" not in r.stderr
    r = _cli("vnncomp", str(tmp_path / "instances.csv"), "--out", str(tmp_path / "out"), "--scheduler", "local",
             "--memory", "10M")
    assert r.returncode == 1 and "--memory 10 MiB is below" in r.stderr and "Traceback" not in r.stderr


def test_an_unreachable_scheduler_is_one_message(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "CONNECT_S", 1.0)
    with pytest.raises(UserError, match="cannot reach the Dask scheduler"):
        run_instances(_fixture_csv(tmp_path), tmp_path / "out", scheduler="tcp://127.0.0.1:1", progress=False)
