"""``check_derivatives(**arrays)``: the generated function checked against
central finite differences of its own values, in NumPy float64 whatever the
backend (as matrixcalculus.org's generated code checks its gradient).

Each result is turned back into the tensor T[p, q, r, s] = ∂Y_pq/∂X_rs
(∂²J/∂X_pq∂X_rs for a Hessian, (∇²J v)_rs for a Hessian-vector product) by
the inverse of its layout, then contracted with a few directions and
compared with the differences of the value along them.
"""

from __future__ import annotations

from ..layouts import index_dims
from .names import value_name
from .printer import CodePrinter
from .program import Program

#: the layout's array → T, per kind; ``{a}`` is the array, p×q the value's
#: shape, r×s the variable's (a tensor in the denominator layout is handled apart)
_TO_TENSOR = {
    ("gradient", "numerator"): "{a}.T.reshape(1, 1, r, s)",
    ("gradient", "vec"): "{a}.reshape(s, r).T.reshape(1, 1, r, s)",
    ("gradient", None): "{a}.reshape(1, 1, r, s)",
    ("by-scalar", "denominator"): "{a}.T.reshape(p, q, 1, 1)",
    ("by-scalar", "vec"): "{a}.reshape(q, p).T.reshape(p, q, 1, 1)",
    ("by-scalar", None): "{a}.reshape(p, q, 1, 1)",
    ("jacobian", "denominator"): "{a}.T.reshape(p, q, r, s)",
    ("jacobian", None): "{a}.reshape(p, q, r, s)",
    ("hessian", "index"): "{a}.reshape(r, s, r, s)",
    ("hessian", None): "{a}.reshape(s, r, s, r).transpose(1, 0, 3, 2)",
    ("tensor", "vec"): "{a}.reshape(q, p, s, r).transpose(1, 0, 3, 2)",
    ("tensor", None): "{a}.reshape(p, q, r, s)",
}

_FUNCTIONS = '''\
def _as2d(a, row=False):
    a = _numpy(a)
    return a.reshape((1, -1) if row else (-1, 1)) if a.ndim < 2 else a


def _directions(x, rng, symmetric=False, limit=8):
    """The basis of x's space (E_ab + E_ba for a symmetric x), or ``limit``
    random unit directions in it."""
    r, s = x.shape
    if x.size <= limit:
        out = []
        for b in range(s):
            for a in range(r):
                if symmetric and a > b:
                    continue
                e = np.zeros((r, s))
                e[a, b] = 1.0
                out.append(e + e.T if symmetric and a != b else e)
        return out
    out = [rng.standard_normal((r, s)) for _ in range(limit)]
    return [e + e.T if symmetric else e for e in out]


def _first_order(f, x, tensor, dirs, h=1e-6):
    """(max |T·e − (f(x + h e) − f(x − h e)) / 2h| over the directions,
    relative; the tolerance 1e-6 plus what rounding in f can explain)."""
    err = allowance = 0.0
    for e in dirs:
        plus, minus = f(x + h * e), f(x - h * e)
        fd = (plus - minus) / (2 * h)
        got = np.tensordot(tensor, e, axes=([2, 3], [0, 1]))
        scale = max(1.0, np.max(np.abs(fd)))
        err = max(err, np.max(np.abs(got - fd)) / scale)
        allowance = max(allowance, 8 * np.finfo(float).eps * np.max(np.abs(plus), initial=1.0) / h / scale)
    return float(err), 1e-6 + allowance


def _second(f, x, a, b, h=1e-4):
    return (f(x + h * a + h * b) - f(x + h * a - h * b) - f(x - h * a + h * b) + f(x - h * a - h * b)).item() / (
        4 * h * h)


def _second_order(f, x, hessian, dirs, along=None):
    """(the error of aᵀ H b (a Hessian), or of eᵀ (H v) (a Hessian-vector
    product, ``along`` = v), against directional second differences, relative;
    the tolerance 1e-4)."""
    err, scale = 0.0, 1.0
    pairs = [(along, e) for e in dirs] if along is not None else [(a, b) for a in dirs[:4] for b in dirs[:4]]
    for a, b in pairs:
        fd = _second(f, x, a, b)
        if along is not None:
            got = np.sum(b * hessian[0, 0])
        else:
            got = np.sum(a * np.tensordot(hessian, b, axes=([2, 3], [0, 1])))
        scale = max(scale, abs(fd))
        err = max(err, abs(got - fd))
    return float(err / scale), 1e-4'''


