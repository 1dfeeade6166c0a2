"""The matcalc-magic JupyterLab extension, in a real browser.

Needs this checkout's extension built (``pip install -e .`` builds it) and
Chromium; see conftest.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PLUGINS = [
    "matcalc-magic:highlight",
    "matcalc-magic:commands",
    "matcalc-magic:copylatex",
    "matcalc-magic:derivation",
]
INSERT = "matcalc-magic:insert-mderive-cell"
COPY = "matcalc-magic:copy-latex"
STARTER = "%%mderive\nx : n\nA : n x n\nf = x^T A x\n∂f/∂x"

MDERIVE_CELL = """%%mderive --layout=denominator
# a one-layer network with a softmax output
x : n
W : m x n, symmetric
b, c : m
θ ∈ ℝ^{m×n}
z = W x + b
ŷ = softmax(z) ⊙ np.exp(c)
h = relu'(z) @ np.linalg.inv(W^T W)
J = CE(y, ŷ) + 0.5 * norm(θ)^2
dJ/dW, dJ/db
claim ∂(x^T W^T W x)/∂x = 2 W^T W x"""

PYTHON_CELL = """import numpy as np

def loss(W, x):
    # plain Python: stays Python
    return float(np.sum(W @ x))"""

LINE_MAGIC_CELL = """f = lambda x: x @ x
%mderive --steps ∂(x^T x)/∂x"""

# Every token class of the mderive language appears in MDERIVE_CELL.
TOKEN_CLASSES = [
    "mcm-magic",
    "mcm-option",
    "mcm-option-value",
    "mcm-comment",
    "mcm-decl-name",
    "mcm-size",
    "mcm-size-sep",
    "mcm-property",
    "mcm-def-target",
    "mcm-operator",
    "mcm-function",
    "mcm-request",
    "mcm-claim",
    "mcm-number",
    "mcm-name",
    "mcm-punctuation",
]

# Text of each token class's spans, collected in the page.
SPANS_BY_CLASS = """el => {
    const out = {};
    for (const span of el.querySelectorAll('.cm-line span[class*="mcm-"]')) {
        for (const c of span.classList) {
            if (c.startsWith('mcm-') && c !== 'mcm-tok') {
                (out[c] = out[c] || []).push(span.textContent);
            }
        }
    }
    return out;
}"""

# Colour of a span next to the colour a theme variable resolves to.
COLOR_CHECK = """(el, variable) => {
    const probe = document.createElement('span');
    probe.style.color = `var(${variable})`;
    el.parentElement.appendChild(probe);
    const want = getComputedStyle(probe).color;
    probe.remove();
    return [getComputedStyle(el).color, want];
}"""


def screenshot_path(tmp_path: Path, name: str) -> Path:
    """Where a screenshot goes: $MATCALC_SCREENSHOT_DIR, or the test's tmp dir."""
    return Path(os.environ.get("MATCALC_SCREENSHOT_DIR", tmp_path)) / name


def python_keyword_is_highlighted(nb, cell: int, keyword: str) -> None:
    """The keyword's span has CodeMirror's keyword colour and no mcm class."""
    span = nb.editor(cell).locator(".cm-line span", has_text=keyword).first
    span.wait_for()
    classes = span.get_attribute("class") or ""
    assert classes and "mcm-" not in classes, classes
    got, want = span.evaluate(COLOR_CHECK, "--jp-mirror-editor-keyword-color")
    assert got == want, (keyword, got, want)


def test_extension_is_active(open_notebook):
    nb = open_notebook(["1 + 1"])
    page = nb.page
    for plugin in PLUGINS:
        assert page.evaluate("id => window.jupyterapp.hasPlugin(id)", plugin), plugin
        assert page.evaluate("id => window.jupyterapp.isPluginActivated(id)", plugin), plugin
    assert nb.has_command(INSERT)
    assert nb.has_command(COPY)
    assert page.evaluate(
        "id => window.jupyterapp.commands.label(id)", INSERT
    ) == "Insert %%mderive cell"


