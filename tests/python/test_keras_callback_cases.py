"""Keras's own callback test cases, run with lrschedule's classes in place of Keras's.

Ported from keras/src/callbacks/reduce_lr_on_plateau_test.py and
keras/src/callbacks/learning_rate_scheduler_test.py (keras-team/keras): the same
scenario, the same inputs (Keras's `get_test_data`, the same model and optimizer),
the same expected numbers; `keras.callbacks.ReduceLROnPlateau` becomes
`lrschedule.ReduceLROnPlateau` and `keras.callbacks.LearningRateScheduler` becomes
`lrschedule.ScheduleLR`, with the same arguments.

Marked as expected failures (strict: they must fail), each for a documented difference:
* the two tests that expect a TypeError when the optimizer has a schedule: working on
  top of a schedule is what lrschedule's callbacks are for;
* the test that the plateau's counters reset when a new `fit()` begins: ours are kept
  across `fit()` calls (and in saved weights), so that training resumes exactly.
The verbose test of the scheduler expects our class's name where Keras names its own.
"""

import logging

import keras
import numpy as np
import pytest
from keras.src.testing import test_utils
from keras.src.utils import io_utils, numerical_utils

import lrschedule
from probes import Flat

SCHEDULE_ON_PURPOSE = ("lrschedule's callbacks work on top of a schedule: that is what "
                       "they are for (Keras's raise this TypeError)")
COUNTERS_KEPT = ("the plateau's counters are kept across fit() calls, for exact resume "
                 "(Keras's reset them in on_train_begin)")


@pytest.fixture
def keras_logs(caplog):
    """Keras's callbacks print through absl logging once interactive logging is off."""
    io_utils.disable_interactive_logging()
    io_utils.set_logging_verbosity("INFO")
    try:
        with caplog.at_level(logging.INFO):
            yield caplog
    finally:
        io_utils.enable_interactive_logging()


# --------------------------------------------------------------------------------------
# reduce_lr_on_plateau_test.py


@pytest.fixture
def plateau_setup():
    (x_train, y_train), (x_test, y_test) = test_utils.get_test_data(
        train_samples=10, test_samples=10, input_shape=(3,), num_classes=2,
    )
    y_test = numerical_utils.to_categorical(y_test)
    y_train = numerical_utils.to_categorical(y_train)
    model = keras.Sequential([keras.layers.Dense(5), keras.layers.Dense(2)])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.1))
    return model, x_train, y_train, x_test, y_test


def test_reduces_lr_with_model_fit(plateau_setup):
    model, x_train, y_train, x_test, y_test = plateau_setup
    reduce_lr = lrschedule.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss",
                                             min_delta=100)
    model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[reduce_lr],
              epochs=2)
    assert model.optimizer.learning_rate.value == 0.01


@pytest.mark.xfail(strict=True, reason=SCHEDULE_ON_PURPOSE)
def test_throws_when_optimizer_has_schedule(plateau_setup):
    model, x_train, y_train, x_test, y_test = plateau_setup
    reduce_lr = lrschedule.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss",
                                             min_delta=100)
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(
        keras.optimizers.schedules.PolynomialDecay(initial_learning_rate=0.1, decay_steps=10)))
    with pytest.raises(TypeError, match="This optimizer was created with a `LearningRateSchedule`"):
        model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[reduce_lr],
                  epochs=2)


def test_verbose_logging(plateau_setup, keras_logs):
    model, x_train, y_train, x_test, y_test = plateau_setup
    reduce_lr = lrschedule.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss",
                                             min_delta=100, verbose=1)
    model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[reduce_lr],
              epochs=2)
    expected_log = "ReduceLROnPlateau reducing learning rate to 0.01"
    assert any(expected_log in message for message in keras_logs.messages)


def test_honors_min_lr(plateau_setup):
    model, x_train, y_train, x_test, y_test = plateau_setup
    reduce_lr = lrschedule.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss",
                                             min_delta=10, min_lr=0.005)
    model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[reduce_lr],
              epochs=4)
    assert model.optimizer.learning_rate.value == 0.005


def test_cooldown(plateau_setup):
    model, x_train, y_train, x_test, y_test = plateau_setup
    reduce_lr = lrschedule.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss",
                                             min_delta=100, cooldown=2)
    model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[reduce_lr],
              epochs=4)
    # With a cooldown of 2 epochs, we should only reduce the LR every other epoch, so
    # after 4 epochs we will have reduced 2 times.
    assert float(model.optimizer.learning_rate.value) == pytest.approx(0.001, rel=1e-6)


