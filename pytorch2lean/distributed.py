"""VNN-COMP instances on a Dask cluster: `vnncomp ... --scheduler local|tcp://HOST:PORT`.

Each instance is one task, solved by `vnncomp._solve_row` in a worker process (one thread per
worker: the bound code is NumPy, and a task's split-tree leaves are checked in that process). The
client, which alone writes the results store, takes the answers as they finish; a resumed run
sends only the instances the store lacks. Nothing is trusted from a worker: an `unsat` answer is
written only after the exact checker here has accepted its certificates for the instance's model
and VNN-LIB question (a worker elsewhere may run other code), and an answer that fails that check
becomes `unknown`, saying so.

A worker that dies while it holds an instance (killed, out of memory) loses only that attempt: the
scheduler gives the task to another worker (LocalCluster's nannies restart the dead one), up to
its `distributed.scheduler.allowed-failures` (3 by default); an instance that kills that many
workers is answered `unknown`, saying so. Workers read models and VNN-LIB files by the paths in
the CSV: a remote cluster must see the CSV's folder at the same path.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import Any, Iterator

from . import memory
from .cert.tree import check_claims
from .errors import UserError
from .vnncomp import Instance, Outcome, _Models, _solve_row

CONNECT_S = 20.0  # seconds to reach a remote scheduler before it is a user error
SCHEMES = ("tcp://", "tls://")
_worker_models: _Models | None = None  # a worker process's models and specs, loaded once per process


def check_scheduler(scheduler: str) -> None:
    """A user error for anything but "local" or a scheduler address; before any work starts."""
    if scheduler != "local" and not scheduler.startswith(SCHEMES):
        raise UserError(f"--scheduler {scheduler!r}: give local or a scheduler address such as tcp://HOST:8786")


def answers(instances: list[Instance], scheduler: str, *, method: str, split: str, processes: int,
            memory_bytes: int | None, models: _Models, workers: int) -> Iterator[tuple[Instance, Outcome]]:
    """Each instance with its answer, in the order they finish on the cluster.

    "local" starts a LocalCluster of `processes` worker processes on the loopback interface, each
    held to `memory_bytes` (by default its share of `memory.default_budget`); an address joins that
    cluster, whose workers are held to `memory_bytes` when given. Certificates of `unsat` answers
    are checked here (`models`, leaves in `workers` processes) before they are yielded.
    """
    check_scheduler(scheduler)
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UserError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    if memory_bytes is not None:
        memory.above_use(memory_bytes)  # here, before any worker fails on it
    if not instances:
        return
    with ExitStack() as stack:
        if scheduler == "local":
            memory_bytes = memory_bytes or memory.default_budget(processes)
            cluster = stack.enter_context(LocalCluster(
                n_workers=processes, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                memory_limit=0, silence_logs=logging.ERROR))  # memory: each worker's own limit (memory.limit)
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(_connect(Client, scheduler))
        futures = {client.submit(_solve_on_worker, inst, method, split, memory_bytes, key=f"vnncomp-{k}-{inst.stem}",
                                 pure=False): inst for k, inst in enumerate(instances)}
        for future in as_completed(futures):
            inst = futures[future]
            yield inst, _checked(inst, _result(future), models, workers)


def _connect(client_type: Any, address: str) -> Any:
    try:
        return client_type(address, timeout=CONNECT_S)
    except (OSError, TimeoutError) as e:
        raise UserError(f"--scheduler {address}: cannot reach the Dask scheduler ({e})") from None


def _solve_on_worker(inst: Instance, method: str, split: str, memory_bytes: int | None) -> Outcome:
    """The task a worker runs: the instance's answer, its split-tree leaves checked in this process
    (a worker is the unit of parallelism), under the memory limit when one is given."""
    global _worker_models
    if _worker_models is None:
        memory.reuse_freed_memory()
        if memory_bytes:
            memory.limit(memory_bytes)
        _worker_models = _Models()
    return _solve_row(inst, _worker_models, method, split, 1)


def _result(future: Any) -> Outcome:
    """The task's answer; `unknown` when its workers kept dying (an error of the code itself is
    raised here, as it would be without a cluster)."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker as e:
        return Outcome("unknown", "unknown", (), 0.0, f"every worker that ran it died ({e})")


def _checked(inst: Instance, outcome: Outcome, models: _Models, workers: int) -> Outcome:
    """The worker's answer, an `unsat` one only when its certificates prove the instance's question
    here; else `unknown`, with the checker's reason."""
    if outcome.result != "unsat":
        return outcome
    spec = models.spec(inst.vnnlib_path)
    try:
        result = check_claims(models.graph(inst.onnx_path), outcome.certificates, spec.input_boxes,
                              spec.output_property, workers)
    except MemoryError as e:
        return Outcome("unknown", "unknown", (), outcome.seconds, f"checking the worker's certificates: "
                       f"{memory.out_of_memory(e)}")
    if result.ok:
        return outcome
    return Outcome("unknown", "unknown", (), outcome.seconds, f"the exact check rejected the worker's certificates: "
                   f"{result.reason}")

