"""lrschedule.current(): the rate in force now, whatever drives it, on every backend.

Expected values are the schedules' formulas and Keras's rules, at the optimizer's step
count after a known number of updates.
"""

import keras
import numpy as np
import pytest

import lrschedule as lrs


def probe(rate):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=rate), loss="mse")
    return model


def train(model, steps, epochs=1, callbacks=()):
    x = np.linspace(0, 1, steps).reshape(-1, 1).astype("float32")
    model.fit(x, 2 * x, batch_size=1, epochs=epochs, shuffle=False, verbose=0,
              callbacks=list(callbacks))


def test_a_constant_rate():
    model = probe(0.01)
    assert lrs.current(model) == pytest.approx(0.01, rel=1e-7)
    train(model, 3)
    assert lrs.current(model) == pytest.approx(0.01, rel=1e-7)
    assert lrs.current(model.optimizer) == pytest.approx(0.01, rel=1e-7)


def test_a_schedule_at_the_next_update():
    # StepDecay(0.1, 2, 0.5): 0.1 * 0.5 ** (step // 2); after 5 updates the next is step 5
    model = probe(lrs.StepDecay(0.1, step_size=2, gamma=0.5))
    assert lrs.current(model) == pytest.approx(0.1, rel=1e-6)
    train(model, 5)
    assert lrs.current(model) == pytest.approx(0.1 * 0.5 ** 2, rel=1e-6)
    # Keras's own schedules too: ExponentialDecay(0.1, 10, 0.5) at step 5
    model = probe(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    train(model, 5)
    assert lrs.current(model) == pytest.approx(0.1 * 0.5 ** 0.5, rel=1e-6)


def test_after_plateau_reductions_over_a_schedule():
    # max mode on a falling loss: Keras's rule reduces after epochs 1 and 2 (patience 0)
    model = probe(lrs.StepDecay(0.1, step_size=4, gamma=0.5))
    plateau = lrs.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=0)
    train(model, 2, epochs=3, callbacks=[plateau])
    # next update: step 6, base 0.1 * 0.5 ** 1, times 0.25
    assert lrs.current(model) == pytest.approx(0.1 * 0.5 * 0.25, rel=1e-6)


def test_a_rate_held_by_schedule_lr():
    model = probe(0.05)
    train(model, 2, epochs=3, callbacks=[lrs.ScheduleLR(lambda epoch: 0.2 / (1 + epoch))])
    # the rate set at the last epoch's start (epoch 2) holds until the next fit
    assert lrs.current(model) == pytest.approx(0.2 / 3, rel=1e-6)


def test_a_loss_scale_optimizer_reports_its_inner_rate():
    inner = keras.optimizers.SGD(learning_rate=lrs.Constant(0.03))
    optimizer = keras.optimizers.LossScaleOptimizer(inner)
    assert lrs.current(optimizer) == pytest.approx(0.03, rel=1e-6)


def test_under_gradient_accumulation_it_is_what_keras_evaluates():
    # Keras evaluates the schedule at its micro-batch counter: 6 micro-batches in,
    # StepDecay(0.1, 4, 0.5) gives 0.05 whatever the number of updates (2).
    optimizer = keras.optimizers.SGD(learning_rate=lrs.StepDecay(0.1, 4, 0.5),
                                     gradient_accumulation_steps=3)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    train(model, 6)
    assert lrs.current(model) == pytest.approx(0.05, rel=1e-6)


@pytest.mark.parametrize(
    "value, error, text",
    [
        (None, TypeError, "model=None"),
        ("adam", TypeError, "model='adam'"),
        (0.1, TypeError, "model=0.1"),
    ],
    ids=["none", "string", "number"],
)
@pytest.mark.backend_independent
def test_refuses_what_is_not_a_model_or_optimizer(value, error, text):
    with pytest.raises(error, match=r"Argument `model` must be a compiled Keras model or a "
                       r"Keras optimizer") as info:
        lrs.current(value)
    assert text in str(info.value)


def test_refuses_a_model_that_is_not_compiled():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"Argument `model` must be a compiled Keras model"):
        lrs.current(model)
