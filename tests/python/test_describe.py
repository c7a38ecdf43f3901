"""Every schedule says what it is (`Schedule.horizon()`, `lengths_wanted()`,
`display_span()`, `is_stepwise()`; Keras's six through `schedules.describe()`), and what
it says is true of its rates.

Checked against the rates themselves, for one example of every class (catalogue.py,
which takes a new class's first reference case): a schedule that "ends" at step h holds
its final rate from h on and was still moving before; one that "steps" makes its last
change at h; a stepwise one never changes at two consecutive steps, a moving one does;
a plot's default span covers the horizon. A new class that says nothing fails here,
unless listed below with the reason.
"""

import keras
import numpy as np
import pytest

import lrschedule as lrs
from catalogue import catalogue
from lrschedule import schedules

# Classes whose shape their arguments cannot tell: read from their rates.
SHAPE_FROM_RATES = {"Tabulated": "a table of any rates"}


def rates(schedule, steps):
    return np.asarray(lrs.values(schedule, steps), dtype=np.float64)


def moved(a, b):
    """Where two rates differ by more than float32 rounding (a vectorized evaluation may
    round the same formula an ulp apart at different positions of one array)."""
    return ~np.isclose(a, b, rtol=1e-6, atol=0)


@pytest.mark.parametrize("name, schedule", catalogue(), ids=[i for i, _ in catalogue()])
def test_a_horizon_is_where_the_rates_stop_changing(name, schedule):
    found = lrs.horizon(schedule)
    if found is None:
        return
    h, kind = found
    tail = rates(schedule, range(h, h + 60))
    assert not np.any(moved(tail, tail[0])), f"{name}: the rate still changes after its horizon {h}"
    if kind == "ends":
        # still moving shortly before (a counter in updates of k micro-batches, or a
        # OneCycle's last step at total_steps - 1, reach the end a few steps early)
        before = rates(schedule, range(0, h))
        last_move = np.nonzero(moved(before, tail[0]))[0].max()
        assert last_move >= h - max(5, int(np.ceil(0.05 * h))), (
            f"{name}: at its final rate from step {last_move + 1}, long before its horizon {h}")
    else:
        assert moved(rates(schedule, h - 1), tail[0]), f"{name}: no change at its last step {h}"


@pytest.mark.parametrize("name, schedule", catalogue(), ids=[i for i, _ in catalogue()])
def test_the_shape_said_is_the_shape_of_the_rates(name, schedule):
    said = schedules.stepwise(schedule)
    if type(schedule).__name__ in SHAPE_FROM_RATES:
        assert said is None
        return
    assert said is not None, (f"{type(schedule).__name__} does not say whether it is stepwise: "
                              "give it an is_stepwise() method")
    r = rates(schedule, lrs.inspection.default_steps(schedule))
    changes = moved(r[1:], r[:-1])
    consecutive = bool(np.any(changes[1:] & changes[:-1]))
    assert consecutive is not said, (
        f"{name} says stepwise={said}, but its rates {'do' if consecutive else 'never'} "
        "change at two consecutive steps")


@pytest.mark.parametrize("name, schedule", catalogue(), ids=[i for i, _ in catalogue()])
def test_the_default_span_shows_the_whole_schedule(name, schedule):
    shown = len(lrs.inspection.default_steps(schedule))
    found = lrs.horizon(schedule)
    if found is not None:
        assert shown >= found[0], f"{name}: a plot of {shown} steps stops before its end {found[0]}"
    span = schedules.display_span(schedule)
    assert span == 0 or shown == max(span, 2) or span < 2
    # a length known from the arguments: nothing waits for fit()
    assert schedules.lengths_wanted(schedule) == []


def test_every_class_of_ours_says_its_shape_in_its_own_class():
    silent = []
    for name in schedules.__all__:
        cls = getattr(schedules, name)
        if not (isinstance(cls, type) and issubclass(cls, schedules.Schedule)) or \
                cls is schedules.Schedule:
            continue
        says = cls.is_stepwise is not schedules.Schedule.is_stepwise or \
            issubclass(cls, schedules._Wrapping)
        if not says and name not in SHAPE_FROM_RATES:
            silent.append(name)
    assert not silent, f"schedule classes that do not say whether they are stepwise: {silent}"


def test_wrappers_map_the_inner_schedules_steps():
    inner = lrs.OneCycle(0.1, total_steps=100)
    assert lrs.horizon(lrs.Warmup(inner, 10)) == (110, "ends")
    assert lrs.horizon(lrs.PerEpoch(lrs.Linear(0.1, 0.0, total_steps=5), 20)) == (100, "ends")
    assert lrs.horizon(lrs.InUpdates(inner, 4)) == (400, "ends")
    assert lrs.horizon(lrs.Sequence([lrs.Constant(0.1), inner], [30])) == (130, "ends")
    assert lrs.horizon(lrs.Sequence([inner, 0.01], [100])) == (100, "steps")
    assert lrs.horizon(lrs.Scaled(inner, 0.5)) == (100, "ends")
    # a plot of a lengthened schedule shows it to its new end
    assert len(lrs.inspection.default_steps(lrs.extend(inner, 60, 150))) == 150


def test_a_users_wrapper_passes_on_its_length_and_shape_but_no_horizon():
    class Halved(keras.optimizers.schedules.LearningRateSchedule):
        def __init__(self, schedule):
            self.schedule = schedule

        def __call__(self, step):
            return self.schedule(step) / 2

    wrapped = Halved(lrs.OneCycle(0.1))
    assert lrs.schedules.takes_length(wrapped)
    assert lrs.horizon(Halved(lrs.OneCycle(0.1, total_steps=50))) is None
    assert lrs.inspection.is_stepwise(Halved(lrs.StepDecay(0.1, 10)))
    assert len(lrs.inspection.default_steps(Halved(lrs.StepDecay(0.1, 10)))) == 40
