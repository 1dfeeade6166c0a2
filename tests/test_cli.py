"""The ``mderive`` console script: files and standard input, layouts, formats,
``--check``, exit codes, errors on standard error."""

from __future__ import annotations

import io
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest

from backends import require, to_numpy

from matcalc_magic import cli
from cells import CS224N

QUAD = "x : n; A : n x n; ∂(x^T A x)/∂x"



def run(argv, stdin="", monkeypatch=None, capsys=None):
    """main() in-process, with standard input replaced."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def mderive(monkeypatch, capsys):
    return lambda argv, stdin="": run(argv, stdin, monkeypatch, capsys)


def test_console_script_is_declared():
    eps = [ep for ep in metadata.entry_points(group="console_scripts") if ep.name == "mderive"]
    assert len(eps) == 1 and eps[0].value == "matcalc_magic.cli:main"


def test_module_runs_as_a_program_on_stdin():
    proc = subprocess.run(
        [sys.executable, "-m", "matcalc_magic.cli"],
        input=QUAD,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "∂(xᵀ A x)/∂x = (A + Aᵀ) x\n"
    assert proc.stderr == ""


def test_module_reports_errors_on_stderr_with_exit_code_1(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("x : m\nW : m x n\nz = W x\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "matcalc_magic.cli", str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("line 3, column 5: W x: W is m×n, x is m×1: inner sizes n and m differ")
    assert "Traceback" not in proc.stderr


def test_file_input(mderive, tmp_path):
    path = tmp_path / "cs224n.txt"
    path.write_text(CS224N, encoding="utf-8")
    code, out, err = mderive([str(path)])
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "∂J/∂U = (ŷ - y) hᵀ",
        "∂J/∂b2 = ŷ - y",
        "∂J/∂W = ((Uᵀ (ŷ - y)) ⊙ relu′(z)) xᵀ",
        "∂J/∂b1 = (Uᵀ (ŷ - y)) ⊙ relu′(z)",
        "∂J/∂x = Wᵀ ((Uᵀ (ŷ - y)) ⊙ relu′(z))",
    ]


def test_magic_header_is_skipped(mderive):
    code, out, _ = mderive([], "%%mderive --layout numerator\n" + QUAD.replace("; ", "\n"))
    assert code == 0 and out == "∂(xᵀ A x)/∂x = (A + Aᵀ) x\n"


@pytest.mark.parametrize(
    "layout, line",
    [
        ("numerator", "∂(xᵀ A x)/∂xᵀ = xᵀ (A + Aᵀ)"),
        ("denominator", "∂(xᵀ A x)/∂x = (A + Aᵀ) x"),
        ("shape", "∂(xᵀ A x)/∂x = (A + Aᵀ) x"),
        ("vec", "∂(xᵀ A x)/∂xᵀ = xᵀ (A + Aᵀ)"),
    ],
)
def test_layout_option(mderive, layout, line):
    for flag in ("--layout", "-l"):
        code, out, _ = mderive([flag, layout], QUAD)
        assert code == 0 and out == line + "\n"


def test_all_layouts(mderive):
    code, out, _ = mderive(["--all-layouts"], "x : n; A : m x n; ∂(A x)/∂x")
    assert code == 0
    assert out.splitlines() == [
        "∂(A x)/∂xᵀ = A    [numerator, m×n]",
        "∂(A x)ᵀ/∂x = Aᵀ    [denominator, n×m]",
        "∂(A x)/∂x = A    [shape, m×n]",
        "∂(A x)[i]/∂x[j] = A[i,j]    [index, m×n]",
        "∂(A x)/∂xᵀ = A    [vec, m×n]",
    ]


def test_latex_format(mderive):
    code, out, _ = mderive(["--format", "latex", "--layout", "denominator"], "x : n; A : m x n; ∂(A x)/∂x")
    assert code == 0
    assert out == "\\frac{\\partial \\left(A x\\right)^{\\top}}{\\partial x} = A^{\\top}\n"


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_code_formats_print_the_cell_as_one_function(mderive, backend):
    """The printed function computes the value and the gradient: run it on
    random data and compare with xᵀ A x and (A + Aᵀ) x computed here."""
    code, out, _ = mderive(["-f", backend], QUAD)
    assert code == 0
    assert out.count("def derivatives(x, A):") == 1
    require(backend)
    rng = np.random.default_rng(0)
    A, x = rng.standard_normal((4, 4)), rng.standard_normal((4, 1))
    scope: dict = {}
    exec(out, scope)
    result = scope["derivatives"](x, A)
    assert sorted(result) == ["dx_T_A_x_dx", "x_T_A_x"]
    np.testing.assert_allclose(to_numpy(result["dx_T_A_x_dx"]), (A + A.T) @ x)
    np.testing.assert_allclose(to_numpy(result["x_T_A_x"]), (x.T @ A @ x).item())


def test_check_option(mderive):
    code, out, _ = mderive(["--check"], CS224N)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 10
    for result_line, badge in zip(lines[::2], lines[1::2]):
        assert result_line.startswith("∂J/∂")
        assert badge.strip().startswith("✓ max error") and badge.endswith("(3 random points)")


def test_failed_check_exits_with_1(mderive, monkeypatch):
    import matcalc_magic.api as api

    original = api.View.evaluate_at
    monkeypatch.setattr(api.View, "evaluate_at", lambda self, env, sizes, memo=None: 3 * original(self, env, sizes))
    code, out, _ = mderive(["--check"], "x : n; W : m x n; J = sum(tanh(W x)); ∂J/∂W")
    assert code == 1
    assert "✗ max error" in out


def test_user_error_goes_to_stderr_with_exit_code_1(mderive):
    code, out, err = mderive([], "x : n\nz = relux(x)")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[:3] == ["line 2, column 5: unknown function 'relux'", "2 | z = relux(x)", "        ^^^^^"]
    assert lines[3].startswith("hint: did you mean relu")


def test_missing_file_exits_with_2(mderive, tmp_path):
    code, out, err = mderive([str(tmp_path / "missing.txt")])
    assert code == 2 and out == ""
    assert err.startswith("mderive: ") and "missing.txt" in err


@pytest.mark.parametrize("argv", [["--layout", "sideways"], ["--format", "pdf"], ["--steps", "magic"]])
def test_bad_options_exit_with_2(mderive, argv):
    with pytest.raises(SystemExit) as info:
        mderive(argv, QUAD)
    assert info.value.code == 2


def test_help(mderive):
    with pytest.raises(SystemExit) as info:
        mderive(["--help"])
    assert info.value.code == 0


def test_empty_input_prints_nothing(mderive):
    code, out, err = mderive([], "")
    assert (code, out, err) == (0, "", "")


def test_steps_option_prints_the_derivation(mderive):
    code, out, _ = mderive(["--steps", "differentials"], QUAD)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "∂(xᵀ A x)/∂x = (A + Aᵀ) x"
    assert len(lines) > 1 and all(line.startswith("    ") for line in lines[1:])


def test_a_derivative_by_a_symmetric_matrix_says_so(mderive):
    code, out, _ = mderive(["--check"], "S : n x n, spd; a, b : n; ∂(a^T S b)/∂S")
    assert code == 0
    assert out.splitlines()[:2] == [
        "∂(aᵀ S b)/∂S = (1/2) (a bᵀ + b aᵀ)",
        "    S is symmetric: the gradient within symmetric matrices, sym(G) = (G + Gᵀ)/2"]
