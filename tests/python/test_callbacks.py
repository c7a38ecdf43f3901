"""Tests of lrschedule's callbacks: ScheduleLR, ReduceLROnPlateau, LRLogger, ControlledRate.

Most tests train a one-unit Dense layer on zero inputs with the loss mean(y_pred) and
plain SGD: the gradient with respect to the bias is exactly 1, so every step moves
the bias by minus the learning rate the optimizer really used. Reading the bias
after each batch gives the applied rates, which are compared with rates computed by
hand from the rule under test (not with what the callbacks report about
themselves).
"""

import inspect
import json
import math
import os
import types
import warnings

import keras
import numpy as np
import pytest
from keras import ops

import lrschedule
from lrschedule.callbacks import ControlledRate, LRLogger, ReduceLROnPlateau, ScheduleLR
from lrschedule.callbacks.schedule_lr import _checked_rate

RTOL = 1e-5
ATOL = 3e-7  # float32 bias of magnitude <= ~2: one rounding of each of two values


@keras.saving.register_keras_serializable(package="lrschedule_tests")
def mean_prediction(y_true, y_pred):
    """d loss / d bias = 1 when the inputs are zero."""
    return ops.mean(y_pred, axis=-1)


@keras.saving.register_keras_serializable(package="lrschedule_tests")
def seed_step_decay(epoch):
    """shared/seeds 001, Example 1, as written in R (`callback_schedule_lr(step_decay)`)."""
    initial_lr = 0.01
    drop = 0.5
    epochs_drop = 10
    return initial_lr * drop ** math.floor(epoch / epochs_drop)


def seed_exponential_decay(epoch):
    """shared/seeds 001, Example 2."""
    initial_lr = 0.01
    decay_rate = 0.95
    return initial_lr * decay_rate**epoch


def make_seed_scheduler(first, second):
    """shared/seeds 004, Example 2 (thresholds 50 and 80 there; smaller here to run fast)."""

    def scheduler(epoch, lr):
        if epoch < first:
            return lr
        elif epoch < second:
            return lr * 0.1
        else:
            return lr * 0.01

    return scheduler


X = np.zeros((4, 1), dtype="float32")
Y = np.zeros((4, 1), dtype="float32")
BATCH = 2  # two steps per epoch


def bias_model(learning_rate, momentum=0.0):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
        loss=mean_prediction,
    )
    return model


class BiasTrace(keras.callbacks.Callback):
    """The bias after every batch; `applied` gives the rates used (plain SGD)."""

    def __init__(self):
        super().__init__()
        self.values = None

    def _bias(self):
        return float(ops.convert_to_numpy(self.model.layers[0].bias)[0])

    def on_train_begin(self, logs=None):
        self.values = [self._bias()]

    def on_train_batch_end(self, batch, logs=None):
        self.values.append(self._bias())

    @property
    def applied(self):
        return -np.diff(np.asarray(self.values, dtype=np.float64))


class Inject(keras.callbacks.Callback):
    """Writes a chosen value of a synthetic metric into the logs of each epoch."""

    def __init__(self, values, name="synthetic"):
        super().__init__()
        self.values = values
        self.name = name

    def on_epoch_end(self, epoch, logs=None):
        logs[self.name] = self.values[epoch]


