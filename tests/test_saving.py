"""The server extension's pre-save hook, without a server: what a saved file keeps."""

from __future__ import annotations

import copy

from matcalc_magic import _jupyter_server_extension_points
from matcalc_magic.payload import DERIVATION_MIME, WIDGET_MIME
from matcalc_magic.saving import _load_jupyter_server_extension, drop_live_widgets

DERIVATION = {"output_type": "display_data", "metadata": {},
              "data": {"text/plain": "∂J/∂W = 2 y xᵀ", DERIVATION_MIME: {"version": 1, "layout": "shape"}}}
WIDGET = {"output_type": "display_data", "metadata": {},
          "data": {"text/plain": "layout toggle", WIDGET_MIME: {"version": 1},
                   "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2}}}
OTHER_WIDGET = {"output_type": "display_data", "metadata": {},
                "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "def"}}}


def notebook(*outputs) -> dict:
    return {"type": "notebook", "content": {"cells": [
        {"cell_type": "markdown", "source": "# notes"},
        {"cell_type": "code", "source": "%%mderive", "outputs": list(outputs)}]}}


def test_the_live_widget_is_left_out_and_everything_else_kept():
    model = notebook(DERIVATION, WIDGET, OTHER_WIDGET)
    drop_live_widgets(model=model, path="notes.ipynb", contents_manager=None)
    assert model["content"]["cells"][1]["outputs"] == [DERIVATION, OTHER_WIDGET]  # others' widgets are theirs


def test_files_that_are_not_notebooks_are_untouched():
    model = {"type": "file", "content": "text"}
    before = copy.deepcopy(model)
    drop_live_widgets(model=model, path="notes.txt", contents_manager=None)
    assert model == before
    drop_live_widgets(model={"type": "notebook", "content": None}, path="x.ipynb")


def test_registered_as_a_server_extension():
    (point,) = _jupyter_server_extension_points()
    assert point == {"module": "matcalc_magic.saving"}
    hooks = []

    class Contents:
        def register_pre_save_hook(self, hook):
            hooks.append(hook)

    class Log:
        def info(self, *args):
            pass

    class App:
        contents_manager = Contents()
        log = Log()

    _load_jupyter_server_extension(App())
    assert hooks == [drop_live_widgets]
