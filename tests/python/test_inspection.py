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


def test_int_means_the_first_n_steps_and_arrays_mean_those_steps():
    schedule = lrs.StepDecay(1.0, step_size=1, gamma=0.5)
    np.testing.assert_array_equal(lrs.values(schedule, 3), [1.0, 0.5, 0.25])
    np.testing.assert_array_equal(lrs.values(schedule, [2, 0]), [0.25, 1.0])
    np.testing.assert_array_equal(lrs.values(schedule, np.array([1.0, 3.0])), [0.5, 0.125])
    assert lrs.values(schedule, 0).shape == (0,)
    assert lrs.values(schedule, []).shape == (0,)
    assert lrs.values(schedule, 3).dtype == np.float32


def test_a_number_is_a_constant_rate():
    np.testing.assert_array_equal(lrs.values(0.01, 3), np.float32([0.01, 0.01, 0.01]))


@pytest.mark.parametrize(
    "steps, error, text",
    [
        (-1, ValueError, "steps=-1"),
        (2.5, ValueError, "steps=2.5"),
        ([1, -2], ValueError, "steps=[1, -2]"),
        ([0.5], ValueError, "steps=[0.5]"),
        (np.zeros((2, 2)), ValueError, "steps="),
        ("10", TypeError, "steps='10'"),
        (None, TypeError, "steps=None"),
        (["a"], TypeError, "steps=['a']"),
    ],
    ids=["negative", "fraction", "negative-element", "fractional-element", "matrix", "string",
         "none", "strings"],
)
def test_bad_steps(steps, error, text):
    with pytest.raises(error, match=r"Argument `steps`") as info:
        lrs.values(lrs.Constant(0.1), steps)
    assert text in str(info.value)


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
    np.testing.assert_allclose(lrs.values(ScalarOnly(), 5), [0.1, 0.1, 0.1, 0.01, 0.01],
                               rtol=1e-6)


@pytest.mark.parametrize("name, schedule", catalogue(), ids=[c[0] for c in catalogue()])
def test_plot_draws_the_values(name, schedule):
    ax = lrs.plot(schedule, 30, log=name != "Keras-CosineDecay-warmup")
    x, y = ax.lines[0].get_data()
    np.testing.assert_array_equal(x, np.arange(30))
    np.testing.assert_array_equal(y, lrs.values(schedule, 30))
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"
    matplotlib.pyplot.close(ax.figure)
