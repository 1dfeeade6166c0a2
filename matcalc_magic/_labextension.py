"""The JupyterLab extension shipped with matcalc_magic: where it is, and the
mime types it shares with the Python side.

The extension (highlighting of ``%%mderive`` cells, the "Insert %%mderive
cell" command, "Copy LaTeX" on derivation outputs, and the renderer of a
derivation's layouts) is installed as data files under
``share/jupyter/labextensions/matcalc-magic``; ``jupyter labextension
develop`` uses :func:`_jupyter_labextension_paths` to link a source checkout.
"""

from __future__ import annotations

#: every layout of a derivation as data (matcalc_magic.payload), rendered with a toggle
DERIVATION_MIME = "application/vnd.matcalc.derivation+json"
#: marks the output of the live ipywidget beside a derivation
WIDGET_MIME = "application/vnd.matcalc.widget+json"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Return the built extension's folder (relative to this package) and name."""
    return [{"src": "labextension", "dest": "matcalc-magic"}]
