"""The VNN-COMP runner: known answers, certificates the checker accepts, exact witnesses, resuming."""

from __future__ import annotations

import csv
import gzip
import re
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.cert.tree import check_bab_certificate
from pytorch2lean.errors import UserError
from pytorch2lean.frontends.onnx_import import load_onnx
from pytorch2lean.runtime import evaluate_exact
from pytorch2lean.spec import load_vnnlib
from pytorch2lean.vnncomp import read_instances, run_instances

SHARED = Path(__file__).resolve().parents[2] / "shared"
TEST = SHARED / "benchmarks" / "vnncomp2021" / "test"
FIXTURES = Path(__file__).parent / "fixtures"
PAIR = re.compile(r"\((X|Y)_(\d+) ([^)]+)\)")


def _fixture_csv(tmp_path: Path, gz: bool = False) -> Path:
    """The fixture models and properties copied into tmp_path, with a CSV of three instances."""
    for name in ("onnx/test_nano.onnx", "onnx/test_tiny.onnx", "onnx/test_small.onnx",
                 "vnnlib/test_nano.vnnlib", "vnnlib/test_tiny.vnnlib"):
        target = tmp_path / Path(name).name
        if gz and name.endswith(".vnnlib"):
            target.with_name(target.name + ".gz").write_bytes(gzip.compress((FIXTURES / name).read_bytes()))
        else:
            shutil.copy(FIXTURES / name, target)
    rows = "test_nano.onnx,test_nano.vnnlib,20\ntest_tiny.onnx,test_tiny.vnnlib,20\ntest_small.onnx,test_tiny.vnnlib,20\n"
    (tmp_path / "instances.csv").write_text(rows, encoding="utf-8")
    return tmp_path / "instances.csv"


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _assert_certified(csv_path: Path, out: Path, row: dict[str, str]) -> None:
    graph = load_onnx(csv_path.parent / row["onnx"])
    spec = load_vnnlib(csv_path.parent / row["vnnlib"])
    paths = row["certificate"].split(";")
    assert len(paths) == len(spec.input_boxes)
    for path, box in zip(paths, spec.input_boxes):
        result = check_bab_certificate(graph, (out / path).read_text(), box=box, prop=spec.output_property)
        assert result.ok, result.reason


def _assert_witness(csv_path: Path, text: str, row: dict[str, str]) -> None:
    """The witness's inputs lie in a box, and the model's exact output there is unsafe."""
    graph = load_onnx(csv_path.parent / row["onnx"])
    spec = load_vnnlib(csv_path.parent / row["vnnlib"])
    pairs = PAIR.findall(text)
    x = np.array([float(v) for kind, _, v in pairs if kind == "X"], dtype=np.float32)
    assert any(box.contains(x) for box in spec.input_boxes)
    y = evaluate_exact(graph, {graph.inputs[0].name: x.reshape((1,) + graph.inputs[0].shape)})[graph.outputs[0]]
    assert not spec.output_property.holds_exactly(y.reshape(-1))
    stated = [Fraction(v) for kind, _, v in pairs if kind == "Y"]
    assert stated == list(y.reshape(-1))


def test_fixture_instances_are_certified_and_resume(tmp_path):
    csv_path = _fixture_csv(tmp_path)
    out = tmp_path / "out"
    first = run_instances(csv_path, out, progress=False)
    assert first.solved == 3 and first.skipped == 0
    rows = _rows(out)
    assert [r["result"] for r in rows] == ["unsat"] * 3
    for row in rows:
        _assert_certified(csv_path, out, row)
        assert (out / "results" / f"{Path(row['onnx']).stem}__{Path(row['vnnlib']).stem}.txt").read_text() == "unsat\n"
    second = run_instances(csv_path, out, progress=False)
    assert second.solved == 0 and second.skipped == 3
    assert _rows(out) == rows