def check_source(program: Program, printer: CodePrinter, name: str = "derivatives") -> str:
    """Source of ``check_derivatives(**arrays)`` for ``program`` (printed as
    ``name``); it needs that function's module around it."""
    forms = [f'"{p.py}": _as2d(arrays["{p.py}"]{", True" if p.form == "row" else ""})' for p in program.params]
    params = {p.name: p for p in program.params}
    lines = [
        "def check_derivatives(**arrays):",
        f'    """Compares every result of {name}(**arrays) with central finite differences of the',
        "    values at these arrays: returns {result: relative error} and raises AssertionError",
        '    where one exceeds 1e-6 (1e-4 for second derivatives)."""',
        "    x0 = {" + ", ".join(forms) + "}",
        f"    out = {{k: _numpy(v) for k, v in {name}(**x0).items()}}",
        "    rng = np.random.default_rng(0)",
        "    errors, tolerance = {}, {}",
    ]
    for o in program.outputs:
        if o.result is None:
            continue  # a function's value
        req, d = o.result.request, o.result.derivative
        if req.wrt_name not in params:
            continue  # a derivative by a defined name: its variable is no argument here
        wrt = params[req.wrt_name].py
        value = value_name(req)
        symmetric = bool(req.wrt.params[1] & {"symmetric", "spd", "psd"})
        lines += [
            f"    # {o.about}",
            f"    f = lambda x: _as2d({name}(**{{**x0, \"{wrt}\": x}})[\"{value}\"])",
            f"    p, q = _as2d(out[\"{value}\"]).shape",
            f"    r, s = x0[\"{wrt}\"].shape",
            f"    T = {_tensor(d, program.layout, o.key)}",
            f"    dirs = _directions(x0[\"{wrt}\"], rng, {symmetric})",
        ]
        if d.kind == "hessian":
            lines.append(f"    errors[\"{o.key}\"], tolerance[\"{o.key}\"] = _second_order(f, x0[\"{wrt}\"], T, dirs)")
        elif d.kind == "hvp":
            v = params[req.direction_name].py
            lines.append(f"    errors[\"{o.key}\"], tolerance[\"{o.key}\"] = "
                         f"_second_order(f, x0[\"{wrt}\"], T, dirs, along=x0[\"{v}\"])")
        else:
            lines.append(f"    errors[\"{o.key}\"], tolerance[\"{o.key}\"] = _first_order(f, x0[\"{wrt}\"], T, dirs)")
    lines += [
        "    failed = {k: e for k, e in errors.items() if not e <= tolerance[k]}",
        "    if failed:",
        "        raise AssertionError(f\"differs from finite differences: {failed}\")",
        "    return errors",
    ]
    head = [] if printer.xp == "np" else ["import numpy as np"]
    return "\n\n\n".join(["\n".join(head)] * bool(head) + [printer.to_numpy(), _FUNCTIONS, "\n".join(lines)]) + "\n"


def _tensor(d, layout: str, key: str) -> str:
    """Python turning ``out[key]`` back into T."""
    a = f'out["{key}"]'
    kind = d.kind
    if kind == "hvp":
        kind = "gradient"
    elif kind == "jacobian" and d.wrt.is_scalar:
        kind = "by-scalar"
    if kind == "tensor" and layout == "denominator":
        n_var, n_out = len(index_dims(d.wrt.shape)), len(index_dims(d.of.shape))
        order = ", ".join(map(str, [*range(n_var, n_var + n_out), *range(n_var)]))
        return f"{a}.transpose({order}).reshape(p, q, r, s)"
    template = _TO_TENSOR.get((kind, layout)) or _TO_TENSOR[(kind, None)]
    return template.format(a=a)
