"""The ``%%mderive`` cell magic and the ``%mderive`` line magic.

``%load_ext matcalc_magic`` registers :class:`MatcalcMagics`.  A cell is
parsed, checked and differentiated by :func:`matcalc_magic.api.derive` (never
``eval``'d); each result is checked against finite differences, claims are
judged (:mod:`matcalc_magic.claims`), and the output is a deterministic mime
bundle (:mod:`matcalc_magic.display`) that needs no kernel and no widget model
to be seen, with every layout as data beside it for the JupyterLab
extension's toggle (:mod:`matcalc_magic.payload`); a live widget
(:mod:`matcalc_magic.widgets`) follows it when the front end can show one.

Declared names that exist in the user namespace as NumPy arrays or numbers
bind the symbolic sizes; the numeric check then also runs at those arrays.
Mistakes in a cell show as one short message pointing at the span, with the
shapes involved, and no Python traceback; a false claim fails the cell (so
"Run All" and nbval stop) after its diagnosis is shown.  The user namespace is
only written to with ``--name``.

Settings (``%config MatcalcMagics.<name> = …``): ``layout`` (default layout),
``widgets`` (``"auto"``, ``"always"``, ``"never"``), ``html`` (False gives
``text/latex`` + ``text/plain`` bundles only, for front ends that do not
typeset math inside HTML, such as VS Code), ``points`` (random points of the
numeric checks).
"""

from __future__ import annotations

import keyword
import numbers
import re

import numpy as np
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, CaselessStrEnum, Int

from . import layouts as L
from .display import Binding, CellOutput, Shown, Values
from .errors import MatcalcError, Span, line_col
from .shapes import complete_sizes, first_empty, sizes_text

#: options that take a value (the rest are flags)
_VALUED = {"--layout", "-l", "--name", "-n", "--points"}


# ====================================================================== errors
class CheckFailed(Exception):
    """A derived result disagrees with finite differences (or could not be
    checked).  The cell fails, so "Run All" and nbval stop on it; IPython shows
    the badges, never a Python traceback."""

    def __init__(self, output: CellOutput, magic: str = "%%mderive"):
        self.failures = [(r.request.text, output.badge(i).text) for i, r in enumerate(output.results)
                         if output.checks[i] is not None and not output.checks[i].ok]
        self.false_claims = output.failed_claims
        self.magic = magic
        super().__init__("; ".join(f"{req}: {badge}" for req, badge in self.failures))

    def _render_traceback_(self) -> list[str]:
        n = len(self.failures)
        lines = [(f"\x1b[1;31mCheckFailed\x1b[0m: {n} result{'s' if n != 1 else ''} in {self.magic} "
                  "failed the numeric check")]
        for req, badge in self.failures:
            lines.append(f"  {req}: {badge}")
        if self.false_claims:
            k = len(self.false_claims)
            lines.append(f"  and {k} false claim{'s' if k != 1 else ''} (see the output above)")
        return lines