def test_a_changed_result_file_is_run_again(tmp_path):
    csv_path = _fixture_csv(tmp_path)
    out = tmp_path / "out"
    run_instances(csv_path, out, progress=False)
    (out / "results" / "test_tiny__test_tiny.txt").write_text("unknown\n")
    (out / "certificates" / "test_nano__test_nano.0.json").unlink()
    again = run_instances(csv_path, out, progress=False)
    assert again.solved == 2 and again.skipped == 1
    assert (out / "results" / "test_tiny__test_tiny.txt").read_text() == "unsat\n"


def test_an_edited_certificate_is_not_resumed(tmp_path):
    """A resumed `unsat` is re-checked against the instance's own question: a certificate edited to
    prove a weaker property (still true, so its own statement checks) makes the instance run again."""
    csv_path = _fixture_csv(tmp_path)
    out = tmp_path / "out"
    run_instances(csv_path, out, progress=False)
    cert = out / "certificates" / "test_small__test_tiny.0.json"
    weaker = cert.read_text().replace('"bound":"-100"', '"bound":"-200"')
    assert weaker != cert.read_text()
    cert.write_text(weaker)
    again = run_instances(csv_path, out, progress=False)
    assert again.solved == 1 and again.skipped == 2
    assert '"bound":"-100"' in cert.read_text()


def test_unsat_answers_past_their_timeout_are_counted(tmp_path, monkeypatch):
    """An unsat whose exact check ran into its grace (CHECK_GRACE) is still written, and the summary
    says how many came in past their timeout: a competition scores those as timeouts."""
    import dataclasses

    from pytorch2lean import vnncomp

    csv_path = _fixture_csv(tmp_path)
    real = vnncomp.solve
    monkeypatch.setattr(vnncomp, "solve", lambda graph, spec, timeout, *rest: dataclasses.replace(
        real(graph, spec, timeout, *rest), seconds=1.5 * timeout))
    summary = run_instances(csv_path, tmp_path / "out", progress=False)
    assert summary.counts()["unsat"] == 3 and summary.late == 3
    assert summary.counts_text().startswith("3 unsat (3 of them past the timeout), 0 sat")
    assert run_instances(csv_path, tmp_path / "out", progress=False).late == 3  # resumed rows are counted too


def test_gzipped_properties_are_read(tmp_path):
    csv_path = _fixture_csv(tmp_path, gz=True)
    summary = run_instances(csv_path, tmp_path / "out", progress=False)
    assert summary.counts()["unsat"] == 3


def test_bad_rows_name_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a.onnx,b.vnnlib,60\na.onnx,b.vnnlib\n")
    with pytest.raises(UserError, match="bad.csv:2"):
        read_instances(path)
    path.write_text("a.onnx,b.vnnlib,soon\n")
    with pytest.raises(UserError, match="bad.csv:1: timeout 'soon'"):
        read_instances(path)


@pytest.mark.skipif(not TEST.is_dir(), reason=f"{TEST} is absent")
def test_vnncomp_test_instances_get_their_known_answers(tmp_path):
    csv_path = TEST / "test_instances.csv"
    out = tmp_path / "out"
    summary = run_instances(csv_path, out, progress=False)
    results = {(r["onnx"], r["vnnlib"]): r for r in summary.rows}
    assert results[("test_sat.onnx", "test_prop.vnnlib")]["result"] == "sat"
    for row in summary.rows:
        text = (out / "results" / f"{Path(row['onnx']).stem}__{Path(row['vnnlib']).stem}.txt").read_text()
        if row["onnx"] == "test_sat.onnx":
            assert text.startswith("sat\n(")
            _assert_witness(csv_path, text, row)
        else:
            assert row["result"] == "unsat" and text == "unsat\n"
            _assert_certified(csv_path, out, row)


