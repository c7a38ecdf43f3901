"""values() and plot(): any Keras schedule, vectorized."""

import keras
import matplotlib
import numpy as np
import pytest
from keras import ops

import lrschedule as lrs
from catalogue import catalogue

matplotlib.use("Agg")
K = keras.optimizers.schedules


def test_a_number_is_one_step_at_every_size():
    schedule = lrs.StepDecay(1.0, step_size=1, gamma=0.5)
    # values(s, 3) is the rate at step 3, not "3 steps": the length-dependent meaning
    # was misread by every new user.
    assert lrs.values(schedule, 3) == np.float32(0.125)
    assert np.ndim(lrs.values(schedule, 3)) == 0
    assert lrs.values(schedule, 0) == np.float32(1.0)
    assert lrs.values(schedule, np.int64(2)) == np.float32(0.25)
    assert lrs.values(schedule, 2.0) == np.float32(0.25)
    assert lrs.values(schedule, np.array(1)) == np.float32(0.5)
    assert lrs.values(schedule, 3).dtype == np.float32
    # past R's integers on TensorFlow; within int32 elsewhere (JAX without x64 computes
    # steps in int32, and Keras makes Python ints int32 tensors on torch)
    late = 2**40 if keras.backend.backend() == "tensorflow" else 2**30
    big = lrs.MultiStepDecay(1.0, milestones=[late], gamma=0.5)
    assert lrs.values(big, late) == np.float32(0.5)
    assert lrs.values(big, late - 1) == np.float32(1.0)


def test_ranges_lists_and_arrays_are_those_steps():
    schedule = lrs.StepDecay(1.0, step_size=1, gamma=0.5)
    np.testing.assert_array_equal(lrs.values(schedule, range(3)), [1.0, 0.5, 0.25])
    np.testing.assert_array_equal(lrs.values(schedule, range(1, 6, 2)), [0.5, 0.125, 0.03125])
    np.testing.assert_array_equal(lrs.values(schedule, range(2, -1, -1)), [0.25, 0.5, 1.0])
    np.testing.assert_array_equal(lrs.values(schedule, [2, 0]), [0.25, 1.0])
    np.testing.assert_array_equal(lrs.values(schedule, [3]), [0.125])
    np.testing.assert_array_equal(lrs.values(schedule, np.array([1.0, 3.0])), [0.5, 0.125])
    assert lrs.values(schedule, range(0)).shape == (0,)
    assert lrs.values(schedule, []).shape == (0,)
    assert lrs.values(schedule, range(3)).dtype == np.float32
    assert lrs.values(schedule, range(10**6)).shape == (10**6,)


@pytest.mark.backend_independent
def test_a_number_is_a_constant_rate():
    np.testing.assert_array_equal(lrs.values(0.01, range(3)), np.float32([0.01, 0.01, 0.01]))
    assert lrs.values(0.01, 7) == np.float32(0.01)


@pytest.mark.parametrize(
    "steps, error, text",
    [
        (-1, ValueError, "steps=-1"),
        (2.5, ValueError, "steps=2.5"),
        ([1, -2], ValueError, "steps=[1, -2]"),
        ([0.5], ValueError, "steps=[0.5]"),
        (np.zeros((2, 2)), ValueError, "steps="),
        (2**63, ValueError, "steps=9223372036854775808"),
        (range(-1, 3), ValueError, "steps=range(-1, 3)"),
        (range(2**31), ValueError, "steps=range(0, 2147483648)"),
        ("10", TypeError, "steps='10'"),
        (None, TypeError, "steps=None"),
        (["a"], TypeError, "steps=['a']"),
    ],
    ids=["negative", "fraction", "negative-element", "fractional-element", "matrix",
         "past-2**63", "negative-range", "range-past-2**31", "string", "none", "strings"],
)
@pytest.mark.backend_independent
def test_bad_steps(steps, error, text):
    with pytest.raises(error, match=r"Argument `steps`") as info:
        lrs.values(lrs.Constant(0.1), steps)
    assert text in str(info.value)


@pytest.mark.backend_independent
def test_bad_schedule():
    with pytest.raises(TypeError, match=r"Argument `schedule`.*Tabulated.from_function"):
        lrs.values(lambda s: 0.1, 10)
    with pytest.raises(ValueError, match=r"schedule=-1"):
        lrs.values(-1, 10)


