"""``pip install .`` on a machine without Node.js (most students' machines).

In a fresh virtual environment, with every Node.js tool taken off ``PATH``,
installing this source tree must succeed, say in its build log that the
JupyterLab extension was skipped (and how to get it), install the package, the
magic and the server extension, and leave ``%load_ext matcalc_magic`` and a
derivation working.  The environment sees the installed dependencies
(``--system-site-packages``) so that only matcalc_magic itself is built and
installed; the build requirements come from the package index as usual.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[1]
NODE_TOOLS = {"node", "nodejs", "npm", "npx", "corepack", "yarn", "yarnpkg", "jlpm"}
SKIPPED = "Node.js not found, so the JupyterLab extension was not built"
CELL = "%%mderive\nx : n\nA : n x n\n∂(x^T A x)/∂x\nclaim ∂(x^T A x)/∂x = (A + A^T) x"
SESSION = f"""
import matcalc_magic
from IPython.testing.globalipapp import start_ipython
from IPython.utils.capture import capture_output
ip = start_ipython()
ip.run_line_magic("load_ext", "matcalc_magic")
with capture_output() as cap:
    result = ip.run_cell({CELL!r})
assert result.success, result
print(matcalc_magic.__file__)
print(cap.outputs[0].data["text/plain"])
"""


def path_without_node(tmp: Path) -> str:
    """``$PATH`` with every Node.js tool gone: a directory that holds one is
    replaced by a copy of it made of links to everything else."""
    dirs = []
    for k, d in enumerate(p for p in os.environ.get("PATH", "").split(os.pathsep) if p):
        if not os.path.isdir(d):
            continue
        if not any(os.path.lexists(os.path.join(d, tool)) for tool in NODE_TOOLS):
            dirs.append(d)
            continue
        shadow = tmp / f"bin{k}"
        shadow.mkdir()
        for entry in os.scandir(d):
            if entry.name not in NODE_TOOLS:
                (shadow / entry.name).symlink_to(entry.path)
        dirs.append(str(shadow))
    return os.pathsep.join(dirs)


#: what a source tree may hold that a fresh clone does not
NOT_SOURCE = shutil.ignore_patterns(".git", "node_modules", ".venv", "build", "dist", "*.egg-info",
                                    "__pycache__", ".pytest_cache", ".hypothesis", "lib", ".yarn")


def source_tree(tmp: Path) -> Path:
    """The checkout as a fresh clone has it: no extension built before, no node_modules."""
    dest = tmp / "src"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if listed.returncode == 0:
        for name in filter(None, listed.stdout.decode().split("\0")):
            src = ROOT / name
            if src.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
    else:  # an unpacked source tree
        shutil.copytree(ROOT, dest, ignore=NOT_SOURCE, symlinks=True)
        shutil.rmtree(dest / "matcalc_magic" / "labextension", ignore_errors=True)
    assert not (dest / "matcalc_magic" / "labextension").exists()
    return dest


def test_install_without_node(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    path = os.pathsep.join([str(venv / "bin"), path_without_node(tmp_path)])
    assert shutil.which("node", path=path) is None
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=path, PIP_DISABLE_PIP_VERSION_CHECK="1")

    src = source_tree(tmp_path)
    install = subprocess.run([str(python), "-m", "pip", "install", "-v", "--no-deps", str(src)],
                             capture_output=True, text=True, env=env, timeout=900)
    log = install.stdout + install.stderr
    assert install.returncode == 0, log[-5000:]
    # one clear line: what is missing, and how to get it
    (line,) = [ln for ln in log.splitlines() if SKIPPED in ln]
    assert "install Node.js" in line and "pip install again" in line
    share = venv / "share" / "jupyter"
    assert not (share / "labextensions" / "matcalc-magic").exists()
    assert (venv / "etc" / "jupyter" / "jupyter_server_config.d" / "matcalc_magic.json").exists()

    session = subprocess.run([str(python), "-c", SESSION], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=300)
    assert session.returncode == 0, session.stdout + session.stderr
    where, *plain = session.stdout.splitlines()
    assert where.startswith(str(venv)), where  # the package just installed, not a checkout
    text = "\n".join(plain)
    assert "∂(xᵀ A x)/∂x = (A + Aᵀ) x" in text and "✓ checked numerically" in text
    assert "✓ identical to the derived result" in text
