"""ReduceLROnPlateau(decay_steps=N): a plateau's reduction as a smooth decay, a
cooldown on plateau (issue #18, part 4).

The probe (probes.py) reads the rate of every update back from the weights. The
monitored value `flat` never improves after epoch 0, so with patience=1 and two
updates per epoch the first reduction is made at the end of epoch 1, after update 3:
the decay starts at update 4. The expected rates are written by hand from the
definition: from a to b over N updates, update 4 + i (0 <= i <= N) uses, with
p = i / N,

    linear  b + (a - b) (1 - p)
    cosine  b + (a - b) (1 + cos(pi p)) / 2
    1-sqrt  b + (a - b) (1 - sqrt(p))

(the decays of WarmupStableDecay and of transformers' get_wsd_schedule), and b after.
"""

import os

import keras
import numpy as np
import pytest
from keras import ops

import lrschedule as lrs
from lrschedule.callbacks import ControlledRate
from probes import Flat, RateTrace, StopAt, count_traces, kernel_probe, probe_data

BACKEND = keras.backend.backend()


def plateau(**kwargs):
    args = dict(monitor="flat", mode="min", factor=0.5, patience=1, decay_steps=4)
    args.update(kwargs)
    return lrs.ReduceLROnPlateau(**args)


def run(learning_rate, epochs, callbacks, model=None, initial_epoch=0):
    """Trains the probe (2 updates per epoch); returns (model, rates used, history)."""
    model = model if model is not None else kernel_probe(learning_rate)
    trace = RateTrace()
    x, y = probe_data(4)
    history = model.fit(x, y, batch_size=2, epochs=epochs, initial_epoch=initial_epoch,
                        shuffle=False, verbose=0, callbacks=[Flat(), *callbacks, trace])
    return model, trace.rates, history


# One reduction (cooldown 10): from 0.1 to 0.05 over updates 4..8.
ONE_REDUCTION = {
    "linear": [0.1] * 5 + [0.0875, 0.075, 0.0625, 0.05, 0.05],
    "cosine": [0.1] * 5 + [0.09267767, 0.075, 0.05732233, 0.05, 0.05],
    "1-sqrt": [0.1] * 5 + [0.075, 0.06464466, 0.05669873, 0.05, 0.05],
}


@pytest.mark.parametrize("decay_type", sorted(ONE_REDUCTION))
def test_a_reduction_decays_over_decay_steps_along_its_shape(decay_type):
    _, rates, history = run(0.1, 5, [plateau(decay_type=decay_type, cooldown=10)])
    np.testing.assert_allclose(rates, ONE_REDUCTION[decay_type], rtol=1e-5)
    # The log holds the rate of each epoch's last update.
    np.testing.assert_allclose(history.history["learning_rate"],
                               ONE_REDUCTION[decay_type][1::2], rtol=1e-5)


def test_a_reduction_during_a_decay_continues_from_the_rate_reached():
    # cooldown 0: a reduction at the end of every epoch from epoch 1 on, each one before
    # the previous decay is over. At update 6 the rate in force is 0.075 (multiplier
    # 0.75), the new target 0.1 * 0.5 * 0.5 = 0.025: 0.075, 0.0625; at update 8, 0.05 ->
    # 0.0125: 0.05, 0.040625; at update 10, 0.03125 -> 0.00625: 0.03125, 0.025.
    _, rates, _ = run(0.1, 6, [plateau(decay_type="linear")])
    expected = [0.1] * 5 + [0.0875, 0.075, 0.0625, 0.05, 0.040625, 0.03125, 0.025]
    np.testing.assert_allclose(rates, expected, rtol=1e-5)


