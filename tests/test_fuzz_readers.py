"""One fuzz test per reader: whatever a user hands pytorch2lean, the answer is a result or one
located message (exit 1 at the command line), never a traceback and never a hang.

Each test starts from small valid files (made here or taken from examples/ and tests/fixtures/)
and mutates them (tests/fuzzing.py: bytes, tokens, one JSON edit), so most cases get past the first
check and reach the deeper ones. Each case runs under a time guard (`within`): a reader that loops
fails its case instead of stalling CI. The seed is fixed and the budget small (the whole file runs
in under a minute on two cores); `pytest --hypothesis-show-statistics` prints how many cases each
reader read and refused. The inputs that raised before their reader was fixed are plain tests at
the end, each saying what it raised.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from pytorch2lean import ops
from pytorch2lean.checkpoints import read_checkpoint
from pytorch2lean.cli import main
from pytorch2lean.errors import CheckpointError, FrontendError, GraphError, UserError
from pytorch2lean.frontends import load_graph
from pytorch2lean.frontends.dsl import parse_model
from pytorch2lean.ir import dumps
from pytorch2lean.ir.graph import Graph, Param
from pytorch2lean.ir.validate import make_node, validate
from pytorch2lean.model import load_model
from pytorch2lean.spec.query import vnnlib_query
from pytorch2lean.vnncomp import run_instances
from tests.fuzzing import answered, fuzz, json_edit, mutated_bytes, mutated_text, within

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "fixtures"
MODELS = ("mlp", "cnn", "attention", "residual")
GUARD_S = 20.0  # one case's time guard: generous for a loaded CI machine, far below a hang
WORDS = tuple(sorted(ops.REGISTRY)) + ("model", "input", "param", "output", "stride", "padding", "kernel", "alpha",
                                       "axis", "shape", "[1, 5]", "[]", "[0]", "[-1]", "[99999999, 99999999]")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def graph_of(tensors: dict[str, np.ndarray]) -> Graph:
    """A graph with one float32 parameter per tensor (each negated into an output): a model that
    any checkpoint binds to when its names and shapes are those of `tensors`."""
    params = tuple(Param(name, tuple(t.shape)) for name, t in tensors.items())
    nodes = tuple(make_node(f"neg{i}", "neg", (p.name,)) for i, p in enumerate(params))
    return validate(Graph("g", (), params, nodes, tuple(n.id for n in nodes)))


# ---------------------------------------------------------------- model language (.p2l)

@fuzz(150)
@given(data=st.data())
def test_model_language(tmp_path: Path, data: st.DataObject) -> None:
    """A .p2l text with tokens edited (or its bytes), read and bound to the example's checkpoint."""
    name = data.draw(st.sampled_from(MODELS), label="model")
    seed = text(EXAMPLES / name / "model.p2l")
    path = tmp_path / "model.p2l"
    if data.draw(st.booleans(), label="bytes"):
        write(path, data.draw(mutated_bytes(seed.encode())))
    else:
        path.write_text(data.draw(mutated_text(seed, WORDS)), encoding="utf-8")
    weights = EXAMPLES / name / "weights.npz"
    with within(GUARD_S, "model language"):
        answered("model language", lambda: load_model(path, weights), str(path), str(weights))


# ---------------------------------------------------------------- ONNX (.onnx and .onnx.gz)

def onnx_seeds() -> dict[str, bytes]:
    """The fixture nets and a small conv net (Conv, Relu, MaxPool, Reshape of a constant shape,
    Gemm, Softmax), so mutations reach attributes, initializers and constant shapes."""
    onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'pytorch2lean[onnx]')")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "W"),
             numpy_helper.from_array(np.zeros(2, np.float32), "B"),
             numpy_helper.from_array(np.array([1, 8], np.int64), "shape"),
             numpy_helper.from_array(rng.standard_normal((3, 8)).astype(np.float32), "G")]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["p", "shape"], ["f"]),
             helper.make_node("Gemm", ["f", "G"], ["g"], transB=1),
             helper.make_node("Softmax", ["g"], ["y"], axis=1)]
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    conv = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    seeds = {p.name: p.read_bytes() for p in sorted((FIXTURES / "onnx").glob("*.onnx"))}
    return seeds | {"conv.onnx": conv.SerializeToString()}


ONNX_SEEDS: dict[str, bytes] = {}


@pytest.fixture(scope="module")
def onnx_files() -> dict[str, bytes]:
    ONNX_SEEDS.update(onnx_seeds())
    return ONNX_SEEDS


ONNX_OPS = ("Relu", "Gemm", "MatMul", "Add", "Conv", "MaxPool", "AveragePool", "Reshape", "Flatten", "Softmax",
            "Transpose", "Concat", "Slice", "Identity", "Constant", "Sigmoid", "Unknown")
SMALL_INTS = st.sampled_from([0, 1, 2, 3, -1, -2, 7, 2**31, -(2**40), 2**62])


