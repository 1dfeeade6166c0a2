"""Generated code against hand-written closed forms and autodiff.

For each case the cell is derived and ``Derivation.code`` generates one
function per backend; every contender computes the same outputs (the value
and the requested derivatives) from the same float64 arrays:

* the generated NumPy, PyTorch and JAX (under ``jax.jit``) functions;
* the closed form a careful human writes in NumPy;
* ``jax.jit`` of JAX's autodiff (``value_and_grad``, or the value and
  ``jax.hessian``) and ``torch.func`` (``grad_and_value``, ``hessian``).

Every contender's result is compared with the hand-written one before timing.
Calls are interleaved (one of each contender per round, the order rotating),
on one thread (``threadpoolctl`` for NumPy's BLAS, ``torch.set_num_threads``,
XLA's flags for JAX), and each figure is the median over the rounds after
warm-up calls (JAX's compilation happens there).  Ratios are to the
hand-written closed form of the same round.

Goal: generated NumPy within 1.2× of the hand-written closed form on every
row, and ahead of ``jax.jit`` autodiff on every row.

    python bench/bench_codegen.py               # a few minutes
    python bench/bench_codegen.py --quick       # fewer rounds
    python bench/bench_codegen.py --json codegen.json --only lr-hessian-100,logdet
"""

from __future__ import annotations

import os

# One thread everywhere; XLA reads its flags when JAX is first imported.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common as C  # noqa: E402

GOAL_HAND = 1.2  # generated NumPy / hand-written, at most
#: wall time, and this process's CPU time (all its threads), which the other
#: load of a shared machine inflates much less
CLOCKS = ("cpu", "wall")
CLOCK_TITLES = {"cpu": "CPU time of the process", "wall": "Wall time"}
CONTENDERS = ("hand", "numpy", "torch", "jax", "jax-autodiff", "torch-autodiff")
HEADINGS = {
    "hand": "hand-written closed form",
    "numpy": "generated NumPy",
    "torch": "generated torch",
    "jax": "generated JAX (jit)",
    "jax-autodiff": "jax.jit autodiff",
    "torch-autodiff": "torch.func autodiff",
}


# ====================================================================== the cases
LR_CELL = """\
X : m x n
y : m
w : n
p = σ(X w)
J = -(1/m) (y^T log(p) + (1 - y)^T log(1 - p))
{request}
"""

LOGDET_CELL = """\
X : n x n
A : n x n
f = log det(X) + tr(A X^{-1})
∂f/∂X
"""

CS224N_BATCH_CELL = """\
X : n x B
W : m x n
b1 : m
U : k x m
b2 : k
Y : k x B, onehot
Z = W X + b1
H = relu(Z)
Θ = U H + b2
Ŷ = softmax(Θ, axis=0)
J = CE(Y, Ŷ)
∂J/∂U, ∂J/∂b2, ∂J/∂W, ∂J/∂b1, ∂J/∂X
"""


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def lr_inputs(rng, m: int, n: int) -> dict:
    X = rng.standard_normal((m, n)) / np.sqrt(n)
    return {"X": X, "y": (rng.random(m) < 0.5).astype(float), "w": rng.standard_normal(n)}


def lr_hand_hessian(X, y, w):
    m = X.shape[0]
    p = _sigmoid(X @ w)
    J = -(y @ np.log(p) + (1 - y) @ np.log(1 - p)) / m
    return {"J": J, "d2J_dw2": (X.T * (p * (1 - p))) @ X / m}


def lr_hand_gradient(X, y, w):
    m = X.shape[0]
    p = _sigmoid(X @ w)
    J = -(y @ np.log(p) + (1 - y) @ np.log(1 - p)) / m
    return {"J": J, "dJ_dw": X.T @ (p - y) / m}


def lr_loss(xp, sigmoid):
    def loss(w, X, y):
        p = sigmoid(X @ w)
        return -(y @ xp.log(p) + (1 - y) @ xp.log(1 - p)) / X.shape[0]
    return loss


def logdet_inputs(rng, n: int) -> dict:
    return {"X": rng.standard_normal((n, n)) / np.sqrt(n) + 2 * np.eye(n), "A": rng.standard_normal((n, n))}


