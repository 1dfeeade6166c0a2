"""Where JupyterLab finds the prebuilt extension shipped with matcalc_magic.

The extension itself (highlighting of ``%%mderive`` cells, the "Insert
%%mderive cell" command, "Copy LaTeX" on derivation outputs) is installed as
data files under ``share/jupyter/labextensions/matcalc-magic``;
``jupyter labextension develop`` uses this function to link a source checkout.
"""

from __future__ import annotations


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Return the built extension's folder (relative to this package) and name."""
    return [{"src": "labextension", "dest": "matcalc-magic"}]
