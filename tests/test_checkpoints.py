"""Checkpoint readers, the restricted unpickler, binding, and exact float32 conversions.

PyTorch files come from tests/fixtures/checkpoints (written once by real `torch.save`, see
make_fixtures.py there); torch is never needed here. Hand-assembled pickles (`p_*` helpers) cover
what torch would not write: malicious globals, corrupt views, big-endian archives.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import logging
import os
import pickle
import subprocess
import sys
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean.checkpoints import bind, load_checkpoint, load_tensors, read_checkpoint
from pytorch2lean.checkpoints.elements import ELEMENTS
from pytorch2lean.checkpoints.torch_pickle import ALLOWED_GLOBALS, StorageRef, TensorRef, materialize
from pytorch2lean.errors import CheckpointError, UserError
from pytorch2lean.ir import Graph, Param, make_node, validate
from pytorch2lean.numeric.float32 import (
    MAX_FINITE,
    bits_of,
    exact_float32,
    dyadic_of_bits,
    fraction_of_bits,
    round_to_f32_bits,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "checkpoints"
_spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
make_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_fixtures)

CLASS_BITS = make_fixtures.CLASS_BITS
CLASSES = make_fixtures.float32_classes()
PWNED = make_fixtures.PWNED


def expected() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "expected.npz") as z:
        return {k: z[k] for k in z.files}


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtype, shape and bytes (so -0 != +0 and NaN payloads count)."""
    return a.dtype == b.dtype and a.shape == b.shape and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def graph_of(shapes: dict[str, tuple[int, ...]]) -> Graph:
    """A valid graph with one parameter per entry, each negated into its own output."""
    params = tuple(Param(name, tuple(shape)) for name, shape in shapes.items())
    nodes = tuple(make_node(f"neg{i}", "neg", (p.name,)) for i, p in enumerate(params))
    return validate(Graph("g", (), params, nodes, tuple(n.id for n in nodes)))


# ---------------------------------------------------------------- pickle assembly (no torch)

def p_value(v: object) -> bytes:
    """Opcodes pushing a plain value (no PROTO header, no STOP)."""
    return pickle.dumps(v, protocol=2)[2:-1]


def p_global(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def p_call(fn: bytes, *args: bytes) -> bytes:
    return fn + b"(" + b"".join(args) + b"tR"


def p_storage(key: str, numel: int, cls: str = "FloatStorage", module: str = "torch") -> bytes:
    return b"(" + p_value("storage") + p_global(module, cls) + p_value(key) + p_value("cpu") + p_value(numel) + b"tQ"


def p_tensor(storage: bytes, offset: int, size: tuple, stride: tuple, *extra: bytes, fn: str = "_rebuild_tensor_v2") -> bytes:
    hooks = p_call(p_global("collections", "OrderedDict"))
    return p_call(p_global("torch._utils", fn), storage, p_value(offset), p_value(size), p_value(stride), p_value(False), hooks, *extra)


def p_dict(items: dict[str, bytes]) -> bytes:
    return b"}(" + b"".join(p_value(k) + v for k, v in items.items()) + b"u"


def p_program(body: bytes) -> bytes:
    return b"\x80\x02" + body + b"."


def torch_zip(path: Path, pkl: bytes, storages: dict[str, bytes], byteorder: bytes | None = b"little") -> Path:
    """A zip archive laid out as `torch.save` writes it (torch.load accepts these files too)."""
    records = {"archive/data.pkl": pkl, "archive/version": b"3\n", **{f"archive/data/{k}": v for k, v in storages.items()}}
    if byteorder is not None:
        records["archive/byteorder"] = byteorder
    return write_zip(path, records)


def one_tensor_zip(path: Path, values: np.ndarray, offset: int, size: tuple, stride: tuple) -> Path:
    """A zip checkpoint {"t": view of a float32 storage holding `values`}."""
    pkl = p_program(p_dict({"t": p_tensor(p_storage("0", values.size), offset, size, stride)}))
    return torch_zip(path, pkl, {"0": values.astype("<f4").tobytes()})


def write_safetensors(path: Path, tensors: dict[str, tuple[str, list[int], bytes]]) -> Path:
    """A .safetensors file written by hand (for dtypes NumPy lacks, like BF16)."""
    header, offset = {}, 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(d for _, _, d in tensors.values()))
    return path


def write_zip(path: Path, records: dict[str, bytes]) -> Path:
    make_fixtures.write_zip(path, records)
    return path


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def save_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def save_safetensors(path: Path, **arrays: np.ndarray) -> Path:
    from safetensors.numpy import save_file

    save_file(arrays, str(path))
    return path


# ---------------------------------------------------------------- PyTorch files written by torch

@pytest.mark.parametrize("name", ["linear_zip.pth", "linear_legacy.pth"])
def test_torch_fixture_loads_every_tensor_bit_exactly(name: str) -> None:
    tensors = load_tensors(FIXTURES / name)
    want = expected()
    assert sorted(tensors) == sorted(want)
    for key, array in tensors.items():
        assert same_bits(array, want[key]), key
        assert array.flags.c_contiguous and array.dtype.isnative


@pytest.mark.parametrize("name", ["linear_zip.pth", "linear_legacy.pth"])
def test_strided_views_of_one_shared_storage(name: str) -> None:
    t = load_tensors(FIXTURES / name)
    base = t["transposed"].T  # the (3, 4) storage both views read
    assert t["transposed"].shape == (4, 3)
    assert same_bits(t["sliced"], np.ascontiguousarray(base[1:, 1:3]))


def test_legacy_fixture_really_is_legacy_and_zip_fixture_zip() -> None:
    assert zipfile.is_zipfile(FIXTURES / "linear_zip.pth")
    legacy = (FIXTURES / "linear_legacy.pth").read_bytes()
    assert not zipfile.is_zipfile(FIXTURES / "linear_legacy.pth")
    assert legacy.startswith(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)[:-1])