def test_keras_cosine_with_warmup_is_vectorized_with_its_own_formulas():
    schedule = K.CosineDecay(0.0, decay_steps=10, alpha=0.1, warmup_target=1.0, warmup_steps=5)
    with pytest.raises(Exception):
        schedule(ops.convert_to_tensor(np.arange(3)))  # ops.cond refuses a vector
    steps = np.arange(20)
    expected = [float(ops.convert_to_numpy(schedule(int(s)))) for s in steps]
    np.testing.assert_allclose(lrs.values(schedule, steps), expected, rtol=1e-6)


class ScalarOnly(K.LearningRateSchedule):
    """A user schedule that branches in Python: it cannot take a vector."""

    def __call__(self, step):
        return ops.cond(step < 3, lambda: 0.1, lambda: 0.01)

    def get_config(self):
        return {}


def test_scalar_only_user_schedule_still_evaluates():
    np.testing.assert_allclose(lrs.values(ScalarOnly(), range(5)), [0.1, 0.1, 0.1, 0.01, 0.01],
                               rtol=1e-6)
    assert lrs.values(ScalarOnly(), 4) == pytest.approx(0.01)


@pytest.mark.parametrize("name, schedule", catalogue(), ids=[c[0] for c in catalogue()])
def test_plot_draws_the_values(name, schedule):
    ax = lrs.plot(schedule, range(30), log=name != "Keras-CosineDecay-warmup")
    x, y = ax.lines[0].get_data()
    np.testing.assert_array_equal(x, np.arange(30))
    np.testing.assert_array_equal(y, lrs.values(schedule, range(30)))
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"
    matplotlib.pyplot.close(ax.figure)


@pytest.mark.parametrize("steps", [30, np.int64(30), [30], range(30, 31)],
                         ids=["int", "numpy-int", "one-element-list", "one-step-range"])
@pytest.mark.backend_independent
def test_plot_refuses_a_single_step(steps):
    # plot(s, 30) drew steps 0..29 before 0.2.0: it is refused, not drawn as one point.
    with pytest.raises(ValueError, match=r"Argument `steps` must be a range or array of at "
                       r"least two step numbers to draw, e\.g\. range\(1000\)"):
        lrs.plot(lrs.Constant(0.1), steps)


@pytest.mark.parametrize(
    "schedule, span",
    [
        (lrs.OneCycle(0.1, 500), 500),                               # its own length
        (lrs.Warmup(lrs.OneCycle(0.1, 300), 100), 400),               # warmup + inner
        (lrs.WarmupStableDecay(0.1, 10, 20, 30), 60),
        (lrs.Cyclic(0.01, 0.1, 20, 30), 100),                         # two cycles
        (lrs.StepDecay(0.1, 25), 100),                                # four periods
        (lrs.MultiStepDecay(0.1, [40, 80]), 100),                     # past the last milestone
        (lrs.PerEpoch(lrs.StepDecay(0.1, 10), 50), 2000),
        (lrs.Sequence([lrs.Linear(0, 1, 10), lrs.Cyclic(0.1, 1, 20)], [10]), 90),
        (lrs.Tabulated([0.3, 0.2, 0.1]), 3),
        (K.CosineDecay(0.1, 300, warmup_target=1.0, warmup_steps=20), 320),
        (K.ExponentialDecay(0.1, 10, 0.5), 20),
        (lrs.ControlledRate(lrs.OneCycle(0.1, 77)), 77),
        (lrs.Constant(0.1), 1000),                                    # no length: 1000
        (0.1, 1000),
    ],
    ids=["OneCycle", "Warmup", "WarmupStableDecay", "Cyclic", "StepDecay", "MultiStepDecay",
         "PerEpoch", "Sequence", "Tabulated", "Keras-CosineDecay", "Keras-ExponentialDecay",
         "ControlledRate", "Constant", "number"],
)
@pytest.mark.backend_independent
def test_default_steps_show_the_whole_shape(schedule, span):
    assert lrs.inspection.default_steps(schedule) == range(span)


