"""Rich output of a derivation: one mime bundle, shared by the magic and the widget.

:class:`CellOutput` holds a :class:`~matcalc_magic.api.Derivation` and what was
measured about it once (numeric checks, claim evidence, sizes bound from the
user's arrays); it renders any layout from the engine's cached views, so
switching layouts never re-derives.

The bundle has ``text/html``, ``text/latex`` and a readable ``text/plain``:

* ``text/html`` puts each result in ``<div class="mcm-derivation"
  data-latex="…">`` (the JupyterLab extension's "Copy LaTeX" reads that
  attribute) with its equation as ``$$…$$`` (MathJax in JupyterLab, Notebook 7
  and nbconvert), its shape and its check badge;
* ``text/latex`` is one ``$$\\begin{aligned}…\\end{aligned}$$`` block;
* ``text/plain`` is the same content as text.

Everything in it is deterministic, run to run and machine to machine (nbval
compares these three): no model ids, no timings, no addresses, and no measured
floating-point errors; a numeric check shows as a pass/fail badge with its
tolerance, e.g. "✓ checked numerically (3 random points, tol 1e-6)".  Colours
and borders are inline styles that JupyterLab's sanitizer keeps (an untrusted
notebook looks like a trusted one), on classes the extension's CSS styles too.

:class:`Shown` is that bundle as a notebook output: displayed once with a
display id, with every layout as data beside it (:mod:`matcalc_magic.payload`),
and re-published in place when the live widget switches layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape

import sympy

from . import layouts as L
from .shapes import ShapeError, concrete, sizes_text

LAYOUT_NAMES = {
    "numerator": "numerator layout",
    "denominator": "denominator layout",
    "shape": "shape convention",
    "index": "index notation",
    "vec": "vec layout",
}


def themed(prop: str, variable: str, fallback: str, value: str = "{}") -> str:
    """One CSS declaration twice: with a plain colour, which JupyterLab's
    sanitizer keeps in an untrusted notebook, then with the theme's variable,
    which wins wherever the style is kept whole (trusted outputs, nbconvert).
    ``value`` places the colour (``"3px solid {}"``)."""
    return f"{prop}:{value.format(fallback)};{prop}:{value.format(f'var({variable},{fallback})')}"


#: colours of a passed / failed / unchecked verdict and of secondary text
OK_STYLE = themed("color", "--jp-success-color1", "#1a7f37")
BAD_STYLE = themed("color", "--jp-error-color1", "#c62828")
MUTED_STYLE = themed("color", "--jp-ui-font-color2", "#616161")
#: a typeset equation never widens the notebook: a long one scrolls inside its own box
MATH_BOX_STYLE = "overflow-x:auto;overflow-y:hidden;max-width:100%"
_OK_BORDER = themed("border-left", "--jp-success-color1", "#1a7f37", "3px solid {}")
_BAD_BORDER = themed("border-left", "--jp-error-color1", "#c62828", "3px solid {}")

STEPS_KINDS = ("differentials", "backprop")
STEPS_MISSING = "step-by-step derivations are not available in this installation"


# ====================================================================== small pieces
_DOUBLE_SUB = re.compile(r"((?:\\[A-Za-z]+\{[^{}]*\})|(?:\\[A-Za-z]+)|[A-Za-z0-9])_\{([^{}]*)\}_\{")


def fix_latex(latex: str) -> str:
    """Brace a double subscript (``b_{2}_{i}`` → ``{b_{2}}_{i}``), which MathJax
    and KaTeX reject."""
    prev = None
    while prev != latex:
        prev = latex
        latex = _DOUBLE_SUB.sub(r"{\1_{\2}}_{", latex)
    return latex


def tol_text(tol: float) -> str:
    """``1e-06`` → ``1e-6``."""
    mantissa, exp = f"{tol:.0e}".split("e")
    return f"{mantissa}e{int(exp)}"


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def dim_text(d) -> str:
    """A size as text: ``m``, ``mn``, ``n²``, ``(n + 1)``."""
    return _dim_text(sympy.sympify(d))


@lru_cache(maxsize=4096)
def _dim_text(d) -> str:
    text = re.sub(r"\*\*(\d+)", lambda m: m.group(1).translate(_SUPERSCRIPTS), str(d)).replace("*", "")
    return f"({text})" if isinstance(d, sympy.Add) else text


def shape_text(shape) -> str:
    """``m×n``; one index is ``k``; no index is ``scalar``."""
    return "×".join(dim_text(d) for d in shape) if len(shape) else "scalar"


def shape_latex(shape) -> str:
    if not len(shape):
        return "\\text{scalar}"
    parts = []
    for d in shape:
        d = sympy.sympify(d)
        t = sympy.latex(d)
        parts.append(f"({t})" if isinstance(d, sympy.Add) else t)
    return " \\times ".join(parts)


def concrete_text(shape, sizes: dict) -> str | None:
    """``4×3`` at ``sizes``, or None when a size is not known."""
    try:
        return "×".join(str(concrete(sympy.sympify(d), sizes)) for d in shape) if len(shape) else "1×1"
    except (ShapeError, TypeError, ValueError):
        return None


def latex_text(text: str) -> str:
    """``text`` inside ``\\text{…}``, special characters escaped."""
    table = {"\\": "\\backslash ", "{": "\\{", "}": "\\}", "#": "\\#", "%": "\\%", "&": "\\&",
             "_": "\\_", "$": "\\$", "^": "\\^{}", "~": "\\~{}"}
    return "\\text{" + "".join(table.get(ch, ch) for ch in text) + "}"


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _math(latex: str) -> str:
    """Display math for an HTML output, in a box that scrolls when the
    equation is wider than the notebook.  MathJax reads the text content, so
    the LaTeX is HTML-escaped, never interpreted as markup."""
    return f'<div class="mcm-math" style="{MATH_BOX_STYLE}">$${escape(latex, quote=False)}$$</div>'


# ====================================================================== checks
@dataclass
class Badge:
    ok: bool | None  # None: not checked
    text: str

    def html(self) -> str:
        style = MUTED_STYLE if self.ok is None else (OK_STYLE if self.ok else BAD_STYLE)
        cls = "mcm-unchecked" if self.ok is None else ("mcm-ok" if self.ok else "mcm-failed")
        return f'<span class="mcm-badge {cls}" style="{style}">{escape(self.text)}</span>'

    def latex(self) -> str:
        if self.ok is None:
            return ""
        return "\\checkmark" if self.ok else latex_text("✗ numeric check failed")


def check_badge(report, at_user: str | None = None) -> Badge:
    """A CheckReport as a badge: pass/fail and the tolerance, never the measured
    error (its digits vary with the BLAS).  ``at_user`` names the extra point
    the check ran at ("your arrays", "your sizes"), if any."""
    if report is None:
        return Badge(None, "not checked numerically")
    random_points = report.points - (1 if report.given_point else 0)
    where = f"{random_points} random point{'s' if random_points != 1 else ''}"
    if at_user and report.given_point:
        where += f" and {at_user}"
    elif at_user:
        where += f"; not at {at_user}: {report.given_skipped or 'not usable'}"
    tol = tol_text(report.tolerance)
    if report.ok:
        return Badge(True, f"✓ checked numerically ({where}, tol {tol})")
    why = report.message or "differs from finite differences"
    why = re.sub(r"\d+\.\d+(e[-+]?\d+)?", "…", why)  # never show measured digits
    return Badge(False, f"✗ numeric check failed ({where}, tol {tol}): {why}")


# ====================================================================== sizes from arrays
@dataclass
class Binding:
    """The user's arrays bound to declarations: env (name → 2-D array) and sizes
    (size symbol → int), with the names they came from."""

    env: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)
    names: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.env or self.sizes)

    @property
    def where(self) -> str | None:
        """The extra point of the numeric checks: "your arrays", "your sizes" or None."""
        return "your arrays" if self.env else ("your sizes" if self.sizes else None)

    def sizes_text(self) -> str:
        return sizes_text(self.sizes)


# ====================================================================== the output
class CellOutput:
    """A derivation and everything measured about it, rendered in any layout.

    ``checks`` holds one CheckReport (or None) per result; ``claims`` one
    :class:`~matcalc_magic.claims.ClaimEvidence` per claim.  Nothing here
    differentiates or re-checks: layouts are the engine's cached views and claim
    verdicts in another layout compare stored arrays.
    """

    def __init__(self, derivation, layout: str | None = None, *, checks=None, claims=None,
                 binding: Binding | None = None, steps: bool = False, code: bool | str = False,
                 html: bool = True, line_offset: int | None = 0, note: str = ""):
        self.derivation = derivation
        self.layout = L.check_layout(layout or derivation.layout)
        self.checks = list(checks) if checks is not None else [None] * len(derivation.results)
        self.claims = list(claims or [])
        self.binding = binding or Binding()
        self.show_steps = steps
        self.show_code = "numpy" if code is True else (code or None)  # the backend of the code shown
        self.use_html = html
        self.line_offset = line_offset  # cell lines before the derivation's first; None: no line numbers
        self.note = note  # what the reader must know about the whole output (checks skipped, …)
        self._steps: dict = {}
        self._memo: dict = {}  # (what, layout, …) -> rendered text; nothing rendered changes after construction

    def _cached(self, key, make):
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    # -- what is shown -----------------------------------------------------------
    @property
    def results(self):
        return self.derivation.results

    def badge(self, i: int) -> Badge:
        return check_badge(self.checks[i], self.binding.where)

    def verdicts(self, layout: str | None = None) -> list:
        layout = layout or self.layout
        return [ev.verdict(layout) for ev in self.claims]

    @property
    def failed_claims(self) -> list:
        return [v for v in self.verdicts(self.layout) if not v.ok]

    def steps(self, i: int, kind: str, layout: str):
        """The steps of result ``i`` (cached), or a note saying why there are none."""
        key = (i, kind, layout)
        if key not in self._steps:
            try:
                self._steps[key] = list(self.results[i].steps(kind, layout))
            except ImportError as e:  # the steps module (or a part of it) is not installed
                missing = f" (no module {e.name})" if getattr(e, "name", None) else ""
                self._steps[key] = STEPS_MISSING + missing
            except Exception as e:  # noqa: BLE001 - a missing rule for one kind must not hide the results
                self._steps[key] = f"no {kind} steps for this result: {getattr(e, 'message', None) or e}"
        return self._steps[key]

    def symbolic_shape(self, i: int, layout: str) -> tuple:
        return self._cached(("shape", i, layout), lambda: tuple(self.results[i].view(layout).symbolic_shape))

    def shape_of(self, i: int, layout: str) -> str:
        shape = self.symbolic_shape(i, layout)
        text = shape_text(shape)
        if self.binding.sizes:
            at = concrete_text(shape, self.binding.sizes)
            if at is not None and at != text:
                text += f" = {at}"
        return text

    # -- HTML ----------------------------------------------------------------------
    def result_html(self, i: int, layout: str | None = None) -> str:
        layout = layout or self.layout
        return self._cached(("result_html", i, layout), lambda: self._result_html(i, layout))

    def _result_html(self, i: int, layout: str) -> str:
        r = self.results[i]
        view = r.view(layout)
        latex = fix_latex(view.latex)
        meta = " · ".join([
            f'<span class="mcm-shape" title="shape in the {LAYOUT_NAMES[layout]}">{escape(self.shape_of(i, layout))}</span>',
            f'<span class="mcm-kind">{escape(r.kind)}</span>',
            self.badge(i).html(),
        ])
        return (
            f'<div class="mcm-derivation" data-latex="{_attr(latex)}" data-request="{_attr(r.request.text)}"'
            f' data-layout="{layout}" style="margin:0.1em 0 0.5em 0">'
            f'{_math(latex)}'
            f'<div class="mcm-meta" style="font-size:85%;{MUTED_STYLE};margin-top:-0.3em">{meta}</div>'
            + (f'<div class="mcm-note" style="font-size:85%;{MUTED_STYLE}">{escape(r.note)}</div>'
               if r.note else "")
            + "</div>"
        )

    def claims_html(self, layout: str | None = None) -> str:
        layout = layout or self.layout
        return self._cached(("claims_html", layout), lambda: self._claims_html(layout))

    def _claims_html(self, layout: str) -> str:
        parts = []
        for v in self.verdicts(layout):
            status, border = ("mcm-ok", _OK_BORDER) if v.ok else ("mcm-failed", _BAD_BORDER)
            latex = fix_latex(v.claim_latex)
            where = self.claim_where(v)
            body = (f'<div class="mcm-claim {status}" data-latex="{_attr(latex)}"'
                    f' style="{border};padding-left:0.6em;margin:0.3em 0">'
                    f'<div class="mcm-claim-label" style="font-size:85%;{MUTED_STYLE}">'
                    f'claim{f" ({where})" if where else ""}, as written</div>'
                    f'{_math(latex)}'
                    f'<div class="mcm-verdict {status}" style="{OK_STYLE if v.ok else BAD_STYLE}">'
                    f'{escape(v.badge)}</div>')
            if not v.ok or v.derived_differs:
                label = "derived" if v.ok else f"derived in the {LAYOUT_NAMES[layout]}"
                body += (f'<div class="mcm-expected" style="font-size:85%;{MUTED_STYLE}">{label}:'
                         f'{_math(fix_latex(v.expected_latex))}</div>')
            parts.append(body + "</div>")
        return f'<div class="mcm-claims">{"".join(parts)}</div>' if parts else ""

    def steps_html(self, layout: str | None = None) -> str:
        layout = layout or self.layout
        if not self.show_steps:
            return ""
        return self._cached(("steps_html", layout), lambda: self._steps_html(layout))

    def _steps_html(self, layout: str) -> str:
        blocks = []
        for i, kind, title, steps in self._steps_shown(layout):
            title = escape(title)
            if isinstance(steps, str):
                blocks.append(f'<div class="mcm-steps-note" style="{MUTED_STYLE};font-size:85%">'
                              f"{title}: {escape(steps)}</div>")
                continue
            rows = "".join(
                f'<li class="mcm-step">{_math(fix_latex(s.latex))}'
                + (f'<span style="font-size:85%;{MUTED_STYLE}">{escape(s.rule)}</span>' if s.rule else "")
                + "</li>" for s in steps)
            blocks.append(f'<div class="mcm-steps-block"><div style="font-weight:bold">{title}</div>'
                          f"<ol>{rows}</ol></div>")
        return f'<div class="mcm-steps">{"".join(blocks)}</div>'

    def _steps_shown(self, layout: str):
        """(result index, kind, title, steps or a note); a note that the steps
        module is unavailable is given once per kind, not once per result."""
        noted = set()
        for i, r in enumerate(self.results):
            for kind in STEPS_KINDS:
                steps = self.steps(i, kind, layout)
                if isinstance(steps, str) and steps.startswith(STEPS_MISSING):
                    if kind in noted:
                        continue
                    noted.add(kind)
                    yield i, kind, f"{kind} steps", steps
                    continue
                yield i, kind, f"{r.request.text} — {kind}", steps

    def code_html(self, layout: str | None = None) -> str:
        layout = layout or self.layout
        if not self.show_code:
            return ""
        return self._cached(("code_html", layout), lambda: self._code_html(layout))

    def _code_html(self, layout: str) -> str:
        code = "\n\n".join(self.code_lines(layout))
        return (f'<pre class="mcm-code" style="font-size:85%;padding:0.4em;'
                f'background:var(--jp-layout-color2, #f5f5f5)">{escape(code)}</pre>')

    def steps_plain(self, layout: str) -> list[str]:
        out = []
        for i, kind, title, steps in self._steps_shown(layout):
            if isinstance(steps, str):
                out.append(f"{title}: {steps}")
                continue
            out.append(f"{title}:")
            out += [f"  {k}. {s.text}" + (f"    ({s.rule})" if s.rule else "") for k, s in enumerate(steps, 1)]
        return out

    def claim_where(self, verdict) -> str:
        if self.line_offset is None or verdict.line is None:
            return ""
        return f"line {verdict.line + self.line_offset}"

    def code_lines(self, layout: str) -> list[str]:
        """The cell's generated function (``Derivation.code``) in ``layout``,
        as one block; a cell it cannot be generated for says why instead."""
        from .errors import MatcalcError

        try:
            return [self.derivation.code(self.show_code, layout=layout).rstrip("\n")]
        except MatcalcError as e:
            return [f"# no {self.show_code} code for this cell: {e.message}"]

    def header_html(self, layout: str) -> str:
        info = escape(L.DESCRIPTIONS[layout])
        extra = ""
        if self.binding.sizes:
            names = ", ".join(self.binding.names)
            extra = (f'<div class="mcm-sizes">sizes from your namespace ({escape(names)}): '
                     f"{escape(self.binding.sizes_text())}</div>")
        if self.note:
            extra += f'<div class="mcm-note">{escape(self.note)}</div>'
        return (f'<div class="mcm-header" style="font-size:85%;{MUTED_STYLE}">{info}{extra}</div>')

    def html(self, layout: str | None = None) -> str:
        layout = layout or self.layout
        return self._cached(("html", layout), lambda: self._html(layout))

    def _html(self, layout: str) -> str:
        body = "".join(self.result_html(i, layout) for i in range(len(self.results)))
        return (f'<div class="mcm-output" data-layout="{layout}">'
                + self.header_html(layout) + body + self.claims_html(layout) + self.steps_html(layout)
                + self.code_html(layout) + "</div>")

    # -- LaTeX -----------------------------------------------------------------------
    def latex_source(self, layout: str | None = None) -> str:
        """The results as one ``aligned`` block, to paste into a document."""
        layout = layout or self.layout
        lines = [_align(fix_latex(r.view(layout).latex)) for r in self.results]
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    def latex(self, layout: str | None = None) -> str:
        layout = layout or self.layout
        lines = []
        for i, r in enumerate(self.results):
            view = r.view(layout)
            shape = self.symbolic_shape(i, layout)
            tail = f"\\in {shape_latex(shape)}" if len(shape) else ""
            badge = self.badge(i).latex()
            lines.append(_align(fix_latex(view.latex)) + " && " + " \\quad ".join(x for x in (tail, badge) if x))
            if r.note_latex:
                lines.append("&& " + r.note_latex)
        for v in self.verdicts(layout):
            mark = "\\checkmark" if v.ok else latex_text("✗ " + v.diagnosis)
            lines.append(latex_text("claim: ") + _align(fix_latex(v.claim_latex)) + " && " + mark)
            if not v.ok or v.derived_differs:
                lines.append(latex_text("derived: ") + _align(fix_latex(v.expected_latex)) + " && ")
        if not lines:
            return ""
        return "$$\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}$$"

    # -- text ------------------------------------------------------------------------
    def plain(self, layout: str | None = None) -> str:
        layout = layout or self.layout
        out = [f"[{L.DESCRIPTIONS[layout]}]"]
        if self.binding.sizes:
            out.append(f"sizes from your namespace ({', '.join(self.binding.names)}): {self.binding.sizes_text()}")
        if self.note:
            out.append(self.note)
        for i, r in enumerate(self.results):
            out.append(r.view(layout).text)
            out.append(f"    {self.shape_of(i, layout)} · {r.kind} · {self.badge(i).text}")
            if r.note:
                out.append(f"    {r.note}")
        for v in self.verdicts(layout):
            where = self.claim_where(v)
            out.append(v.claim_text + (f"  ({where})" if where else ""))
            out.append(f"    {v.badge}")
            if not v.ok or v.derived_differs:
                out.append(f"    derived: {v.expected_text}")
        if self.show_steps:
            out += self.steps_plain(layout)
        if self.show_code:
            out.append("")
            out += self.code_lines(layout)
        return "\n".join(out)

    # -- the bundle --------------------------------------------------------------------
    def bundle(self, layout: str | None = None) -> dict:
        layout = layout or self.layout
        return dict(self._cached(("bundle", layout), lambda: self._bundle(layout)))

    def _bundle(self, layout: str) -> dict:
        data = {"text/plain": self.plain(layout)}
        latex = self.latex(layout)
        if latex:
            data["text/latex"] = latex
        if self.use_html:
            data["text/html"] = self.html(layout)
        return data

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.bundle(self.layout)

    def __repr__(self) -> str:
        return self.plain(self.layout)


def _align(latex: str) -> str:
    return latex.replace(" = ", " &= ", 1)


class Shown:
    """A derivation as one notebook output that can change its layout in place.

    Its bundle is the static bundle of ``layout`` and, when ``interactive``,
    the payload the JupyterLab extension renders with a layout toggle
    (:mod:`matcalc_magic.payload`).  :meth:`show` displays it with a display
    id; :meth:`switch` re-publishes it in another layout (``update_display``),
    so the notebook keeps, and saves, the layout last chosen.
    """

    def __init__(self, output: CellOutput, layout: str | None = None, interactive: bool = True):
        self.output = output
        self.layout = L.check_layout(layout or output.layout)
        self.interactive = interactive
        self._handle = None

    def bundle(self) -> dict:
        data = self.output.bundle(self.layout)
        if self.interactive:
            from .payload import DERIVATION_MIME, derivation_payload

            data[DERIVATION_MIME] = derivation_payload(self.output, self.layout)
        return data

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.bundle()

    def show(self) -> None:
        from IPython.display import display

        self._handle = display(self, display_id=True)

    def switch(self, layout: str) -> None:
        self.layout = L.check_layout(layout)
        if self._handle is not None:
            self._handle.update(self)

    def __repr__(self) -> str:
        return self.output.plain(self.layout)


# ====================================================================== --eval values
class Values(dict):
    """Derivatives evaluated at the user's arrays: request text → ndarray.

    Printed with 6 significant digits, so outputs stay comparable across
    machines; the arrays themselves are full precision.  ``.derivation`` is the
    Derivation they come from, ``.layout`` the layout they are in.
    """

    derivation = None
    layout = "shape"

    def __repr__(self) -> str:
        return values_text(self)

    def _repr_pretty_(self, p, cycle):
        p.text(values_text(self))


def values_text(values: dict) -> str:
    import numpy as np

    lines = []
    for key, arr in values.items():
        a = np.asarray(arr, dtype=float)
        if a.size:  # round-off below print precision must not show as -0. on one machine, 0. on another
            a = np.where(np.abs(a) <= 1e-12 * max(1.0, float(np.max(np.abs(a)))), 0.0, a) + 0.0
        body = np.array2string(a, precision=6, suppress_small=True, floatmode="maxprec", separator=", ")
        shape = "×".join(str(s) for s in a.shape) or "scalar"
        lines.append(f"{key}  ({shape}) =\n{body}")
    return "\n".join(lines)
