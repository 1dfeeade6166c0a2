"""A Jupyter server extension: saved notebooks forget the live widget's model.

Beside each derivation's output, the magic shows a live ipywidget (its output
is marked with ``application/vnd.matcalc.widget+json``).  Its model lives in
the kernel; a notebook saved with a pointer to it shows "Error displaying
widget: model not found" once reopened, in every front end without
matcalc_magic's JupyterLab extension.  Before the server writes a notebook,
this extension blanks that pointer (``model_id: ""``), which is how ipywidgets
itself marks a view that was closed: a front end then hides the output, and
the derivation's own output (needing no kernel) is all that shows.  The open
notebook keeps its live widget: only the file is changed.

Enabled by ``etc/jupyter/jupyter_server_config.d/matcalc_magic.json``, which
the package installs.  Imports nothing heavy: it runs in the server.
"""

from __future__ import annotations

from ._labextension import WIDGET_MIME

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def forget_widget_models(model: dict, **kwargs) -> None:
    """Pre-save hook: blank the model id of every matcalc widget output."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    for cell in model["content"].get("cells") or []:
        for output in cell.get("outputs") or []:
            data = output.get("data") or {}
            view = data.get(WIDGET_VIEW)
            if WIDGET_MIME in data and isinstance(view, dict) and view.get("model_id"):
                data[WIDGET_VIEW] = {**view, "model_id": ""}


def _load_jupyter_server_extension(serverapp) -> None:
    serverapp.contents_manager.register_pre_save_hook(forget_widget_models)
    serverapp.log.info("matcalc_magic: saved notebooks keep derivations, not pointers to live widgets")