def test_other_methods_and_a_bad_method(tmp_path):
    csv_path = _fixture_csv(tmp_path)
    summary = run_instances(csv_path, tmp_path / "ibp", method="ibp", progress=False)
    assert summary.counts()["unsat"] == 3
    graph = load_onnx(tmp_path / "test_tiny.onnx")
    from pytorch2lean.cert import check_certificate

    row = summary.rows[1]
    assert check_certificate(graph, (tmp_path / "ibp" / row["certificate"]).read_text()).ok
    with pytest.raises(UserError, match="unknown method 'magic'"):
        run_instances(csv_path, tmp_path / "x", method="magic", progress=False)


def test_no_sat_from_a_float_checked_witness(tmp_path):
    """sigmoid has no exact meaning: its witnesses are float64-checked only, so never reported sat."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Sigmoid", ["X"], ["Y"])], "sig", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "sig.onnx"))
    (tmp_path / "p.vnnlib").write_text("(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"
                                       "(assert (>= X_0 -1))\n(assert (<= X_0 1))\n(assert (>= Y_0 0))\n")
    (tmp_path / "i.csv").write_text("sig.onnx,p.vnnlib,2\n")
    summary = run_instances(tmp_path / "i.csv", tmp_path / "out", progress=False)
    assert summary.rows[0]["result"] in ("unknown", "timeout")


def test_relu_splitting_and_a_bad_split(tmp_path):
    """--split relu certifies the fixture instances too (leaves state their cases); a bad name fails first."""
    import json

    csv_path = _fixture_csv(tmp_path)
    out = tmp_path / "relu"
    summary = run_instances(csv_path, out, split="relu", progress=False)
    assert summary.counts()["unsat"] == 3
    for row in summary.rows:
        _assert_certified(csv_path, out, row)
        doc = json.loads((out / row["certificate"]).read_text())
        assert "dim" not in json.dumps(doc["tree"])  # no input split
    with pytest.raises(UserError, match="--split neurons: choose one of auto, input, relu"):
        run_instances(csv_path, tmp_path / "x", split="neurons", progress=False)


def test_a_bad_row_is_answered_error_naming_its_line_and_the_others_run(tmp_path):
    csv_path = _fixture_csv(tmp_path)
    lines = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join([lines[0], "missing.onnx,test_nano.vnnlib,20", "test_nano.onnx,missing.vnnlib,20",
                                   lines[1]]) + "\n")
    summary = run_instances(csv_path, tmp_path / "out", progress=False)
    assert [r["result"] for r in summary.rows] == ["unsat", "error", "error", "unsat"]
    assert summary.errors == (f"{csv_path}:2: {tmp_path / 'missing.onnx'}: no such ONNX file",
                              f"{csv_path}:3: {tmp_path / 'missing.vnnlib'}: cannot read the VNN-LIB file "
                              "(No such file or directory)")
    assert (tmp_path / "out" / "results" / "missing__test_nano.txt").read_text() == "error\n"
    again = run_instances(csv_path, tmp_path / "out", progress=False)  # error rows run again, answered rows resume
    assert again.skipped == 2 and again.solved == 2 and len(again.errors) == 2


def test_the_progress_bar_says_where_each_proof_stands(tmp_path):
    """Each instance's line names it and what runs: bounding, branch and bound (leaves, open
    pieces, seconds left), the exact check; a search of minutes shows it is moving."""
    from pytorch2lean.vnncomp import _Models, _one_by_one

    class Bar:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def update(self, task, description: str) -> None:
            self.lines.append(description)

    bar = Bar()
    csv_path = _fixture_csv(tmp_path)
    answered = list(_one_by_one(list(read_instances(csv_path)), _Models(), "bab", "auto", 1, bar, None))
    assert [o.result for _, o in answered] == ["unsat", "unsat", "unsat"], [o.reason for _, o in answered]
    assert any(line.startswith("test_tiny__test_tiny: box 0: branch and bound: ") for line in bar.lines), bar.lines
    assert any("checking the certificate exactly" in line for line in bar.lines), bar.lines
