"""Runs the JupyterLab extension's TypeScript unit tests (`jlpm test`).

The tokenizer of the %%mderive language is tested with jest inside
labextension/; this test runs them so that `python -m pytest` covers them.
They need the extension's node_modules, which `pip install .` /
`pip install -e .` create when they build the extension.  Without them the
test is skipped, unless MATCALC_REQUIRE_BROWSER=1 or CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"


def _unavailable(reason: str) -> None:
    if os.environ.get("MATCALC_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true":
        pytest.fail(f"extension unit tests cannot run: {reason}")
    pytest.skip(reason)


def test_labextension_unit_tests() -> None:
    if not (LABEXTENSION / "package.json").exists():
        _unavailable("no labextension/ source (installed package?)")
    jlpm = shutil.which("jlpm")
    if jlpm is None:
        _unavailable("jlpm not found (pip install jupyter-builder)")
    if not (LABEXTENSION / "node_modules" / "jest").exists():
        _unavailable("labextension/node_modules missing: run `jlpm install` in labextension/")
    result = subprocess.run(
        [jlpm, "test", "--ci", "--colors=false"],
        cwd=LABEXTENSION,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, FORCE_COLOR="0"),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Tests:" in output and "failed" not in output.split("Tests:")[-1].splitlines()[0], output