def logdet_hand(X, A):
    Xi = np.linalg.inv(X)
    XiT = Xi.T
    f = np.linalg.slogdet(X)[1] + np.sum(A * XiT)  # tr(A X⁻¹) without the product
    return {"f": f, "df_dX": XiT - XiT @ (A.T @ XiT)}


def logdet_value(xp, linalg):
    def value(X, A):
        return linalg.slogdet(X)[1] + xp.trace(A @ linalg.inv(X))
    return value


def cs224n_inputs(rng, n: int, m: int, k: int, B: int) -> dict:
    Y = np.zeros((k, B))
    Y[rng.integers(k, size=B), np.arange(B)] = 1.0
    return {"X": rng.standard_normal((n, B)), "W": rng.standard_normal((m, n)) / np.sqrt(n),
            "b1": rng.standard_normal(m) * 0.1, "U": rng.standard_normal((k, m)) / np.sqrt(m),
            "b2": rng.standard_normal(k) * 0.1, "Y": Y}


def cs224n_hand(X, W, b1, U, b2, Y):
    Z = W @ X + b1[:, None]
    H = np.maximum(Z, 0.0)
    T = U @ H + b2[:, None]
    S = T - T.max(axis=0)
    L = S - np.log(np.exp(S).sum(axis=0))  # log softmax, column by column
    J = -np.sum(Y * L)
    d1 = np.exp(L) - Y
    d2 = (U.T @ d1) * (Z > 0)
    return {"J": J, "dJ_dU": d1 @ H.T, "dJ_db2": d1.sum(axis=1), "dJ_dW": d2 @ X.T,
            "dJ_db1": d2.sum(axis=1), "dJ_dX": W.T @ d2}


def cs224n_loss(xp, relu, log_softmax):
    def loss(W, b1, U, b2, X, Y):
        H = relu(W @ X + b1[:, None])
        return -xp.sum(Y * log_softmax(U @ H + b2[:, None]))
    return loss


@dataclass
class Case:
    key: str
    title: str
    cell: str
    make_inputs: Callable  # rng -> {name: array}
    hand: Callable  # **inputs -> {output: array}
    autodiff: str  # "gradient" | "hessian" | "network"
    sizes: dict = field(default_factory=dict)


def cases(tiny: bool = False) -> list[Case]:
    def s(full, small):
        return small if tiny else full

    lr_h1, lr_h2, lr_g = (s(dict(m=1000, n=100), dict(m=20, n=4)), s(dict(m=1000, n=1000), dict(m=20, n=6)),
                          s(dict(m=1000, n=1000), dict(m=20, n=6)))
    ld = s(dict(n=500), dict(n=5))
    net = s(dict(n=784, m=256, k=10, B=128), dict(n=6, m=5, k=3, B=4))
    return [
        Case("lr-hessian-100", f"logistic-regression Hessian, m = {lr_h1['m']}, n = {lr_h1['n']}",
             LR_CELL.format(request="∂²J/∂w²"), lambda rng: lr_inputs(rng, **lr_h1), lr_hand_hessian, "hessian",
             lr_h1),
        Case("lr-hessian-1000", f"same, n = {lr_h2['n']}", LR_CELL.format(request="∂²J/∂w²"),
             lambda rng: lr_inputs(rng, **lr_h2), lr_hand_hessian, "hessian", lr_h2),
        Case("lr-gradient", f"logistic-regression gradient, n = {lr_g['n']} (m = {lr_g['m']})",
             LR_CELL.format(request="∂J/∂w"), lambda rng: lr_inputs(rng, **lr_g), lr_hand_gradient, "gradient",
             lr_g),
        Case("logdet", f"∇ of log det(X) + tr(A X⁻¹), n = {ld['n']}", LOGDET_CELL,
             lambda rng: logdet_inputs(rng, **ld), logdet_hand, "logdet", ld),
        Case("cs224n", "CS224n network, five gradients on a batch (n = {n}, m = {m}, k = {k}, B = {B})".format(**net),
             CS224N_BATCH_CELL, lambda rng: cs224n_inputs(rng, **net), cs224n_hand, "network", net),
    ]


# ====================================================================== the contenders
def generated(case: Case, backend: str) -> Callable:
    import matcalc_magic as mm

    code = mm.derive(case.cell).code(backend)
    scope: dict = {}
    exec(compile(code, f"<generated {backend}>", "exec"), scope)  # generated code, never cell text
    return scope["derivatives"]


