"""Property-based tests: for random valid parameters, every schedule stays finite,
inside its documented bounds, monotone where it promises to be, and without jumps
where its formula is continuous."""

import math

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import lrschedule as lrs

pytestmark = pytest.mark.slow

# The properties are the formulas'; the backends run the same ops. TensorFlow (the R
# stack's, and the first leg of `make test`) takes 40 examples each; JAX compiles every
# new schedule (~0.3 s each) and torch has its own leg too: they take 12.
EXAMPLES = 40 if keras.backend.backend() == "tensorflow" else 12
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
rates = st.floats(min_value=1e-6, max_value=10.0, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=1, max_value=400)
REL = 1e-5  # float32 evaluation against float64 bounds


def trajectory(schedule, steps):
    v = lrs.values(schedule, range(steps)).astype(np.float64)
    assert np.all(np.isfinite(v))
    return v


def le(a, b, scale):
    return np.all(a <= b + REL * scale)


@SETTINGS
@given(max_lr=rates, total=st.integers(20, 2000), pct=st.floats(0.05, 0.45),
       anneal=st.sampled_from(["cos", "linear"]), div=st.floats(1.5, 100),
       final_div=st.floats(1.0, 1e5), three=st.booleans())
def test_one_cycle_bounds_peak_and_no_jumps(max_lr, total, pct, anneal, div, final_div, three):
    assume(pct * total >= 3)  # shorter phases are refused by the constructor
    s = lrs.OneCycle(max_lr, total, pct_start=pct, anneal_strategy=anneal, div_factor=div,
                     final_div_factor=final_div, three_phase=three)
    v = trajectory(s, total + 10)
    low = max_lr / div / final_div
    assert le(v, max_lr, max_lr) and le(low, v, max_lr)
    # Holds the final rate (to float32 rounding: XLA rounds lanes of a vector apart).
    np.testing.assert_allclose([v[-1], v[total + 5]], v[total - 1], rtol=2**-22)
    assert abs(v[total - 1] - low) <= REL * max_lr
    up_end = pct * total - 1
    shortest = min(up_end, total - 1 - (2 * up_end + 1 if three else up_end))
    slope = (max_lr - low) * (math.pi / 2 if anneal == "cos" else 1.0) / shortest
    assert np.max(np.abs(np.diff(v))) <= slope * 1.0001 + REL * max_lr  # no jumps
    assert max_lr - v.max() <= slope + REL * max_lr  # reaches the peak within a step


@SETTINGS
@given(base=st.floats(0.0, 1.0), span=rates, up=counts, down=st.one_of(st.none(), counts),
       mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
       gamma=st.floats(0.9, 1.0))
def test_cyclic_bounds_period_and_decaying_amplitude(base, span, up, down, mode, gamma):
    top = base + span
    s = lrs.Cyclic(base, top, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma)
    period = up + (up if down is None else down)
    v = trajectory(s, 3 * period + 1)
    assert le(base, v, top) and le(v, top, top)
    peaks = v[[up, up + period, up + 2 * period]]
    if mode == "triangular":
        np.testing.assert_allclose(v[period:2 * period], v[:period], rtol=1e-5, atol=1e-6 * top)
        np.testing.assert_allclose(peaks, top, rtol=1e-5)
    else:
        assert np.all(np.diff(peaks) <= REL * top)
    slope = span / min(up, period - up)
    assert np.max(np.abs(np.diff(v))) <= slope * 1.0001 + REL * top


@SETTINGS
@given(lr=rates, size=counts, gamma=st.floats(0.01, 0.99),
       milestones=st.lists(st.integers(1, 1000), min_size=1, max_size=6, unique=True))
