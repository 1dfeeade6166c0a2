"""Build function of the wheel's JupyterLab-extension hook (hatch-jupyter-builder).

With Node.js on PATH it builds the extension as hatch-jupyter-builder's own
``npm_builder`` does, and puts ``install.json`` (how the extension was
installed, for ``jupyter labextension list``) into the bundle.  Without it
(most students' machines) the package, the magic and the widgets install all
the same: the build is skipped with one line saying what is missing and how
to get it, and a bundle built before (an sdist carries one) ships as it is.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

BUNDLE = Path("matcalc_magic") / "labextension"
SKIPPED = ("matcalc_magic: Node.js not found, so the JupyterLab extension was not built "
           "(derivations still show, typeset; the extension adds a layout toggle that needs no kernel, "
           "%%mderive highlighting and Copy LaTeX). To get it, install Node.js >= 20 "
           "(https://nodejs.org) and run pip install again.")


def build(target_name: str, version: str, **kwargs) -> None:
    if shutil.which("node") is None:
        if (BUNDLE / "package.json").exists():
            print("matcalc_magic: Node.js not found; shipping the JupyterLab extension built before.",
                  file=sys.stderr)
        else:
            print(SKIPPED, file=sys.stderr)
        return
    from hatch_jupyter_builder import npm_builder

    npm_builder(target_name, version, **kwargs)
    shutil.copy(Path(kwargs.get("path", ".")) / "install.json", BUNDLE / "install.json")