class StopAfter(keras.callbacks.Callback):
    """Simulates a crash at the end of an epoch."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError(f"simulated crash after epoch {epoch}")


def fit(model, epochs, callbacks, initial_epoch=0):
    return model.fit(
        X,
        Y,
        batch_size=BATCH,
        epochs=epochs,
        initial_epoch=initial_epoch,
        shuffle=False,
        verbose=0,
        callbacks=callbacks,
    )


def rate_state(model):
    """The callbacks' rate state, whichever holds the rate (Keras's variable or a
    ControlledRate): the numbers saved under optimizer/_lrschedule_state."""
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    state = optimizer.__dict__.get("_lrschedule_state")
    if state is None:  # loaded, no callback attached yet: the ControlledRate's own state
        state = optimizer._learning_rate.state
    values = state.read_all()
    return types.SimpleNamespace(
        multiplier=values["multiplier"],
        best=None if np.isnan(values["best"]) else values["best"],
        wait=int(values["wait"]),
        cooldown_counter=int(values["cooldown_counter"]),
        min_lr=values["min_lr"],
        learning_rate=values["base_rate"],
    )


def per_step(epoch_values, steps_per_epoch=2):
    return np.repeat(np.asarray(epoch_values, dtype=np.float64), steps_per_epoch)


# --------------------------------------------------------------------------------------
# ControlledRate


@pytest.mark.parametrize(
    "step",
    [7, np.int64(7), np.array(7), "variable"],
    ids=["int", "numpy_scalar", "numpy_0d", "keras_variable"],
)
def test_controlled_rate_scalar_step(step):
    if step == "variable":
        step = keras.Variable(7, dtype="int64", trainable=False)
    rate = ControlledRate(lrschedule.StepDecay(0.1, step_size=3, gamma=0.5), multiplier=0.1)
    expected = 0.1 * 0.5 ** (7 // 3) * 0.1
    np.testing.assert_allclose(float(ops.convert_to_numpy(rate(step))), expected, rtol=1e-6)


def test_controlled_rate_formula_is_elementwise():
    # max(base * multiplier, min(base, min_lr)): the floor bounds reductions only.
    rate = ControlledRate(
        lrschedule.StepDecay(0.1, step_size=3, gamma=0.5), multiplier=0.1, min_lr=0.004
    )
    steps = np.arange(15)
    base = 0.1 * 0.5 ** (steps // 3)
    expected = np.maximum(base * 0.1, np.minimum(base, 0.004))
    got = ops.convert_to_numpy(rate(ops.convert_to_tensor(steps)))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(lrschedule.values(rate, range(15)), expected, rtol=1e-6)
    # Base below min_lr is left alone (steps 15.. have base 0.1 * 0.5**5 = 0.003125).
    np.testing.assert_allclose(float(ops.convert_to_numpy(rate(15))), 0.003125, rtol=1e-6)


def test_controlled_rate_held_rate():
    rate = ControlledRate(learning_rate=0.2, multiplier=0.25)
    np.testing.assert_allclose(ops.convert_to_numpy(rate(ops.arange(4))), [0.05] * 4, rtol=1e-6)


def test_controlled_rate_config_round_trip_keeps_state():
    rate = ControlledRate(
        keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5),
        multiplier=0.01,
        min_lr=1e-4,
        best=0.25,
        wait=3,
        cooldown_counter=2,
    )
    text = json.dumps(keras.saving.serialize_keras_object(rate))
    assert '"registered_name": "lrschedule>ControlledRate"' in text
    back = keras.saving.deserialize_keras_object(json.loads(text), safe_mode=True)
    assert isinstance(back, ControlledRate)
    assert back.get_config() == rate.get_config()
    assert back.multiplier == pytest.approx(0.01, rel=1e-7)  # float32 variable
    assert (back.best, back.wait, back.cooldown_counter) == (0.25, 3, 2)
    np.testing.assert_allclose(back.min_lr, 1e-4, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({}, ValueError, "Argument `learning_rate` must be a number > 0 when `schedule` is None"),
        ({"learning_rate": 0.0}, ValueError, "Argument `learning_rate` must be > 0"),
        ({"schedule": 0.1}, TypeError, "Argument `schedule` must be a keras.optimizers"),
        ({"learning_rate": 0.1, "multiplier": 0}, ValueError, "Argument `multiplier` must be > 0"),
        ({"learning_rate": 0.1, "wait": -1}, ValueError, "Argument `wait` must be >= 0"),
    ],
    ids=["no_base", "zero_rate", "number_as_schedule", "zero_multiplier", "negative_wait"],
)
@pytest.mark.backend_independent
def test_controlled_rate_validation(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        ControlledRate(**kwargs)


# --------------------------------------------------------------------------------------
# Constructor validation (one message format, from _validation.py)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: ReduceLROnPlateau(factor=2), ValueError,
         "Argument `factor` must be < 1. Received: factor=2"),
        (lambda: ReduceLROnPlateau(factor=1.0), ValueError, "Argument `factor` must be < 1"),
        (lambda: ReduceLROnPlateau(factor=0), ValueError, "Argument `factor` must be > 0"),
        (lambda: ReduceLROnPlateau(factor="0.5"), TypeError, "Argument `factor` must be a number"),
        (lambda: ReduceLROnPlateau(patience=-1), ValueError, "Argument `patience` must be >= 0"),
        (lambda: ReduceLROnPlateau(patience=2.5), ValueError,
         "Argument `patience` must be a whole number. Received: patience=2.5"),
        (lambda: ReduceLROnPlateau(cooldown=-2), ValueError, "Argument `cooldown` must be >= 0"),
        (lambda: ReduceLROnPlateau(min_lr=-1e-3), ValueError, "Argument `min_lr` must be >= 0"),
        (lambda: ReduceLROnPlateau(min_delta=-0.1), ValueError, "Argument `min_delta` must be >= 0"),
        (lambda: ReduceLROnPlateau(mode="sideways"), ValueError,
         "Argument `mode` must be one of 'auto', 'min', 'max'. Received: mode='sideways'"),
        (lambda: ReduceLROnPlateau(monitor=3), TypeError, "Argument `monitor` must be a string"),
        (lambda: ReduceLROnPlateau(monitor=""), ValueError, "Argument `monitor` must be a non-empty"),
        (lambda: ReduceLROnPlateau(verbose=-1), ValueError, "Argument `verbose` must be >= 0"),
        (lambda: ScheduleLR("fast"), TypeError, "Argument `schedule` must be a function of"),
        (lambda: ScheduleLR(lambda e: 0.1, arity=3), ValueError, "Argument `arity` must be 1"),
        (lambda: ScheduleLR(lambda: 0.1), ValueError, "it takes no argument"),
        (lambda: ScheduleLR(lambda a, b, c: 0.1), ValueError, "it requires 3 arguments"),
        (lambda: ScheduleLR(lambda *args, **kwargs: 0.1), ValueError,
         "Cannot tell whether the function passed as `schedule` takes"),
        (lambda: ScheduleLR(keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5), arity=1),
         ValueError, "Argument `arity` must be None when `schedule` is a LearningRateSchedule"),
        (lambda: ScheduleLR(seed_step_decay, verbose=0.5), ValueError,
         "Argument `verbose` must be a whole number"),
        (lambda: LRLogger(per="step"), ValueError,
         "Argument `per` must be one of 'epoch', 'batch'. Received: per='step'"),
    ],
    ids=[
        "factor_2", "factor_1", "factor_0", "factor_str", "patience_negative", "patience_fraction",
        "cooldown_negative", "min_lr_negative", "min_delta_negative", "mode_unknown",
        "monitor_number", "monitor_empty", "verbose_negative", "schedule_str", "arity_3",
        "no_argument", "three_arguments", "varargs_only", "arity_with_schedule",
        "verbose_fraction", "per_unknown",
    ],
)
@pytest.mark.backend_independent
def test_constructors_validate_arguments(build, error, message):
    with pytest.raises(error) as info:
        build()
    assert message in str(info.value)


# --------------------------------------------------------------------------------------
# ScheduleLR: arity


def _two_with_default(epoch, lr=None):
    return 0.1


class _Method:
    def rate(self, epoch):
        return 0.1


@keras.saving.register_keras_serializable(package="lrschedule_tests")
def _varargs(*args, **kwargs):
    return 0.1


def _varargs_marked(*args, **kwargs):
    return 0.1


_varargs_marked.lrschedule_arity = 2


@pytest.mark.parametrize(
    "function, arity, expected",
    [
        (lambda epoch: 0.1, None, 1),
        (lambda epoch, lr: lr, None, 2),
        (_two_with_default, None, 2),
        (_Method().rate, None, 1),
        (_varargs, 1, 1),
        (_varargs, 2, 2),
        (_varargs_marked, None, 2),
        (lambda epoch, lr: lr, 1, 1),
    ],
    ids=[
        "one", "two", "two_with_default", "bound_method", "varargs_arity_1",
        "varargs_arity_2", "varargs_attribute", "explicit_overrides_signature",
    ],
)
@pytest.mark.backend_independent
def test_schedule_lr_arity(function, arity, expected):
    assert ScheduleLR(function, arity=arity)._arity == expected


def test_schedule_lr_varargs_function_gets_the_arguments_its_arity_says():
    # How an R function may look through reticulate: (*args, **kwargs) plus an arity.
    seen = []

    def from_r(*args, **kwargs):
        seen.append(args)
        return 0.05

    model = bias_model(0.2)
    fit(model, 2, [ScheduleLR(from_r, arity=2)])
    assert [len(a) for a in seen] == [2, 2]
    assert [a[0] for a in seen] == [0, 1]
    np.testing.assert_allclose([a[1] for a in seen], [0.2, 0.05], rtol=1e-6)


# --------------------------------------------------------------------------------------
# ScheduleLR in fit()


def test_schedule_lr_seed_step_decay():
    # The R seed's function, translated line by line; epochs 0..11 cross its drop at 10.
    model = bias_model(0.5)
    trace = BiasTrace()
    history = fit(model, 12, [ScheduleLR(seed_step_decay), trace])
    expected = [0.01 * 0.5 ** math.floor(e / 10) for e in range(12)]
    np.testing.assert_allclose(trace.applied, per_step(expected), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)


def test_schedule_lr_seed_exponential_decay():
    model = bias_model(0.5)
    trace = BiasTrace()
    history = fit(model, 5, [ScheduleLR(seed_exponential_decay), trace])
    expected = [0.01 * 0.95**e for e in range(5)]
    np.testing.assert_allclose(trace.applied, per_step(expected), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)


def test_schedule_lr_seed_two_argument_scheduler_matches_keras():
    # The Python seed's scheduler(epoch, lr) returns lr * 0.1 at every epoch from the
    # first threshold on; passing our previous value as `lr` compounds exactly as
    # Keras's LearningRateScheduler does.
    scheduler = make_seed_scheduler(2, 4)
    ours = bias_model(0.5)
    trace = BiasTrace()
    history = fit(ours, 6, [ScheduleLR(scheduler), trace])
    keras_model = bias_model(0.5)
    keras_history = fit(keras_model, 6, [keras.callbacks.LearningRateScheduler(scheduler)])
    expected = [0.5, 0.5, 0.05, 0.005, 0.00005, 0.0000005]
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-5)
    np.testing.assert_allclose(keras_history.history["learning_rate"], expected, rtol=1e-5)
    np.testing.assert_allclose(trace.applied, per_step(expected), rtol=RTOL, atol=ATOL)


def test_schedule_lr_replaces_an_optimizer_schedule():
    # Keras's LearningRateScheduler fails here ("not settable"); ScheduleLR takes over.
    schedule = keras.optimizers.schedules.ExponentialDecay(0.3, 1, 0.5)
    with pytest.raises(TypeError, match="not settable"):
        fit(bias_model(schedule), 1, [keras.callbacks.LearningRateScheduler(lambda e: 0.1)])
    model = bias_model(schedule)
    trace = BiasTrace()
    fit(model, 3, [ScheduleLR(lambda epoch: 0.1 / (epoch + 1)), trace])
    np.testing.assert_allclose(trace.applied, per_step([0.1, 0.05, 0.1 / 3]), rtol=RTOL, atol=ATOL)


def test_schedule_lr_two_arguments_over_a_schedule_starts_from_its_current_value():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.4, 2, 0.5)  # 0.4 * 0.5**(s/2)
    model = bias_model(schedule)
    fit(model, 1, [])  # two steps: the schedule is at 0.2 when ScheduleLR takes over
    trace = BiasTrace()
    fit(model, 3, [ScheduleLR(lambda epoch, lr: lr * 0.5), trace])
    np.testing.assert_allclose(trace.applied, per_step([0.1, 0.05, 0.025]), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    "schedule, expected",
    [
        (keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5), [0.1 * 0.5**e for e in range(4)]),
        (lrschedule.StepDecay(0.1, step_size=2, gamma=0.1), [0.1, 0.1, 0.01, 0.01]),
    ],
    ids=["keras_exponential", "ours_step_decay"],
)
def test_schedule_lr_evaluates_a_schedule_at_the_epoch(schedule, expected):
    model = bias_model(0.5)
    trace = BiasTrace()
    history = fit(model, 4, [ScheduleLR(schedule), trace])
    np.testing.assert_allclose(trace.applied, per_step(expected), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)


def test_schedule_lr_error_inside_the_function_stops_training():
    def broken(epoch):
        if epoch == 2:
            raise RuntimeError("no rate for epoch 2")
        return 0.1

    model = bias_model(0.5)
    with pytest.raises(RuntimeError, match="no rate for epoch 2"):
        fit(model, 5, [ScheduleLR(broken)])
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == 4  # epochs 0 and 1 ran


@pytest.mark.parametrize(
    "value, error, shown",
    [
        (-0.1, ValueError, "-0.1"),
        (0.0, ValueError, "0.0"),
        (float("nan"), ValueError, "nan"),
        (float("inf"), ValueError, "inf"),
        ("0.1", TypeError, "'0.1'"),
        (None, TypeError, "None"),
        ([0.1, 0.2], ValueError, "[0.1, 0.2]"),
        (True, TypeError, "True"),
        (np.array([0.1, 0.2]), ValueError, "[0.1, 0.2]"),
    ],
    ids=["negative", "zero", "nan", "inf", "string", "none", "list", "bool", "array"],
)
def test_schedule_lr_refuses_a_bad_value_naming_epoch_and_value(value, error, shown):
    with pytest.raises(error) as info:
        _checked_rate(value, 7)
    message = str(info.value)
    assert "must return one finite positive number" in message
    assert "at epoch 7" in message
    assert f"returned {shown}" in message


@pytest.mark.parametrize("value", [-0.1, "0.1"], ids=["negative", "string"])
def test_schedule_lr_bad_value_stops_fit(value):
    model = bias_model(0.5)
    with pytest.raises((ValueError, TypeError), match=f"at epoch 1 it returned {value!r}"):
        fit(model, 3, [ScheduleLR(lambda epoch: 0.1 if epoch == 0 else value)])
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == 2  # epoch 0 only


@pytest.mark.parametrize(
    "value", [np.float32(0.25), np.array([0.25]), 1], ids=["numpy_float32", "length_one", "int"]
)
def test_schedule_lr_accepts_one_number_of_any_numeric_type(value):
    model = bias_model(0.5)
    trace = BiasTrace()
    fit(model, 1, [ScheduleLR(lambda epoch: value), trace])
    np.testing.assert_allclose(trace.applied, [float(np.asarray(value).ravel()[0])] * 2, rtol=RTOL)


def test_schedule_lr_verbose_prints_the_rate(capsys):
    fit(bias_model(0.5), 2, [ScheduleLR(lambda epoch: 0.25, verbose=1)])
    out = capsys.readouterr().out
    assert "Epoch 1: ScheduleLR setting learning rate to 0.25." in out
    assert "Epoch 2: ScheduleLR setting learning rate to 0.25." in out


# --------------------------------------------------------------------------------------
# ReduceLROnPlateau: the rule, against a hand-computed table and against Keras


# Monitored values, and what Keras's rule gives with patience=2, cooldown=1, factor=0.5
# (min mode, min_delta=1e-4) from 0.1:
#   e0 1.0 best | e1 0.9 best | e2 0.9 wait 1 | e3 0.9 wait 2 -> reduce, cooldown 1
#   e4 0.9 cooldown ends, wait 1 | e5 0.9 wait 2 -> reduce | e6 0.8 best (cooldown ends)
#   e7 0.8 wait 1 | e8 0.8 wait 2 -> reduce
PLATEAU_VALUES = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8]
PLATEAU_ARGS = dict(monitor="synthetic", mode="min", patience=2, cooldown=1, factor=0.5)
PLATEAU_MULTIPLIERS = [1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25]  # in force during each epoch


def test_plateau_constant_rate_hand_table():
    model = bias_model(0.1)
    trace = BiasTrace()
    plateau = ReduceLROnPlateau(**PLATEAU_ARGS)
    history = fit(model, 9, [Inject(PLATEAU_VALUES), plateau, trace])
    expected = [0.1 * m for m in PLATEAU_MULTIPLIERS]
    np.testing.assert_allclose(trace.applied, per_step(expected), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)
    controlled = rate_state(model)
    assert controlled.multiplier == pytest.approx(0.125)  # three reductions, the last at e8
    assert controlled.best == pytest.approx(0.8, rel=1e-6)  # kept as float32
    assert (controlled.wait, controlled.cooldown_counter) == (0, 1)


@pytest.mark.parametrize(
    "values, kwargs",
    [
        (PLATEAU_VALUES, PLATEAU_ARGS),
        ([0.5, 0.6, 0.6, 0.61, 0.7, 0.7, 0.7, 0.7], dict(monitor="synthetic", mode="max", patience=1,
                                                         factor=0.2, min_delta=0.05)),
        ([3.0, 3.0, 3.0, 3.0, 3.0, 3.0], dict(monitor="synthetic", mode="min", patience=0,
                                             factor=0.1, min_lr=0.005)),
        ([3.0, 2.0, 2.5, 2.5, 1.0, 1.0, 1.0], dict(monitor="synthetic", mode="min", patience=1,
                                                  cooldown=2, factor=0.3, min_delta=0.0)),
        # 0.9 is not a float32 number: an equal value must not count as an improvement.
        ([0.9, 0.9, 0.9, 0.95, 0.9], dict(monitor="synthetic", mode="max", patience=0,
                                          factor=0.5, min_delta=0.0)),
    ],
    ids=["cooldown", "max_mode_min_delta", "min_lr_floor", "long_cooldown", "exact_best"],
)
def test_plateau_constant_rate_matches_keras(values, kwargs):
    epochs = len(values)
    keras_model = bias_model(0.1)
    keras_history = fit(keras_model, epochs, [Inject(values), keras.callbacks.ReduceLROnPlateau(**kwargs)])
    model = bias_model(0.1)
    trace = BiasTrace()
    history = fit(model, epochs, [Inject(values), ReduceLROnPlateau(**kwargs), trace])
    expected = keras_history.history["learning_rate"]
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)
    np.testing.assert_allclose(trace.applied, per_step(expected), rtol=RTOL, atol=ATOL)
    final_keras = float(ops.convert_to_numpy(keras_model.optimizer.learning_rate))
    final_ours = float(ops.convert_to_numpy(model.optimizer.learning_rate))
    np.testing.assert_allclose(final_ours, final_keras, rtol=1e-6)


def test_plateau_min_lr_hand_table():
    # 0.1 -> 0.01 -> max(0.001, 0.005); then the rate is not above min_lr: no reduction.
    model = bias_model(0.1)
    trace = BiasTrace()
    plateau = ReduceLROnPlateau(monitor="synthetic", mode="min", patience=0, factor=0.1, min_lr=0.005)
    fit(model, 5, [Inject([3.0] * 5), plateau, trace])
    np.testing.assert_allclose(trace.applied, per_step([0.1, 0.1, 0.01, 0.005, 0.005]), rtol=RTOL, atol=ATOL)
    assert rate_state(model).multiplier == pytest.approx(0.01)


def _exponential(steps):
    return 0.1 * 0.5 ** (np.asarray(steps) / 4.0)


def _step_decay(steps):
    return 0.1 * 0.5 ** (np.asarray(steps) // 5)


def _constant(steps):
    return np.full(np.shape(steps), 0.1)


@pytest.mark.parametrize(
    "make_schedule, formula",
    [
        (lambda: 0.1, _constant),
        (lambda: keras.optimizers.schedules.ExponentialDecay(0.1, 4, 0.5), _exponential),
        (lambda: lrschedule.StepDecay(0.1, step_size=5, gamma=0.5), _step_decay),
        (lambda: lrschedule.OneCycle(max_lr=0.1, total_steps=18), None),
    ],
    ids=["constant", "keras_exponential_decay", "ours_step_decay", "ours_one_cycle"],
)
def test_plateau_multiplies_any_schedule(make_schedule, formula):
    schedule = make_schedule()
    steps = np.arange(18)
    if formula is None:  # OneCycle: its own values (tested against torch elsewhere)
        base = lrschedule.values(schedule, range(18)).astype(np.float64)
    else:
        base = formula(steps)
    model = bias_model(schedule)
    trace = BiasTrace()
    history = fit(model, 9, [Inject(PLATEAU_VALUES), ReduceLROnPlateau(**PLATEAU_ARGS), trace])
    expected = base * per_step(PLATEAU_MULTIPLIERS)
    np.testing.assert_allclose(trace.applied, expected, rtol=RTOL, atol=ATOL)
    # Logged: the rate of each epoch's last step.
    np.testing.assert_allclose(history.history["learning_rate"], expected[1::2], rtol=1e-5)


def test_plateau_min_lr_over_a_schedule_bounds_reductions_only():
    # Base 0.1 * 0.5**(s/4): reductions may not push the rate below 0.02, but where
    # the schedule itself is below 0.02 (from step 10 on) it is left as it is.
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 4, 0.5)
    model = bias_model(schedule)
    trace = BiasTrace()
    plateau = ReduceLROnPlateau(monitor="synthetic", mode="min", patience=0, factor=0.1, min_lr=0.02)
    fit(model, 7, [Inject([3.0] * 7), plateau, trace])
    steps = np.arange(14)
    base = _exponential(steps)
    # One reduction, at the end of e1. At the end of e2 the rate in force (step 6) is
    # max(0.0354 * 0.1, min(0.0354, 0.02)) = 0.02, not above min_lr: no second one.
    multipliers = per_step([1, 1, 0.1, 0.1, 0.1, 0.1, 0.1])
    expected = np.maximum(base * multipliers, np.minimum(base, 0.02))
    np.testing.assert_allclose(trace.applied, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(expected[4:10], 0.02, rtol=1e-12)  # the floor is reached
    assert rate_state(model).multiplier == pytest.approx(0.1)


def test_keras_plateau_fails_over_a_schedule_and_ours_does_not():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 4, 0.5)
    kwargs = dict(monitor="synthetic", mode="min", patience=0)
    with pytest.raises(TypeError, match="not settable"):
        fit(bias_model(schedule), 2, [Inject([1.0, 1.0]), keras.callbacks.ReduceLROnPlateau(**kwargs)])
    fit(bias_model(schedule), 2, [Inject([1.0, 1.0]), ReduceLROnPlateau(**kwargs)])


def test_plateau_after_a_first_fit_without_callbacks():
    # The first fit compiles a train step reading the optimizer's plain rate; the
    # plateau's ControlledRate must be used by the next one.
    model = bias_model(0.1)
    fit(model, 1, [])
    trace = BiasTrace()
    fit(model, 3, [Inject([1.0, 1.0, 1.0]), ReduceLROnPlateau(monitor="synthetic", mode="min",
                                                              patience=0, factor=0.5), trace])
    # e0 sets the best value; reductions at the ends of e1 and e2.
    np.testing.assert_allclose(trace.applied, per_step([0.1, 0.1, 0.05]), rtol=RTOL, atol=ATOL)


def test_plateau_inside_a_loss_scale_optimizer():
    # Mixed precision wraps the optimizer; the rate lives in the inner one.
    model = bias_model(keras.optimizers.schedules.ExponentialDecay(0.1, 4, 0.5))
    model.compile(
        optimizer=keras.optimizers.LossScaleOptimizer(model.optimizer), loss=mean_prediction
    )
    trace = BiasTrace()
    plateau = ReduceLROnPlateau(monitor="synthetic", mode="min", patience=0, factor=0.5)
    fit(model, 3, [Inject([1.0, 1.0, 1.0]), plateau, trace])
    expected = _exponential(np.arange(6)) * per_step([1, 1, 0.5])
    np.testing.assert_allclose(trace.applied, expected, rtol=RTOL, atol=ATOL)
    assert isinstance(model.optimizer.inner_optimizer._learning_rate, ControlledRate)


def test_plateau_and_schedule_lr_compose():
    model = bias_model(0.5)
    trace = BiasTrace()
    callbacks = [
        ScheduleLR(lambda epoch: 0.2 if epoch < 2 else 0.1),
        Inject([1.0, 1.0, 1.0, 1.0]),
        ReduceLROnPlateau(monitor="synthetic", mode="min", patience=0, factor=0.5),
        trace,
    ]
    fit(model, 4, callbacks)
    # ScheduleLR's value times the multiplier (1, 1, 0.5, 0.25: reductions at e1, e2 ends).
    np.testing.assert_allclose(trace.applied, per_step([0.2, 0.2, 0.05, 0.025]), rtol=RTOL, atol=ATOL)


def test_plateau_auto_mode_from_the_compiled_metric():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    plateau = ReduceLROnPlateau(monitor="accuracy")
    x = np.eye(2, dtype="float32")
    model.fit(x, np.array([0, 1]), epochs=1, verbose=0, callbacks=[plateau])
    assert plateau._minimize is False
    unknown = ReduceLROnPlateau(monitor="synthetic")
    with pytest.raises(ValueError, match="Pass mode='max' or mode='min'"):
        fit(bias_model(0.1), 1, [Inject([1.0]), unknown])


def test_plateau_warns_when_the_monitored_value_is_missing():
    with pytest.warns(UserWarning, match="conditioned on `val_loss`, which is not in the logs"):
        fit(bias_model(0.1), 1, [ReduceLROnPlateau()])


def test_plateau_verbose_prints_the_reduction(capsys):
    plateau = ReduceLROnPlateau(monitor="synthetic", mode="min", patience=0, factor=0.5, verbose=1)
    fit(bias_model(0.1), 2, [Inject([1.0, 1.0]), plateau])
    # Keras's wording and number: it prints float(float32 rate) * factor
    new_lr = float(np.float32(0.1)) * 0.5
    assert f"\nEpoch 2: ReduceLROnPlateau reducing learning rate to {new_lr}.\n" in (
        capsys.readouterr().out)


def test_messages_follow_keras_logging_mode(capsys, caplog):
    # With Keras's interactive logging off, Keras's callbacks log through absl instead
    # of printing; ours too.
    keras.config.disable_interactive_logging()
    try:
        with caplog.at_level("INFO"):
            fit(bias_model(0.1), 2, [Inject([1.0, 1.0]), ReduceLROnPlateau(
                monitor="synthetic", mode="min", patience=0, factor=0.5, verbose=1),
                ScheduleLR(lambda epoch: 0.1, verbose=1)])
    finally:
        keras.config.enable_interactive_logging()
    assert "learning rate" not in capsys.readouterr().out
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "ReduceLROnPlateau reducing learning rate to" in logged
    assert "ScheduleLR setting learning rate to 0.1." in logged


# --------------------------------------------------------------------------------------
# ReduceLROnPlateau: state survives save/load and BackupAndRestore


def _controlled_state(model):
    rate = rate_state(model)
    return (rate.multiplier, rate.best, rate.wait, rate.cooldown_counter, rate.min_lr)


# Reductions at the ends of e3 and e5 (see PLATEAU_VALUES); the runs are split after e3,
# inside the cooldown that follows the first reduction.
SAVE_VALUES = PLATEAU_VALUES[:7]


@pytest.mark.parametrize(
    "make_schedule",
    [lambda: lrschedule.StepDecay(0.1, step_size=5, gamma=0.5), lambda: lrschedule.Constant(0.1)],
    ids=["ours_step_decay", "ours_constant"],
)
def test_plateau_state_survives_save_and_load(tmp_path, make_schedule):
    uninterrupted = bias_model(make_schedule(), momentum=0.9)
    full_trace = BiasTrace()
    full = fit(uninterrupted, 7, [Inject(SAVE_VALUES), ReduceLROnPlateau(**PLATEAU_ARGS), full_trace])

    first = bias_model(make_schedule(), momentum=0.9)
    checkpoint = os.path.join(tmp_path, "checkpoint.keras")
    fit(first, 4, [Inject(SAVE_VALUES), ReduceLROnPlateau(**PLATEAU_ARGS),
                   keras.callbacks.ModelCheckpoint(checkpoint)])
    state = _controlled_state(first)
    # After e3: one reduction, wait reset, one cooldown epoch to go.
    assert state[:4] == (0.5, pytest.approx(0.9, rel=1e-6), 0, 1)
    path = os.path.join(tmp_path, "model.keras")
    first.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_checkpoint = keras.models.load_model(checkpoint, safe_mode=True)  # saved in fit()
        loaded = keras.models.load_model(path, safe_mode=True)
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    assert isinstance(loaded.optimizer._learning_rate, ControlledRate)
    assert _controlled_state(loaded) == state
    assert _controlled_state(from_checkpoint) == state
    # Keras's own optimizer variables, in Keras's order (the trained optimizer also holds
    # the rate state; the loaded one gets it when a callback attaches).
    keras_own = [v for v in first.optimizer.variables if "lrschedule_" not in v.path]
    assert len(keras_own) == len(loaded.optimizer.variables)
    for a, b in zip(keras_own, loaded.optimizer.variables):
        np.testing.assert_array_equal(ops.convert_to_numpy(a), ops.convert_to_numpy(b))

    trace = BiasTrace()
    resumed = fit(loaded, 7, [Inject(SAVE_VALUES), ReduceLROnPlateau(**PLATEAU_ARGS), trace], initial_epoch=4)
    np.testing.assert_allclose(
        resumed.history["learning_rate"], full.history["learning_rate"][4:], rtol=1e-6
    )
    np.testing.assert_allclose(trace.values, full_trace.values[8:], rtol=1e-6, atol=1e-7)
    assert _controlled_state(loaded) == _controlled_state(uninterrupted)


def test_a_constant_rate_saves_as_keras_does_its_counters_restart_on_load(tmp_path):
    # The deliberate difference, stated in ReduceLROnPlateau's docstring: with a
    # constant rate the optimizer keeps Keras's variable, so a .keras file holds the
    # reduced rate as Keras's own callback leaves it; the plateau's counters are
    # restored by load_weights()/BackupAndRestore (next test), and restart after
    # load_model() as Keras's do.
    first = bias_model(0.1, momentum=0.9)
    fit(first, 4, [Inject(SAVE_VALUES), ReduceLROnPlateau(**PLATEAU_ARGS)])
    assert _controlled_state(first)[:4] == (0.5, pytest.approx(0.9, rel=1e-6), 0, 1)
    path = os.path.join(tmp_path, "model.keras")
    first.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    rate = loaded.optimizer._learning_rate
    assert isinstance(rate, keras.Variable)
    assert float(ops.convert_to_numpy(rate)) == np.float32(0.1) * 0.5  # Keras rounds so
    for a, b in zip([v for v in first.optimizer.variables if "lrschedule_" not in v.path],
                    loaded.optimizer.variables):
        np.testing.assert_array_equal(ops.convert_to_numpy(a), ops.convert_to_numpy(b))
    fit(loaded, 5, [Inject(SAVE_VALUES[4:5] * 5), ReduceLROnPlateau(**PLATEAU_ARGS)],
        initial_epoch=4)
    # Restarted: no reduction counted (the uninterrupted run's multiplier is 0.5 here),
    # the rate carried on from the file's.
    assert _controlled_state(loaded)[0] == 1.0
    assert float(ops.convert_to_numpy(loaded.optimizer._learning_rate)) == np.float32(0.05)


@pytest.mark.parametrize(
    "make_schedule",
    [lambda: 0.1, lambda: keras.optimizers.schedules.ExponentialDecay(0.1, 4, 0.5)],
    ids=["constant", "keras_exponential_decay"],
)
def test_plateau_state_survives_backup_and_restore(tmp_path, make_schedule):
    backup_dir = os.path.join(tmp_path, "backup")

    def callbacks(extra=()):
        # The plateau is listed before BackupAndRestore, so that the backup written
        # at an epoch's end holds the state updated at that epoch's end.
        plateau = ReduceLROnPlateau(**PLATEAU_ARGS)
        backup = keras.callbacks.BackupAndRestore(backup_dir)
        return [Inject(SAVE_VALUES), plateau, backup] + list(extra)

    uninterrupted = bias_model(make_schedule(), momentum=0.9)
    full_trace = BiasTrace()
    full = fit(uninterrupted, 7, [Inject(SAVE_VALUES), ReduceLROnPlateau(**PLATEAU_ARGS), full_trace])

    crashed = bias_model(make_schedule(), momentum=0.9)
    with pytest.raises(RuntimeError, match="simulated crash after epoch 3"):
        fit(crashed, 7, callbacks([StopAfter(3)]))

    fresh = bias_model(make_schedule(), momentum=0.9)  # a new process would start here
    trace = BiasTrace()
    resumed = fit(fresh, 7, callbacks([trace]))
    np.testing.assert_allclose(
        resumed.history["learning_rate"], full.history["learning_rate"][4:], rtol=1e-6
    )
    np.testing.assert_allclose(trace.values, full_trace.values[8:], rtol=1e-6, atol=1e-7)
    assert _controlled_state(fresh) == _controlled_state(uninterrupted)
    for a, b in zip(uninterrupted.weights, fresh.weights):
        np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), rtol=1e-6)


def test_schedule_lr_two_argument_function_resumes_from_the_saved_rate(tmp_path):
    # lr passed to a function of (epoch, lr) is state too: after a resume it is the
    # value the function returned before the crash, not the optimizer's initial rate.
    def halve(epoch, lr):
        return lr * 0.5

    backup_dir = os.path.join(tmp_path, "backup")
    full_trace = BiasTrace()
    fit(bias_model(0.4), 5, [ScheduleLR(halve), full_trace])
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(bias_model(0.4), 5, [ScheduleLR(halve), keras.callbacks.BackupAndRestore(backup_dir),
                                 StopAfter(2)])
    trace = BiasTrace()
    fit(bias_model(0.4), 5, [ScheduleLR(halve), keras.callbacks.BackupAndRestore(backup_dir), trace])
    expected = [0.4 * 0.5 ** (e + 1) for e in range(5)]
    np.testing.assert_allclose(full_trace.applied, per_step(expected), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(trace.applied, per_step(expected[3:]), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------------------
# LRLogger


def test_lr_logger_constant_rate():
    history = fit(bias_model(0.05), 3, [LRLogger()])
    np.testing.assert_allclose(history.history["learning_rate"], [0.05] * 3, rtol=1e-6)


def test_lr_logger_per_batch_over_a_schedule_and_leaves_the_optimizer_alone():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 4, 0.5)
    model = bias_model(schedule)
    logger = LRLogger(per="batch")
    trace = BiasTrace()
    history = fit(model, 3, [logger, trace])
    expected = _exponential(np.arange(6))
    np.testing.assert_allclose(logger.batch_rates, expected, rtol=1e-6)
    assert logger.batch_steps == list(range(6))
    np.testing.assert_allclose(trace.applied, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(history.history["learning_rate"], expected[1::2], rtol=1e-6)
    assert model.optimizer._learning_rate is schedule
    assert not hasattr(model.optimizer, "_lrschedule_state")


@pytest.mark.parametrize("logger_first", [True, False], ids=["logger_first", "plateau_first"])
def test_lr_logger_reports_the_rate_used_whatever_the_order(logger_first):
    model = bias_model(keras.optimizers.schedules.ExponentialDecay(0.1, 4, 0.5))
    logger = LRLogger(per="batch")
    plateau = ReduceLROnPlateau(monitor="synthetic", mode="min", patience=0, factor=0.5)
    trace = BiasTrace()
    ordered = [logger, plateau] if logger_first else [plateau, logger]
    history = fit(model, 3, [Inject([1.0, 1.0, 1.0])] + ordered + [trace])
    expected = _exponential(np.arange(6)) * per_step([1, 1, 0.5])  # reduced at the end of e1
    np.testing.assert_allclose(trace.applied, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(logger.batch_rates, expected, rtol=1e-6)
    np.testing.assert_allclose(history.history["learning_rate"], expected[1::2], rtol=1e-6)


class _ScalarOnly(keras.optimizers.schedules.LearningRateSchedule):
    """A user schedule that refuses a vector of steps (Python `if` on the step)."""

    def __call__(self, step):
        step = ops.convert_to_tensor(step)
        if len(step.shape) != 0:
            raise ValueError("one step at a time")
        return 0.1 / (1.0 + ops.cast(step, "float32"))


@pytest.mark.parametrize(
    "make_rate, callbacks, expected",
    [
        # ScheduleLR sets the held rate at each epoch's start; the logger sees it.
        (lambda: 0.05, lambda: [ScheduleLR(lambda epoch: 0.1 * 0.5 ** epoch)],
         per_step([0.1, 0.05, 0.025])),
        # A schedule that cannot be evaluated on a vector of steps is still logged.
        (_ScalarOnly, lambda: [], 0.1 / (1.0 + np.arange(6))),
        # A plain variable rate assigned by other code at every batch is read per batch.
        (lambda: 0.05, lambda: [keras.callbacks.LambdaCallback(
            on_train_batch_begin=lambda batch, logs: None)], [0.05] * 6),
    ],
    ids=["schedule_lr", "scalar_only_schedule", "variable_rate"],
)
def test_lr_logger_per_batch_records_the_rates_the_optimizer_used(make_rate, callbacks,
                                                                  expected):
    model = bias_model(make_rate())
    logger = LRLogger(per="batch")
    trace = BiasTrace()
    fit(model, 3, [*callbacks(), logger, trace])
    np.testing.assert_allclose(trace.applied, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(logger.batch_rates, expected, rtol=1e-6)
    assert logger.batch_steps == list(range(6))


@pytest.mark.skipif(keras.backend.backend() == "torch",
                    reason="Keras refuses steps_per_execution > 1 on torch")
def test_lr_logger_per_batch_with_steps_per_execution():
    # Keras calls batch hooks once per execution of 2 steps: the logger keeps the rate
    # of each execution's last step, as the optimizer's step count says.
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(
        0.1, 4, 0.5)), loss="mse", steps_per_execution=2)
    logger = LRLogger(per="batch")
    model.fit(np.zeros((8, 1)), np.zeros((8, 1)), batch_size=1, epochs=2, shuffle=False,
              verbose=0, callbacks=[logger])
    assert logger.batch_steps == [1, 3, 5, 7, 9, 11, 13, 15]
    np.testing.assert_allclose(logger.batch_rates, _exponential(logger.batch_steps), rtol=1e-6)


def test_lr_logger_resets_batch_rates_at_each_fit():
    model = bias_model(0.05)
    logger = LRLogger(per="batch")
    fit(model, 2, [logger])
    fit(model, 1, [logger])
    assert logger.batch_steps == [4, 5]


# --------------------------------------------------------------------------------------
# Serialization of the callbacks


@pytest.mark.parametrize(
    "callback",
    [
        ScheduleLR(seed_step_decay, verbose=1),
        ScheduleLR(keras.optimizers.schedules.ExponentialDecay(0.1, 3, 0.5)),
        ScheduleLR(lrschedule.StepDecay(0.1, step_size=2, gamma=0.5)),
        ScheduleLR(_varargs, arity=2),
        ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=3, mode="max",
                          min_delta=0.01, cooldown=2, min_lr=1e-5, verbose=1),
        LRLogger(per="batch"),
    ],
    ids=["function", "keras_schedule", "ours_schedule", "function_with_arity", "plateau", "logger"],
)
def test_callback_config_round_trip(callback):
    serialized = keras.saving.serialize_keras_object(callback)
    assert serialized["registered_name"] == f"lrschedule>{type(callback).__name__}"
    back = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert type(back) is type(callback)
    assert back.get_config() == callback.get_config()
    assert type(callback).from_config(callback.get_config()).get_config() == callback.get_config()


def test_schedule_lr_from_config_rebuilds_a_working_function():
    back = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(ScheduleLR(seed_step_decay))))
    )
    assert back.schedule(25) == seed_step_decay(25) == 0.0025


@pytest.mark.backend_independent
def test_reduce_lr_on_plateau_takes_keras_arguments_in_keras_order():
    # A drop-in for keras.callbacks.ReduceLROnPlateau: the same names in the same
    # order, so a positional call means the same (Keras's 4th argument is verbose).
    # lrschedule's own arguments (`groups`, per-layer rates; `decay_steps`/`decay_type`,
    # smooth reductions; `min_delta_mode`, PyTorch's relative rule) come after Keras's.
    ours = list(inspect.signature(lrschedule.ReduceLROnPlateau).parameters)
    theirs = [name for name, p in inspect.signature(keras.callbacks.ReduceLROnPlateau)
              .parameters.items() if p.kind is not p.VAR_KEYWORD]
    assert ours == theirs + ["groups", "decay_steps", "decay_type", "min_delta_mode"]
    positional = lrschedule.ReduceLROnPlateau("loss", 0.5, 3, 1, "min", 0.01, 2, 1e-5)
    keyword = keras.callbacks.ReduceLROnPlateau("loss", 0.5, 3, 1, "min", 0.01, 2, 1e-5)
    for name in theirs:
        assert getattr(positional, name) == getattr(keyword, name), name
