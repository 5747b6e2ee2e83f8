"""`check MODEL CERT --vnnlib P` checks the user's question, not the certificate's own statement of it.

Each tampered certificate below is internally consistent (its stated bounds still hold, so a checker
that trusted the file's own question would accept it), and each is rejected once the user's
VNN-LIB file is given, with the reason; genuine certificates of both formats are accepted, and
`check` names the digest, the box and the property it proved.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytorch2lean.cert.tree import check_claims
from pytorch2lean.frontends.onnx_import import load_onnx
from pytorch2lean.ir import digest
from pytorch2lean.spec.query import vnnlib_query
from pytorch2lean.verify import run_query
from tests.fuzzing import fuzz, json_edit

ROOT = Path(__file__).resolve().parents[1]
NET = ROOT / "tests" / "fixtures" / "onnx" / "test_small.onnx"
PROP = ROOT / "tests" / "fixtures" / "vnnlib" / "test_tiny.vnnlib"  # X_0 in [-1, 1]; unsafe: Y_0 >= 100
MLP = ROOT / "examples" / "mlp"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytorch2lean", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Genuine certificates of test_small on test_tiny's property: one cert.v1 (crown), one bab.v1."""
    graph = load_onnx(NET)
    query = vnnlib_query(graph, PROP)
    out = {}
    for method in ("crown", "bab"):
        (result,) = run_query(graph, query, method, None)
        assert result.verdict == "holds", result.reason
        out[method] = json.loads(result.certificate)
    return out


