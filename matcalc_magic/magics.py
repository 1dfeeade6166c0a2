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
numeric checks), ``timeout`` (seconds a cell may take: past them it stops with
a message naming the line it was working on, see :mod:`matcalc_magic.deadline`)
and ``check_time`` (seconds for all the numeric checks of a cell; the results
after that are shown unchecked, and the output says so).
"""

from __future__ import annotations

import builtins
import keyword
import numbers
import re
import time
import types
import unicodedata

import numpy as np
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, CaselessStrEnum, Float, Int

from . import layouts as L
from .codegen import BACKENDS
from .deadline import TimeLimit, remaining, time_limit, working_on
from .display import Binding, CellOutput, Shown, Values
from .errors import TOO_DEEP, MatcalcError, Span, line_col
from .shapes import complete_sizes, first_empty, sizes_text

#: options that take a value (the rest are flags)
_VALUED = {"--layout", "-l", "--name", "-n", "--points"}
#: options that may take a value, when it is one of these
_OPTIONAL_VALUE = {"--code": BACKENDS}


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
def python_name(name: str) -> str:
    """The namespace key Python gives a cell's name: ``ℓ = …`` in Python binds
    ``l`` (identifiers are read in NFKC form)."""
    return unicodedata.normalize("NFKC", name) if name.isidentifier() else name


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
        key = python_name(name)
        if key not in namespace:
            continue
        value = namespace[key]
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
        value = namespace.get(python_name(name))
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


# ====================================================================== --name
#: names IPython keeps for itself: its history (_, __, _i, _i3, _3, …)
_IPYTHON_NAMES = re.compile(r"_+|_i+|_i?\d+|_[iod]h")


def binding_name(name: str, shell, force: bool = False) -> tuple[str, str | None]:
    """The name ``--name NAME`` binds, as Python spells it (NFKC: ``ℓ`` is
    ``l``), and a note when that differs from what was typed.  Keywords, the
    builtins, IPython's own names and names bound to modules or functions are
    refused (a UsageError), the last two kinds unless ``force``."""
    normal = unicodedata.normalize("NFKC", name)
    renamed = None
    if normal != name:
        renamed = (f"--name {name}: Python reads this name as {normal} (NFKC normalisation), "
                   f"so the result is bound to {normal}")
    if not normal.isidentifier() or keyword.iskeyword(normal):
        raise UsageError(f"--name needs a Python identifier, not {name!r}")
    hidden = getattr(shell, "user_ns_hidden", {})
    if (normal.startswith("__") and normal.endswith("__")) or normal in hidden or _IPYTHON_NAMES.fullmatch(normal):
        raise UsageError(f"--name {name}: {normal} is one of IPython's own names; choose another")
    bound = shell.user_ns.get(normal, _UNBOUND)
    if bound is _UNBOUND:
        bound = getattr(builtins, normal, _UNBOUND)
    if bound is _UNBOUND:
        what = None
    elif isinstance(bound, types.ModuleType):
        what = f"the module {bound.__name__}"
    elif bound is getattr(builtins, normal, _UNBOUND):
        what = "a Python builtin"
    else:
        what = "a function or class" if callable(bound) else None
    if what and not force:
        raise UsageError(f"--name {name}: {normal} is {what}; choose another name, "
                         f"or add --force to replace it")
    return normal, renamed


_UNBOUND = object()


def _internal_error(e: Exception, source: str) -> MatcalcError:
    """A bug of matcalc_magic, reported as one message at the part of the cell
    it happened in."""
    task = getattr(e, "matcalc_task", None)
    where = f" while {task.what}" if task is not None else ""
    return MatcalcError(f"internal error{where}: {type(e).__name__}: {e}", task.span if task else None, source,
                        hint="this is a bug in matcalc_magic; please report it with this cell")


_ENGINE_LOADED = False


def _load_engine() -> None:
    """Import and initialise everything a cell uses (the rule tables, the
    parser, the checker, the printers), once, outside any time limit."""
    global _ENGINE_LOADED
    if _ENGINE_LOADED:
        return
    from . import api, claims, codegen, display, verify  # noqa: F401
    from .render import latex, naming, text  # noqa: F401

    api.derive("x : n\nA : n x n\nJ = log(sum(exp(A x)))\n∂J/∂x")[0].check(points=1)
    _ENGINE_LOADED = True


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
        if token in _VALUED or token in _OPTIONAL_VALUE:
            start = pos
            while pos < n and line[pos].isspace():
                pos += 1
            end = pos
            while end < n and not line[end].isspace():
                end += 1
            if token in _VALUED or line[pos:end] in _OPTIONAL_VALUE[token]:
                opts.append(line[pos:end])
                pos = end
            else:
                pos = start
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
    timeout = Float(10.0, help="Seconds a cell may take to derive, check and print; past them it stops "
                               "with a message naming the line it was working on (0: no limit).").tag(config=True)
    check_time = Float(5.0, help="Seconds the numeric checks of one cell may take in all; results "
                                 "past them are shown unchecked, and the output says so.").tag(config=True)

    @magic_arguments()
    @argument("-l", "--layout", choices=L.LAYOUTS, default=None,
              help="layout of the results: numerator, denominator, shape (default), index or vec")
    @argument("--steps", action="store_true", help="show the derivation step by step (differentials and backprop)")
    @argument("--code", nargs="?", const="numpy", default=None, choices=BACKENDS,
              help="show the cell as one function: numpy (default), torch or jax")
    @argument("--no-widget", dest="widget", action="store_false", default=True,
              help="static output only (no layout toggle, no live widget)")
    @argument("--latex", action="store_true", help="also print the raw LaTeX of the results, to copy")
    @argument("-n", "--name", default=None,
              help="bind the Derivation (with --eval: the evaluated derivatives) to NAME in the namespace")
    @argument("--force", action="store_true",
              help="let --name replace a builtin, a module or a function bound to that name")
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
        different).  Results print in the cell's own language (𝟏, I, ⊙, ^∘2,
        δ₁ = …), so a printed result can be pasted back, e.g. into a claim.
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
        from .api import without_surrogates
        from .claims import ClaimFailed

        layout = args.layout or self.layout
        name = None
        if args.name is not None:
            name, renamed = binding_name(args.name, self.shell, args.force)
            if renamed:
                print(renamed)
        points = self.points if args.points is None else args.points
        if points < 1:
            raise UsageError("--points must be at least 1")
        source = without_surrogates(source)
        _load_engine()  # before the clock starts: imports must never be cut in half
        try:
            # The derivation is a plain output, whole without any widget model or
            # kernel.  In a Jupyter front end it also carries every layout as data,
            # which the JupyterLab extension renders with a toggle even when the
            # kernel is gone, and the live widget sits beside it.
            interactive = args.widget and self._widgets_available()
            with time_limit(self.timeout), working_on("reading the cell"):
                output, values = self._derive_and_check(source, args, layout, points, line_offset, magic,
                                                        L.LAYOUTS if interactive else (layout,))
                shown = Shown(output, layout, interactive=interactive)
                with working_on("rendering the output"):
                    shown.bundle()  # render once here: a rendering bug must fail the cell, not vanish in a formatter
        except MatcalcError as e:
            if e.source is None:
                e.with_source(source)
            raise MderiveError(e, line_offset, magic) from None
        except TimeLimit as stop:
            raise MderiveError(self._stopped(stop, source), line_offset, magic) from None
        except RecursionError:
            raise MderiveError(MatcalcError(TOO_DEEP, None, source), line_offset, magic) from None
        except Exception as e:  # noqa: BLE001 - a bug must not show the user a traceback: say where it happened
            raise MderiveError(_internal_error(e, source), line_offset, magic) from None

        shown.show()
        widget = None
        if interactive:
            from IPython.display import display

            from .widgets import DerivationWidget

            widget = DerivationWidget(output, shown=shown)
            display(widget)
        if args.latex:
            print(output.latex_source(layout))
        if name:
            self.shell.user_ns[name] = values if values is not None else output.derivation
        self.last_output = output
        self.last_shown = shown
        self.last_widget = widget
        if any(c is not None and not c.ok for c in output.checks):
            raise CheckFailed(output, magic)
        failed = output.failed_claims
        if failed:
            raise ClaimFailed(failed, magic, line_offset if magic == "%%mderive" else None)
        return values

    def _derive_and_check(self, source, args, layout, points, line_offset, magic, layouts):
        """Everything that may take long, under the cell's time limit: derive,
        bind, judge the claims, check, and print in ``layouts``."""
        from .api import derive
        from .claims import gather

        derivation = derive(source, layout)
        binding = bind_namespace(derivation.cell, self.shell.user_ns, source) if args.bind else Binding()
        check_env = check_sizes = None
        if binding:  # also check at the user's arrays (or at least at their sizes)
            check_env = dict(binding.env)
            check_sizes = complete_sizes(derivation.cell.dims, binding.sizes)
        with working_on("judging the claims"):
            claims = gather(derivation, points=points, env=check_env, sizes=check_sizes)
        checks, note = [None] * len(derivation.results), ""
        if args.check:
            checks, note = self._check_results(derivation, points, check_env, check_sizes)
        values = evaluate_results(derivation, layout, binding) if args.evaluate else None
        output = CellOutput(derivation, layout, checks=checks, claims=claims, binding=binding,
                            steps=args.steps, code=args.code, html=self.html,
                            line_offset=line_offset if magic == "%%mderive" else None, note=note)
        for r in derivation.results:  # print each result here (views keep it), so a slow one is named
            with working_on(f"printing {r.request.text}", r.request.span):
                for shown_layout in layouts:
                    r.view(shown_layout).latex, r.view(shown_layout).text
        return output, values

    def _check_results(self, derivation, points, env, sizes) -> tuple[list, str]:
        """The numeric check of each result, in order, until the cell's time for
        checks is spent; the rest are left unchecked, and the note says so."""
        budget = self.check_time if self.check_time > 0 else float("inf")
        left = remaining()
        if left is not None:
            budget = min(budget, left / 2)  # the other half is for printing what was found
        stop = time.monotonic() + budget
        results = derivation.results
        checks = []
        for r in results:
            if checks and time.monotonic() > stop:
                break
            with working_on(f"checking {r.request.text} numerically", r.request.span):
                checks.append(r.check(points=points, env=env, sizes=sizes))
        skipped = len(results) - len(checks)
        if not skipped:
            return checks, ""
        note = (f"numeric checks: the first {len(checks):,} of {len(results):,} results were checked; "
                f"the other {skipped:,} were not, as the {budget:.3g} s this cell has for checks ran out "
                "(%config MatcalcMagics.check_time)")
        return checks + [None] * skipped, note

    def _stopped(self, stop: TimeLimit, source: str) -> MatcalcError:
        task = stop.task
        doing = f" while {task.what}" if task is not None else ""
        return MatcalcError(
            f"stopped after {self.timeout:g} s{doing}", task.span if task is not None else None, source,
            hint="simplify or split this line, or raise the limit: %config MatcalcMagics.timeout = 60")

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