def test_over_a_schedule_both_ends_follow_the_schedule():
    # Linear(0.1 -> 0.05 over 20 updates): base(t) = 0.1 - 0.0025 t; the multiplier goes
    # from 1 to 0.5 over updates 4..8 (linear), so update t uses base(t) * m(t).
    schedule = lrs.Linear(0.1, 0.05, 20)
    _, rates, _ = run(schedule, 5, [plateau(cooldown=10)])
    base = [0.1 - 0.0025 * t for t in range(10)]
    m = [1.0] * 5 + [0.875, 0.75, 0.625, 0.5, 0.5]
    np.testing.assert_allclose(rates, np.multiply(base, m), rtol=1e-5)


def test_a_cooldown_to_the_floor_min_lr():
    # A small factor and min_lr as the floor: one smooth decay from 0.1 to 0.02 (the
    # reduced rate 0.1 * 1e-3 is below min_lr), linear over updates 4..8, then held.
    _, rates, _ = run(0.1, 6, [plateau(factor=1e-3, min_lr=0.02, cooldown=10)])
    expected = [0.1] * 5 + [0.08, 0.06, 0.04, 0.02, 0.02, 0.02, 0.02]
    np.testing.assert_allclose(rates, expected, rtol=1e-5)


def test_no_reduction_from_the_floor():
    # patience 1, cooldown 0: the second reduction (end of epoch 2, update 6) starts
    # from 0.06 (above the floor) towards 0.02; once at min_lr, no reduction is made.
    model, rates, _ = run(0.1, 10, [plateau(factor=1e-3, min_lr=0.02, decay_steps=2)])
    # 0.1 -> 0.02 over 2 updates from update 4: 0.1, 0.06, then 0.02 from update 6 on;
    # the reductions due at the ends of epochs 2.. find the rate at min_lr.
    expected = [0.1] * 5 + [0.06] + [0.02] * 14
    np.testing.assert_allclose(rates, expected, rtol=1e-5)
    assert lrs.current(model) == pytest.approx(0.02, rel=1e-6)


def test_the_logger_per_batch_and_current_report_the_rates_used():
    logger = lrs.LRLogger(per="batch")
    model, rates, _ = run(0.1, 5, [plateau(decay_type="cosine", cooldown=10), logger])
    np.testing.assert_allclose(logger.batch_rates, rates, rtol=1e-6)
    np.testing.assert_allclose(rates, ONE_REDUCTION["cosine"], rtol=1e-5)
    assert lrs.current(model) == pytest.approx(0.05, rel=1e-6)


def test_decay_steps_count_updates_under_gradient_accumulation():
    # Two micro-batches per update: the decay spans 4 updates (8 optimizer calls). The
    # weights move once per update, every second batch.
    optimizer = keras.optimizers.SGD(0.1, gradient_accumulation_steps=2)
    model = kernel_probe(0.1)
    model.compile(optimizer=optimizer, loss="mean_absolute_error")
    _, rates, _ = run(None, 10, [plateau(cooldown=20, patience=1)], model=model)
    np.testing.assert_allclose(rates[0::2], 0.0, atol=1e-7)  # no update mid-accumulation
    # The reduction is made at the end of epoch 1 (after call 3, i.e. update 1): updates
    # 2..6 go from 0.1 to 0.05 in 4 steps.
    expected = [0.1, 0.1, 0.1, 0.0875, 0.075, 0.0625, 0.05, 0.05, 0.05, 0.05]
    np.testing.assert_allclose(rates[1::2], expected, rtol=1e-5)


@pytest.mark.skipif(BACKEND == "torch",
                    reason="the torch backend runs the train step eagerly: nothing is compiled")
def test_smooth_reductions_compile_the_train_step_once():
    model = kernel_probe(lrs.StepDecay(0.1, 3, 0.5))
    calls = count_traces(model)
    run(None, 6, [plateau(decay_type="1-sqrt")], model=model)
    assert calls["n"] == 1


# --------------------------------------------------------------------------------------
# The reduction in progress is state: saved and resumed


def _state(model):
    rate = model.optimizer._learning_rate
    values = rate.state.numbers()
    return {k: values[k] for k in ("multiplier", "decay_from", "decay_start", "decay_steps")}