class MderiveError(MatcalcError):
    """A MatcalcError located in the notebook cell: line numbers count the
    ``%%mderive`` line, and IPython shows it without a Python traceback."""

    def __init__(self, error: MatcalcError, line_offset: int = 0, magic: str = "%%mderive"):
        super().__init__(error.message, error.span, error.source, error.shapes, error.hint)
        self.line_offset = line_offset
        self.magic = magic

    @property
    def line(self) -> int | None:
        line = super().line
        return None if line is None else line + self.line_offset

    def context(self, color: bool = False) -> str:
        if self.span is None or self.source is None:
            return ""
        line_no, col = line_col(self.source, self.span.start)
        lines = self.source.splitlines() or [""]
        text = lines[line_no - 1] if line_no - 1 < len(lines) else ""
        end_line, end_col = line_col(self.source, max(self.span.start, self.span.end - 1))
        stop = end_col + 1 if end_line == line_no else len(text) + 1
        width = max(1, stop - col)
        gutter = f"{line_no + self.line_offset} | " if self.magic == "%%mderive" else "  | "
        caret = "^" * width
        if color:
            caret = f"\x1b[1;31m{caret}\x1b[0m"
        return f"{gutter}{text}\n{' ' * (len(gutter) + col - 1)}{caret}"

    def summary(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line and self.magic == "%%mderive" else ""
        return f"{where}{self.message}"

    def _render_traceback_(self) -> list[str]:
        out = [f"\x1b[1;31mMatcalcError\x1b[0m in {self.magic}: {self.summary()}"]
        ctx = self.context(color=True)
        if ctx:
            out += ctx.split("\n")
        if self.shapes:
            out.append("shapes: " + ", ".join(f"{k} is {v}" for k, v in self.shapes.items()))
        if self.hint:
            out.append(f"hint: {self.hint}")
        return out


def _declaration_span(source: str, name: str) -> Span | None:
    """Where ``name`` is declared (``W : m x n``), for errors about its array."""
    for m in re.finditer(r"[^;\n]+", source):
        segment = m.group(0)
        head = segment.split("#", 1)[0]
        if ":" not in head or "=" in head.split(":", 1)[0]:
            continue
        names = head.split(":", 1)[0]
        for n in re.finditer(r"[^\s,]+", names):
            if n.group(0) == name:
                return Span(m.start() + n.start(), m.start() + n.end())
    return None


# ====================================================================== the namespace
def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def bind_namespace(cell, namespace: dict, source: str) -> Binding:
    """Bind declared names found in ``namespace`` (NumPy arrays or real numbers)
    to the declarations; declared size names bound to positive integers fix
    those sizes.  Arrays that disagree on a size raise one MatcalcError naming
    both."""
    from .api import bind
    from .evaluate import as_matrix

    values: dict = {}
    seen: dict = {}  # size symbol -> (value, name, shape text)
    names = []
    for name, var in cell.variables.items():
        if name not in namespace:
            continue
        value = namespace[name]
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                continue
            if value.ndim > 2:
                raise MatcalcError(
                    f"{name} is declared {_shape(var.shape)} but the array {name} in your namespace has "
                    f"{value.ndim} dimensions {tuple(value.shape)}", _declaration_span(source, name),
                    source, {name: "×".join(map(str, value.shape))},
                    hint="run with --no-bind to ignore the arrays in the namespace")
        elif not _is_number(value) and not isinstance(value, np.number):
            continue
        elif np.asarray(value).dtype.kind not in "biuf":  # complex, timedelta, an int too big for NumPy
            continue
        arr = as_matrix(value, tuple(1 if d == 1 else 0 for d in var.shape))
        got = f"{arr.shape[0]}×{arr.shape[1]}"
        for declared, actual in zip(var.shape, arr.shape):
            if declared.is_Integer and int(declared) != actual:
                raise MatcalcError(
                    f"{name} is declared {_shape(var.shape)} but the array {name} in your namespace is {got}",
                    _declaration_span(source, name), source, {name: got},
                    hint="run with --no-bind to ignore the arrays in the namespace")
        for declared, actual in zip(var.shape, arr.shape):
            if declared.is_Symbol:
                if declared in seen and seen[declared][0] != actual:
                    v0, n0, s0 = seen[declared]
                    raise MatcalcError(
                        f"your arrays disagree on the size {declared}: {n0} is {s0} ({declared} = {v0}) "
                        f"but {name} is {got} ({declared} = {actual})",
                        _declaration_span(source, name), source, {n0: s0, name: got},
                        hint=f"the cell declares {n0} : {_decl(cell.variables[n0].shape)} and "
                             f"{name} : {_decl(var.shape)}; fix one of the arrays, or run with --no-bind")
                seen.setdefault(declared, (actual, name, got))
        values[name] = value
        names.append(name)
    for name, sym in cell.dims.items():
        value = namespace.get(name)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
            continue
        if int(value) < 1:
            continue
        if sym in seen and seen[sym][0] != int(value):
            v0, n0, s0 = seen[sym]
            raise MatcalcError(
                f"your namespace disagrees on the size {name}: {name} = {int(value)} but {n0} is {s0} "
                f"({name} = {v0})", _declaration_span(source, n0), source, {n0: s0},
                hint="fix one of them, or run with --no-bind")
        values[name] = int(value)
        names.append(name)
    if not values:
        return Binding()
    try:
        env, sizes = bind(cell, values)
    except MatcalcError as e:
        raise e.with_source(source)
    _refuse_empty(cell, sizes, source)
    return Binding(env, sizes, names)


def _refuse_empty(cell, sizes: dict, source: str) -> None:
    """Sizes from the namespace must leave every declaration and request at
    least 1×1 (n = 1 there makes θ : n − 1 empty)."""
    shapes = [((name, _declaration_span(source, name)), var.shape) for name, var in cell.variables.items()]
    shapes += [((req.text, req.span), shape) for req in cell.requests for shape in (req.of.shape, req.wrt.shape)]
    empty = first_empty(shapes, sizes)
    if empty is not None:
        (what, span), values = empty
        raise MatcalcError(
            f"with the sizes from your namespace ({sizes_text(sizes)}), {what} would be "
            f"{'×'.join(str(v) for v in values)}: a size must be at least 1", span, source,
            hint="run with --no-bind to ignore the namespace")


def _shape(shape) -> str:
    from .display import shape_text

    return shape_text(shape)


def _decl(shape) -> str:
    from .display import dim_text

    dims = [d for d in shape]
    if dims[1] == 1:
        dims = dims[:1]
    return " x ".join(dim_text(d) for d in dims)


# ====================================================================== --eval
def evaluate_results(derivation, layout: str, binding: Binding) -> Values:
    """Every derivative of ``derivation`` in ``layout`` at the user's arrays."""
    from .api import refuse_huge
    from .evaluate import evaluate
    from .graph import leaves

    cell = derivation.cell
    missing_vars, missing_sizes = set(), set()
    for r in derivation.results:
        req = r.request
        roots = [req.of]
        if req.wrt_name not in cell.variables and req.wrt_name in cell.definitions:
            roots.append(cell.definitions[req.wrt_name])
        for root in roots:
            for leaf in leaves(root, "var"):
                name = leaf.params[0]
                if name in cell.variables and name not in binding.env:
                    missing_vars.add(name)
        for d in list(req.of.shape) + list(req.wrt.shape):
            missing_sizes |= {s for s in d.free_symbols if s not in binding.sizes}
    if missing_vars or missing_sizes:
        parts = []
        if missing_vars:
            parts.append("arrays for " + ", ".join(sorted(missing_vars)))
        if missing_sizes:
            parts.append("the size" + ("s " if len(missing_sizes) > 1 else " ")
                         + ", ".join(sorted(map(str, missing_sizes))))
        raise MatcalcError("--eval needs " + " and ".join(parts) + " from your namespace",
                           hint="define the declared names as NumPy arrays before running the cell")
    out = Values()
    out.derivation = derivation
    out.layout = layout
    for r in derivation.results:
        env = dict(binding.env)
        req = r.request
        if req.wrt_name not in cell.variables and req.wrt_name in cell.definitions:
            env[req.wrt_name] = evaluate(cell.definitions[req.wrt_name], env, binding.sizes)
        refuse_huge(r, binding.sizes)
        with np.errstate(all="ignore"):
            out[r.request.text] = np.asarray(r.view(layout).evaluate_at(env, binding.sizes), dtype=float)
    return out


# ====================================================================== the magics
def _split_options(line: str) -> tuple[str, str]:
    """Leading ``--options`` of a line, and the rest untouched (statements may
    contain quotes and primes that a shell-style split would mangle)."""
    pos = 0
    opts = []
    n = len(line)
    while True:
        while pos < n and line[pos].isspace():
            pos += 1
        if pos >= n or line[pos] != "-" or pos + 1 >= n or not (line[pos + 1] == "-" or line[pos + 1].isalpha()):
            break
        end = pos
        while end < n and not line[end].isspace():
            end += 1
        token = line[pos:end]
        opts.append(token)
        pos = end
        if token in _VALUED:
            while pos < n and line[pos].isspace():
                pos += 1
            end = pos
            while end < n and not line[end].isspace():
                end += 1
            opts.append(line[pos:end])
            pos = end
    return " ".join(opts), line[pos:]


@magics_class
class MatcalcMagics(Magics):
    """``%%mderive`` and ``%mderive``: matrix calculus you can run."""

    layout = CaselessStrEnum(L.LAYOUTS, default_value=L.DEFAULT_LAYOUT,
                             help="Default layout of %%mderive outputs.").tag(config=True)
    widgets = CaselessStrEnum(("auto", "always", "never"), default_value="auto",
                              help="Interactive outputs (a layout toggle, the live widget): auto (when the "
                                   "front end is a Jupyter kernel client), always, or never (static "
                                   "output only).").tag(config=True)
    html = Bool(True, help="Include text/html in outputs; False leaves text/latex and text/plain "
                           "(for front ends that do not typeset math inside HTML).").tag(config=True)
    points = Int(3, help="Random points of each numeric check.").tag(config=True)

    @magic_arguments()
    @argument("-l", "--layout", choices=L.LAYOUTS, default=None,
              help="layout of the results: numerator, denominator, shape (default), index or vec")
    @argument("--steps", action="store_true", help="show the derivation step by step (differentials and backprop)")
    @argument("--code", action="store_true", help="show NumPy code for each result")
    @argument("--no-widget", dest="widget", action="store_false", default=True,
              help="static output only (no layout toggle, no live widget)")
    @argument("--latex", action="store_true", help="also print the raw LaTeX of the results, to copy")
    @argument("-n", "--name", default=None,
              help="bind the Derivation (with --eval: the evaluated derivatives) to NAME in the namespace")
    @argument("--eval", dest="evaluate", action="store_true",
              help="evaluate the derivatives at the arrays in the namespace and return them "
                   "(a dict: request → ndarray)")
    @argument("--check", dest="check", action="store_true", default=True,
              help="check every result against finite differences (default)")
    @argument("--no-check", dest="check", action="store_false", help="skip the numeric checks")
    @argument("--points", type=int, default=None, help="random points of each numeric check (default 3)")
    @argument("--no-bind", dest="bind", action="store_false", default=True,
              help="ignore arrays in the namespace (sizes stay symbolic)")
    @argument("statements", nargs="*",
              help="(line magic) the derivation, statements separated by ';'")
    @line_cell_magic
    def mderive(self, line: str, cell: str | None = None):
        """Derive gradients, Jacobians and Hessians of a matrix-calculus derivation.

        A cell holds declarations, definitions, requests and claims::

            %%mderive --layout shape
            x : n                 # a column vector (n×1)
            W : m x n
            b : m
            y : m, onehot         # properties shape the random test data
            z = W x + b           # juxtaposition is the matrix product
            J = CE(y, softmax(z))
            ∂J/∂W, ∂J/∂b, ∂J/∂x
            claim ∂J/∂W = (softmax(z) - y) x^T

        The line magic takes statements separated by ';'::

            %mderive x : n; A : n x n; ∂(x^T A x)/∂x
            %mderive --layout numerator W : m x n; x : n; ∂(W x)/∂x

        Each result shows its shape and a numeric check badge.  Layouts:
        numerator, denominator, shape (CS224n), index, vec; a toggle (the
        JupyterLab extension's, even with no kernel, or the live widget's)
        switches them without re-deriving.  Declared names that are
        NumPy arrays in the namespace fix the sizes and are used by the
        check; ``--eval`` returns the derivatives at those arrays::

            W = np.random.randn(4, 3); x = np.random.randn(3)
            grads = %mderive --eval x : n; W : m x n; ∂(x^T W^T W x)/∂x

        A false claim fails the cell with a diagnosis (transposed — which
        layout it is right in —, off by a constant factor, wrong shape, or
        different).
        """
        opt_text, rest = _split_options(line)
        args = parse_argstring(self.mderive, opt_text)  # a UsageError is shown as one line by IPython
        if cell is None:
            source, magic, offset = rest, "%mderive", 0
            if not source.strip():
                raise UsageError("%mderive needs statements, e.g. %mderive x : n; A : n x n; ∂(x^T A x)/∂x")
        else:
            if rest.strip():
                raise UsageError(f"unexpected text after the %%mderive options: {rest.strip()!r} "
                                 "(statements go in the cell body)")
            source, magic, offset = cell, "%%mderive", 1
        return self.run(source, args, magic, offset)

    # ------------------------------------------------------------------ the work
    def run(self, source: str, args, magic: str = "%%mderive", line_offset: int = 1):
        from .api import derive
        from .claims import ClaimFailed, gather

        layout = args.layout or self.layout
        if args.name is not None and (not args.name.isidentifier() or keyword.iskeyword(args.name)):
            raise UsageError(f"--name needs a Python identifier, not {args.name!r}")
        points = self.points if args.points is None else args.points
        if points < 1:
            raise UsageError("--points must be at least 1")
        try:
            derivation = derive(source, layout)
            binding = bind_namespace(derivation.cell, self.shell.user_ns, source) if args.bind else Binding()
            check_env = check_sizes = None
            if binding:  # also check at the user's arrays (or at least at their sizes)
                check_env = dict(binding.env)
                check_sizes = complete_sizes(derivation.cell.dims, binding.sizes)
            checks = [r.check(points=points, env=check_env, sizes=check_sizes) if args.check else None
                      for r in derivation.results]
            claims = gather(derivation, points=points, env=check_env, sizes=check_sizes)
            values = evaluate_results(derivation, layout, binding) if args.evaluate else None
        except MatcalcError as e:
            if e.source is None:
                e.with_source(source)
            raise MderiveError(e, line_offset, magic) from None

        output = CellOutput(derivation, layout, checks=checks, claims=claims, binding=binding,
                            steps=args.steps, code=args.code, html=self.html,
                            line_offset=line_offset if magic == "%%mderive" else None)
        # The derivation is a plain output, whole without any widget model or
        # kernel.  In a Jupyter front end it also carries every layout as data,
        # which the JupyterLab extension renders with a toggle even when the
        # kernel is gone, and the live widget sits beside it.
        interactive = args.widget and self._widgets_available()
        shown = Shown(output, layout, interactive=interactive)
        shown.bundle()  # render once here: a rendering bug must fail the cell, not vanish in a formatter
        shown.show()
        widget = None
        if interactive:
            from IPython.display import display

            from .widgets import DerivationWidget

            widget = DerivationWidget(output, shown=shown)
            display(widget)
        if args.latex:
            print(output.latex_source(layout))
        if args.name:
            self.shell.user_ns[args.name] = values if values is not None else derivation
        self.last_output = output
        self.last_shown = shown
        self.last_widget = widget
        if any(c is not None and not c.ok for c in checks):
            raise CheckFailed(output, magic)
        failed = output.failed_claims
        if failed:
            raise ClaimFailed(failed, magic, line_offset if magic == "%%mderive" else None)
        return values

    def _widgets_available(self) -> bool:
        if self.widgets == "never":
            return False
        try:
            import ipywidgets  # noqa: F401
        except ImportError:  # pragma: no cover - ipywidgets is a dependency
            return False
        if self.widgets == "always":
            return True
        # A Jupyter kernel (ipykernel) has a front end that can host widgets;
        # plain IPython in a terminal has none.
        return getattr(self.shell, "kernel", None) is not None