_KS = keras.optimizers.schedules
STEPWISE_CASES = [
    ("StepDecay", lrs.StepDecay(0.1, step_size=10, gamma=0.5), True),
    ("MultiStepDecay", lrs.MultiStepDecay(0.1, milestones=[30, 80], gamma=0.1), True),
    ("Constant", lrs.Constant(0.1), True),
    ("PerEpoch-of-a-curve", lrs.PerEpoch(lrs.OneCycle(0.1, 10), steps_per_epoch=3), True),
    ("Keras-PiecewiseConstant", _KS.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001]),
     True),
    ("Keras-Exponential-staircase", _KS.ExponentialDecay(0.1, 10, 0.5, staircase=True), True),
    ("Keras-Exponential", _KS.ExponentialDecay(0.1, 10, 0.5), False),
    ("Keras-InverseTime-staircase", _KS.InverseTimeDecay(0.1, 10, 0.5, staircase=True), True),
    ("Scaled-StepDecay", lrs.Scaled(lrs.StepDecay(0.1, 10), factor=0.5), True),
    ("Sequence-of-steps", lrs.Sequence([0.01, lrs.StepDecay(0.1, 10)], boundaries=[5]), True),
    ("Sequence-with-a-ramp", lrs.Sequence([lrs.Linear(0, 0.1, 5), lrs.StepDecay(0.1, 10)],
                                          boundaries=[5]), False),
    ("Warmup-StepDecay", lrs.Warmup(lrs.StepDecay(0.1, 10), warmup_steps=5), False),
    ("OneCycle", lrs.OneCycle(0.1, 100), False),
    ("Cyclic", lrs.Cyclic(0.01, 0.1, step_size_up=10), False),
    ("Keras-CosineDecay", _KS.CosineDecay(0.1, 100), False),
    ("table-of-steps", lrs.Tabulated.from_function(lambda s: 0.1 * 0.5 ** (s // 100), 1000),
     True),
    ("table-of-a-curve", lrs.Tabulated.from_function(lambda s: 0.1 / (1 + s), 1000), False),
]


@pytest.mark.parametrize("name, schedule, stepwise", STEPWISE_CASES,
                         ids=[c[0] for c in STEPWISE_CASES])
def test_step_schedules_are_drawn_as_steps(name, schedule, stepwise):
    rates = lrs.values(schedule, lrs.inspection.default_steps(schedule))
    assert lrs.inspection.is_stepwise(schedule, rates) is stepwise
    # what a stepwise schedule is: the rate holds still between its jumps, for more
    # than one step in most of its runs of equal rates
    jumps = np.flatnonzero(np.diff(rates)) + 1
    runs = np.diff(np.concatenate([[0], jumps, [len(rates)]]))
    assert bool(np.median(runs) >= 2) == stepwise
    ax = lrs.plot(schedule)
    assert ax.lines[0].get_drawstyle() == ("steps-post" if stepwise else "default")
    matplotlib.pyplot.close(ax.figure)


def test_a_run_over_a_step_schedule_draws_its_plan_as_steps():
    history = {"learning_rate": [0.1, 0.1, 0.05, 0.05]}

    class History:
        pass

    run = History()
    run.history, run.params, run.epoch = history, {"steps": 5}, [0, 1, 2, 3]
    step_decay = lrs.StepDecay(0.1, step_size=10, gamma=0.5)
    assert lrs.inspection.run_record(run, step_decay)["planned_stepwise"] is True
    assert lrs.inspection.run_record(run, lrs.OneCycle(0.1, 20))["planned_stepwise"] is False
    assert lrs.inspection.run_record(run)["planned_stepwise"] is False  # no plan
    ax = lrs.plot(step_decay, history=run)
    assert ax.lines[0].get_drawstyle() == "steps-post"
    matplotlib.pyplot.close(ax.figure)


def test_plot_draws_the_whole_shape_by_default():
    ax = lrs.plot(lrs.OneCycle(0.1, 500))
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(500))
    matplotlib.pyplot.close(ax.figure)


# Late steps: past float32's integers (2**24), at the edge of int32, and (TensorFlow,
# where Keras computes in int64) far past it. JAX without x64 and Keras on torch stop
# at int32, Keras's own call included.
LATE = [0, 1, 2**24 - 1, 2**24, 2**24 + 1, 2**31 - 2, 2**31 - 1]
if keras.backend.backend() == "tensorflow":
    LATE += [2**32 + 1, 2**40, 2**40 + 1]