def test_highlighting(open_notebook, tmp_path):
    nb = open_notebook(
        [
            MDERIVE_CELL,
            PYTHON_CELL,
            LINE_MAGIC_CELL,
            ("markdown", "# Notes\n\nThe gradient of $x^T A x$."),
        ]
    )
    page = nb.page

    # The notebook renders: every cell is there, visible, with its text.
    assert nb.cells.count() == 4
    for i, source in enumerate([MDERIVE_CELL, PYTHON_CELL, LINE_MAGIC_CELL]):
        editor = nb.editor(i)
        editor.wait_for(state="visible")
        box = editor.bounding_box()
        assert box and box["height"] > 20 and box["width"] > 100
        lines = editor.locator(".cm-line").evaluate_all(
            "els => els.map(e => e.textContent)"
        )
        assert "\n".join(lines) == source

    # The %%mderive cell opened highlighted: every token class is there.
    magic_editor = nb.editor(0)
    page.wait_for_function(
        "el => el.classList.contains('mcm-mderive-editor')",
        arg=magic_editor.element_handle(),
    )
    spans = magic_editor.evaluate(SPANS_BY_CLASS)
    for cls in TOKEN_CLASSES:
        assert spans.get(cls), f"no {cls} token in {spans}"
    assert spans["mcm-magic"] == ["%%mderive"]
    assert spans["mcm-option"] == ["--layout"]
    assert spans["mcm-option-value"] == ["denominator"]
    assert "x" in spans["mcm-size-sep"] and "×" in spans["mcm-size-sep"]
    assert {"x", "W", "b", "c", "θ"} <= set(spans["mcm-decl-name"])
    assert {"z", "ŷ", "h", "J"} <= set(spans["mcm-def-target"])
    assert {"symmetric"} == set(spans["mcm-property"])
    assert {"softmax", "np.exp", "relu'", "np.linalg.inv", "CE", "norm"} <= set(
        spans["mcm-function"]
    )
    assert {"dJ/dW", "dJ/db", "∂(", ")/∂x"} <= set(spans["mcm-request"])
    assert spans["mcm-claim"] == ["claim"]
    assert {"⊙", "@", "^T", "+", "*", "^"} <= set(spans["mcm-operator"])
    # Theme colours reach the tokens (not the editor's default text colour).
    request = magic_editor.locator(".mcm-request").first
    got, want = request.evaluate(COLOR_CHECK, "--jp-mirror-editor-string-color")
    assert got == want

    # The Python cell is still Python.
    assert "mcm-mderive-editor" not in (nb.editor(1).get_attribute("class") or "")
    assert nb.editor(1).locator('[class*="mcm-"]').count() == 0
    for keyword in ("import", "def", "return"):
        python_keyword_is_highlighted(nb, 1, keyword)

    # A %mderive one-liner in a Python cell: that line only.
    line_editor = nb.editor(2)
    assert "mcm-mderive-editor" not in (line_editor.get_attribute("class") or "")
    one_liner = line_editor.locator(".cm-line.mcm-line-magic")
    assert one_liner.count() == 1
    spans = one_liner.evaluate(SPANS_BY_CLASS.replace(".cm-line span", "span"))
    assert spans["mcm-magic"] == ["%mderive"]
    assert spans["mcm-option"] == ["--steps"]
    assert spans["mcm-request"] == ["∂(", ")/∂x"]
    python_keyword_is_highlighted(nb, 2, "lambda")

    # No editor broke (the failure mode of a bad language facet).
    assert not [e for e in page.console_errors if "parser" in e], page.console_errors

    page.screenshot(path=str(screenshot_path(tmp_path, "labext.png")))

    # The dark theme recolours the tokens through its own variables.
    light = request.evaluate("el => getComputedStyle(el).color")
    nb.command("apputils:change-theme", {"theme": "JupyterLab Dark"})
    try:
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
        page.wait_for_function(
            "([el, light]) => getComputedStyle(el).color !== light",
            arg=[request.element_handle(), light],
        )
        got, want = request.evaluate(COLOR_CHECK, "--jp-mirror-editor-string-color")
        assert got == want
        page.screenshot(path=str(screenshot_path(tmp_path, "labext-dark.png")))
    finally:
        nb.command("apputils:change-theme", {"theme": "JupyterLab Light"})
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")


def test_typing_magic_line_switches_live(open_notebook):
    nb = open_notebook(["import math", "y = W x + 1\n∂y/∂x", "z = 2"])
    page = nb.page
    editor = nb.editor(1)
    python_keyword_is_highlighted(nb, 0, "import")
    assert "mcm-mderive-editor" not in (editor.get_attribute("class") or "")

    # Type the magic line at the top of the cell.
    editor.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.type("%%mderive")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "el => el.classList.contains('mcm-mderive-editor')",
        arg=editor.element_handle(),
    )
    spans = editor.evaluate(SPANS_BY_CLASS)
    assert spans["mcm-magic"] == ["%%mderive"]
    assert spans["mcm-def-target"] == ["y"]
    assert spans["mcm-request"] == ["∂y/∂x"]
    assert nb.source(1).startswith("%%mderive\n")

    # The other cells are untouched.
    assert nb.editor(0).locator('[class*="mcm-"]').count() == 0
    python_keyword_is_highlighted(nb, 0, "import")
    assert nb.editor(2).locator('[class*="mcm-"]').count() == 0

    # Break the magic word: back to Python at once.
    page.keyboard.press("Control+Home")
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.wait_for_function(
        "el => !el.classList.contains('mcm-mderive-editor')",
        arg=editor.element_handle(),
    )
    assert editor.locator('[class*="mcm-"]').count() == 0
    # And on again.
    page.keyboard.type("e")
    page.wait_for_function(
        "el => el.classList.contains('mcm-mderive-editor')",
        arg=editor.element_handle(),
    )