def contenders(case: Case, inputs: dict) -> dict[str, Callable[[], dict]]:
    """name -> a call computing the value and the derivatives (block until done)."""
    import jax
    import jax.numpy as jnp
    import torch
    import torch.func as tf

    jx = {k: jnp.asarray(v) for k, v in inputs.items()}
    th = {k: torch.tensor(v) for k, v in inputs.items()}
    ours_np, ours_torch = generated(case, "numpy"), generated(case, "torch")
    ours_jax = jax.jit(generated(case, "jax"))

    def block(out):
        return jax.block_until_ready(out)

    out = {
        "hand": lambda: case.hand(**inputs),
        "numpy": lambda: ours_np(**inputs),
        "torch": lambda: ours_torch(**th),
        "jax": lambda: block(ours_jax(**jx)),
    }
    if case.autodiff in ("gradient", "hessian"):
        jloss, tloss = lr_loss(jnp, jax.nn.sigmoid), lr_loss(torch, torch.sigmoid)
        args_j, args_t = (jx["w"], jx["X"], jx["y"]), (th["w"], th["X"], th["y"])
        if case.autodiff == "gradient":
            jf = jax.jit(jax.value_and_grad(jloss))
            tg = tf.grad_and_value(tloss)
            out["jax-autodiff"] = lambda: block(jf(*args_j))
            out["torch-autodiff"] = lambda: tg(*args_t)
        else:
            jf = jax.jit(lambda *a: (jloss(*a), jax.hessian(jloss)(*a)))
            th_hess = tf.hessian(tloss)
            out["jax-autodiff"] = lambda: block(jf(*args_j))
            out["torch-autodiff"] = lambda: (tloss(*args_t), th_hess(*args_t))
    elif case.autodiff == "logdet":
        jval, tval = logdet_value(jnp, jnp.linalg), logdet_value(torch, torch.linalg)
        jf = jax.jit(jax.value_and_grad(jval))
        tg = tf.grad_and_value(tval)
        out["jax-autodiff"] = lambda: block(jf(jx["X"], jx["A"]))
        out["torch-autodiff"] = lambda: tg(th["X"], th["A"])
    else:  # the network: five gradients
        jloss = cs224n_loss(jnp, jax.nn.relu, lambda t: jax.nn.log_softmax(t, axis=0))
        tloss = cs224n_loss(torch, torch.relu, lambda t: torch.log_softmax(t, 0))
        order = ("W", "b1", "U", "b2", "X", "Y")
        jf = jax.jit(jax.value_and_grad(jloss, argnums=(0, 1, 2, 3, 4)))
        tg = tf.grad_and_value(tloss, argnums=(0, 1, 2, 3, 4))
        out["jax-autodiff"] = lambda: block(jf(*(jx[k] for k in order)))
        out["torch-autodiff"] = lambda: tg(*(th[k] for k in order))
    return out


# ====================================================================== verification
def _arrays(result) -> list[np.ndarray]:
    """A contender's outputs as flat float64 arrays, in a canonical order."""
    if isinstance(result, dict):
        items = list(result.values())
    else:
        items = _flatten(result)
    return [np.asarray(_to_numpy(a), dtype=float).ravel() for a in items]


def _flatten(x) -> list:
    if isinstance(x, (tuple, list)):
        return [y for item in x for y in _flatten(item)]
    return [x]


def _to_numpy(a):
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return a


def agrees(case: Case, name: str, result, reference: dict) -> bool:
    """Whether a contender computed the hand-written values (autodiff returns
    its outputs in its own order: matched by size and value)."""
    want = [np.asarray(v, dtype=float).ravel() for v in reference.values()]
    got = _arrays(result)
    remaining = list(got)
    for w in want:
        match = next((g for g in remaining if g.size == w.size and np.allclose(g, w, rtol=1e-7, atol=1e-9)), None)
        if match is None:
            return False
        remaining = [g for g in remaining if g is not match]
    return True