@pytest.mark.parametrize(
    "schedule",
    [
        K.PiecewiseConstantDecay([2**24], [1.0, 0.5]),
        K.PiecewiseConstantDecay([2**24 - 1, 2**24, 2**31 - 2], [1.0, 0.5, 0.25, 0.125]),
        K.ExponentialDecay(0.1, decay_steps=2**24, decay_rate=0.5, staircase=True),
        K.InverseTimeDecay(0.1, decay_steps=2**24, decay_rate=0.5, staircase=True),
        K.PolynomialDecay(0.1, decay_steps=2**31 - 2, end_learning_rate=0.01),
        K.CosineDecay(0.1, decay_steps=2**31 - 2, alpha=0.1),
        K.CosineDecay(0.0, decay_steps=2**24, warmup_target=0.1, warmup_steps=2**24),
        K.CosineDecayRestarts(0.1, first_decay_steps=2**24),
    ],
    ids=["Piecewise-2**24", "Piecewise-three", "Exponential", "InverseTime", "Polynomial",
         "Cosine", "Cosine-warmup", "CosineRestarts"],
)
def test_values_equal_keras_own_call_at_late_steps(schedule):
    dtype = "int64" if keras.backend.backend() == "tensorflow" else "int32"
    expected = [float(ops.convert_to_numpy(schedule(ops.convert_to_tensor(s, dtype=dtype))))
                for s in LATE]
    np.testing.assert_allclose(lrs.values(schedule, LATE), expected, rtol=1e-6, atol=0)


# --------------------------------------------------------------------------------------
# A run's rates beside its plan


def _run_with_plateau():
    """A one-cycle of 40 steps, 4 steps per epoch; the monitored value never improves
    after epoch 0, so with patience 2 the rate is cut by 0.3 at the ends of epochs 2, 4,
    6 and 8: from steps 12, 20, 28 and 36 on."""
    from probes import Flat, kernel_probe, probe_data

    schedule = lrs.OneCycle(0.1, 40)
    model = kernel_probe(schedule)
    x, y = probe_data(8)
    logger = lrs.LRLogger(per="batch")
    history = model.fit(x, y, batch_size=2, epochs=10, verbose=0, shuffle=False, callbacks=[
        Flat(), lrs.ReduceLROnPlateau("flat", mode="min", patience=2, factor=0.3), logger])
    return schedule, logger, history


def test_run_record_puts_the_used_rates_beside_the_plan():
    schedule, logger, history = _run_with_plateau()
    planned = np.asarray(lrs.values(schedule, range(40)))
    multiplier = 0.3 ** np.searchsorted([12, 20, 28, 36], np.arange(40), side="right")
    record = lrs.inspection.run_record(logger, schedule)
    assert record["used_steps"] == list(range(40))
    np.testing.assert_allclose(record["used_rates"], planned * multiplier, rtol=1e-5)
    np.testing.assert_allclose(record["planned_rates"], planned, rtol=1e-6)
    assert record["reductions"] == [12, 20, 28, 36]
    assert record["restarts"] == []
    assert record["log"] is True  # 0.1 down to 4e-7 * 0.3**4
    # From what fit() returned: the rate of each epoch's last step.
    record = lrs.inspection.run_record(history, schedule)
    assert record["used_steps"] == [3, 7, 11, 15, 19, 23, 27, 31, 35, 39]
    np.testing.assert_allclose(record["used_rates"], (planned * multiplier)[3::4], rtol=1e-5)
    assert record["reductions"] == [15, 23, 31, 39]  # the epochs they took effect in


def test_run_record_marks_warm_restarts_and_refuses_what_recorded_nothing():
    from probes import kernel_probe, probe_data

    restarts = keras.optimizers.schedules.CosineDecayRestarts(0.1, first_decay_steps=8)
    model = kernel_probe(restarts)
    x, y = probe_data(8)
    logger = lrs.LRLogger(per="batch")
    model.fit(x, y, batch_size=2, epochs=10, verbose=0, callbacks=[logger])
    # Keras's restarts after 8 steps, then after 16 more
    assert lrs.inspection.run_record(logger)["restarts"] == [8, 24]
    assert lrs.inspection.run_record(logger, restarts)["restarts"] == []  # as planned
    with pytest.raises(ValueError, match="`history`.*recorded no batch"):
        lrs.inspection.run_record(lrs.LRLogger(per="epoch"))
    with pytest.raises(ValueError, match="`history`.*learning_rate"):
        lrs.inspection.run_record({"loss": [1.0]})


def test_plot_of_a_run_draws_plan_use_and_reductions():
    schedule, logger, history = _run_with_plateau()
    ax = lrs.plot(schedule, history=logger)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["planned", "used"] and labels.count("plateau reduction") == 1
    assert [line.get_xdata()[0] for line in ax.get_lines()[2:]] == [12, 20, 28, 36]
    assert ax.get_yscale() == "log"
    matplotlib.pyplot.close(ax.figure)
    ax = lrs.plot(history=history, log=False)  # no plan: the used rates only
    assert [line.get_label() for line in ax.get_lines()] == ["used"]
    assert ax.get_yscale() == "linear"
    matplotlib.pyplot.close(ax.figure)
