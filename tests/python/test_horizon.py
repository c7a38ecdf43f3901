"""Schedules that know the run: horizons, the check against fit(), extend().

Expectations are hand tables: the steps each schedule of the catalogue is sized for,
written from its arguments, and the numbers each fit's warning must carry, counted by
hand from epochs, steps per epoch and the optimizer's count.
"""

import warnings

import keras
import numpy as np
import pytest

import lrschedule as lrs
from catalogue import catalogue

K = keras.optimizers.schedules

# The catalogue's schedules, by id: (steps, kind) from their arguments, or None.
HORIZONS = {
    "Constant": None,
    "Linear": (7, "ends"),                      # total_steps=7
    "StepDecay": None,
    "MultiStepDecay": (5, "steps"),             # last milestone 5
    "OneCycle": (12, "ends"),
    "OneCycle-3phase-linear": (20, "ends"),
    "Cyclic": None,
    "Cyclic-exp": None,
    "WarmupStableDecay": (8, "ends"),           # 2 + 2 + 4
    "InverseSqrt": None,
    "Warmup-Keras-cosine": (13, "ends"),        # 3 + CosineDecay's 10
    "Sequence": (8, "steps"),                   # ends in a constant after boundary 8
    "PerEpoch": None,                           # over a StepDecay
    "Tabulated": (4, "ends"),
    "Nested": None,                             # ends in an InverseSqrt
    "Keras-ExponentialDecay": None,
    "Keras-PiecewiseConstantDecay": (6, "steps"),   # steps <= 5 take the earlier value
    "Keras-PolynomialDecay": (6, "ends"),
    "Keras-InverseTimeDecay": None,
    "Keras-CosineDecay-warmup": (11, "ends"),   # 8 + 3 warmup
    "Keras-CosineDecayRestarts": None,
    "Scaled": (100, "ends"),                    # over OneCycle(total_steps=100)
    "CycledMomentum": (100, "ends"),            # the momentum of OneCycle(total_steps=100)
    "InUpdates": (100, "ends"),                 # 4 x OneCycle's 25 updates
    "InMicroBatches": None,                     # over a StepDecay
    "Extended": (70, "ends"),                   # lengthened to 70
}


@pytest.mark.parametrize("case, schedule", catalogue(), ids=[i for i, _ in catalogue()])
@pytest.mark.backend_independent
def test_horizon_of_every_schedule_matches_the_hand_table(case, schedule):
    assert case in HORIZONS, f"add {case} to HORIZONS"
    assert lrs.horizon(schedule) == HORIZONS[case]


def fit_warnings(schedule, epochs=20, batches=8, callbacks=None, initial_epoch=0,
                 accumulation=None, generator=False):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    optimizer = keras.optimizers.SGD(schedule, gradient_accumulation_steps=accumulation)
    model.compile(optimizer=lrs.count_updates(optimizer), loss="mse")
    x = np.ones((batches * 4, 1), "float32")
    if callbacks is None:
        callbacks = [lrs.LRLogger()]
    data = {"x": x, "y": x, "batch_size": 4}
    if generator:  # a finite generator: Keras does not know the epoch's length
        data = {"x": ((x[:4], x[:4]) for _ in range(batches))}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(**data, epochs=epochs, initial_epoch=initial_epoch, verbose=0,
                  callbacks=callbacks)
    return [str(w.message) for w in caught if issubclass(w.category, lrs.HorizonWarning)]


def test_a_schedule_ending_before_the_fit_warns_with_the_numbers():
    # 20 epochs x 8 batches = 160 updates (0 to 159); OneCycle ends after 100.
    found = fit_warnings(lrs.OneCycle(0.1, total_steps=100))
    assert len(found) == 1
    message = found[0]
    assert message.startswith("OneCycle ends after 100 updates, but this fit() makes 160 "
                              "updates (0 to 159): 60 of them after its end, at its final "
                              "rate 4e-07.")
    assert "lrschedule.extend()" in message