@pytest.mark.parametrize("make_rate", [lambda: 0.1, lambda: lrs.Linear(0.1, 0.05, 20)],
                         ids=["constant", "schedule"])
def test_backup_and_restore_resumes_inside_a_decay(tmp_path, make_rate):
    # Decay over 6 updates from update 4; the crash comes at the start of epoch 3
    # (after update 5), in the middle of it.
    def callbacks(extra=()):
        return [plateau(decay_steps=6, decay_type="cosine", cooldown=10),
                keras.callbacks.BackupAndRestore(str(tmp_path / "backup")), *extra]

    _, full, _ = run(make_rate(), 7, [plateau(decay_steps=6, decay_type="cosine", cooldown=10)])
    with pytest.raises(RuntimeError, match="interrupted"):
        run(make_rate(), 7, callbacks([StopAt(3)]))
    fresh = kernel_probe(make_rate())  # a new process would start here
    fresh, resumed, _ = run(None, 7, callbacks(), model=fresh)
    np.testing.assert_allclose(resumed, full[6:], rtol=1e-6)
    assert _state(fresh)["decay_start"] == 4 and _state(fresh)["decay_steps"] == 6


@pytest.mark.parametrize("make_rate", [lambda: 0.1, lambda: lrs.Linear(0.1, 0.05, 20)],
                         ids=["constant", "schedule"])
def test_a_saved_model_resumes_inside_a_decay(tmp_path, make_rate):
    _, full, _ = run(make_rate(), 7, [plateau(decay_steps=6, decay_type="1-sqrt", cooldown=10)])
    first, _, _ = run(make_rate(), 3, [plateau(decay_steps=6, decay_type="1-sqrt", cooldown=10)])
    path = os.path.join(tmp_path, "model.keras")
    first.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    rate = loaded.optimizer._learning_rate
    assert isinstance(rate, ControlledRate) and rate.decay_type == "1-sqrt"
    assert _state(loaded) == _state(first)
    # Without the callback, the loaded model goes on with the decay in progress.
    _, alone, _ = run(None, 4, [], model=keras.models.load_model(path, safe_mode=True),
                      initial_epoch=3)
    np.testing.assert_allclose(alone, full[6:8], rtol=1e-6)
    _, resumed, _ = run(None, 7, [plateau(decay_steps=6, decay_type="1-sqrt", cooldown=10)],
                        model=loaded, initial_epoch=3)
    np.testing.assert_allclose(resumed, full[6:], rtol=1e-6)


def test_the_config_round_trip_keeps_a_decay_in_progress():
    rate = ControlledRate(lrs.Constant(0.2), multiplier=0.25, decay_type="cosine",
                          decay_from=1.0, decay_start=10, decay_steps=4)
    again = ControlledRate.from_config(rate.get_config())
    steps = np.arange(8, 16)
    # from 0.2 at step 10 to 0.05 at step 14, cosine
    p = np.clip((steps - 10) / 4, 0, 1)
    expected = 0.05 + 0.15 * (1 + np.cos(np.pi * p)) / 2
    for each in (rate, again):
        got = [float(ops.convert_to_numpy(each(int(s)))) for s in steps]
        np.testing.assert_allclose(got, expected, rtol=1e-6)
        np.testing.assert_allclose(each.values_at(steps), expected, rtol=1e-6)


def test_a_config_without_a_decay_reads_as_before():
    # The configs saved by 0.1.0 have no decay keys: the rate is the plain formula.
    config = {"schedule": None, "learning_rate": 0.1, "multiplier": 0.5, "min_lr": 0.0,
              "best": 1.0, "wait": 0, "cooldown_counter": 0, "name": "ControlledRate"}
    rate = ControlledRate.from_config(config)
    assert rate.decay_type is None
    assert float(rate.values_at(3)) == pytest.approx(0.05)