@st.composite
def onnx_edit(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed`, a serialized ModelProto, after one edit of its structure: an attribute's integers,
    a dimension of an input, output or initializer, an op type, an operand name, an initializer's
    element type, the opset, or a node dropped. Byte edits mostly break the protobuf encoding;
    these keep it and reach the lowering."""
    import onnx

    model = onnx.ModelProto()
    model.ParseFromString(seed)
    g = model.graph
    kind = draw(st.sampled_from(["attr", "dim", "init dims", "op", "operand", "dtype", "opset", "drop"]), label="edit")
    node = g.node[draw(st.integers(0, len(g.node) - 1))] if g.node else None
    if kind == "attr" and node is not None and node.attribute:
        attr = node.attribute[draw(st.integers(0, len(node.attribute) - 1))]
        if attr.ints:
            attr.ints[draw(st.integers(0, len(attr.ints) - 1))] = draw(SMALL_INTS)
        else:
            attr.i, attr.f = draw(SMALL_INTS), draw(st.sampled_from([0.0, -1.0, float("nan"), float("inf")]))
    elif kind == "dim":
        values = list(g.input) + list(g.output)
        dims = values[draw(st.integers(0, len(values) - 1))].type.tensor_type.shape.dim
        if dims:
            dims[draw(st.integers(0, len(dims) - 1))].dim_value = draw(SMALL_INTS) % 2**63
    elif kind == "init dims" and g.initializer:
        init = g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
        if init.dims:
            init.dims[draw(st.integers(0, len(init.dims) - 1))] = draw(SMALL_INTS)
    elif kind == "op" and node is not None:
        node.op_type = draw(st.sampled_from(ONNX_OPS))
    elif kind == "operand" and node is not None and node.input:
        node.input[draw(st.integers(0, len(node.input) - 1))] = draw(st.sampled_from(["", "x", "missing", *node.output]))
    elif kind == "dtype" and g.initializer:
        g.initializer[draw(st.integers(0, len(g.initializer) - 1))].data_type = draw(st.integers(0, 17))
    elif kind == "opset" and model.opset_import:
        model.opset_import[0].version = draw(st.sampled_from([1, 6, 7, 13, 22, 23, 999]))
    elif kind == "drop" and node is not None:
        g.node.remove(node)
    return model.SerializeToString()


@fuzz(150)
@given(data=st.data())
def test_onnx(tmp_path: Path, onnx_files: dict[str, bytes], data: st.DataObject) -> None:
    """An .onnx file with its bytes edited (protobuf fields cut, flipped, doubled) or its
    structure (attributes, dimensions, op types, operands, element types, opset)."""
    seed = onnx_files[data.draw(st.sampled_from(sorted(onnx_files)), label="net")]
    edit = onnx_edit(seed) if data.draw(st.booleans(), label="structure") else mutated_bytes(seed)
    path = write(tmp_path / "net.onnx", data.draw(edit))
    with within(GUARD_S, "onnx"):
        answered("onnx", lambda: load_graph(path), str(path))


# ---------------------------------------------------------------- checkpoints

def safetensors_bytes(tensors: dict[str, np.ndarray]) -> bytes:
    """A .safetensors file written by hand (8-byte header length, JSON header, data), so the test
    needs no writer; float32 tensors only."""
    header, data = {}, b""
    for name, t in tensors.items():
        raw = np.ascontiguousarray(t, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    head = json.dumps(header).encode()
    return struct.pack("<Q", len(head)) + head + data


def mlp_weights() -> dict[str, np.ndarray]:
    with np.load(EXAMPLES / "mlp" / "weights.npz") as f:
        return {k: f[k] for k in f.files}


def torch_fixture(name: str) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch fixture as the model names them (nested.pth's under 'state_dict.';
    uint16_v3.pth's tensor is refused at binding, not being float32)."""
    from pytorch2lean.checkpoints import load_tensors

    tensors = load_tensors(FIXTURES / "checkpoints" / name)
    return {k.removeprefix("state_dict."): v for k, v in tensors.items() if isinstance(v, np.ndarray)}


def npz_bytes(tensors: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **tensors)
    return buffer.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    """A plain zip (no zip64 records) of `members`, with their CRCs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, raw in members.items():
            archive.writestr(name, raw)
    return buffer.getvalue()


@st.composite
def rezipped(draw: st.DrawFn, seed: bytes) -> bytes:
    """The zip `seed` with one member's bytes edited and the archive written anew (right CRCs), so
    the edit reaches what reads the member (NumPy's .npy header, the restricted unpickler, a
    storage's bytes) instead of stopping at zipfile's CRC check."""
    with zipfile.ZipFile(io.BytesIO(seed)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    name = draw(st.sampled_from(sorted(members)), label="member")
    return zip_of(members | {name: draw(mutated_bytes(members[name]))})


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / "checkpoints" / name).read_bytes()


CHECKPOINTS: dict[str, Callable[[], tuple[str, bytes, dict[str, np.ndarray], Callable[[bytes], Any]]]] = {
    "npz": lambda: ("weights.npz", (EXAMPLES / "mlp" / "weights.npz").read_bytes(), mlp_weights(), mutated_bytes),
    "npz members": lambda: ("weights.npz", (EXAMPLES / "mlp" / "weights.npz").read_bytes(), mlp_weights(), rezipped),
    "safetensors": lambda: ("weights.safetensors", safetensors_bytes(mlp_weights()), mlp_weights(), mutated_bytes),
    "pth members": lambda: ("weights.pth", fixture_bytes("linear_zip.pth"), torch_fixture("linear_zip.pth"), rezipped),
    **{f"pth {n}": (lambda n=n: ("weights.pth", fixture_bytes(f"{n}.pth"), torch_fixture(f"{n}.pth"), mutated_bytes))
       for n in ("linear_zip", "linear_legacy", "nested", "uint16_v3")},
}


@pytest.mark.parametrize("kind", sorted(CHECKPOINTS))
@fuzz(20)
@given(data=st.data())
def test_checkpoint(tmp_path: Path, kind: str, data: st.DataObject) -> None:
    """A checkpoint of each format with its bytes edited (or a zip member's, CRCs rewritten),
    bound to a model of the seed's tensors. One budget per format: drawn from one budget, a
    format could get no case at all (pth uint16_v3 got none of 150)."""
    file_name, seed, tensors, mutate = CHECKPOINTS[kind]()
    path = write(tmp_path / file_name, data.draw(mutate(seed)))
    with within(GUARD_S, f"checkpoint {kind}"):
        answered(f"checkpoint {kind}", lambda: read_checkpoint(graph_of(tensors), path), str(path))


def safetensors_header(tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    data = safetensors_bytes(tensors)
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + size])


@fuzz(60)
@given(data=st.data())
def test_safetensors_header(tmp_path: Path, data: st.DataObject) -> None:
    """A .safetensors file whose JSON header had one edit (offsets, shapes, dtypes, names)."""
    tensors = mlp_weights()
    seed = safetensors_bytes(tensors)
    (size,) = struct.unpack("<Q", seed[:8])
    head = json.dumps(data.draw(json_edit(json.loads(seed[8:8 + size])))).encode()
    path = write(tmp_path / "w.safetensors", struct.pack("<Q", len(head)) + head + seed[8 + size:])
    with within(GUARD_S, "safetensors header"):
        answered("safetensors header", lambda: read_checkpoint(graph_of(tensors), path), str(path))


@fuzz(60)
@given(data=st.data())
def test_sharded_checkpoint(tmp_path: Path, data: st.DataObject) -> None:
    """A sharded checkpoint (index and two .safetensors shards) with its index edited or a shard's bytes."""
    tensors = mlp_weights()
    names = sorted(tensors)
    shards = {"a.safetensors": names[:3], "b.safetensors": names[3:]}
    index = {"metadata": {"total_size": 1}, "weight_map": {n: s for s, ns in shards.items() for n in ns}}
    files = {s: safetensors_bytes({n: tensors[n] for n in ns}) for s, ns in shards.items()}
    if data.draw(st.booleans(), label="edit the index"):
        index = data.draw(json_edit(index))
    else:
        shard = data.draw(st.sampled_from(sorted(files)), label="shard")
        files[shard] = data.draw(mutated_bytes(files[shard]))
    for shard, raw in files.items():
        write(tmp_path / shard, raw)
    path = tmp_path / "model.safetensors.index.json"
    path.write_text(json.dumps(index), encoding="utf-8")
    with within(GUARD_S, "sharded checkpoint"):
        answered("sharded checkpoint", lambda: read_checkpoint(graph_of(tensors), path), str(tmp_path))


# ---------------------------------------------------------------- VNN-LIB

VNNLIB_SEEDS = {
    "nano": (FIXTURES / "vnnlib" / "test_nano.vnnlib").read_text(encoding="utf-8"),
    "tiny": (FIXTURES / "vnnlib" / "test_tiny.vnnlib").read_text(encoding="utf-8"),
    "boxes": ("; two boxes, two unsafe regions\n(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"
              "(assert (or (and (>= X_0 -1) (<= X_0 0.5)) (and (>= X_0 0.5) (<= X_0 1.0e0))))\n"
              "(assert (or (and (>= Y_0 100)) (and (<= Y_0 -100) (<= (+ Y_0 (* 2 Y_0)) -0.25))))\n"),
}
ONE_BY_ONE = parse_model("model m\ninput x: [1]\ny = neg(x)\noutput y\n", "m.p2l")  # test_nano's shapes
VNNLIB_WORDS = ("assert", "declare-const", "Real", "X_0", "X_1", "Y_0", "Y_1", "and", "or", "<=", ">=", "+", "-", "*")


@fuzz(150)
@given(data=st.data())
def test_vnnlib(tmp_path: Path, data: st.DataObject) -> None:
    """A VNN-LIB property with tokens edited (or its bytes), read as the question about test_nano."""
    seed = VNNLIB_SEEDS[data.draw(st.sampled_from(sorted(VNNLIB_SEEDS)), label="property")]
    path = tmp_path / "prop.vnnlib"
    if data.draw(st.booleans(), label="bytes"):
        write(path, data.draw(mutated_bytes(seed.encode())))
    else:
        path.write_text(data.draw(mutated_text(seed, VNNLIB_WORDS)), encoding="utf-8")
    with within(GUARD_S, "vnnlib"):
        answered("vnnlib", lambda: vnnlib_query(ONE_BY_ONE, path), str(path))


# ---------------------------------------------------------------- IR JSON (.json models)

def ir_seed(name: str) -> dict[str, Any]:
    return json.loads(dumps(load_model(EXAMPLES / name / "model.p2l", EXAMPLES / name / "weights.npz").graph))


IR_SEEDS = {name: ir_seed(name) for name in ("mlp", "cnn")}


@fuzz(150)
@given(data=st.data())
def test_ir_json(tmp_path: Path, data: st.DataObject) -> None:
    """An IR JSON model with one edit anywhere; without its digest most often, so that the edit
    reaches validation instead of stopping at the digest check."""
    doc = data.draw(json_edit(IR_SEEDS[data.draw(st.sampled_from(sorted(IR_SEEDS)), label="model")]))
    if isinstance(doc, dict) and data.draw(st.integers(0, 3), label="keep digest") > 0:
        doc.pop("digest", None)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with within(GUARD_S, "ir json"):
        answered("ir json", lambda: load_graph(path), str(path))


# ---------------------------------------------------------------- .npy inputs, through the CLI

def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`main(argv)` in this process: its exit status, stdout and stderr. Anything but a clean exit
    (a traceback's exception) propagates."""
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_message(code: int, stderr: str, *places: str) -> None:
    """The CLI contract: exit 1 with one message naming one of `places`, or a success."""
    if code == 0:
        event("cli: answered")
        return
    assert code == 1, f"exit {code}: {stderr}"
    assert stderr.startswith("error: ") and "Traceback" not in stderr, stderr
    flat = stderr.replace("\n", "")
    assert any(p in flat for p in places), f"the message names none of {places}: {stderr}"
    event("cli: one message")


MLP = EXAMPLES / "mlp"
NPY_COMMANDS = {
    "run": lambda x: ["run", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), "-i", x],
    "run --exact": lambda x: ["run", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), "-i", x, "--exact"],
    "verify --box": lambda x: ["verify", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), "--box", x, x],
    "verify --input": lambda x: ["verify", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), "--input", x,
                                 "--eps", "0.01", "--label", "0"],
}


@pytest.mark.parametrize("command", sorted(NPY_COMMANDS))
@fuzz(25)
@given(data=st.data())
def test_npy_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, data: st.DataObject) -> None:
    """An input .npy with its bytes edited (header, dtype, shape, data), given to run and verify
    (one budget per command)."""
    x = write(tmp_path / "x.npy", data.draw(mutated_bytes((MLP / "x.npy").read_bytes())))
    with within(GUARD_S, f"npy {command}"):
        code, _, stderr = cli(NPY_COMMANDS[command](str(x)), capsys)
    if code not in (3, 4):  # verify's verdicts violated and unknown are answers too
        one_message(code, stderr, str(x))


# ---------------------------------------------------------------- vnncomp instances and results CSVs

NANO = FIXTURES / "onnx" / "test_nano.onnx"
NANO_PROP = FIXTURES / "vnnlib" / "test_nano.vnnlib"


def instances_csv(folder: Path) -> bytes:
    """Two quick rows (test_nano is proven at once), one naming the model compressed (.onnx.gz)."""
    shutil.copy(NANO, folder / "nano.onnx")
    shutil.copy(NANO_PROP, folder / "nano.vnnlib")
    (folder / "zipped.onnx.gz").write_bytes(gzip.compress(NANO.read_bytes(), mtime=0))
    return b"nano.onnx,nano.vnnlib,5\nzipped.onnx.gz,nano.vnnlib,5\n"


def vnncomp(csv_path: Path, out: Path) -> Any:
    return run_instances(csv_path, out, method="ibp", progress=False, workers=1)


@fuzz(60)
@given(data=st.data())
def test_instances_csv(tmp_path: Path, data: st.DataObject) -> None:
    """An instances CSV with its bytes edited (non-UTF-8, cut rows, odd timeouts), or its .onnx.gz's."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = Path(tmp)
        rows = instances_csv(folder)
        how = data.draw(st.sampled_from(["gz", "bytes", "text"]), label="edit")
        if how == "gz":
            zipped = folder / "zipped.onnx.gz"
            zipped.write_bytes(data.draw(mutated_bytes(zipped.read_bytes())))
        elif how == "bytes":
            rows = data.draw(mutated_bytes(rows))
        else:  # tokens: timeouts of inf, nan, -1, 1e309; quotes, commas, missing fields
            rows = data.draw(mutated_text(rows.decode(), ("nano.onnx", "zipped.onnx.gz", "nano.vnnlib"))).encode()
        path = write(folder / "instances.csv", rows)
        with within(GUARD_S, "instances csv"):
            summary = answered("instances csv", lambda: vnncomp(path, folder / "out"), str(path))
        if summary is not None:
            errors = [r for r in summary.rows if r["result"] == "error"]
            assert all(str(path) in r["reason"] for r in errors), errors


@pytest.fixture(scope="module")
def answered_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the instances and the out/ folder of a finished run over them (both unsat)."""
    folder = tmp_path_factory.mktemp("vnncomp")
    write(folder / "instances.csv", instances_csv(folder))
    summary = vnncomp(folder / "instances.csv", folder / "out")
    assert [r["result"] for r in summary.rows] == ["unsat", "unsat"], summary.rows
    return folder


@fuzz(60)
@given(data=st.data())
def test_resumed_results_csv(tmp_path: Path, answered_run: Path, data: st.DataObject) -> None:
    """A run resumed over an out/ whose results.csv was edited (bytes, header lost, a column added)."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        folder = Path(tmp) / "run"
        shutil.copytree(answered_run, folder)
        results = folder / "out" / "results.csv"
        how = data.draw(st.sampled_from(["bytes", "no header", "rows only", "wide"]), label="edit")
        lines = results.read_bytes().splitlines(keepends=True)
        edited = {"bytes": lambda: data.draw(mutated_bytes(b"".join(lines))),
                  "no header": lambda: b"".join(lines[1:]),
                  "rows only": lambda: lines[1],
                  "wide": lambda: b"".join(line.rstrip(b"\n") + b",extra\n" for line in lines)}[how]()
        results.write_bytes(edited)
        with within(GUARD_S, "resumed results.csv"):
            summary = answered("results csv", lambda: vnncomp(folder / "instances.csv", folder / "out"), str(results))
        if summary is not None:
            assert [r["result"] for r in summary.rows] == ["unsat", "unsat"], summary.rows
            with open(results, newline="", encoding="utf-8") as f:
                assert next(csv.reader(f)) == ["onnx", "vnnlib", "result", "seconds", "certificate", "reason"]


# ---------------------------------------------------------------- output (and input) paths, through the CLI

LONG = "p" * 300  # longer than any file system's name limit (255)
NET = str(NANO)
PROP = str(NANO_PROP)
MODEL = [str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz")]
OUTPUTS = {  # (command line with {} for the output path, whether it names a folder)
    "graph --out": (["graph", *MODEL, "--out", "{}"], False),
    "ir --out": (["ir", *MODEL, "--out", "{}"], False),
    "run -o": (["run", *MODEL, "-i", str(MLP / "x.npy"), "-o", "{}"], False),
    "run --record": (["run", *MODEL, "-i", str(MLP / "x.npy"), "--record", "{}"], False),
    "verify --cert": (["verify", NET, "--vnnlib", PROP, "--cert", "{}"], False),
    "verify --lean": (["verify", NET, "--vnnlib", PROP, "--lean", "{}"], True),
    "bench --json": (["bench", "--quick", "--json", "{}"], False),
    "bench --markdown": (["bench", "--quick", "--markdown", "{}"], False),
    "export --out": (["export", *MODEL, "--out", "{}"], True),
    "vnncomp --out": (["vnncomp", "{csv}", "--out", "{}"], True),
}
INPUTS = {
    "model": ["inspect", "{}"],
    "checkpoint": ["inspect", str(MLP / "model.p2l"), "-c", "{}"],
    "run -i": ["run", *MODEL, "-i", "{}"],
    "verify --vnnlib": ["verify", NET, "--vnnlib", "{}"],
    "check certificate": ["check", NET, "{}"],
    "vnncomp instances": ["vnncomp", "{}", "--out", "{out}"],
}


def bad_path(tmp: Path, case: str, suffix: str) -> str:
    """A path a user may get wrong: in a missing folder, under a file, a file where a folder is
    expected (or the reverse), or with a component longer than the file system allows."""
    (tmp / "taken").write_text("a file\n")
    (tmp / "folder").mkdir(exist_ok=True)
    return str({"missing folder": tmp / "no" / "such" / f"out{suffix}", "under a file": tmp / "taken" / f"out{suffix}",
                "file": tmp / "taken", "folder": tmp / "folder", "long name": tmp / f"{LONG}{suffix}",
                "long folder": tmp / LONG / f"out{suffix}"}[case])


def fill(argv: list[str], path: str, tmp: Path) -> list[str]:
    (tmp / "instances.csv").write_text(f"{NET},{PROP},5\n")
    return [a.replace("{}", path).replace("{csv}", str(tmp / "instances.csv")).replace("{out}", str(tmp / "out"))
            for a in argv]


FILE_CASES = ("missing folder", "under a file", "folder", "long name", "long folder")
FOLDER_CASES = ("file", "under a file", "long name", "long folder")


@pytest.mark.parametrize("option", sorted(OUTPUTS))
@fuzz(20)
@given(data=st.data())
def test_output_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, data: st.DataObject) -> None:
    """Every output option with every kind of bad path for it: exit 1 and one message naming the
    option, before any work (nothing written, no verification or benchmark run). (An output folder
    in a missing folder is no mistake: it is created with its parents.)"""
    argv, folder = OUTPUTS[option]
    case = data.draw(st.sampled_from(FOLDER_CASES if folder else FILE_CASES), label="case")
    path = bad_path(tmp_path, case, "" if folder else ".json")
    with within(GUARD_S, f"{option} {case}"):
        code, _, stderr = cli(fill(argv, path, tmp_path), capsys)
    assert code == 1, (code, stderr)
    one_message(code, stderr, option.split()[-1])
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("what", sorted(INPUTS))
@fuzz(20)
@given(data=st.data())
def test_input_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str, data: st.DataObject) -> None:
    """Every input file argument with every kind of bad path: exit 1 and one message naming the path."""
    case = data.draw(st.sampled_from(FILE_CASES + ("file",)), label="case")
    suffix = {"model": ".onnx", "check certificate": ".json", "verify --vnnlib": ".vnnlib"}.get(what, ".npy")
    path = bad_path(tmp_path, case, suffix)
    with within(GUARD_S, f"{what} {case}"):
        code, stdout, stderr = cli(fill(INPUTS[what], path, tmp_path), capsys)
    assert code == 1, (code, stderr)
    if stdout.startswith("REJECTED: "):  # check read a file that is no certificate: an answer, not an error
        return
    one_message(code, stderr, path[-40:])


# ---------------------------------------------------------------- the seeds and the guard

def test_the_time_guard_fails_a_case_that_loops() -> None:
    """`within` stops a loop, even one that takes every Exception for a refusal, as the ONNX loader's
    `except Exception` would, and fails the case by name."""
    def swallowing_loop() -> None:
        while True:
            try:
                sum(range(1000))
            except Exception:  # noqa: BLE001 - the point: the guard is no Exception
                pass

    with pytest.raises(AssertionError, match="a loop: still running after 0.2 s"):
        with within(0.2, "a loop"):
            swallowing_loop()

def test_every_seed_is_read(tmp_path: Path, onnx_files: dict[str, bytes]) -> None:
    """Unedited, every seed reads (uint16_v3.pth binds to nothing: its one tensor is no float), so
    the mutations start from valid files and the counts of cases read above mean something."""
    for name in MODELS:
        load_model(EXAMPLES / name / "model.p2l", EXAMPLES / name / "weights.npz")
    for name, raw in onnx_files.items():
        load_graph(write(tmp_path / name, raw))
    for kind, make in CHECKPOINTS.items():
        file_name, seed, tensors, _ = make()
        path = write(tmp_path / file_name, seed)
        if kind == "pth uint16_v3":
            with pytest.raises(CheckpointError, match="uint16 is not a float type"):
                read_checkpoint(graph_of(tensors), path)
        else:
            assert read_checkpoint(graph_of(tensors), path).graph.bound
    for seed in VNNLIB_SEEDS.values():
        (tmp_path / "p.vnnlib").write_text(seed, encoding="utf-8")
        vnnlib_query(ONE_BY_ONE, tmp_path / "p.vnnlib")
    for doc in IR_SEEDS.values():
        (tmp_path / "m.json").write_text(json.dumps(doc), encoding="utf-8")
        load_graph(tmp_path / "m.json")


# ---------------------------------------------------------------- what the fuzzing found: each raised a traceback before

def pth_zip() -> bytes:
    """linear_zip.pth as a plain zip: without zip64 records, which would override the fields edited below."""
    with zipfile.ZipFile(FIXTURES / "checkpoints" / "linear_zip.pth") as archive:
        return zip_of({name: archive.read(name) for name in archive.namelist()})


def central_edit(raw: bytes, offset: int, value: bytes) -> bytes:
    """`raw` with `value` written at `offset` into its first central directory entry."""
    data = bytearray(raw)
    at = data.find(b"PK\x01\x02") + offset
    data[at:at + len(value)] = value
    return bytes(data)


def directory_moved(raw: bytes) -> bytes:
    """The end record says the central directory starts 64 bytes later than it does, so every member's
    local header lies 64 bytes before the file (zipfile: ValueError, negative seek value)."""
    data = bytearray(raw)
    end = data.rfind(b"PK\x05\x06")
    (start,) = struct.unpack("<I", data[end + 16:end + 20])
    data[end + 16:end + 20] = struct.pack("<I", start + 64)
    return bytes(data)


NPY = (MLP / "x.npy").read_bytes()
UNCLOSED = NPY.replace(b"'shape': (1, 5), }", b"'shape': (1, 5, }")  # tokenize.TokenError in NumPy's header parser
CORRUPT_CHECKPOINTS = {  # name: (file name, bytes); each was a ValueError, NotImplementedError, RuntimeError or TokenError
    "npz member header unclosed": ("w.npz", zip_of({"net.0.bias.npy": UNCLOSED})),
    "npz member encrypted": ("w.npz", central_edit(zip_of({"a.npy": NPY}), 8, b"\x01")),
    "npz compression method 99": ("w.npz", central_edit(zip_of({"a.npy": NPY}), 10, b"\x63")),
    "pth directory moved": ("w.pth", directory_moved(pth_zip())),
    "pth member encrypted": ("w.pth", central_edit(pth_zip(), 8, b"\x01")),
    "pth compression method 99": ("w.pth", central_edit(pth_zip(), 10, b"\x63")),
    # flagged UTF-8 (bit 11), a member name that is not: zipfile raises UnicodeDecodeError when it opens
    "pth member name not UTF-8": ("w.pth", central_edit(central_edit(pth_zip(), 8, b"\x00\x08"), 46, b"\xcc")),
    "npz member name not UTF-8": ("w.npz", central_edit(central_edit(zip_of({"a.npy": NPY}), 8, b"\x00\x08"), 46, b"\xcc")),
}


@pytest.mark.parametrize("case", sorted(CORRUPT_CHECKPOINTS))
def test_found_corrupt_zip_checkpoints(tmp_path: Path, case: str) -> None:
    name, raw = CORRUPT_CHECKPOINTS[case]
    path = write(tmp_path / name, raw)
    with pytest.raises(CheckpointError, match=r"truncated or corrupt\?"):
        read_checkpoint(graph_of({"a": np.zeros(5, np.float32)}), path)


def test_found_npy_header_with_an_unclosed_bracket(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = write(tmp_path / "x.npy", UNCLOSED)
    code, _, stderr = cli(NPY_COMMANDS["run"](str(x)), capsys)
    assert code == 1 and f"{x}: cannot read a .npy array" in stderr.replace("\n", ""), stderr


def test_found_ir_json_values_of_the_wrong_type(tmp_path: Path) -> None:
    """A list where an operand's name belongs was unhashable in the validator (TypeError); a dict in
    a shape likewise. And the validator's messages now name the file, as the DSL's and ONNX's do."""
    path = tmp_path / "model.json"
    for place, value, where in ((("nodes", 0, "inputs", 0), [1], "nodes[0].inputs"),
                                (("params", 1, "shape", 0), {"a": 1}, "params[1].shape"),
                                (("nodes", 1, "attrs"), [], "nodes[1].attrs")):
        doc = json.loads(json.dumps(IR_SEEDS["mlp"]))
        doc.pop("digest")
        parent = doc
        for key in place[:-1]:
            parent = parent[key]
        parent[place[-1]] = value
        path.write_text(json.dumps(doc), encoding="utf-8")
        with pytest.raises(GraphError, match=re.escape(f"{path}: malformed IR JSON at {where}: expected")):
            load_graph(path)
    doc = json.loads(json.dumps(IR_SEEDS["mlp"]))
    doc.pop("digest")
    doc["nodes"][1]["inputs"] = []
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(GraphError, match=re.escape(f"{path}: node 'a1' (relu): takes (x), got 0 inputs")):
        load_graph(path)


def test_found_onnx_attribute_without_a_type(tmp_path: Path) -> None:
    """An attribute whose type is UNDEFINED decodes to None; Concat's axis then failed in a
    comparison (TypeError). Every attribute's type is now checked against the ONNX schema."""
    onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'pytorch2lean[onnx]')")
    from onnx import TensorProto, helper

    values = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])]
    graph = helper.make_graph([helper.make_node("Concat", ["x", "x"], ["y"], axis=0)], "g", values,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.graph.node[0].attribute[0].type = onnx.AttributeProto.UNDEFINED
    path = write(tmp_path / "net.onnx", model.SerializeToString())
    with pytest.raises(FrontendError, match=re.escape(f"{path}: node 'y' (index 0): Concat attribute 'axis' must be of type INT, got None")):
        load_graph(path)


BAD_INSTANCES = {  # CSV bytes: the message (after the CSV's path); the first four were tracebacks
    b"nano.onnx,nano.vnnlib,5\n\xff.onnx,nano.vnnlib,5\n": ":2: the instances CSV is not UTF-8 text (byte 24)",
    b"nano.onnx,nano\x00.vnnlib,5\n": ":1: a file name with a NUL character",
    b"nano.onnx,nano.vnnlib,inf\n": ":1: timeout 'inf' is not a finite number of seconds, at least 0",
    b"nano.onnx,nano.vnnlib,1e309\n": ":1: timeout '1e309' is not a finite number of seconds, at least 0",
    b"nano.onnx,nano.vnnlib,nan\n": ":1: timeout 'nan' is not a finite number of seconds, at least 0",
    b"nano.onnx,nano.vnnlib,-1\n": ":1: timeout '-1' is not a finite number of seconds, at least 0",
}


@pytest.mark.parametrize("rows", sorted(BAD_INSTANCES))
def test_found_instances_csv(tmp_path: Path, rows: bytes) -> None:
    """Text that is not UTF-8 or a NUL in a name raised from deep in the run; an infinite or NaN
    timeout let an instance that is never decided run forever."""
    instances_csv(tmp_path)
    path = write(tmp_path / "instances.csv", rows)
    with pytest.raises(UserError) as e:
        vnncomp(path, tmp_path / "out")
    assert str(e.value) == f"{path}{BAD_INSTANCES[rows]}"


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), -1.0])
def test_found_timeout_option_that_never_ends(tmp_path: Path, seconds: float) -> None:
    """--timeout (which overrides the CSV's) is held to the same rule as the CSV's timeouts."""
    path = write(tmp_path / "instances.csv", instances_csv(tmp_path))
    with pytest.raises(UserError, match=re.escape(f"--timeout {seconds}: give a finite number of seconds, at least 0")):
        run_instances(path, tmp_path / "out", timeout_override=seconds, method="ibp", progress=False)


@pytest.mark.parametrize("gz", [b"", b"\x1f\x8b", gzip.compress(NANO.read_bytes())[:-9], b"\x1f\x8b\x08\x00" + bytes(40)])
def test_found_corrupt_onnx_gz_is_an_error_row(tmp_path: Path, gz: bytes) -> None:
    """A missing, cut or corrupt .onnx.gz raised (FileNotFoundError, BadGzipFile, EOFError,
    zlib.error); now its row answers error, naming the CSV line and the file, and the others run."""
    path = write(tmp_path / "instances.csv", instances_csv(tmp_path))
    if gz:
        (tmp_path / "zipped.onnx.gz").write_bytes(gz)
    else:
        (tmp_path / "zipped.onnx.gz").unlink()
    summary = vnncomp(path, tmp_path / "out")
    assert [r["result"] for r in summary.rows] == ["unsat", "error"]
    reason = summary.rows[1]["reason"]
    assert reason.startswith(f"{path}:2: ") and "zipped.onnx" in reason, reason


RESULTS_EDITS = {  # how results.csv was edited: the message after its path (None: the run resumes and reruns)
    "no header": ":1: not the results.csv of a vnncomp run",
    "not UTF-8": ":2: the results file is not UTF-8 text",
    "a field more": ":2: 7 fields where the header has 6",
    "a field less": ":2: 5 fields where the header has 6",
    "seconds": ":2: seconds 'soon' is not a number of seconds",
    "unsat without certificates": None,
}


@pytest.mark.parametrize("edit", sorted(RESULTS_EDITS))
def test_found_resumed_results_csv(tmp_path: Path, answered_run: Path, edit: str) -> None:
    """Each edit raised (KeyError, UnicodeDecodeError, ValueError, AttributeError; an unsat row
    without certificates an IndexError in the checker). A file that is not a results.csv is now
    refused before anything is overwritten; an unsat row without certificates runs again."""
    folder = tmp_path / "run"
    shutil.copytree(answered_run, folder)
    results = folder / "out" / "results.csv"
    header, first, *rest = results.read_bytes().splitlines(keepends=True)
    fields = first.rstrip(b"\n").split(b",")
    first = {"no header": b"", "not UTF-8": first.replace(b"nano", b"n\xe9no", 1),
             "a field more": first.rstrip(b"\n") + b",x\n", "a field less": b",".join(fields[:-1]) + b"\n",
             "seconds": b",".join(fields[:3] + [b"soon"] + fields[4:]) + b"\n",
             "unsat without certificates": b",".join(fields[:4] + [b""] + fields[5:]) + b"\n"}[edit] or first
    results.write_bytes((b"" if edit == "no header" else header) + first + b"".join(rest))
    if RESULTS_EDITS[edit] is None:
        summary = vnncomp(folder / "instances.csv", folder / "out")
        assert (summary.solved, [r["result"] for r in summary.rows]) == (1, ["unsat", "unsat"])
        return
    before = results.read_bytes()
    with pytest.raises(UserError, match=re.escape(f"{results}{RESULTS_EDITS[edit]}")):
        vnncomp(folder / "instances.csv", folder / "out")
    assert results.read_bytes() == before  # not overwritten
