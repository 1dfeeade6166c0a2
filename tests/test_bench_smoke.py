"""The benchmark scripts run end to end and report what they should.

Smallest parameters, one repeat: this checks the structure of the reports
and the verdicts of the numeric verification, never a timing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import bench_codegen  # noqa: E402
import bench_corpus  # noqa: E402
import bench_derive  # noqa: E402
import bench_sympy  # noqa: E402
import common  # noqa: E402
from backends import require  # noqa: E402


def test_cells_parse_and_grow():
    import matcalc_magic as mm

    for make in (common.tanh_chain_cell, common.residual_chain_cell,
                 lambda L: common.tanh_chain_cell(L, widths="alternating")):
        res = mm.derive(make(2))
        assert [r.request.wrt_name for r in res] == ["W1", "x"]
    assert common.tanh_chain_cell(3).count("tanh") == 3


def test_printed_size_counts_a_tree_and_stops_at_names():
    import matcalc_magic as mm

    res = mm.derive(common.residual_chain_cell(3))
    expr = res[1].view("shape").expr
    assert common.dag_size(expr) <= common.printed_size(expr) <= common.printed_size(expr, {})


def test_derive_bench_end_to_end(tmp_path):
    out = tmp_path / "derive.json"
    assert bench_derive.main(["--quick", "--layers", "2,3", "--repeats", "1", "--warmup", "0",
                              "--no-alternating",
                              "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["machine"]["nproc"] >= 1 and report["machine"]["sympy"]
    cs = report["cs224n"]
    assert set(cs["phases"]) == {"parse", "check", "differentiate", "print", "verify"}
    assert cs["end_to_end"]["median"] > 0 and cs["verified"] is True
    assert set(cs["layout_switch"]) == set(bench_derive.OTHER_LAYOUTS)
    assert cs["requests"][2].startswith("∂J/∂W = ")
    for family in ("chain", "residual", "nested"):
        rows = report[family]["rows"]
        assert [r["L"] for r in rows] == [2, 3]
        for r in rows:
            assert not r.get("error")
            assert r["derive"] > 0 and len(r["dag_nodes"]) == (1 if family == "nested" else 2)
            assert all(isinstance(n, int) and n > 0 for n in r["printed_nodes"])
        assert rows[0]["verified"] is True
    assert report["chain"]["rows"][1]["text_len"][0] > report["chain"]["rows"][0]["text_len"][0]


def test_derive_report_formats_failures():
    fam = bench_derive._summarize_family("chain", [
        {"L": 5, "derive": 0.01, "total": 0.02, "print": 0.01, "printed": True, "dag_nodes": [9, 9],
         "printed_nodes": [9, 9], "text_len": [40, 40], "latex_len": [90, 90], "time_per_layer": 0.004,
         "derive_per_layer": 0.002, "dag_per_layer": 1.8, "text_per_layer": 8.0, "repeats": 1},
        {"L": 100, "error": "RecursionError in matcalc_magic/x.py:f"},
    ])
    assert fam["meets_goal"] is False and 100 in fam["errors"]
    text = bench_derive.format_report({"machine": common.machine_info(), "chain": fam})
    assert "FAILED" in text and "RecursionError" in text


def test_verifier_tells_right_from_wrong():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3))
    values = {"X": rng.standard_normal((3, 3))}
    g = bench_sympy.finite_differences(lambda v: float(np.trace(A @ v["X"])), values, "X")
    assert bench_sympy.compare(A.T, g)[0] == "ok"
    assert bench_sympy.compare(A, g)[0] == "wrong"
    assert bench_sympy.compare(np.zeros((3, 3)), g)[0] == "zero"
    assert bench_sympy.compare(A.T.reshape(3, 3, 1, 1), g)[0] == "ok"  # an array with size-1 axes


def test_sympy_battery_end_to_end():
    import sympy

    keys = ["trAXB", "logdet", "cs224n_W"]  # in battery order
    report = bench_sympy.run(quick=True, cases=keys, repeats=1, warmup=0, timeout=30)
    assert [c["key"] for c in report["cases"]] == keys
    for case in report["cases"]:
        assert case["ours"]["status"] == "ok" and case["ours"]["check"] is True
        assert case["sympy"], case["key"]
        for row in case["sympy"]:
            assert row["status"] in bench_sympy.STATUSES
    by_key = {c["key"]: c for c in report["cases"]}
    if sympy.__version__.startswith("1.14"):  # the behaviour investigated
        assert by_key["logdet"]["sympy"][0]["status"] == "zero"
        assert not by_key["cs224n_W"]["sympy_ok"]
        assert {r["spelling"]: r["status"] for r in by_key["cs224n_W"]["sympy"]}["[0,0] entry"] == "zero"
        assert by_key["trAXB"]["sympy"][0]["status"] == "ok"  # SymPy's answers are evaluated, not just typed
    text = bench_sympy.format_report(report)
    assert "SymPy status" in text and "∂ log det X/∂X" in text


def test_sympy_battery_rejects_unknown_cases():
    with pytest.raises(ValueError, match="unknown case"):
        bench_sympy.run(quick=True, cases=["nope"])


def test_codegen_bench_end_to_end(tmp_path):
    """Every contender of every case runs and computes the hand-written values."""
    require("torch")
    require("jax")
    out = tmp_path / "codegen.json"
    assert bench_codegen.main(["--tiny", "--rounds", "1", "--warmup", "0", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["key"] for r in report["rows"]] == [c.key for c in bench_codegen.cases()]
    for row in report["rows"]:
        assert all(row["verified"].values()), row["verified"]
        for clock in bench_codegen.CLOCKS:
            assert set(row[clock]["medians"]) == set(bench_codegen.CONTENDERS)
            assert row[clock]["ratios"]["hand"] == 1.0
    assert report["machine"]["torch_threads"] == 1
    text = bench_codegen.format_report(report)
    assert "generated NumPy" in text and "jax.jit autodiff" in text


def test_codegen_bench_notices_wrong_values():
    case = bench_codegen.cases(tiny=True)[2]
    inputs = case.make_inputs(np.random.default_rng(0))
    right = case.hand(**inputs)
    assert bench_codegen.agrees(case, "x", right, right)
    assert not bench_codegen.agrees(case, "x", {**right, "dJ_dw": 2 * right["dJ_dw"]}, right)


def test_corpus_bench_end_to_end(tmp_path):
    out = tmp_path / "corpus.json"
    assert bench_corpus.main(["--only", "Seed/001", "--repeats", "1", "--warmup", "0", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["cells"] >= 1 and all(t["median"] > 0 for t in report["timings"])
    assert {r["request"] for r in report["requests"]} >= {"∂E/∂W1"}
    lengths = report["lengths"]["Seed/001-gradient-shape"]
    assert set(lengths) == set(bench_corpus.LAYOUTS) and lengths["shape"]["text"] > 0
    # the comparison counts forms that got longer, shorter or stayed
    grown = {k: {lay: {f: n + 1 for f, n in v.items()} for lay, v in per.items()}
             for k, per in report["lengths"].items()}
    rows = bench_corpus.compare(grown, report["lengths"])
    assert all(r["longer"] == len(report["lengths"]) and r["shorter"] == 0 for r in rows)


def test_limits_bench_end_to_end(tmp_path):
    import bench_limits

    out = tmp_path / "limits.json"
    assert bench_limits.main(["--quick", "--lengths", "3,6", "--layers", "tanh,product", "--requests", "12",
                              "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [(r["layer"], r["L"]) for r in report["chains"]] == [("tanh", 3), ("tanh", 6), ("product", 3),
                                                                ("product", 6)]
    assert all(r["checked"] for r in report["chains"])  # the chains derive and pass their check
    assert [(r["requests"], r["answered"]) for r in report["requests"]] == [(12, "results"), (12, "results")]
    assert all(r["checked"] == 12 for r in report["requests"])
    assert [r["cell"] for r in report["constants"]] == list(bench_limits.CONSTANTS)
    assert all(r["outcome"] != "derived" for r in report["constants"])  # each refused