@example(lr=1.0, size=43, gamma=0.49444491070390956, milestones=[1])
def test_step_decays_are_monotone_powers_of_gamma(lr, size, gamma, milestones):
    milestones = sorted(milestones)
    steps = 1200
    k = np.arange(steps)
    decays = {
        "step": (lrs.StepDecay(lr, size, gamma), k // size),
        "multistep": (lrs.MultiStepDecay(lr, milestones, gamma),
                      np.searchsorted(milestones, k, side="right")),
    }
    for schedule, exponent in decays.values():
        v = trajectory(schedule, steps)
        # Non-increasing, up to one float32 ulp: torch computes the SIMD lanes and the
        # tail of a vector with different pow() code, so equal exponents can differ by
        # an ulp (seen: StepDecay(1.0, 43, 0.494) at steps 1183/1184 of 1200).
        assert np.all(np.diff(v) <= v[:-1] * 2.0 ** -23)
        expected = lr * np.power(gamma, exponent.astype(np.float64))
        keep = expected > 1e-30  # before float32 underflow
        np.testing.assert_allclose(v[keep], expected[keep], rtol=2e-5)
    # MultiStepDecay drops exactly at the milestones
    v = trajectory(lrs.MultiStepDecay(lr, milestones, gamma), steps)
    drops = np.flatnonzero(np.diff(v) < -v[:-1] * 2.0 ** -22) + 1
    assert drops.tolist() == milestones


@SETTINGS
@given(lr=rates, warm=st.integers(0, 200), stable=st.integers(0, 200), decay=st.integers(0, 200),
       warm_type=st.sampled_from(["linear", "cosine", "1-sqrt"]),
       decay_type=st.sampled_from(["linear", "cosine", "1-sqrt"]), floor=st.floats(0, 1))
def test_wsd_rises_holds_then_falls_to_its_floor(lr, warm, stable, decay, warm_type, decay_type,
                                                 floor):
    s = lrs.WarmupStableDecay(lr, warm, stable, decay, warmup_type=warm_type,
                              decay_type=decay_type, min_lr_ratio=floor)
    total = warm + stable + decay
    v = trajectory(s, total + 20)
    assert le(v, lr, lr) and le(floor * lr, v, lr)
    rising = v[: warm + 1] if stable + decay > 0 else v[:warm]  # else it ends at the floor
    assert np.all(np.diff(rising) >= -REL * lr)
    np.testing.assert_allclose(v[warm: warm + stable], lr, rtol=1e-6)
    assert np.all(np.diff(v[warm + stable:]) <= REL * lr)
    np.testing.assert_allclose(v[total:], floor * lr, rtol=1e-5, atol=1e-12)


@SETTINGS
@given(lr=rates, warm=st.integers(0, 500), timescale=st.one_of(st.none(), counts))
def test_inverse_sqrt_peaks_at_warmup_end_then_decays(lr, warm, timescale):
    s = lrs.InverseSqrt(lr, warm, timescale)
    v = trajectory(s, warm + 500)
    assert le(v, lr, lr) and np.all(v >= 0)
    assert np.all(np.diff(v[: warm + 1]) >= 0)
    assert abs(v[warm] - lr) <= REL * lr
    assert np.all(np.diff(v[warm:]) <= REL * lr)


@SETTINGS
@given(start=st.floats(0.0, 1.0), end=st.floats(0.0, 1.0), total=counts, warm=counts)
def test_linear_and_warmup_interpolate_monotonically_and_join(start, end, total, warm):
    v = trajectory(lrs.Linear(start, end, total), total + 5)
    lo, hi = min(start, end), max(start, end)
    assert le(lo, v, 1.0) and le(v, hi, 1.0)
    d = np.diff(v)
    assert np.all(d * np.sign(end - start) >= -REL)
    inner = lrs.Cyclic(0.1, 0.5, step_size_up=7)
    w = trajectory(lrs.Warmup(inner, warm, start_learning_rate=start), warm + 30)
    np.testing.assert_allclose(w[warm:], trajectory(inner, 30), rtol=1e-6)
    ramp = w[: warm + 1]
    assert np.all(np.diff(ramp) * np.sign(0.1 - start) >= -REL)


@SETTINGS
@given(table=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=50),
       per_epoch=st.integers(1, 50))
def test_tabulated_and_per_epoch_read_the_table(table, per_epoch):
    t = lrs.Tabulated(table)
    v = trajectory(t, len(table) + 5)
    np.testing.assert_allclose(v, np.float32(table + [table[-1]] * 5))
    p = trajectory(lrs.PerEpoch(t, per_epoch), per_epoch * (len(table) + 1))
    np.testing.assert_array_equal(p, np.repeat(v[: len(table) + 1], per_epoch))


@SETTINGS
@given(pieces=st.lists(st.tuples(rates, st.integers(1, 100)), min_size=1, max_size=5))
def test_sequence_restarts_each_piece_at_its_own_step_zero(pieces):
    schedules = [lrs.StepDecay(lr, 3, 0.5) for lr, _ in pieces]
    boundaries = list(np.cumsum([n for _, n in pieces])[:-1])
    v = trajectory(lrs.Sequence(schedules, boundaries), sum(n for _, n in pieces))
    starts = [0] + boundaries
    for (lr, n), b in zip(pieces, starts):
        np.testing.assert_allclose(v[b: b + n], trajectory(lrs.StepDecay(lr, 3, 0.5), n),
                                   rtol=1e-6)