def test_insert_mderive_cell(open_notebook):
    nb = open_notebook(["a = 1", "b = 2"])
    page = nb.page

    # The command palette lists it.
    # (Once the notebook has settled: its first focus closes the palette.)
    nb.wait_for_kernel_idle()
    nb.command("apputils:activate-command-palette")
    page.locator(".lm-CommandPalette-input").wait_for(state="visible")
    page.keyboard.type("mderive")
    item = page.locator(f'.lm-CommandPalette-item[data-command="{INSERT}"]')
    item.wait_for()
    assert "Insert %%mderive cell" in item.inner_text()
    page.keyboard.press("Escape")

    # The notebook toolbar button inserts below the active cell.
    nb.select_cell(0)
    button = nb.panel.locator(f'.jp-NotebookPanel-toolbar [data-command="{INSERT}"]')
    button.wait_for()
    button.click()
    nb.wait_for("nb.content.widgets.length === 3")
    assert nb.source(1) == STARTER
    assert nb.source(0) == "a = 1" and nb.source(2) == "b = 2"
    assert nb.active_cell_index() == 1
    new_editor = nb.editor(1)
    page.wait_for_function(
        "el => el.classList.contains('mcm-mderive-editor')",
        arg=new_editor.element_handle(),
    )
    spans = new_editor.evaluate(SPANS_BY_CLASS)
    assert spans["mcm-request"] == ["∂f/∂x"]
    assert spans["mcm-size-sep"] == ["x"]

    # The cell context menu has it too.
    nb.cell(2).locator(".jp-InputArea-prompt").click(button="right")
    menu_item = page.locator(f'.lm-Menu-item[data-command="{INSERT}"]')
    menu_item.wait_for()
    menu_item.click()
    nb.wait_for("nb.content.widgets.length === 4")
    assert nb.source(3) == STARTER

    # And the command runs with a custom source.
    nb.select_cell(3)
    nb.command(INSERT, {"source": "%%mderive\nc : scalar"})
    assert nb.source(4) == "%%mderive\nc : scalar"


COPY_CELL = r"""from IPython.display import HTML
HTML('<div class="mcm-derivation" data-latex="\\frac{\\partial J}{\\partial W}">'
     '<p>∂J/∂W = (ŷ − y) xᵀ</p></div>'
     '<div class="mcm-derivation" id="second" data-latex="A^{-1} &amp; x &lt; y">'
     '<p>second result</p></div>'
     '<div class="mcm-claim mcm-ok" id="claim" data-latex="\\nabla_x f = 2 x">'
     '<p>claim holds</p></div>')"""


def test_copy_latex(open_notebook, tmp_path):
    nb = open_notebook([COPY_CELL])
    page = nb.page
    nb.run_cell(0)
    derivation = nb.output(0).locator(".mcm-derivation").first
    derivation.wait_for()

    def clipboard() -> str:
        return page.evaluate("() => navigator.clipboard.readText()")

    page.evaluate("() => navigator.clipboard.writeText('nothing yet')")

    # Context menu on the derivation.
    derivation.click(button="right")
    item = page.locator(f'.lm-Menu-item[data-command="{COPY}"]')
    item.wait_for()
    assert "Copy LaTeX" in item.inner_text()
    item.click()
    page.wait_for_function(
        "want => navigator.clipboard.readText().then(t => t === want)",
        arg=r"\frac{\partial J}{\partial W}",
    )
    assert clipboard() == r"\frac{\partial J}{\partial W}"

    # The copy button that appears on hover; the attribute is unescaped.
    second = nb.output(0).locator(".mcm-derivation#second")
    second.hover()
    button = second.locator(".mcm-copy-latex")
    button.wait_for(state="visible")
    page.wait_for_function(
        "el => getComputedStyle(el).opacity === '1'", arg=button.element_handle()
    )
    page.screenshot(path=str(screenshot_path(tmp_path, "labext-copy.png")))
    button.click()
    page.wait_for_function(
        "want => navigator.clipboard.readText().then(t => t === want)",
        arg="A^{-1} & x < y",
    )

    # A claim's output too.
    page.keyboard.press("Escape")
    nb.output(0).locator(".mcm-claim#claim").click(button="right")
    page.locator(f'.lm-Menu-item[data-command="{COPY}"]').click()
    page.wait_for_function(
        "want => navigator.clipboard.readText().then(t => t === want)",
        arg=r"\nabla_x f = 2 x",
    )

    # Outside a derivation the context menu has no Copy LaTeX.
    page.keyboard.press("Escape")
    nb.cell(0).locator(".jp-InputArea-prompt").click(button="right")
    page.locator(".lm-Menu").first.wait_for()
    assert page.locator(f'.lm-Menu-item[data-command="{COPY}"]').count() == 0
    page.keyboard.press("Escape")