def _property(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of the property in the document (a tree states it once more per leaf)."""
    return [doc["property"]] + [leaf["property"] for leaf in doc.get("leaves", [])]


def weaken(doc: dict[str, Any]) -> None:
    for p in _property(doc):
        p["terms"][0][0]["bound"] = "-200"  # unsafe: Y_0 >= 200, so only Y_0 < 200 is proven


def rename(doc: dict[str, Any]) -> None:
    """A proof of a weaker property ("Y_0 < 200") passed off under the name of the one asked about."""
    weaken(doc)
    for p in _property(doc):
        p["name"] = str(PROP)


def shrink(doc: dict[str, Any]) -> None:
    for box in [doc.get("box")] + [b for d in [doc, *doc.get("leaves", [])] for b in d.get("inputs", {}).values()]:
        if box is not None:
            box["upper"][0] = "1/2"


def unknown(doc: dict[str, Any]) -> None:
    (doc["leaves"][0] if "leaves" in doc else doc)["verdict"] = "unknown"


TAMPERED: list[tuple[str, Callable[[dict[str, Any]], None], str, bool]] = [
    ("weakened property", weaken, "the certificate's property does not imply the property asked about: unsafe term 0 "
     "asked about (-Y_0 <= -100) lies within no unsafe term of the certificate's property", True),
    ("renamed property", rename, "the certificate's property does not imply the property asked about", True),
    ("shrunk box", shrink, "the box asked about lies in no certificate's box: input 'X_0' at flat index 0: the "
     "certificate's box [-1, 1/2] does not contain the asked [-1, 1]", True),
    ("unknown verdict", unknown, "verdict is 'unknown'", False),
]


@pytest.mark.parametrize("method", ["crown", "bab"])
@pytest.mark.parametrize(("name", "tamper", "reason", "consistent"), TAMPERED, ids=[t[0] for t in TAMPERED])
def test_tampered_certificates_are_rejected_against_the_users_property(
        certs: dict[str, Any], tmp_path: Path, method: str, name: str, tamper: Callable, reason: str,
        consistent: bool) -> None:
    doc = json.loads(json.dumps(certs[method]))
    tamper(doc)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    r = cli("check", str(NET), str(path), "--vnnlib", str(PROP), "-j", "1")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert r.stdout.startswith("REJECTED: ") and reason in r.stdout.replace("\n", " "), (name, r.stdout)
    alone = cli("check", str(NET), str(path), "-j", "1")  # its own statement: true, though not what was asked
    assert alone.returncode == (0 if consistent else 1), (name, alone.stdout + alone.stderr)


@pytest.mark.parametrize("method", ["crown", "bab"])
def test_genuine_certificates_are_accepted_and_say_what_they_prove(certs: dict[str, Any], tmp_path: Path,
                                                                    method: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(certs[method]))
    r = cli("check", str(NET), str(path), "--vnnlib", str(PROP), "-j", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert out.startswith("accepted: 1 certificate(s) checked exactly; they prove the question asked")
    assert digest(load_onnx(NET)) in out and "X_0[0] in [-1, 1]" in out and "-Y_0 <= -100" in out
    r = cli("check", str(NET), str(path), "-j", "1")
    assert r.returncode == 0 and "checked each certificate's own statement" in r.stdout, r.stdout + r.stderr


def vnnlib(path: Path, boxes: list[tuple[str, str]], at_least: str) -> Path:
    """A VNN-LIB file on X_0, Y_0: unsafe when X_0 lies in one of the boxes and Y_0 >= at_least."""
    terms = " ".join(f"(and (>= X_0 {lo}) (<= X_0 {hi}) (>= Y_0 {at_least}))" for lo, hi in boxes)
    path.write_text(f"(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (or {terms}))\n")
    return path


def test_a_stronger_certificate_answers_a_weaker_question(certs: dict[str, Any], tmp_path: Path) -> None:
    """A proof on [-1, 1] of "Y_0 < 100" answers "Y_0 < 200 on [-1/2, 1/2]"; not "Y_0 < 50"."""
    path = tmp_path / "c.json"
    path.write_text(json.dumps(certs["crown"]))
    r = cli("check", str(NET), str(path), "--vnnlib", str(vnnlib(tmp_path / "w.vnnlib", [("-0.5", "0.5")], "200")))
    assert r.returncode == 0 and "X_0[0] in [-1/2, 1/2]" in r.stdout and "-Y_0 <= -200" in r.stdout, r.stdout + r.stderr
    r = cli("check", str(NET), str(path), "--vnnlib", str(vnnlib(tmp_path / "s.vnnlib", [("-0.5", "0.5")], "50")))
    assert r.returncode == 1 and "unsafe term 0 asked about (-Y_0 <= -50)" in r.stdout, r.stdout + r.stderr


def test_several_boxes_need_certificates_covering_each(tmp_path: Path) -> None:
    prop = vnnlib(tmp_path / "two.vnnlib", [("-1", "0"), ("0", "1")], "100")
    r = cli("verify", str(NET), "--vnnlib", str(prop), "--cert", str(tmp_path / "c.json"))
    assert r.returncode == 0 and "verdict: holds" in r.stdout, r.stdout + r.stderr
    first, second = tmp_path / "c.0.json", tmp_path / "c.1.json"
    r = cli("check", str(NET), str(first), str(second), "--vnnlib", str(prop))
    assert r.returncode == 0 and "input box 1 of 2:" in r.stdout, r.stdout + r.stderr
    r = cli("check", str(NET), str(first), "--vnnlib", str(prop))
    assert r.returncode == 1 and "box 1 of 2 lies in no certificate's box: input 'X_0' at flat index 0: the " \
        "certificate's box [-1, 0] does not contain the asked [0, 1]" in r.stdout, r.stdout + r.stderr


def test_a_leaf_with_cases_and_a_property_of_no_term_are_not_accepted(certs: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    nothing = json.loads(json.dumps(certs["crown"]))
    nothing["property"]["terms"] = []
    path.write_text(json.dumps(nothing))
    r = cli("check", str(NET), str(path))
    assert r.returncode == 1 and "it proves nothing" in r.stdout, r.stdout + r.stderr
    cased = json.loads(json.dumps(certs["crown"]))
    cased["cases"] = [[sorted(cased["bounds"])[0], 0, "nonneg"]]
    path.write_text(json.dumps(cased))
    r = cli("check", str(NET), str(path))
    assert r.returncode == 1 and "only where its 1 case(s) hold" in r.stdout, r.stdout + r.stderr


def test_a_rejected_certificate_is_named_by_its_file(certs: dict[str, Any], tmp_path: Path) -> None:
    """Among several certificates, the one that is not JSON, or proves nothing, is named by its path."""
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(certs["crown"]))
    bad.write_text('{"format": ')
    r = cli("check", str(NET), str(good), str(bad), "--vnnlib", str(PROP), "-j", "1")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert r.stdout.startswith(f"REJECTED: {bad}: certificate is not JSON: "), r.stdout
    doc = json.loads(json.dumps(certs["crown"]))
    unknown(doc)
    bad.write_text(json.dumps(doc))
    r = cli("check", str(NET), str(bad), "-j", "1")
    assert r.returncode == 1 and r.stdout.startswith(f"REJECTED: {bad}: the certificate's verdict is 'unknown'"), \
        r.stdout + r.stderr


def test_robustness_questions(tmp_path: Path) -> None:
    """--input/--eps/--label: a ball inside the certified one is answered; a wider one, or another
    label, is not."""
    args = ["-c", str(MLP / "weights.npz"), "--input", str(MLP / "x.npy"), "--label"]
    from pytorch2lean.model import load_model
    from pytorch2lean.runtime import execute

    loaded = load_model(MLP / "model.p2l", MLP / "weights.npz")
    label = str(int(np.argmax(execute(loaded.graph, {"x": np.load(MLP / "x.npy")[None]})["y"])))
    cert = tmp_path / "r.json"
    r = cli("verify", str(MLP / "model.p2l"), *args, label, "--eps", "0.001", "--cert", str(cert))
    assert r.returncode == 0 and cert.exists(), r.stdout + r.stderr
    r = cli("check", str(MLP / "model.p2l"), str(cert), *args, label, "--eps", "0.0005")
    assert r.returncode == 0 and f"robustness(label={label})" in r.stdout, r.stdout + r.stderr
    r = cli("check", str(MLP / "model.p2l"), str(cert), *args, label, "--eps", "0.002")
    assert r.returncode == 1 and "lies in no certificate's box: input 'x' at flat index 0" in r.stdout, r.stdout + r.stderr
    r = cli("check", str(MLP / "model.p2l"), str(cert), *args, str((int(label) + 1) % 5), "--eps", "0.001")
    assert r.returncode == 1 and "does not imply the property asked about" in r.stdout, r.stdout + r.stderr


def test_the_checker_imports_nothing_from_the_search() -> None:
    """cert/ (the trusted checker) neither imports bounds/ (the untrusted search) nor loads it."""
    package = ROOT / "pytorch2lean" / "cert"
    for source in sorted(package.glob("*.py")):
        text = source.read_text(encoding="utf-8")
        assert "..bounds" not in text and "pytorch2lean.bounds" not in text, source.name
    code = ("import sys, pytorch2lean.cert.tree, pytorch2lean.cert.claim; "
            "print(sorted(m for m in sys.modules if m.startswith('pytorch2lean.bounds')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


@fuzz(60)
@given(data=st.data())
def test_any_edit_of_a_certificate_is_answered_without_an_exception(certs: dict[str, Any], data: st.DataObject) -> None:
    """A reader of certificates: whatever is put anywhere in one, check_claims answers (accepted or
    rejected with a reason), and accepts only what still proves the question asked."""
    doc = data.draw(json_edit(certs[data.draw(st.sampled_from(["crown", "bab"]))]))
    graph = load_onnx(NET)
    query = vnnlib_query(graph, PROP)
    result = check_claims(graph, [json.dumps(doc)], query.boxes, query.prop, workers=1)
    assert isinstance(result.reason, str) and result.reason
    if result.ok:  # what is accepted still states a box containing the one asked and a property implying it
        assert result.statements and result.statements[0].verdict == "holds"
