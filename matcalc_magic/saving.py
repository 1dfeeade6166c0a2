"""A Jupyter server extension: saved notebooks keep derivations, not live widgets.

Beside each derivation's output, the magic shows a live ipywidget (its output
is marked with ``application/vnd.matcalc.widget+json``).  Its model lives in
the kernel; a notebook saved with the widget's output in it shows "Error
displaying widget: model not found" once reopened in every front end without
matcalc_magic's JupyterLab extension, and its placeholder text in an export.
Before the server writes a notebook, this extension leaves those outputs
out: the derivation's own output, which needs no kernel and carries the
layout last chosen, is what the file keeps.  The open notebook keeps its live
widget: only the file is changed.

Enabled by ``etc/jupyter/jupyter_server_config.d/matcalc_magic.json``, which
the package installs.  Imports nothing heavy: it runs in the server.
"""

from __future__ import annotations

from ._labextension import WIDGET_MIME


def drop_live_widgets(model: dict, **kwargs) -> None:
    """Pre-save hook: leave the outputs of matcalc's live widgets out of the file."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    for cell in model["content"].get("cells") or []:
        outputs = cell.get("outputs")
        if outputs:
            cell["outputs"] = [o for o in outputs if WIDGET_MIME not in (o.get("data") or {})]


def _load_jupyter_server_extension(serverapp) -> None:
    serverapp.contents_manager.register_pre_save_hook(drop_live_widgets)
    serverapp.log.info("matcalc_magic: saved notebooks keep derivations, not the live widgets beside them")