@pytest.mark.xfail(strict=True, reason=COUNTERS_KEPT)
def test_state_reset_across_fit_calls(plateau_setup):
    model = plateau_setup[0]
    reduce_lr = lrschedule.ReduceLROnPlateau(patience=1, factor=0.1, monitor="loss",
                                             min_delta=0, cooldown=2)
    reduce_lr.set_model(model)
    reduce_lr.on_train_begin()
    reduce_lr.best = 0.5
    reduce_lr.wait = 3
    reduce_lr.cooldown_counter = 2
    reduce_lr.on_train_begin()
    assert reduce_lr.best is None
    assert reduce_lr.wait == 0
    assert reduce_lr.cooldown_counter == 0


# --------------------------------------------------------------------------------------
# learning_rate_scheduler_test.py


@pytest.fixture
def scheduler_setup():
    (x_train, y_train), _ = test_utils.get_test_data(
        train_samples=10, test_samples=10, input_shape=(3,), num_classes=2,
    )
    y_train = numerical_utils.to_categorical(y_train)
    model = keras.Sequential([keras.layers.Dense(5), keras.layers.Dense(2)])
    model.compile(loss="mse", optimizer="sgd")
    return model, x_train, y_train


def test_updates_learning_rate(scheduler_setup):
    model, x_train, y_train = scheduler_setup
    lr_scheduler = lrschedule.ScheduleLR(lambda step: 1.0 / (2.0 + step), verbose=1)
    model.fit(x_train, y_train, callbacks=[lr_scheduler], epochs=1)
    assert model.optimizer.learning_rate.value == 0.5


def test_scheduler_verbose_logging(scheduler_setup, keras_logs):
    model, x_train, y_train = scheduler_setup
    lr_scheduler = lrschedule.ScheduleLR(lambda step: 1.0 / (1.0 + step), verbose=1)
    model.fit(x_train, y_train, callbacks=[lr_scheduler], epochs=1)
    expected_log = "ScheduleLR setting learning rate to 1.0"  # Keras: "LearningRateScheduler"
    assert any(expected_log in message for message in keras_logs.messages)


def test_schedule_dependent_on_previous_learning_rate(scheduler_setup):
    model, x_train, y_train = scheduler_setup
    lr_scheduler = lrschedule.ScheduleLR(lambda step, lr: lr / 2)
    initial_lr = 0.03
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(initial_lr))
    model.fit(x_train, y_train, callbacks=[lr_scheduler], epochs=2)
    assert model.optimizer.learning_rate.value == initial_lr / 4.0


@pytest.mark.xfail(strict=True, reason=SCHEDULE_ON_PURPOSE)
def test_scheduler_throws_when_optimizer_has_schedule(scheduler_setup):
    model, x_train, y_train = scheduler_setup
    lr_scheduler = lrschedule.ScheduleLR(lambda step, lr: lr / 2)
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(
        keras.optimizers.schedules.PolynomialDecay(initial_learning_rate=0.1, decay_steps=10)))
    with pytest.raises(TypeError, match="This optimizer was created with a `LearningRateSchedule`"):
        model.fit(x_train, y_train, callbacks=[lr_scheduler], epochs=2)


def test_learning_rate_in_history(scheduler_setup):
    model, x_train, y_train = scheduler_setup
    lr_scheduler = lrschedule.ScheduleLR(lambda step, lr: 0.5)
    history = model.fit(x_train, y_train, callbacks=[lr_scheduler], epochs=1)
    assert "learning_rate" in history.history
    assert type(history.history["learning_rate"][0]) is float
    assert history.history["learning_rate"][0] == 0.5


# --------------------------------------------------------------------------------------
# What the drop-in means beyond Keras's cases: the rate variable stays Keras's.



def test_the_rate_variable_stays_keras_own_and_assignable(scheduler_setup):
    model, x_train, y_train = scheduler_setup
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.1))
    plateau = lrschedule.ReduceLROnPlateau(monitor="flat", patience=0, factor=0.5, mode="min")
    model.fit(x_train, y_train, callbacks=[Flat(), plateau], epochs=2, verbose=0)
    rate = model.optimizer.learning_rate
    assert isinstance(rate, keras.Variable)
    assert rate.value == 0.05  # float32(0.1) * 0.5, as Keras's rounds
    assert rate.numpy() == np.float32(0.05) and float(rate.numpy()) == pytest.approx(0.05)
    model.optimizer.learning_rate = 0.2  # user code, as with Keras
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.2)
    model.optimizer.learning_rate.assign(0.3)
    # Keras's own scheduler beside ours in one fit(): it sets each epoch's rate (here
    # the rate it finds), ours reduces it at each epoch end (its counters were kept).
    keras_scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr)
    model.fit(x_train, y_train, callbacks=[keras_scheduler, Flat(), plateau], epochs=2,
              verbose=0)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.3 * 0.5**2, rel=1e-6)
