"""Gradient accumulation: a schedule counted in optimizer updates, as PyTorch users count.

With `gradient_accumulation_steps=k` the probe's weight moves only at every k-th batch,
by exactly the rate of that update (the mean of k gradients of 1 is 1), so the rates
applied inside the compiled step are read back from the weights. The expectations:
PyTorch's scheduler stepped once per optimizer step (the convention of every
accumulation loop written for it), Keras's own counting (the micro-batch counter) for
a schedule marked `InMicroBatches`, and the formulas.
"""

import os
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest

import lrschedule as lrs
from probes import Flat, Kernels, RateTrace, kernel_probe, probe_data, torch_trajectory

K = 4
UPDATES = 5
# The probe's float32 weight (near -0.2 to -0.5) shows a rate below ~1e-6 to a few ulps.
TOL = {"rtol": 1e-4, "atol": 5e-8}


def run(optimizer, callbacks=(), epochs=1, batches=K * UPDATES):
    model = kernel_probe(0.1)
    model.compile(optimizer=optimizer, loss="mean_absolute_error")
    x, y = probe_data(batches)
    trace = RateTrace()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, batch_size=1, epochs=epochs, shuffle=False, verbose=0,
                            callbacks=[*callbacks, trace])
    ours = [w for w in caught if "accumulates gradients" in str(w.message)]
    return trace.rates, history.history, ours, model


def at_updates(rates):
    """The rates of the updates: the weight moves at every K-th batch only."""
    rates = np.asarray(rates)
    moved = np.zeros_like(rates, dtype=bool)
    moved[K - 1::K] = True
    np.testing.assert_allclose(rates[~moved], 0.0, atol=1e-7)
    return rates[moved]


def step_decay():
    return lrs.StepDecay(0.1, step_size=1, gamma=0.5)


def torch_one_cycle(updates, max_lr=0.1):
    torch = pytest.importorskip("torch", reason="PyTorch, the reference, is not installed")
    return torch_trajectory(
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=max_lr, total_steps=updates,
                                                      cycle_momentum=False),
        updates, base_lr=max_lr)


def test_count_updates_gives_update_u_the_rate_of_step_u():
    opt = lrs.count_updates(keras.optimizers.SGD(step_decay(), gradient_accumulation_steps=K))
    rates, _, warned, _ = run(opt)
    np.testing.assert_allclose(at_updates(rates), [0.1 * 0.5 ** u for u in range(UPDATES)],
                               **TOL)
    assert not warned


def test_one_cycle_in_updates_matches_pytorch_stepping_once_per_update():
    schedule = lrs.OneCycle(max_lr=0.1, total_steps=UPDATES)
    opt = lrs.count_updates(keras.optimizers.SGD(schedule, gradient_accumulation_steps=K))
    rates, _, _, _ = run(opt)
    np.testing.assert_allclose(at_updates(rates), torch_one_cycle(UPDATES), **TOL)


def test_keras_alone_counts_micro_batches_and_in_micro_batches_keeps_it():
    # Keras evaluates the schedule at its batch counter: update u (after batch
    # u*K + K - 1) uses schedule(u*K + K - 1).
    keras_counting = [0.1 * 0.5 ** (u * K + K - 1) for u in range(UPDATES)]
    rates, _, _, _ = run(keras.optimizers.SGD(step_decay(), gradient_accumulation_steps=K))
    np.testing.assert_allclose(at_updates(rates), keras_counting, **TOL)
    marked = keras.optimizers.SGD(lrs.InMicroBatches(step_decay()), gradient_accumulation_steps=K)
    rates, _, warned, _ = run(lrs.count_updates(marked),
                              callbacks=[lrs.ReduceLROnPlateau("loss"), lrs.LRLogger()])
    np.testing.assert_allclose(at_updates(rates), keras_counting, **TOL)
    assert not warned


def test_our_callbacks_count_updates_and_warn_once():
    opt = keras.optimizers.SGD(step_decay(), gradient_accumulation_steps=K)
    model = kernel_probe(0.1)
    model.compile(optimizer=opt, loss="mean_absolute_error")
    x, y = probe_data(K * UPDATES)
    trace = RateTrace()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # a second fit() meets the wrapped schedule: no new warning
            model.fit(x[: 2 * K], y[: 2 * K], batch_size=1, epochs=1, shuffle=False, verbose=0,
                      callbacks=[lrs.ReduceLROnPlateau("loss"), lrs.LRLogger(), trace])
    ours = [str(w.message) for w in caught if "accumulates gradients" in str(w.message)]
    assert len(ours) == 1
    assert "gradient_accumulation_steps=4" in ours[0] and "count it in updates" in ours[0]
    assert "InMicroBatches" in ours[0] and "count_updates" in ours[0]
    # The second fit's trace: updates 2 and 3.
    np.testing.assert_allclose(at_updates(trace.rates), [0.1 * 0.5 ** u for u in (2, 3)],
                               **TOL)


