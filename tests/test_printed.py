"""Every printed form is valid input: a view's text, parsed back with its
cell's declarations and definitions, has the view's value."""

from __future__ import annotations

import numpy as np
import pytest
from cells import CS224N

import matcalc_magic as mm
from matcalc_magic.api import bind
from matcalc_magic.evaluate import evaluate
from matcalc_magic.printed import parse_printed
from matcalc_magic.verify import draw_sizes, draw_value

LAYOUTS = ("numerator", "denominator", "shape", "vec")


def round_trip_error(view, seed: int = 0) -> float:
    """max |printed − view| at a random point respecting the declarations."""
    cell = view.result.cell
    rng = np.random.default_rng(seed)
    sizes = draw_sizes(cell.dims, rng, low=3, high=7)
    values = {name: draw_value(var, sizes, rng) for name, var in cell.variables.items()}
    values.update({str(k): v for k, v in sizes.items()})
    env, sizes = bind(cell, values)
    want = view.evaluate_at(env, sizes)
    got = evaluate(parse_printed(view), env, sizes)
    assert got.shape == want.shape, (view.text, got.shape, want.shape)
    return float(np.max(np.abs(got - want), initial=0.0))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_cs224n_gradients_read_back(layout):
    for result in mm.derive(CS224N):
        assert round_trip_error(result.view(layout)) < 1e-9, result.view(layout).text


def test_by_a_defined_name_the_name_stands_for_itself():
    """∂J/∂z is a function of z: the printed tanh(z) is read with z free."""
    res = mm.derive("x : n; W : m x n; z = W x; J = sum(tanh(z)); ∂J/∂z")
    parsed = parse_printed(res[0].view("shape"))
    assert parsed is res[0].view("shape").expr


def test_an_index_view_has_no_text_to_read_back():
    res = mm.derive("X : n x n; ∂X/∂X")
    with pytest.raises(mm.MatcalcError):
        parse_printed(res[0].view("index"))