def test_half_and_bfloat16_convert_exactly() -> None:
    """float16 stays float16 (NumPy has it); bfloat16 becomes the float32 with the same value."""
    t = load_tensors(FIXTURES / "linear_zip.pth")
    assert t["half"].dtype == np.float16 and t["brain"].dtype == np.float32
    assert [Fraction(float(v)) for v in t["half"]] == [Fraction(1.5), -Fraction(1, 2**24), Fraction(65504), 0, Fraction(1, 2**14)]
    assert np.signbit(t["half"][3]) and np.signbit(t["brain"][3])
    assert Fraction(float(t["brain"][1])) == -Fraction(1, 2**133)


def test_nested_state_dict_gives_dotted_names_and_metadata_is_noted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pytorch2lean.checkpoints"):
        t = load_tensors(FIXTURES / "nested.pth")
    want = expected()
    assert sorted(t) == ["state_dict.bias", "state_dict.weight"]  # Parameters, through _rebuild_parameter
    assert same_bits(t["state_dict.weight"], want["weight"]) and same_bits(t["state_dict.bias"], want["bias"])
    assert "'arch'" in caplog.text and "'epoch'" in caplog.text


def test_rebuild_tensor_v3_with_untyped_storage_and_dtype() -> None:
    t = load_tensors(FIXTURES / "uint16_v3.pth")
    assert same_bits(t["counts"], np.array([0, 1, 65535], dtype=np.uint16))


@pytest.mark.parametrize("suffix", [".pt", ".bin", ".PTH"])
def test_every_torch_suffix_dispatches(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"model{suffix}"
    path.write_bytes((FIXTURES / "linear_legacy.pth").read_bytes())
    assert same_bits(load_tensors(path)["classes"], CLASSES)


# ---------------------------------------------------------------- hand-assembled torch pickles

def test_hand_assembled_zip_with_offset_and_stride(tmp_path: Path) -> None:
    path = one_tensor_zip(tmp_path / "v.pth", np.arange(12), offset=5, size=(2, 2), stride=(1, 4))
    assert same_bits(load_tensors(path)["t"], np.array([[5, 9], [6, 10]], dtype=np.float32))


def test_rebuild_tensor_v3_reads_untyped_bytes_as_its_dtype(tmp_path: Path) -> None:
    """v3 views an UntypedStorage (numel counts bytes) as `dtype`; offset and stride count dtype elements."""
    halves = np.array([9, 1.5, -2, 0.25, 7], dtype="<f2")
    storage = p_storage("0", halves.nbytes, "UntypedStorage", module="torch.storage")
    pkl = p_program(p_dict({"h": p_tensor(storage, 1, (2,), (2,), p_global("torch", "float16"), fn="_rebuild_tensor_v3")}))
    path = torch_zip(tmp_path / "v3.pth", pkl, {"0": halves.tobytes()})
    assert same_bits(load_tensors(path)["h"], np.array([1.5, 0.25], dtype=np.float16))


def test_big_endian_archive(tmp_path: Path) -> None:
    values = CLASSES
    pkl = p_program(p_dict({
        "f": p_tensor(p_storage("0", values.size), 0, (values.size,), (1,)),
        "h": p_tensor(p_storage("1", 2, "HalfStorage"), 0, (2,), (1,)),
    }))
    half = np.array([1.5, -(2.0**-24)], dtype=np.float16)
    path = torch_zip(tmp_path / "be.pth", pkl, {"0": values.astype(">f4").tobytes(), "1": half.astype(">f2").tobytes()}, b"big")
    t = load_tensors(path)
    assert same_bits(t["f"], values) and same_bits(t["h"], half)


def test_missing_byteorder_record_means_little_endian(tmp_path: Path) -> None:
    pkl = p_program(p_dict({"t": p_tensor(p_storage("0", 3), 0, (3,), (1,))}))
    path = torch_zip(tmp_path / "old.pth", pkl, {"0": np.arange(3, dtype="<f4").tobytes()}, byteorder=None)
    assert same_bits(load_tensors(path)["t"], np.arange(3, dtype=np.float32))


def test_parameter_and_nested_dicts_are_flattened(tmp_path: Path) -> None:
    tensor = p_tensor(p_storage("0", 2), 0, (2,), (1,))
    param = p_call(p_global("torch._utils", "_rebuild_parameter"), tensor, p_value(True), p_call(p_global("collections", "OrderedDict")))
    pkl = p_program(p_dict({"encoder": p_dict({"fc": p_dict({"weight": param})}), "note": p_value(None)}))
    path = torch_zip(tmp_path / "n.pth", pkl, {"0": np.array([1, 2], dtype="<f4").tobytes()})
    assert list(load_tensors(path)) == ["encoder.fc.weight"]


@settings(max_examples=150, deadline=None)
@given(
    numel=st.integers(1, 40),
    size=st.lists(st.integers(0, 4), max_size=3),
    stride=st.lists(st.integers(0, 6), min_size=3, max_size=3),
    offset=st.integers(0, 40),
)
def test_materialize_matches_index_arithmetic(numel: int, size: list[int], stride: list[int], offset: int) -> None:
    """Every in-bounds view reads storage[offset + sum(i_k * stride_k)]; out-of-bounds views are refused."""
    stride = stride[: len(size)]
    storage = np.arange(numel, dtype="<f4")
    ref = TensorRef(StorageRef("0", ELEMENTS["float32"], numel), offset, tuple(size), tuple(stride), ELEMENTS["float32"])
    indices = list(np.ndindex(*size))
    positions = [offset + sum(i * s for i, s in zip(ix, stride)) for ix in indices]
    if all(p < numel for p in positions):
        got = materialize(ref, storage.tobytes(), "little", "t")
        assert got.shape == tuple(size) and got.flags.c_contiguous
        assert [float(got[ix]) for ix in indices] == [float(p) for p in positions]
    else:
        with pytest.raises(CheckpointError, match="storage holding"):
            materialize(ref, storage.tobytes(), "little", "t")


# ---------------------------------------------------------------- malicious pickles

def test_malicious_fixture_is_really_malicious(tmp_path: Path) -> None:
    """Control: plain pickle DOES run the fixture's command, so the refusal tests below mean something."""
    script = "import pickle, zipfile, sys; pickle.loads(zipfile.ZipFile(sys.argv[1]).read('archive/data.pkl'))"
    subprocess.run([sys.executable, "-c", script, str(FIXTURES / "malicious.pth")], cwd=tmp_path, check=True)
    assert (tmp_path / PWNED).exists()


@pytest.mark.parametrize("name", ["malicious.pth", "malicious_legacy.pth"])
def test_malicious_fixture_is_refused_before_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match=r"refusing global 'os\.system'") as e:
        load_tensors(FIXTURES / name)
    assert name in str(e.value)
    assert not (tmp_path / PWNED).exists()