# ====================================================================== timing
def run_case(case: Case, rounds: int, warmup: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    inputs = case.make_inputs(rng)
    calls = contenders(case, inputs)
    reference = case.hand(**inputs)
    verified = {name: agrees(case, name, fn(), reference) for name, fn in calls.items()}
    for _ in range(warmup):
        for fn in calls.values():
            fn()
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate, so no one always goes first
        for name in order:
            gc.collect()
            c0, t0 = time.process_time(), time.perf_counter()
            calls[name]()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    out = {"key": case.key, "title": case.title, "sizes": case.sizes, "rounds": rounds, "verified": verified}
    for clock, samples in (("wall", wall), ("cpu", cpu)):
        medians = {name: statistics.median(s) for name, s in samples.items()}
        out[clock] = {"medians": medians, "ratios": {name: medians[name] / medians["hand"] for name in names},
                      "meets_hand_goal": medians["numpy"] / medians["hand"] <= GOAL_HAND,
                      "ahead_of_jax_autodiff": medians["numpy"] < medians["jax-autodiff"]}
    return out


def run(rounds: int = 25, warmup: int = 3, only=None, tiny: bool = False) -> dict:
    from threadpoolctl import threadpool_info, threadpool_limits
    import jax
    import torch

    jax.config.update("jax_enable_x64", True)
    torch.set_num_threads(1)
    selected = [c for c in cases(tiny) if not only or c.key in only]
    unknown = set(only or ()) - {c.key for c in cases(tiny)}
    if unknown:
        raise ValueError(f"unknown case(s): {', '.join(sorted(unknown))}")
    with threadpool_limits(limits=1):
        rows = [run_case(c, rounds, warmup) for c in selected]
        blas = [{k: p.get(k) for k in ("internal_api", "num_threads", "version")} for p in threadpool_info()]
    info = C.machine_info()
    info.update(torch=torch.__version__, jax=jax.__version__, blas=blas, torch_threads=torch.get_num_threads())
    return {"machine": info, "rows": rows,
            **{f"{clock}_all_meet_hand_goal": all(r[clock]["meets_hand_goal"] for r in rows) for clock in CLOCKS},
            **{f"{clock}_all_ahead_of_jax_autodiff": all(r[clock]["ahead_of_jax_autodiff"] for r in rows)
               for clock in CLOCKS}}


# ====================================================================== the report
def format_report(report: dict) -> str:
    lines = []
    rounds = report["rows"][0]["rounds"] if report["rows"] else 0
    for clock in CLOCKS:
        lines.append(f"{CLOCK_TITLES[clock]} (medians of {rounds} interleaved rounds, one thread, float64; "
                     "ratios to the hand-written closed form):")
        lines.append("")
        head = ["case"] + [HEADINGS[c] for c in CONTENDERS]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in report["rows"]:
            m = r[clock]
            cells = [r["title"]]
            for c in CONTENDERS:
                text = f"1× ({C.ms(m['medians'][c])})" if c == "hand" else f"{m['ratios'][c]:.2f}×"
                cells.append(text + ("" if r["verified"][c] else " (wrong values!)"))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        for r in report["rows"]:
            m = r[clock]
            verdict = [("within" if m["meets_hand_goal"] else "NOT within") + f" {GOAL_HAND}× of hand-written",
                       ("ahead of" if m["ahead_of_jax_autodiff"] else "NOT ahead of") + " jax.jit autodiff"]
            lines.append(f"- {r['key']}: generated NumPy {m['ratios']['numpy']:.2f}×, " + ", ".join(verdict))
        lines.append("")
    lines.append(C.machine_line(report["machine"]) + f"; torch {report['machine']['torch']}, "
                 f"jax {report['machine']['jax']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a rough figure)")
    ap.add_argument("--rounds", type=int, help="timed rounds (default 25, 7 with --quick)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed calls of each contender first (default 3)")
    ap.add_argument("--only", help="comma-separated cases: " + ", ".join(c.key for c in cases()))
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (for the smoke test: no meaningful timing)")
    ap.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    args = ap.parse_args(argv)
    rounds = args.rounds or (7 if args.quick else 25)
    only = args.only.split(",") if args.only else None
    report = run(rounds, args.warmup, only, args.tiny)
    print(format_report(report))
    if args.json:
        C.write_json(args.json, report)
    return 0


if __name__ == "__main__":
    C.ensure_importable()
    sys.exit(main())
