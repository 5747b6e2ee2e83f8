"""Peak memory of `vnncomp` on an MNIST CNN with max pooling, under a memory budget.

    python benchmarks/bench_memory.py [--out DIR] [--timeout S] [--memory SIZE] [--eps E ...]

No MNIST CNN with max pooling is among the shared benchmarks (`../shared/benchmarks/vnncomp2021`
holds ACAS Xu and mnistfc), so the script builds one shaped like the public VNN-COMP 2021 one that
was OOM-killed (issue 13): conv 2x2, 32 channels on a 28x28 image (a conv layer of 32x27x27 =
23,328 elements: a dense identity over it is 8 GB), relu, 2x2 max pooling, a dense layer of 100,
relu, 10 logits; He-initialised weights from a fixed seed and a fixed image in [0, 1]. Per epsilon
it writes a robustness property (VNN-LIB) and runs `pytorch2lean vnncomp` in a child process,
printing its answer, its reason, its seconds and the child's peak resident memory (`os.wait4`:
its own `ru_maxrss`).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEED = 0


def build_cnn(path: Path) -> tuple[np.ndarray, int]:
    """Write the CNN as ONNX; return the fixed image (1, 1, 28, 28) and its predicted label."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(SEED)
    w1 = (rng.standard_normal((32, 1, 2, 2)) * np.sqrt(2 / 4)).astype(np.float32)
    b1 = (rng.standard_normal(32) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((100, 32 * 13 * 13)) * np.sqrt(2 / (32 * 13 * 13))).astype(np.float32)
    b2 = (rng.standard_normal(100) * 0.1).astype(np.float32)
    w3 = (rng.standard_normal((10, 100)) * np.sqrt(2 / 100)).astype(np.float32)
    b3 = (rng.standard_normal(10) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p1"], ["f1"], axis=1),
        helper.make_node("Gemm", ["f1", "w2", "b2"], ["g2"], transB=1),
        helper.make_node("Relu", ["g2"], ["r2"]),
        helper.make_node("Gemm", ["r2", "w3", "b3"], ["y"], transB=1),
    ]
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"), (w3, "w3"),
                                                         (b3, "b3"))]
    graph = helper.make_graph(nodes, "mnist_cnn_maxpool",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, path)
    image = rng.uniform(0, 1, (1, 1, 28, 28)).astype(np.float32)
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    c1 = np.stack([sum(w1[k, 0, i, j] * image[0, 0, i:i + 27, j:j + 27] for i in range(2) for j in range(2)) + b1[k]
                   for k in range(32)])
    p1 = relu(c1)[:, :26, :26].reshape(32, 13, 2, 13, 2).max(axis=(2, 4))
    y = w3 @ relu(w2 @ p1.reshape(-1) + b2) + b3
    return image, int(np.argmax(y))


def robustness_vnnlib(path: Path, image: np.ndarray, label: int, eps: float) -> None:
    """The L-inf ball of radius eps around the image (clipped to [0, 1]); unsafe: some logit >= the label's."""
    flat = image.reshape(-1).astype(np.float64)
    lines = [f"(declare-const X_{i} Real)" for i in range(flat.size)] + [f"(declare-const Y_{j} Real)" for j in range(10)]
    for i, v in enumerate(flat):
        lines += [f"(assert (>= X_{i} {float(max(0.0, v - eps))!r}))", f"(assert (<= X_{i} {float(min(1.0, v + eps))!r}))"]
    others = " ".join(f"(and (>= Y_{j} Y_{label}))" for j in range(10) if j != label)
    lines.append(f"(assert (or {others}))")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(folder: Path, eps: float, timeout: float, memory: str | None) -> dict[str, str]:
    """One vnncomp child on the instance of radius eps: its row, seconds and peak memory."""
    out = folder / f"out_{eps}"
    shutil.rmtree(out, ignore_errors=True)  # a fresh run, not a resumed one
    args = [sys.executable, "-m", "pytorch2lean", "vnncomp", str(folder / f"eps_{eps}.csv"), "--out", str(out),
            "--timeout", str(timeout), "--quiet", "--jobs", "1"] + (["--memory", memory] if memory else [])
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak resident memory
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    seconds = time.perf_counter() - start
    row = {"result": f"exit {child.returncode}", "reason": ""}
    if (out / "results.csv").exists():
        with open(out / "results.csv", newline="", encoding="utf-8") as f:
            row = next(csv.DictReader(f))
    return {"eps": str(eps), "result": row["result"], "wall_s": f"{seconds:.1f}", "peak_MiB": f"{usage.ru_maxrss / 1024:.0f}",
            "reason": row["reason"], "stderr_tail": stderr.strip()[-300:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="Folder for the model, properties and results (default: a temporary one).")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--memory", default=None, help="vnncomp's --memory (default: its own, 3/4 of RAM).")
    ap.add_argument("--eps", type=float, nargs="+", default=[0.005, 0.02])
    args = ap.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="bench-memory-"))
    folder.mkdir(parents=True, exist_ok=True)
    image, label = build_cnn(folder / "mnist_cnn_maxpool.onnx")
    print(f"model {folder / 'mnist_cnn_maxpool.onnx'}: label {label}; timeout {args.timeout} s; memory {args.memory or 'default'}")
    for eps in sorted(args.eps):  # ascending, so each child's peak is measured on its own (ru_maxrss is a maximum)
        robustness_vnnlib(folder / f"eps_{eps}.vnnlib", image, label, eps)
        (folder / f"eps_{eps}.csv").write_text(f"mnist_cnn_maxpool.onnx,eps_{eps}.vnnlib,{args.timeout}\n", encoding="utf-8")
        print(run(folder, eps, args.timeout, args.memory))


if __name__ == "__main__":
    main()