class _Evil:
    def __reduce__(self) -> tuple:
        return os.system, (f"touch {PWNED}",)


EVAL_PWN = f"__import__('pathlib').Path('{PWNED}').touch()"
MALICIOUS = {
    "builtins.eval": p_program(p_call(p_global("builtins", "eval"), p_value(EVAL_PWN))),
    "subprocess.Popen": p_program(p_call(p_global("subprocess", "Popen"), p_value(["touch", PWNED]))),
    "posix.system": pickle.dumps(_Evil(), protocol=2),  # __reduce__ trick, GLOBAL opcode
    "posix.system ": pickle.dumps(_Evil(), protocol=4),  # STACK_GLOBAL opcode
    "builtins.exec": b"(S" + repr(EVAL_PWN).encode() + b"\nibuiltins\nexec\n.",  # INST opcode
    "torch.nn.modules.linear.Linear": p_program(p_call(p_global("torch.nn.modules.linear", "Linear"))),
    "torch._tensor._rebuild_from_type_v2": p_program(p_global("torch._tensor", "_rebuild_from_type_v2")),
    "builtins.getattr": p_program(p_dict({
        "w": p_tensor(p_storage("0", 1), 0, (1,), (1,)),
        "x": p_call(p_global("builtins", "getattr"), p_global("torch", "FloatStorage"), p_value("__class__")),
    })),
}


@pytest.mark.parametrize("name", sorted(MALICIOUS))
@pytest.mark.parametrize("container", ["zip", "legacy"])
def test_malicious_globals_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, container: str) -> None:
    monkeypatch.chdir(tmp_path)
    if container == "zip":
        path = torch_zip(tmp_path / "evil.pth", MALICIOUS[name], {"0": b"\0" * 4})
    else:
        path = tmp_path / "evil.pth"
        path.write_bytes(make_fixtures.legacy_header() + MALICIOUS[name] + pickle.dumps(["0"], protocol=2) + b"\1" + b"\0" * 11)
    with pytest.raises(CheckpointError, match=f"refusing global '{name.strip()}'"):
        load_tensors(path)
    assert not (tmp_path / PWNED).exists()


def test_pickle_cannot_rewrite_the_allowed_stand_ins(tmp_path: Path) -> None:
    before = repr(ALLOWED_GLOBALS["torch", "FloatStorage"])
    pkl = p_program(p_global("torch", "FloatStorage") + p_value((None, {"name": "os.system"})) + b"b")
    with pytest.raises(CheckpointError, match="set the state"):
        load_tensors(torch_zip(tmp_path / "b.pth", pkl, {}))
    assert repr(ALLOWED_GLOBALS["torch", "FloatStorage"]) == before