def test_a_fit_stopping_before_the_end_warns_with_the_rate_at_the_stop():
    found = fit_warnings(lrs.Linear(0.1, 0.0, total_steps=200))
    # Linear from 0.1 to 0 over 200 steps: at step 159 the rate is 0.1 * 41 / 200.
    assert found == [
        "Linear ends after 200 updates, but this fit() makes 160 updates (0 to 159), stopping "
        f"40 before: the rate at the stop is {0.1 * 41 / 200:.3g}, where the schedule goes on "
        "to 0. Size the schedule for the run (epochs x steps per epoch), or train for longer."
    ]


@pytest.mark.parametrize("schedule, kwargs", [
    (lrs.OneCycle(0.1, total_steps=160), {}),                       # exactly the run
    (lrs.OneCycle(0.1, total_steps=161), {}),                       # within 1%
    (lrs.Linear(0.1, 0.0, total_steps=120), {"initial_epoch": 5}),  # 15 epochs of 8
    (lrs.MultiStepDecay(0.1, milestones=[50, 100]), {}),            # its final rate lasts
    (lrs.StepDecay(0.1, step_size=10), {}),                         # no end
    (K.CosineDecayRestarts(0.1, first_decay_steps=10), {}),         # no end
    (lrs.OneCycle(0.1, total_steps=80), {"accumulation": 2}),       # 160 batches, 80 updates
    (lrs.OneCycle(0.1, total_steps=100), {"generator": True, "epochs": 1}),  # length unknown
])
def test_matching_runs_schedules_with_no_end_and_unknown_lengths_pass(schedule, kwargs):
    assert fit_warnings(schedule, **kwargs) == []


def test_a_multistep_decay_warns_only_when_a_milestone_is_never_reached():
    found = fit_warnings(lrs.MultiStepDecay(0.1, milestones=[50, 200]))
    assert len(found) == 1
    assert found[0].startswith("MultiStepDecay makes its last change after 200 updates, but "
                               "this fit() makes 160 updates (0 to 159), stopping 40 before")


def test_under_accumulation_the_check_counts_updates():
    # 160 batches, an update every 2: 80 updates, where the schedule has 100.
    found = fit_warnings(lrs.OneCycle(0.1, total_steps=100), accumulation=2)
    assert len(found) == 1
    assert found[0].startswith("OneCycle ends after 100 updates (of 2 batches), but this fit() "
                               "makes 80 updates (0 to 79), stopping 20 before")
    assert "/ gradient_accumulation_steps" in found[0]


def test_the_check_runs_once_per_fit_whichever_callbacks_and_each_fit():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(lrs.OneCycle(0.1, 100)), loss="mse")
    x = np.ones((32, 1), "float32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        callbacks = [lrs.LRLogger(), lrs.ReduceLROnPlateau("loss"), lrs.HorizonCheck()]
        model.fit(x, x, batch_size=4, epochs=20, verbose=0, callbacks=callbacks)
        # A second fit goes on from update 160: all 40 of its updates after the end.
        model.fit(x, x, batch_size=4, epochs=5, verbose=0, callbacks=[lrs.HorizonCheck()])
    found = [str(w.message) for w in caught if issubclass(w.category, lrs.HorizonWarning)]
    assert len(found) == 2
    assert "makes 160 updates (0 to 159): 60 of them after its end" in found[0]
    assert "makes 40 updates (160 to 199): 40 of them after its end" in found[1]


def test_scheduled_lr_replacing_the_schedule_is_not_checked_and_silencing_works():
    assert fit_warnings(lrs.OneCycle(0.1, 100),
                        callbacks=[lrs.ScheduleLR(lambda epoch: 0.1)]) == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=lrs.HorizonWarning)
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(lrs.OneCycle(0.1, 10)), loss="mse")
        x = np.ones((8, 1), "float32")
        model.fit(x, x, batch_size=4, epochs=20, verbose=0, callbacks=[lrs.HorizonCheck()])
    assert not [w for w in caught if issubclass(w.category, lrs.HorizonWarning)]