def test_the_logger_alone_warns_and_changes_nothing():
    rates, history, warned, _ = run(
        keras.optimizers.SGD(step_decay(), gradient_accumulation_steps=K),
        callbacks=[lrs.LRLogger()])
    assert len(warned) == 1 and "LRLogger does not change the optimizer" in str(warned[0].message)
    # the remedy is worded for an optimizer the user built without lrschedule (keras3's
    # optimizer_*() or Keras's class), never as if the user's call had counted updates
    message = str(warned[0].message)
    assert "This optimizer was built without lrschedule.count_updates()" in message
    assert "keras3's optimizer_*() and Keras's classes do not" in message
    assert "schedule_in_micro_batches()" in message
    last = K * UPDATES - 1
    np.testing.assert_allclose(at_updates(rates), [0.1 * 0.5 ** (u * K + K - 1)
                                                   for u in range(UPDATES)], **TOL)
    # The rate logged is the one used at the epoch's last batch (an update).
    assert history["learning_rate"] == pytest.approx([0.1 * 0.5 ** last], rel=1e-4)


def test_logger_per_batch_logs_the_rate_each_update_used():
    opt = lrs.count_updates(keras.optimizers.SGD(step_decay(), gradient_accumulation_steps=K))
    logger = lrs.LRLogger(per="batch")
    rates, history, _, _ = run(opt, callbacks=[logger])
    assert logger.batch_steps == list(range(K * UPDATES))
    np.testing.assert_allclose(at_updates(rates), np.asarray(logger.batch_rates)[K - 1::K],
                               **TOL)
    assert history["learning_rate"] == pytest.approx([0.1 * 0.5 ** (UPDATES - 1)], rel=1e-5)


def test_plateau_over_an_accumulating_schedule_multiplies_it():
    opt = lrs.count_updates(keras.optimizers.SGD(step_decay(), gradient_accumulation_steps=K))
    plateau = lrs.ReduceLROnPlateau("flat", factor=0.5, patience=0, mode="min")
    rates, _, _, _ = run(opt, callbacks=[Flat(), plateau], epochs=3, batches=2 * K)
    # Two updates per epoch; epoch e runs at 0.5 ** max(e - 1, 0) times schedule(u).
    expected = [0.1 * 0.5 ** u * 0.5 ** max(u // 2 - 1, 0) for u in range(6)]
    np.testing.assert_allclose(at_updates(rates), expected, **TOL)


@pytest.mark.parametrize("counted", ["after per_layer", "before per_layer"])
def test_per_layer_copies_accumulate_and_count_updates(counted):
    inp = keras.Input((1,))
    outs = [keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros", name=n)(inp)
            for n in ("low", "top")]
    model = keras.Model(inp, outs)
    template = keras.optimizers.SGD(step_decay(), gradient_accumulation_steps=K)
    if counted == "after per_layer":
        opt = lrs.count_updates(lrs.per_layer(template, model, decay=0.5))
    else:  # as R's optimizer_*() then optimizer_per_layer() do
        opt = lrs.per_layer(lrs.count_updates(template), model, decay=0.5)
    # The counting wrapper stays outermost, so the callbacks see it: no warning.
    assert all(isinstance(o._learning_rate, lrs.InUpdates) for o in opt.optimizers)
    model.compile(optimizer=opt, loss=["mean_absolute_error"] * 2)
    x, y = probe_data(K * 3)
    trace = Kernels(("low", "top"))
    with warnings.catch_warnings():
        # An accumulation warning would fail the test (only ours: on NumPy 2, TensorFlow
        # raises a DeprecationWarning of its own here).
        warnings.filterwarnings("error", category=lrs.AccumulationWarning)
        model.fit(x, [y, y], batch_size=1, epochs=1, shuffle=False, verbose=0,
                  callbacks=[lrs.ReduceLROnPlateau("loss"), lrs.LRLogger(), trace])
    applied = np.stack([trace.rates["low"], trace.rates["top"]], axis=1)
    for i, factor in enumerate((0.5, 1.0)):
        np.testing.assert_allclose(at_updates(applied[:, i]),
                                   [factor * 0.1 * 0.5 ** u for u in range(3)], **TOL)


SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np, keras
    sys.path.insert(0, sys.argv[1])
    import lrschedule  # noqa: F401 - registers the classes
    from probes import RateTrace, probe_data
    model = keras.models.load_model(sys.argv[2])  # safe_mode: only registered classes
    x, y = probe_data(8)
    trace = RateTrace()
    model.fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0, callbacks=[trace])
    print(repr(trace.rates.tolist()))
""")


@pytest.mark.subprocess
def test_an_accumulating_model_saved_loads_counting_updates_in_a_new_process(tmp_path):
    opt = lrs.count_updates(keras.optimizers.SGD(step_decay(), gradient_accumulation_steps=K))
    _, _, _, model = run(opt, batches=2 * K)
    model.save(tmp_path / "model.keras")
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, here, str(tmp_path / "model.keras")],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rates = eval(proc.stdout.strip().splitlines()[-1])  # a list of floats we printed
    np.testing.assert_allclose(at_updates(rates), [0.1 * 0.5 ** u for u in (2, 3)], **TOL)


@pytest.mark.parametrize("build, error, message", [
    (lambda: lrs.InUpdates(step_decay(), 0), ValueError, r"`gradient_accumulation_steps`"),
    (lambda: lrs.InUpdates(0.1, 4), TypeError, r"`schedule`"),
    (lambda: lrs.InMicroBatches("x"), TypeError, r"`schedule`"),
    (lambda: lrs.Scaled(step_decay(), 0), ValueError, r"`factor`"),
    (lambda: lrs.count_updates("adam"), TypeError, r"`optimizer`"),
])
@pytest.mark.backend_independent
def test_bad_input_is_refused_naming_the_argument(build, error, message):
    with pytest.raises(error, match=message):
        build()