def test_allowed_globals_are_exactly_the_documented_list() -> None:
    storages = {"Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"}
    dtypes = {"float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8", "bool"}
    rebuilds = {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter", "_rebuild_parameter_with_state"}
    want = {("collections", "OrderedDict"), ("torch", "UntypedStorage"), ("torch.storage", "UntypedStorage")}
    want |= {("torch", f"{s}Storage") for s in storages} | {("torch", d) for d in dtypes} | {("torch._utils", r) for r in rebuilds}
    assert set(ALLOWED_GLOBALS) == want


# ---------------------------------------------------------------- corrupt and truncated files

def corrupt_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    zip_bytes = (FIXTURES / "linear_zip.pth").read_bytes()
    legacy = (FIXTURES / "linear_legacy.pth").read_bytes()
    t3 = p_tensor(p_storage("0", 3), 0, (3,), (1,))
    good = p_program(p_dict({"t": t3}))
    three = np.arange(3, dtype="<f4").tobytes()

    def file(name: str, data: bytes) -> Path:
        (tmp_path / name).write_bytes(data)
        return tmp_path / name

    with zipfile.ZipFile(FIXTURES / "linear_zip.pth") as z:
        info = z.getinfo("linear_zip/data/0")  # torch names the folder after the file
    head = info.header_offset  # local header: 30 fixed bytes, then name and extra field (torch pads it)
    start = head + 30 + int.from_bytes(zip_bytes[head + 26:head + 28], "little") + int.from_bytes(zip_bytes[head + 28:head + 30], "little")
    flipped = bytearray(zip_bytes)
    flipped[start + 1] ^= 0xFF
    return {
        "truncated zip": (file("t.pth", zip_bytes[: len(zip_bytes) // 2]), "not a readable zip archive"),
        "storage bit flip (CRC)": (file("crc.pth", bytes(flipped)), "not a readable zip archive"),
        "corrupt pickle": (torch_zip(tmp_path / "p.pth", b"\x80\x02}(X\x01\x00\x00\x00t\xff\xff", {}), "corrupt pickle"),
        "storage shorter than declared": (torch_zip(tmp_path / "s.pth", good, {"0": three[:8]}), "holds 8 bytes, the pickle declares 12"),
        "storage record missing": (torch_zip(tmp_path / "m.pth", good, {}), "storage '0' is missing"),
        "view past the storage": (one_tensor_zip(tmp_path / "v.pth", np.arange(4), 2, (2, 2), (1, 1)), "reads element 4 of a storage holding 4"),
        "negative offset": (one_tensor_zip(tmp_path / "o.pth", np.arange(4), -1, (2,), (1,)), "not a non-negative integer"),
        "huge broadcast view": (one_tensor_zip(tmp_path / "h.pth", np.arange(1), 0, (2**40, 2**40), (0, 0)), "too large to hold in memory"),
        "size/stride lengths": (one_tensor_zip(tmp_path / "l.pth", np.arange(4), 0, (2, 2), (1,)), "differ in length"),
        "bad byteorder": (torch_zip(tmp_path / "b.pth", good, {"0": three}, b"middle"), "byteorder record"),
        "two data.pkl": (write_zip(tmp_path / "d.pth", {"a/data.pkl": good, "b/data.pkl": good}), "one '<dir>/data.pkl', found 2"),
        "not a dict": (torch_zip(tmp_path / "x.pth", p_program(p_value([1, 2])), {}), "holds a list, not a dict"),
        "bad persistent id": (torch_zip(tmp_path / "q.pth", p_program(p_value(("module", 1)) + b"Q"), {}), "unsupported persistent id"),
        "one name twice once flattened": (
            torch_zip(tmp_path / "a.pth", p_program(p_dict({"a": p_dict({"b": t3}), "a.b": t3})), {"0": three}),
            "two tensors are named 'a.b'",
        ),
        "legacy truncated storage": (file("lt.pth", legacy[:-3]), "truncated"),
        "legacy truncated pickle": (file("lp.pth", legacy[:150]), "corrupt pickle"),
        "legacy bad element count": (file("lc.pth", legacy.replace(b"\x0e" + b"\0" * 7, b"\x0f" + b"\0" * 7)), "element count 14"),
        "not a torch file": (file("r.pth", b"hello, world"), "neither a PyTorch zip archive nor a legacy"),
        "empty file": (file("e.pth", b""), "neither a PyTorch zip archive nor a legacy"),
        "missing file": (tmp_path / "absent.pth", "cannot read the checkpoint"),
        "unknown suffix": (file("w.onnx", b""), "unknown checkpoint suffix '.onnx'"),
        "truncated npz": (file("t.npz", (save_npz(tmp_path / "g.npz", a=CLASSES)).read_bytes()[:100]), "not a readable .npz"),
        "npy posing as npz": (file("y.npz", npy_bytes(CLASSES)), "holds a single .npy array"),
        "object array npz": (save_npz(tmp_path / "o.npz", w=CLASSES, o=np.array([1, "x"], dtype=object)), "array 'o' holds Python objects"),
        "truncated safetensors": (file("t.safetensors", save_safetensors(tmp_path / "g.safetensors", a=CLASSES).read_bytes()[:-4]), "not a readable .safetensors"),
        "unsupported safetensors dtype": (write_safetensors(tmp_path / "f8.safetensors", {"a": ("F8_E4M3", [2], b"\0\1")}), "dtype F8_E4M3"),
    }


CORRUPT_NAMES = [
    "truncated zip", "storage bit flip (CRC)", "corrupt pickle", "storage shorter than declared", "storage record missing",
    "view past the storage", "huge broadcast view", "negative offset", "size/stride lengths", "bad byteorder", "two data.pkl", "not a dict",
    "bad persistent id", "one name twice once flattened", "legacy truncated storage", "legacy truncated pickle",
    "legacy bad element count", "not a torch file", "empty file", "missing file", "unknown suffix", "truncated npz",
    "npy posing as npz", "object array npz", "truncated safetensors", "unsupported safetensors dtype",
]


def test_corrupt_case_list_is_complete(tmp_path: Path) -> None:
    assert sorted(corrupt_cases(tmp_path)) == sorted(CORRUPT_NAMES)


@pytest.mark.parametrize("case", CORRUPT_NAMES)
def test_bad_files_raise_one_clear_checkpoint_error(tmp_path: Path, case: str) -> None:
    path, message = corrupt_cases(tmp_path)[case]
    with pytest.raises(CheckpointError) as e:
        load_tensors(path)
    assert message in str(e.value)
    assert str(path) in str(e.value)  # names the file


def test_safetensors_package_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_safetensors(tmp_path / "a.safetensors", a=CLASSES)
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(CheckpointError, match="needs the 'safetensors' package"):
        load_tensors(path)


# ---------------------------------------------------------------- npz and safetensors

DTYPES = [np.float32, np.float16, np.float64, np.int64, np.int8, np.uint8, np.bool_]


@pytest.mark.parametrize("saver", [save_npz, save_safetensors])
def test_flat_formats_keep_dtype_and_bits(tmp_path: Path, saver) -> None:
    arrays = {f"layer.{np.dtype(d).name}": (np.arange(6) % 3 - 1).astype(d).reshape(2, 3) for d in DTYPES}
    arrays["classes"] = CLASSES
    suffix = ".npz" if saver is save_npz else ".safetensors"
    got = load_tensors(saver(tmp_path / f"a{suffix}", **arrays))
    assert sorted(got) == sorted(arrays)
    assert all(same_bits(got[k], v) for k, v in arrays.items())


def test_every_bfloat16_pattern_decodes_exactly(tmp_path: Path) -> None:
    patterns = np.arange(2**16, dtype="<u2")
    path = write_safetensors(tmp_path / "bf.safetensors", {"b": ("BF16", [2**16], patterns.tobytes())})
    got = load_tensors(path)["b"]
    assert got.dtype == np.float32
    assert (got.view(np.uint32) == patterns.astype(np.uint32) << 16).all()


# ---------------------------------------------------------------- binding

LINEAR_SHAPES = {k: v.shape for k, v in expected().items()}


@pytest.mark.parametrize("name", ["linear_zip.pth", "linear_legacy.pth"])
def test_load_checkpoint_binds_every_param_and_hashes_the_file(name: str) -> None:
    graph, sha = load_checkpoint(graph_of(LINEAR_SHAPES), FIXTURES / name)
    assert sha == hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest()
    assert graph.bound and validate(graph) == graph
    want = {k: v.astype(np.float32) for k, v in expected().items()}  # float16 -> float32 is exact
    assert all(same_bits(graph.param(k).array, v) for k, v in want.items())


def test_nested_checkpoint_binds_linear() -> None:
    graph, _ = load_checkpoint(graph_of({"weight": (2, 3), "bias": (2,)}), FIXTURES / "nested.pth")
    assert same_bits(graph.param("weight").array, expected()["weight"])


FORMATS = {
    "npz": lambda d, a: save_npz(d / "c.npz", classes=a),
    "safetensors": lambda d, a: save_safetensors(d / "c.safetensors", classes=a),
    "npz float64": lambda d, a: save_npz(d / "c.npz", classes=a.astype(np.float64)),
    "safetensors float64": lambda d, a: save_safetensors(d / "c.safetensors", classes=a.astype(np.float64)),
    "torch zip": lambda d, a: FIXTURES / "linear_zip.pth",
    "torch legacy": lambda d, a: FIXTURES / "linear_legacy.pth",
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_float32_class_binds_bit_for_bit(tmp_path: Path, fmt: str) -> None:
    path = FORMATS[fmt](tmp_path, CLASSES)
    tensors = {"classes": load_tensors(path)["classes"]}
    graph = bind(graph_of({"classes": CLASSES.shape}), tensors, source=str(path))
    assert graph.param("classes").data == np.array(CLASS_BITS, dtype="<u4").tobytes()


def test_every_finite_float16_binds_exactly() -> None:
    halves = np.arange(2**16, dtype=np.uint16).view(np.float16)
    halves = halves[np.isfinite(halves)]
    graph = bind(graph_of({"h": halves.shape}), {"h": halves}, source="mem")
    assert [Fraction(float(x)) for x in graph.param("h").array] == [Fraction(float(x)) for x in halves]
    assert (np.signbit(graph.param("h").array) == np.signbit(halves)).all()


def test_every_finite_bfloat16_binds_exactly(tmp_path: Path) -> None:
    patterns = np.arange(2**16, dtype="<u2")
    patterns = patterns[(patterns & 0x7F80) != 0x7F80]  # drop NaN and Inf
    path = write_safetensors(tmp_path / "bf.safetensors", {"b": ("BF16", [patterns.size], patterns.tobytes())})
    graph, _ = load_checkpoint(graph_of({"b": (patterns.size,)}), path)
    assert (np.frombuffer(graph.param("b").data, "<u4") == patterns.astype(np.uint32) << 16).all()


W = np.zeros((2, 3), dtype=np.float32)
BIND_ERRORS = {
    "missing": ({"w": W}, "no tensor for parameter(s) ['b']"),
    "extra": ({"w": W, "b": W[0, :2], "head.w": W, "aux": W}, "tensor(s) ['aux', 'head.w'] are not parameters"),
    "wrong shape": ({"w": np.zeros((2, 4), np.float32), "b": W[0, :2]}, "parameter 'w': checkpoint has shape [2, 4], model expects [2, 3]"),
    "rank": ({"w": W, "b": np.zeros((1, 2), np.float32)}, "parameter 'b': checkpoint has shape [1, 2], model expects [2]"),
    "transposed": ({"w": W.T, "b": W[0, :2]}, "parameter 'w': looks transposed: checkpoint has [3, 2], model expects [2, 3]"),
    "int": ({"w": W.astype(np.int64), "b": W[0, :2]}, "parameter 'w': dtype int64 is not a float type"),
    "bool": ({"w": W.astype(bool), "b": W[0, :2]}, "parameter 'w': dtype bool is not a float type"),
    "inexact float64": ({"w": np.full((2, 3), 0.1), "b": W[0, :2]}, "parameter 'w': dtype float64 value 0.1 at index [0, 0] is not exactly a float32"),
    "float64 overflow": ({"w": np.full((2, 3), 1e300), "b": W[0, :2]}, "value 1e+300 at index [0, 0] is not exactly a float32"),
    "float64 below subnormal": ({"w": np.full((2, 3), 2.0**-150), "b": W[0, :2]}, "is not exactly a float32"),
    "nan": ({"w": np.where(np.eye(2, 3) > 0, np.nan, 0).astype(np.float32), "b": W[0, :2]}, "parameter 'w': value nan at index [0, 0] is not finite"),
    "inf": ({"w": W, "b": np.array([0, np.inf], np.float32)}, "parameter 'b': value inf at index [1] is not finite"),
    "-inf float16": ({"w": W, "b": np.array([-np.inf, 0], np.float16)}, "parameter 'b': value -inf at index [0] is not finite"),
    "nan float64": ({"w": W.astype(np.float64) + np.nan, "b": W[0, :2]}, "parameter 'w': value nan at index [0, 0] is not finite"),
}


@pytest.mark.parametrize("case", sorted(BIND_ERRORS))
def test_bind_errors_name_the_parameter(case: str) -> None:
    tensors, message = BIND_ERRORS[case]
    with pytest.raises(CheckpointError) as e:
        bind(graph_of({"w": (2, 3), "b": (2,)}), tensors, source="ckpt.npz")
    assert message in str(e.value) and str(e.value).startswith("ckpt.npz: ")
    assert isinstance(e.value, UserError)


def test_transposed_message_matches_the_documented_form() -> None:
    with pytest.raises(CheckpointError, match=r"looks transposed: checkpoint has \[3, 5\], model expects \[5, 3\]"):
        bind(graph_of({"fc.weight": (5, 3)}), {"fc.weight": np.zeros((3, 5), np.float32)}, source="m.pth")


def test_uint16_checkpoint_is_read_but_not_bound() -> None:
    with pytest.raises(CheckpointError, match="'counts': dtype uint16 is not a float type"):
        load_checkpoint(graph_of({"counts": (3,)}), FIXTURES / "uint16_v3.pth")


def test_big_endian_float32_binds(tmp_path: Path) -> None:
    path = save_npz(tmp_path / "be.npz", w=CLASSES.astype(">f4"))
    graph, _ = load_checkpoint(graph_of({"w": CLASSES.shape}), path)
    assert graph.param("w").data == CLASSES.tobytes()


def test_bind_is_deterministic_and_leaves_the_input_graph_unbound() -> None:
    graph = graph_of({"w": (2, 3)})
    a = bind(graph, {"w": CLASSES[:6].reshape(2, 3)}, source="m")
    b = bind(graph, {"w": CLASSES[:6].reshape(2, 3).astype(np.float64)}, source="m")
    assert a == b and not graph.bound


# ---------------------------------------------------------------- checkpoints as training scripts save them

W, B = CLASSES[:6].reshape(2, 3), CLASSES[6:8]
LINEAR = {"fc.weight": (2, 3), "fc.bias": (2,)}


def p_array(key: str, array: np.ndarray) -> tuple[bytes, bytes]:
    """(pickle opcodes of a float32 tensor of `array`, its storage bytes under `key`)."""
    strides = tuple(s // 4 for s in array.strides)
    return p_tensor(p_storage(key, array.size), 0, array.shape, strides), array.astype("<f4").tobytes()


def training_checkpoint(path: Path, wrapper: str, prefix: str) -> Path:
    """{wrapper: {prefix + name: tensor}, 'epoch': 3, 'optimizer': {'state': {0: {'momentum_buffer': t}}}}."""
    (w, w_bytes), (b, b_bytes), (m, m_bytes) = p_array("0", W), p_array("1", B), p_array("2", B)
    body = p_dict({wrapper: p_dict({f"{prefix}fc.weight": w, f"{prefix}fc.bias": b}), "epoch": p_value(3),
                   "optimizer": p_dict({"state": p_dict({"0": p_dict({"momentum_buffer": m})})})})
    return torch_zip(path, p_program(body), {"0": w_bytes, "1": b_bytes, "2": m_bytes})


@pytest.mark.parametrize("wrapper, prefix", [("state_dict", ""), ("model", ""), ("state_dict", "module."), ("model", "_orig_mod.")])
def test_wrapped_and_prefixed_torch_checkpoints_bind_saying_which(tmp_path: Path, wrapper: str, prefix: str) -> None:
    path = training_checkpoint(tmp_path / "ckpt.pth", wrapper, prefix)
    loaded = read_checkpoint(graph_of(LINEAR), path)
    assert same_bits(loaded.graph.param("fc.weight").array, W) and same_bits(loaded.graph.param("fc.bias").array, B)
    chosen = f"{wrapper}.{prefix}"
    assert loaded.note == (f"{path}: the model's parameters are the tensors named {chosen}*, read without the prefix "
                           f"{chosen!r}; 1 other tensor(s) left out")


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_module_prefix_binds_in_every_format(tmp_path: Path, suffix: str) -> None:
    save = save_npz if suffix == ".npz" else save_safetensors
    path = save(tmp_path / f"dp{suffix}", **{"module.fc.weight": W, "module.fc.bias": B})
    loaded = read_checkpoint(graph_of(LINEAR), path)
    assert same_bits(loaded.graph.param("fc.weight").array, W)
    assert loaded.note == f"{path}: the model's parameters are the tensors named module.*, read without the prefix 'module.'"


def test_matching_names_bind_without_a_note(tmp_path: Path) -> None:
    loaded = read_checkpoint(graph_of(LINEAR), save_npz(tmp_path / "c.npz", **{"fc.weight": W, "fc.bias": B}))
    assert loaded.note is None and same_bits(loaded.graph.param("fc.bias").array, B)


def test_two_copies_of_the_parameters_are_refused_naming_both(tmp_path: Path) -> None:
    path = save_npz(tmp_path / "ema.npz", **{f"{k}.fc.{n}": a for k in ("model", "model_ema") for n, a in (("weight", W), ("bias", B))})
    with pytest.raises(CheckpointError, match=r"found in more than one way \(the tensors under 'model.'; the tensors under 'model_ema.'\)"):
        read_checkpoint(graph_of(LINEAR), path)


def test_a_checkpoint_of_the_wrapped_model_binds_with_the_model_prefix(tmp_path: Path) -> None:
    """A Hugging Face model saved alone, bound to a module that holds it as `model`."""
    path = save_safetensors(tmp_path / "inner.safetensors", **{"fc.weight": W, "fc.bias": B})
    loaded = read_checkpoint(graph_of({"model.fc.weight": (2, 3), "model.fc.bias": (2,)}), path)
    assert same_bits(loaded.graph.param("model.fc.weight").array, W)
    assert loaded.note == f"{path}: the checkpoint names the model's parameters without their prefix 'model.'"


@pytest.mark.parametrize("present", [["model.safetensors", "pytorch_model.bin"], ["pytorch_model.bin"]])
def test_a_hugging_face_model_folder_reads_its_checkpoint_file(tmp_path: Path, present: list[str]) -> None:
    """The file transformers reads first; the note names it."""
    (w, w_bytes), (b, b_bytes) = p_array("0", W), p_array("1", B)
    for name in present:
        if name.endswith(".safetensors"):
            save_safetensors(tmp_path / name, **{"fc.weight": W, "fc.bias": B})
        else:
            torch_zip(tmp_path / name, p_program(p_dict({"fc.weight": w, "fc.bias": b})), {"0": w_bytes, "1": b_bytes})
    loaded = read_checkpoint(graph_of(LINEAR), tmp_path)
    assert same_bits(loaded.graph.param("fc.weight").array, W)
    assert loaded.note == f"{tmp_path}: a model folder; reading {present[0]}"
    assert loaded.sha256 == hashlib.sha256((tmp_path / present[0]).read_bytes()).hexdigest()


def test_a_folder_without_a_checkpoint_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="must hold one of model.safetensors"):
        read_checkpoint(graph_of(LINEAR), tmp_path)


def test_a_prefix_lacking_a_parameter_is_not_chosen(tmp_path: Path) -> None:
    path = save_npz(tmp_path / "part.npz", **{"module.fc.weight": W})
    with pytest.raises(CheckpointError, match=r"no tensor for parameter\(s\) \['fc.weight', 'fc.bias'\]"):
        read_checkpoint(graph_of(LINEAR), path)


def test_a_pickled_module_is_refused_naming_its_class(tmp_path: Path) -> None:
    pkl = p_program(p_dict({"model": p_call(p_global("torchvision.models.resnet", "ResNet"))}))
    with pytest.raises(CheckpointError, match="refusing global 'torchvision.models.resnet.ResNet'"):
        read_checkpoint(graph_of(LINEAR), torch_zip(tmp_path / "m.bin", pkl, {}))


# ---------------------------------------------------------------- sharded checkpoints (Hugging Face index)

def sharded(folder: Path, shards: dict[str, dict[str, np.ndarray]], index: str = "model.safetensors.index.json",
            weight_map: dict[str, str] | None = None) -> Path:
    """Shard files (saved by their suffix) and the index naming them."""
    for name, arrays in shards.items():
        (save_safetensors if name.endswith(".safetensors") else save_npz)(folder / name, **arrays)
    listed = weight_map if weight_map is not None else {t: name for name, arrays in shards.items() for t in arrays}
    (folder / index).write_text(json.dumps({"metadata": {"total_size": 32}, "weight_map": listed}))
    return folder / index


SHARDS = {"model-00001-of-00002.safetensors": {"fc.weight": W}, "model-00002-of-00002.safetensors": {"fc.bias": B}}


def test_sharded_safetensors_bind_and_hash_every_file(tmp_path: Path) -> None:
    index = sharded(tmp_path, SHARDS)
    loaded = read_checkpoint(graph_of(LINEAR), index)
    assert same_bits(loaded.graph.param("fc.weight").array, W) and same_bits(loaded.graph.param("fc.bias").array, B)
    files = sorted([index.name, *SHARDS])
    listing = "".join(f"{hashlib.sha256((tmp_path / f).read_bytes()).hexdigest()}  {f}\n" for f in files)
    assert loaded.sha256 == hashlib.sha256(listing.encode()).hexdigest()


def test_sharded_checkpoint_with_a_prefix_and_torch_shards(tmp_path: Path) -> None:
    (w, w_bytes), (b, b_bytes) = p_array("0", W), p_array("1", B)
    torch_zip(tmp_path / "pytorch_model-1.bin", p_program(p_dict({"model.fc.weight": w})), {"0": w_bytes})
    torch_zip(tmp_path / "pytorch_model-2.bin", p_program(p_dict({"model.fc.bias": b})), {"1": b_bytes})
    index = sharded(tmp_path, {}, "pytorch_model.bin.index.json",
                    {"model.fc.weight": "pytorch_model-1.bin", "model.fc.bias": "pytorch_model-2.bin"})
    loaded = read_checkpoint(graph_of(LINEAR), index)
    assert same_bits(loaded.graph.param("fc.bias").array, B) and "'model.'" in loaded.note


@pytest.mark.parametrize("weight_map, words", [
    ({"fc.weight": "../model-00001-of-00002.safetensors", "fc.bias": "model-00002-of-00002.safetensors"}, "not a file name in the index's folder"),
    ({"fc.weight": "model-00002-of-00002.safetensors", "fc.bias": "model-00002-of-00002.safetensors"}, "puts ['fc.weight'] in 'model-00002-of-00002.safetensors'"),
    ({"fc.weight": "absent.safetensors", "fc.bias": "model-00002-of-00002.safetensors"}, "cannot read the checkpoint"),
    ({"fc.weight": "model-00001-of-00002.onnx"}, "shard 'model-00001-of-00002.onnx' has an unknown suffix"),
])
def test_inconsistent_shard_index_is_refused(tmp_path: Path, weight_map: dict[str, str], words: str) -> None:
    index = sharded(tmp_path, SHARDS, weight_map=weight_map)
    with pytest.raises(CheckpointError) as e:
        read_checkpoint(graph_of(LINEAR), index)
    assert words in str(e.value)


def test_a_shard_holding_an_unlisted_tensor_is_refused(tmp_path: Path) -> None:
    index = sharded(tmp_path, {**SHARDS, "model-00002-of-00002.safetensors": {"fc.bias": B, "fc.stray": B}},
                    weight_map={"fc.weight": "model-00001-of-00002.safetensors", "fc.bias": "model-00002-of-00002.safetensors"})
    with pytest.raises(CheckpointError, match=r"holds \['fc.stray'\], which the index does not list there"):
        read_checkpoint(graph_of(LINEAR), index)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"weight_map": {"fc.weight": 3}}'])
def test_malformed_index_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "model.safetensors.index.json").write_text(text)
    with pytest.raises(CheckpointError, match="model.safetensors.index.json: "):
        load_tensors(tmp_path / "model.safetensors.index.json")


def test_wrapped_and_sharded_checkpoints_are_read_without_torch(tmp_path: Path) -> None:
    """Both kinds are read in a process where importing torch fails."""
    wrapped = training_checkpoint(tmp_path / "ckpt.pth", "state_dict", "module.")
    index = sharded(tmp_path, SHARDS)
    script = f"""
import sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
from pytorch2lean.checkpoints import load_tensors
print(sorted(load_tensors({str(wrapped)!r})), sorted(load_tensors({str(index)!r})))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ("['optimizer.state.0.momentum_buffer', 'state_dict.module.fc.bias', 'state_dict.module.fc.weight'] "
                           "['fc.bias', 'fc.weight']")


# ---------------------------------------------------------------- numeric/float32.py

CLASS_VALUES = {
    0x00000000: Fraction(0),
    0x80000000: Fraction(0),
    0x00000001: Fraction(1, 2**149),
    0x80000001: -Fraction(1, 2**149),
    0x007FFFFF: Fraction(2**23 - 1, 2**149),
    0x807FFFFF: -Fraction(2**23 - 1, 2**149),
    0x00800000: Fraction(1, 2**126),
    0x80800000: -Fraction(1, 2**126),
    0x7F7FFFFF: MAX_FINITE,
    0xFF7FFFFF: -MAX_FINITE,
    0x3F800000: Fraction(1),
    0xBF800000: Fraction(-1),
    0x3EAAAAAB: Fraction(11184811, 2**25),
    0xC0490FDB: -Fraction(13176795, 2**22),
}


def test_class_table_covers_the_fixture_classes() -> None:
    assert set(CLASS_VALUES) == set(CLASS_BITS)


@pytest.mark.parametrize("bits", sorted(CLASS_VALUES))
def test_fraction_of_bits_on_every_class(bits: int) -> None:
    assert fraction_of_bits(bits) == CLASS_VALUES[bits]
    assert fraction_of_bits(bits) == Fraction(float(np.array([bits], "<u4").view("<f4")[0]))
    m, e = dyadic_of_bits(bits)
    assert m == 0 and e == 0 if bits & 0x7FFFFFFF == 0 else m % 2 == 1


@pytest.mark.parametrize("bits", sorted(CLASS_VALUES))
def test_round_to_f32_bits_inverts_every_class(bits: int) -> None:
    """Rationals have no signed zero: -0 comes back as +0; every other class exactly."""
    assert round_to_f32_bits(CLASS_VALUES[bits]) == (0 if bits == 0x80000000 else bits)


@pytest.mark.parametrize("bits", [0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0xFFFFFFFF])
def test_nan_and_inf_patterns_have_no_rational_value(bits: int) -> None:
    with pytest.raises(ValueError, match="NaN|Inf"):
        fraction_of_bits(bits)


def test_rounding_at_the_top_of_the_range() -> None:
    ulp = Fraction(2**104)
    assert round_to_f32_bits(MAX_FINITE + ulp / 2 - Fraction(1, 2**200)) == 0x7F7FFFFF
    assert round_to_f32_bits(MAX_FINITE + ulp / 2) == 0x7F800000  # tie, max is odd: rounds to Inf
    assert round_to_f32_bits(-MAX_FINITE - ulp) == 0xFF800000


def test_rounding_at_the_bottom_of_the_range() -> None:
    tiny = Fraction(1, 2**149)
    assert round_to_f32_bits(tiny / 2) == 0  # tie between 0 (even) and the smallest subnormal
    assert round_to_f32_bits(tiny / 2 + Fraction(1, 2**400)) == 1
    assert round_to_f32_bits(-tiny * 3 / 2) == 0x80000002  # tie between 1 and 2: even
    assert round_to_f32_bits(Fraction(2**24 - 1, 2**150)) == 0x00800000  # largest subnormal rounds up to normal


finite_bits = st.integers(0, 2**32 - 1).filter(lambda b: (b >> 23) & 0xFF != 0xFF)


@settings(max_examples=2000)
@given(finite_bits)
def test_round_trip_of_random_finite_bit_patterns(bits: int) -> None:
    q = fraction_of_bits(bits)
    assert q == Fraction(float(np.array([bits], "<u4").view("<f4")[0]))
    assert round_to_f32_bits(q) == (0 if bits == 0x80000000 else bits)


@settings(max_examples=2000)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_rounding_a_double_matches_numpy(d: float) -> None:
    with np.errstate(over="ignore"):
        want = int(np.array([d], np.float64).astype("<f4").view("<u4")[0])
    got = round_to_f32_bits(Fraction(d))
    assert got == (want & 0x7FFFFFFF if d == 0 else want)


@settings(max_examples=1000)
@given(finite_bits.filter(lambda b: b & 0x7FFFFFFF < 0x7F7FFFFF))
def test_midpoints_round_to_even(bits: int) -> None:
    """Halfway between a float32 and its successor away from zero, ties go to the even pattern."""
    mid = (fraction_of_bits(bits) + fraction_of_bits(bits + 1)) / 2
    even = bits if bits % 2 == 0 else bits + 1
    assert round_to_f32_bits(mid) == even  # a negative value rounding to zero gives -0, as IEEE says
    assert bits_of(float(mid)) == even  # numpy agrees (mid needs 25 bits: exact as a double)


def test_exact_float32_names_value_and_index() -> None:
    a = np.zeros((2, 3), np.float32)
    assert exact_float32(a).tobytes() == a.tobytes()
    a[1, 2] = -np.inf
    with pytest.raises(ValueError, match=r"value -inf at index \[1, 2\] is not finite"):
        exact_float32(a)


def test_batchnorm_step_counter_is_ignored_but_nothing_else() -> None:
    from pytorch2lean.checkpoints.bind import bind
    from pytorch2lean.ir import Graph, Input, Param, make_node, validate

    g = validate(Graph("bn", (Input("x", (2,)),), (Param("w", (2,)),), (make_node("y", "mul", ["x", "w"]),), ("y",)))
    w = np.ones(2, np.float32)
    bound = bind(g, {"w": w, "bn.num_batches_tracked": np.array(7, np.int64)}, source="ck")
    assert bound.param("w").array.tobytes() == w.tobytes()
    with pytest.raises(CheckpointError, match=r"\['bn.num_batches_tracked'\] are not parameters"):
        bind(g, {"w": w, "bn.num_batches_tracked": np.array(7.0, np.float32)}, source="ck")