def test_per_layer_groups_sharing_a_horizon_warn_once():
    inp = keras.Input((1,))
    out = keras.layers.Dense(1, name="top")(keras.layers.Dense(2, name="low")(inp))
    model = keras.Model(inp, out)
    opt = lrs.per_layer(keras.optimizers.SGD(lrs.OneCycle(0.1, 100)), model, decay=0.5)
    model.compile(optimizer=opt, loss="mse")
    x = np.ones((32, 1), "float32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, x, batch_size=4, epochs=20, verbose=0, callbacks=[lrs.LRLogger()])
    found = [str(w.message) for w in caught if issubclass(w.category, lrs.HorizonWarning)]
    assert len(found) == 1 and "(optimizer 'top')" in found[0]


# --- extend ------------------------------------------------------------------------

ENDING = [(i, s) for i, s in catalogue() if lrs.horizon(s) is not None]


# The stretch is arithmetic on the schedule's values, the same on every backend (each
# backend evaluates Extended in the catalogue's tests): checked on TensorFlow, where a
# new schedule costs no compile.
@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="backend-independent arithmetic, checked on TensorFlow")
@pytest.mark.parametrize("case, schedule", ENDING, ids=[i for i, _ in ENDING])
@pytest.mark.parametrize("where", ["start", "middle", "last step"])
def test_extend_is_the_old_schedule_before_at_step_then_stretched_to_the_new_end(
        case, schedule, where):
    end, kind = lrs.horizon(schedule)
    at = {"start": 0, "middle": end // 2, "last step": end - 1}[where]
    total = 2 * end + 3
    longer = lrs.extend(schedule, at_step=at, total_steps=total)
    old = lrs.values(schedule, range(end + 10)).astype(np.float64)
    new = lrs.values(longer, range(total + 10)).astype(np.float64)
    # Unchanged before at_step, and continuous there: no jump when a run resumes.
    np.testing.assert_array_equal(new[:at], old[:at])
    np.testing.assert_allclose(new[at], old[at], rtol=1e-6)
    # Old step `end` is new step `total`: the old final rate at the new end and after.
    # (float32 interpolation: within 1e-6 of the schedule's largest rate)
    np.testing.assert_allclose(new[total:], old[end], rtol=1e-5, atol=1e-6 * old.max())
    # Stretching never makes a change sharper than the old schedule's sharpest.
    scale = np.max(np.abs(np.diff(old))) if end > 1 else 0.0
    assert np.max(np.abs(np.diff(new))) <= scale * (1 + 1e-5) + 1e-9
    # Same range of rates: the shape, stretched.
    assert new.min() >= old.min() - 1e-9 and new.max() <= old.max() + 1e-9
    assert lrs.horizon(longer) == (total, kind)


def test_extend_keeps_the_shape_of_a_one_cycle_at_hand_computed_points():
    # OneCycle over 100 steps peaks at step 29 (pct_start 0.3); extended from step 60
    # to 200, its step 80 (halfway through the rest) is new step 60 + 20 * 140 / 40 = 130.
    s = lrs.OneCycle(0.1, total_steps=100)
    longer = lrs.extend(s, at_step=60, total_steps=200)
    got = lrs.values(longer, [29, 60, 130, 200])
    np.testing.assert_allclose(got, lrs.values(s, [29, 60, 80, 100]), rtol=1e-6)


@pytest.mark.parametrize("args, error, message", [
    ((lrs.StepDecay(0.1, 10), 5, 50), ValueError, r"`schedule` must be a schedule that ends"),
    ((lrs.OneCycle(0.1, 100), 100, 200), ValueError, r"`at_step` must be a step before the "
                                                     r"schedule's end \(100\)"),
    ((lrs.OneCycle(0.1, 100), 50, 50), ValueError, r"`total_steps`"),
    ((lrs.OneCycle(0.1, 100), -1, 200), ValueError, r"`at_step`"),
    ((0.1, 5, 50), TypeError, r"`schedule`"),
])
@pytest.mark.backend_independent
def test_extend_refuses_bad_input_naming_the_argument(args, error, message):
    with pytest.raises(error, match=message):
        lrs.extend(*args)


def test_a_run_extended_and_resumed_goes_on_without_a_jump(tmp_path):
    # Planned: 10 epochs of 4 steps. After 6, the run is extended to 15 epochs and
    # resumed from its backup: the rate at the first resumed step is the next one of the
    # planned schedule, and the run ends at the planned final rate.
    from probes import RateTrace, kernel_probe, probe_data

    planned = lrs.OneCycle(0.1, total_steps=40)
    model = kernel_probe(planned)
    x, y = probe_data(16)
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    model.fit(x, y, batch_size=4, epochs=6, shuffle=False, verbose=0, callbacks=[backup])
    model.save(tmp_path / "at6.keras")
    resumed = keras.models.load_model(tmp_path / "at6.keras")
    resumed.optimizer.learning_rate = lrs.extend(planned, at_step=24, total_steps=60)
    trace = RateTrace()
    resumed.fit(x, y, batch_size=4, epochs=15, initial_epoch=6, shuffle=False, verbose=0,
                callbacks=[trace])
    rates = trace.rates
    planned_rates = lrs.values(planned, range(41)).astype(np.float64)
    np.testing.assert_allclose(rates[0], planned_rates[24], rtol=1e-4)
    np.testing.assert_allclose(rates[-1], lrs.values(lrs.extend(planned, 24, 60), 59),
                               rtol=1e-3, atol=1e-6)
    assert abs(rates[0] - planned_rates[23]) <= np.max(np.abs(np.diff(planned_rates))) * 1.01


# --- the length taken from fit() ----------------------------------------------------


def probe_fit(schedule, epochs=5, batches=4, callbacks=None, **kwargs):
    from probes import RateTrace, kernel_probe, probe_data

    model = kernel_probe(schedule)
    x, y = probe_data(batches * 2)
    trace = RateTrace()
    callbacks = [lrs.LRLogger()] if callbacks is None else callbacks
    model.fit(x, y, batch_size=2, epochs=epochs, shuffle=False, verbose=0,
              callbacks=[*callbacks, trace], **kwargs)
    return model, trace.rates


@pytest.mark.parametrize("build, sized", [
    (lambda: lrs.OneCycle(0.1), lambda n: lrs.OneCycle(0.1, n)),
    (lambda: lrs.Linear(0.1, 0.01), lambda n: lrs.Linear(0.1, 0.01, n)),
    # warmup 2, the last quarter (5 of 20) decays, the plateau fills the rest (13)
    (lambda: lrs.WarmupStableDecay(0.1, 2, None, 0.25),
     lambda n: lrs.WarmupStableDecay(0.1, 2, n - 2 - n // 4, n // 4)),
    (lambda: lrs.Warmup(lrs.OneCycle(0.1), 4), lambda n: lrs.Warmup(lrs.OneCycle(0.1, n - 4), 4)),
])
def test_a_schedule_without_its_length_takes_the_runs_from_fit(build, sized):
    schedule = build()
    with pytest.raises(ValueError, match="not known yet"):
        lrs.values(schedule, range(3))
    # 5 epochs of 4 batches: 20 updates
    model, rates = probe_fit(schedule)
    expected = lrs.values(sized(20), range(20)).astype(np.float64)
    np.testing.assert_allclose(rates, expected, rtol=1e-4, atol=1e-7)
    assert lrs.horizon(schedule) == (20, "ends")
    # Saved with its length: a reload has it.
    back = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    np.testing.assert_array_equal(lrs.values(back, range(20)), lrs.values(sized(20), range(20)))


def test_under_accumulation_and_after_initial_epoch_the_length_counts_the_runs_updates():
    from probes import kernel_probe, probe_data

    schedule = lrs.OneCycle(0.1)
    model = kernel_probe(0.1)
    model.compile(optimizer=lrs.count_updates(keras.optimizers.SGD(
        schedule, gradient_accumulation_steps=2)), loss="mean_absolute_error")
    x, y = probe_data(8)
    # epochs 2..5 of 4 batches: 16 batches, 8 updates
    model.fit(x, y, batch_size=2, epochs=6, initial_epoch=2, verbose=0,
              callbacks=[lrs.HorizonCheck()])
    assert schedule.total_steps == 8


def test_a_resumed_run_takes_the_same_length_and_the_same_rates(tmp_path):
    backup = str(tmp_path / "backup")

    from probes import StopAt

    _, whole = probe_fit(lrs.OneCycle(0.1), epochs=5)
    with pytest.raises(RuntimeError, match="interrupted"):
        probe_fit(lrs.OneCycle(0.1), epochs=5,
                  callbacks=[keras.callbacks.BackupAndRestore(backup), StopAt(3),
                             lrs.LRLogger()])
    schedule = lrs.OneCycle(0.1)
    _, resumed = probe_fit(schedule, epochs=5,
                           callbacks=[keras.callbacks.BackupAndRestore(backup), lrs.LRLogger()])
    assert schedule.total_steps == 20
    np.testing.assert_allclose(resumed, whole[12:], rtol=1e-4, atol=1e-7)


def test_without_a_callback_or_a_known_epoch_length_the_error_says_what_to_do():
    from probes import kernel_probe, probe_data

    model = kernel_probe(lrs.OneCycle(0.1))
    x, y = probe_data(4)
    with pytest.raises(Exception, match="not known yet.*lrschedule's callbacks"):
        model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    model = kernel_probe(lrs.OneCycle(0.1))
    batches = ((x[:2], y[:2]) for _ in range(2))
    with pytest.raises(ValueError, match="OneCycle takes its length from fit\\(\\), but this "
                                         "fit's number of steps per epoch is unknown"):
        model.fit(batches, epochs=1, verbose=0, callbacks=[lrs.LRLogger()])
    with pytest.raises(ValueError, match="`schedule` must be a schedule built without its length"):
        lrs.with_length(lrs.OneCycle(0.1, 100), 50)
    np.testing.assert_array_equal(lrs.values(lrs.with_length(lrs.OneCycle(0.1), 50), range(50)),
                                  lrs.values(lrs.OneCycle(0.1, 50), range(50)))


@pytest.mark.skipif(keras.backend.backend() == "jax",
                    reason="JAX without x64 counts steps in int32: Extended maps steps "
                           "through a float32 position there")
def test_extended_steps_at_the_formulas_step_past_2_to_the_24():
    """Extended maps step n to at_step + floor((n - at_step) * span / new_span) in
    integers: a float32 position holds integers exactly only up to 2^24, and a
    stepwise schedule switched a step early there."""
    m = lrs.MultiStepDecay(1.0, milestones=[16_777_217, 16_777_219])
    same = lrs.extend(m, 0, 16_777_219)  # a stretch of ratio 1: the same schedule
    steps = [16_777_215, 16_777_216, 16_777_217, 16_777_218, 16_777_219, 16_777_220]
    # MultiStepDecay's formula: gamma 0.1 to the number of milestones passed
    expected = 0.1 ** np.searchsorted([16_777_217, 16_777_219], steps, side="right")
    np.testing.assert_allclose(lrs.values(same, steps), expected, rtol=1e-6)
    # twice as long: new step n is old step floor(n / 2), so the milestone 2^25 + 1
    # is reached at n = 2^26 + 2 exactly
    doubled = lrs.extend(lrs.MultiStepDecay(1.0, milestones=[2**25 + 1]), 0, 2**26 + 2)
    np.testing.assert_allclose(lrs.values(doubled, [2**26, 2**26 + 1, 2**26 + 2, 2**26 + 3]),
                               [1.0, 1.0, 0.1, 0.1], rtol=1e-6)
    if keras.backend.backend() == "tensorflow":  # int64 steps: near 2^31 and past it
        start = 2**31 - 8
        late = lrs.extend(lrs.MultiStepDecay(1.0, milestones=[start + 3]), start, start + 7)
        # from `start` on, 3 old steps become 7 new ones: old step start + floor(k * 3 / 7)
        k = np.arange(8)
        old = start + (k * 3) // 7
        np.testing.assert_allclose(lrs.values(late, start + k),
                                   np.where(old >= start + 3, 0.1, 1.0), rtol=1e-6)
