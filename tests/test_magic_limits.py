"""The magic never hangs and never breaks the session: a time limit that
names the line it stopped on, a bounded time for the numeric checks of a
cell, ``--name`` that cannot overwrite what the session needs, and one message
for a bug instead of a traceback."""

from __future__ import annotations

import re
import signal
import time

import pytest

import matcalc_magic as mm
from matcalc_magic.magics import MderiveError
from test_magic import SEED, ip, run, shell, the_bundle, visible_names  # noqa: F401  (fixtures)


def plain_text(cap) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", cap.stdout + cap.stderr)


@pytest.fixture
def settings(ip):
    magics = ip.magics_manager.registry["MatcalcMagics"]
    saved = (magics.timeout, magics.check_time)
    yield magics
    magics.timeout, magics.check_time = saved


def chain(length: int) -> str:
    lines = ["x : n", "W : n x n"] + [f"h{k} = tanh(W {'x' if k == 1 else f'h{k - 1}'})" for k in range(1, length + 1)]
    return "\n".join(lines + [f"J = sum(h{length})", "∂J/∂x"])


# ====================================================================== the time limit
def test_a_derivation_past_the_time_limit_stops_at_its_line(ip, settings, monkeypatch):
    from matcalc_magic.calculus import derivative

    def slow(*args, **kw):
        time.sleep(30)

    assert run(ip, "%%mderive\n" + SEED)[0].success  # the engine is loaded (outside the limit) before the patch
    monkeypatch.setattr(derivative, "derive_one", slow)
    settings.timeout = 0.5
    before = visible_names(ip)
    handler = signal.getsignal(signal.SIGALRM)
    t = time.perf_counter()
    result, cap = run(ip, "%%mderive --name D\nx : n\nA : n x n\nJ = x^T A x\n∂J/∂x\n")
    elapsed = time.perf_counter() - t
    assert elapsed < 10  # a prompt answer, not the 30 s of the rule
    assert isinstance(result.error_in_exec, MderiveError)
    text = plain_text(cap)
    assert "MatcalcError in %%mderive: line 5, column 1: stopped after 0.5 s while differentiating ∂J/∂x" in text
    assert "5 | ∂J/∂x\n    ^^^^^" in text
    assert "%config MatcalcMagics.timeout" in text
    assert "Traceback" not in text and 'File "' not in text
    assert visible_names(ip) == before
    # the alarm is gone and the handler restored
    assert signal.getsignal(signal.SIGALRM) is handler
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_a_long_real_derivation_stops_and_the_kernel_goes_on_unchanged(ip, settings):
    result, cap = run(ip, "%%mderive\n" + SEED)
    assert result.success
    fresh = the_bundle(cap)
    settings.timeout = 0.3
    t = time.perf_counter()
    result, cap = run(ip, "%%mderive\n" + chain(3000))
    assert time.perf_counter() - t < 15
    assert isinstance(result.error_in_exec, MderiveError)
    message = plain_text(cap)
    assert re.search(r"line \d+, column \d+: stopped after 0.3 s while (reading this line|differentiating ∂J/∂x|"
                     r"checking ∂J/∂x numerically|printing ∂J/∂x)\n\d+ \| .*\n +\^", message), message
    # nothing the interrupted cell left behind changes what later cells print
    settings.timeout = 10
    result, cap = run(ip, "%%mderive\n" + SEED)
    assert result.success and the_bundle(cap) == fresh
    result, cap = run(ip, "%%mderive\n" + chain(20))
    assert result.success and "✓ checked numerically" in the_bundle(cap)["text/plain"]


def test_no_time_limit_when_set_to_zero(ip, settings):
    settings.timeout = 0
    result, _ = run(ip, "%%mderive\n" + SEED)
    assert result.success
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_the_time_limit_gives_a_running_timer_back(ip, settings, monkeypatch):
    """Someone else's interval timer (pytest-timeout, the user's own alarm)
    keeps its handler and gets back the time it had left."""
    fired = []

    def theirs(*_):
        fired.append(1)

    previous = signal.signal(signal.SIGALRM, theirs)
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        settings.timeout = 5
        result, _ = run(ip, "%%mderive\n" + SEED)
        assert result.success
        assert 20 < signal.getitimer(signal.ITIMER_REAL)[0] < 30  # still armed, with what it had left
        assert signal.getsignal(signal.SIGALRM) is theirs
        # and a limit longer than their timer leaves theirs to fire first
        settings.timeout = 60
        assert run(ip, "%%mderive\n" + SEED)[0].success
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == []


def test_the_time_limit_stops_a_cell_under_someone_elses_timer(ip, settings, monkeypatch):
    from matcalc_magic.calculus import derivative

    assert run(ip, "%%mderive\n" + SEED)[0].success
    monkeypatch.setattr(derivative, "derive_one", lambda *a, **k: time.sleep(30))
    previous = signal.signal(signal.SIGALRM, lambda *a: None)
    signal.setitimer(signal.ITIMER_REAL, 100)
    try:
        settings.timeout = 0.5
        t = time.perf_counter()
        result, cap = run(ip, "%%mderive\n" + SEED)
        assert time.perf_counter() - t < 10
        assert "stopped after 0.5 s while differentiating ∂J/∂W" in plain_text(cap)
        assert 80 < signal.getitimer(signal.ITIMER_REAL)[0] < 100
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ====================================================================== the time for checks
def test_checks_stop_when_the_cells_time_for_them_is_spent(ip, settings):
    settings.check_time = 0.2
    requests = "\n".join(f"∂(x^T A x + {k})/∂x" for k in range(1, 301))
    result, cap = run(ip, "%%mderive\nx : n\nA : n x n\n" + requests)
    assert result.success
    plain = the_bundle(cap)["text/plain"]
    m = re.search(r"numeric checks: the first (\d+) of 300 results were checked; the other (\d+) were not, "
                  r"as the 0.2 s this cell has for checks ran out \(%config MatcalcMagics.check_time\)", plain)
    assert m, plain[:500]
    checked, skipped = int(m.group(1)), int(m.group(2))
    assert checked >= 1 and checked + skipped == 300 and skipped > 0
    assert plain.count("✓ checked numerically") == checked
    assert plain.count("not checked numerically") == skipped
    assert m.group(0) in the_bundle(cap)["text/html"]


def test_a_cell_within_its_time_for_checks_says_nothing_about_it(ip):
    result, cap = run(ip, "%%mderive\n" + SEED)
    assert "numeric checks:" not in the_bundle(cap)["text/plain"]


# ====================================================================== --name
@pytest.mark.parametrize("name, says", [
    ("__builtins__", "one of IPython's own names"),
    ("get_ipython", "one of IPython's own names"),
    ("In", "one of IPython's own names"),
    ("Out", "one of IPython's own names"),
    ("exit", "one of IPython's own names"),
    ("open", "one of IPython's own names"),
    ("_", "one of IPython's own names"),
    ("_i3", "one of IPython's own names"),
    ("_7", "one of IPython's own names"),
    ("__name__", "one of IPython's own names"),
    ("print", "a Python builtin; choose another name, or add --force"),
    ("len", "a Python builtin"),
    ("for", "needs a Python identifier"),
    ("2bad", "needs a Python identifier"),
])
def test_name_refuses_what_the_session_needs(ip, name, says):
    before = dict(ip.user_ns)
    result, cap = run(ip, f"%%mderive --name {name}\n" + SEED)
    assert not result.success
    assert says in plain_text(cap) and "Traceback" not in plain_text(cap)
    assert {k: v for k, v in ip.user_ns.items() if not k.startswith("_")} == \
        {k: v for k, v in before.items() if not k.startswith("_")}
    # the session still works
    assert run(ip, "%%mderive\n" + SEED)[0].success
    assert ip.user_ns["get_ipython"]() is ip


def test_name_refuses_modules_and_functions_unless_forced(ip):
    run(ip, "import numpy as np\ndef helper(): return 1")
    for name, what in (("np", "the module numpy"), ("helper", "a function or class")):
        result, cap = run(ip, f"%%mderive --name {name}\n" + SEED)
        assert not result.success and f"{name} is {what}" in plain_text(cap)
    import numpy

    assert ip.user_ns["np"] is numpy
    result, _ = run(ip, "%%mderive --name np --force\n" + SEED)
    assert result.success and isinstance(ip.user_ns["np"], mm.api.Derivation)
    for name in ("np", "helper"):
        ip.user_ns.pop(name)


def test_name_may_rebind_a_derivation_and_data(ip):
    run(ip, "D = 3")
    assert run(ip, "%%mderive --name D\n" + SEED)[0].success
    assert run(ip, "%%mderive --name D\n" + SEED)[0].success  # re-running a cell rebinds its result
    assert isinstance(ip.user_ns.pop("D"), mm.api.Derivation)


@pytest.mark.parametrize("typed, bound", [("ℓ", "l"), ("ｘ", "x"), ("ﬁt", "fit")])
def test_name_is_bound_as_python_reads_it(ip, typed, bound):
    result, cap = run(ip, f"%%mderive --name {typed}\n" + SEED)
    assert result.success
    assert f"--name {typed}: Python reads this name as {bound} (NFKC normalisation)" in cap.stdout
    assert isinstance(ip.user_ns.pop(bound), mm.api.Derivation)
    assert typed not in ip.user_ns


def test_an_array_named_as_python_reads_a_declared_name_is_bound(ip):
    """``ℓ = np.ones(3)`` binds ``l`` in Python; the cell's ``ℓ`` finds it."""
    run(ip, "import numpy\nℓ = numpy.ones((3, 1))")
    result, cap = run(ip, "%%mderive\nℓ : n\n∂(ℓ^T ℓ)/∂ℓ")
    assert result.success and "n = 3" in the_bundle(cap)["text/plain"]
    ip.user_ns.pop("l")


# ====================================================================== bugs
def test_a_bug_is_one_message_at_the_line_it_happened_on(ip, monkeypatch):
    def broken(self):
        raise ValueError("δ_aa in an index form")

    monkeypatch.setattr(mm.api.View, "rhs_text", property(broken))
    result, cap = run(ip, "%%mderive\n" + SEED)
    assert isinstance(result.error_in_exec, MderiveError)
    text = plain_text(cap)
    # the check reads the printed form back, so a printing bug may surface there first
    assert re.search(r"line 6, column 1: internal error while (printing|checking) ∂J/∂W( numerically)?: "
                     r"ValueError: δ_aa in an index form", text), text
    assert "this is a bug in matcalc_magic; please report it" in text
    assert "Traceback" not in text and 'File "' not in text
