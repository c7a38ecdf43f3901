"""Schedules: hand-computed tables, elementwise evaluation, step types, large steps,
training inside fit(), serialization and .keras round trips."""

import json
import math

import keras
import numpy as np
import pytest
from keras import ops

import lrschedule as lrs
from catalogue import catalogue, ours
from probes import RateTrace, kernel_probe, probe_data

K = keras.optimizers.schedules
SQ = math.sqrt


def cos_anneal(a, b, p):
    return b + (a - b) / 2 * (math.cos(math.pi * p) + 1)


# Each expectation is written from the schedule's formula, by hand.
TABLES = [
    ("Constant", lrs.Constant(0.01), [0, 1, 1000], [0.01, 0.01, 0.01]),
    ("Linear-up", lrs.Linear(0.0, 1.0, 4), range(6), [0, 0.25, 0.5, 0.75, 1, 1]),
    ("Linear-down", lrs.Linear(1.0, 0.5, 2), range(4), [1, 0.75, 0.5, 0.5]),
    ("StepDecay", lrs.StepDecay(1.0, 2, 0.5), range(5), [1, 1, 0.5, 0.5, 0.25]),
    ("MultiStepDecay", lrs.MultiStepDecay(1.0, [2, 4], 0.1), range(6),
     [1, 1, 0.1, 0.1, 0.01, 0.01]),
    # initial = 1/10, min = 0.1/100; phase 1 ends at step 0.3*10-1 = 2, phase 2 at 9.
    ("OneCycle-linear",
     lrs.OneCycle(1.0, 10, pct_start=0.3, anneal_strategy="linear", div_factor=10,
                  final_div_factor=100),
     range(12), [0.1, 0.55, 1.0] + [1 + (0.001 - 1) * (s - 2) / 7 for s in range(3, 10)]
     + [0.001, 0.001]),
    ("OneCycle-cos",
     lrs.OneCycle(1.0, 10, pct_start=0.3, div_factor=10, final_div_factor=100),
     range(10), [cos_anneal(0.1, 1.0, s / 2) for s in range(3)]
     + [cos_anneal(1.0, 0.001, (s - 2) / 7) for s in range(3, 10)]),
    # three phases: up to step 2, down to initial at 0.6*10-2 = 4, then to min at 9.
    ("OneCycle-three-phase",
     lrs.OneCycle(1.0, 10, pct_start=0.3, anneal_strategy="linear", div_factor=10,
                  final_div_factor=100, three_phase=True),
     range(10), [0.1, 0.55, 1.0, 0.55, 0.1] + [0.1 + (0.001 - 0.1) * (s - 4) / 5
                                               for s in range(5, 10)]),
    ("Cyclic-triangular", lrs.Cyclic(1.0, 3.0, step_size_up=2), range(7), [1, 2, 3, 2, 1, 2, 3]),
    ("Cyclic-triangular2", lrs.Cyclic(1.0, 3.0, step_size_up=2, mode="triangular2"), range(9),
     [1, 2, 3, 2, 1, 1.5, 2, 1.5, 1]),
    ("Cyclic-exp_range", lrs.Cyclic(1.0, 3.0, step_size_up=1, mode="exp_range", gamma=0.5),
     range(4), [1, 2, 1, 1.25]),
    ("Cyclic-asymmetric", lrs.Cyclic(0.0, 1.0, step_size_up=1, step_size_down=3), range(6),
     [0, 1, 2 / 3, 1 / 3, 0, 1]),
    ("WSD-linear", lrs.WarmupStableDecay(1.0, 2, 2, 4, decay_type="linear"), range(10),
     [0, 0.5, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0]),
    ("WSD-floor", lrs.WarmupStableDecay(1.0, 2, 2, 4, decay_type="linear", min_lr_ratio=0.2),
     range(10), [0.2, 0.6, 1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0.2]),
    ("WSD-cosine-1sqrt", lrs.WarmupStableDecay(2.0, 2, 0, 4, warmup_type="1-sqrt"), range(7),
     [0, 2 * (1 - SQ(0.5)), 2, 2 * cos_anneal(1, 0, 0.25), 2 * cos_anneal(1, 0, 0.5),
      2 * cos_anneal(1, 0, 0.75), 0]),
    ("InverseSqrt", lrs.InverseSqrt(1.0, 4), range(7),
     [0, 0.25, 0.5, 0.75, 1, SQ(4 / 5), SQ(4 / 6)]),
    ("InverseSqrt-default-timescale", lrs.InverseSqrt(1.0, 0), [0, 10000, 30000],
     [1, SQ(0.5), 0.5]),
    ("InverseSqrt-timescale", lrs.InverseSqrt(1.0, 2, timescale=1), [1, 2, 5], [0.5, 1, 0.5]),
    ("Warmup-constant", lrs.Warmup(lrs.Constant(1.0), 4, start_learning_rate=0.2), range(6),
     [0.2, 0.4, 0.6, 0.8, 1, 1]),
    ("Warmup-step-decay", lrs.Warmup(lrs.StepDecay(1.0, 1, 0.5), 2), range(5),
     [0, 0.5, 1, 0.5, 0.25]),
    ("Warmup-zero-steps", lrs.Warmup(lrs.StepDecay(1.0, 1, 0.5), 0), range(3), [1, 0.5, 0.25]),
    ("Sequence", lrs.Sequence([lrs.Constant(1.0), lrs.Linear(1.0, 0.0, 2), 0.5], [2, 5]),
     range(7), [1, 1, 1, 0.5, 0, 0.5, 0.5]),
    ("Sequence-single", lrs.Sequence([lrs.StepDecay(1.0, 1, 0.5)], []), range(3),
     [1, 0.5, 0.25]),
    ("PerEpoch", lrs.PerEpoch(lrs.Linear(0.0, 1.0, 4), 3), [0, 2, 3, 5, 6, 12, 100],
     [0, 0, 0.25, 0.25, 0.5, 1, 1]),
    ("PerEpoch-keras", lrs.PerEpoch(K.ExponentialDecay(1.0, 1, 0.5), 10), [0, 9, 10, 25],
     [1, 1, 0.5, 0.25]),
    ("Tabulated", lrs.Tabulated([3.0, 2.0, 1.0]), range(5), [3, 2, 1, 1, 1]),
]


@pytest.mark.parametrize("schedule, steps, expected", [t[1:] for t in TABLES],
                         ids=[t[0] for t in TABLES])
def test_hand_computed_table(schedule, steps, expected):
    np.testing.assert_allclose(lrs.values(schedule, list(steps)), expected, rtol=1e-6,
                               atol=1e-7)


def test_tabulated_from_vectorized_and_scalar_only_functions():
    vectorized = lrs.Tabulated.from_function(lambda s: 0.1 * 0.5 ** (s // 2), 5)
    assert vectorized.values == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])

    def scalar_only(step):
        if step < 2:  # a Python `if`: fails on an array, so it is called per step
            return 0.01 * (step + 1)
        return 0.05

    tab = lrs.Tabulated.from_function(scalar_only, 4)
    assert tab.values == pytest.approx([0.01, 0.02, 0.05, 0.05])
    np.testing.assert_allclose(lrs.values(tab, range(6)), [0.01, 0.02, 0.05, 0.05, 0.05, 0.05],
                               rtol=1e-6)


CATALOGUE = catalogue()
IDS = [c[0] for c in CATALOGUE]
SCHEDULES = [c[1] for c in CATALOGUE]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=IDS)
def test_vector_of_steps_equals_scalar_calls(schedule):
    steps = np.arange(25)
    vector = lrs.values(schedule, steps)
    assert vector.shape == (25,)
    scalars = [float(ops.convert_to_numpy(schedule(int(s)))) for s in steps]
    # atol: an ulp of the schedule's largest rate. Near a cosine's zero a value is the
    # difference of numbers of the peak's size; XLA (JAX 0.10) evaluates cos of a
    # vector and of a scalar an ulp apart.
    np.testing.assert_allclose(vector, scalars, rtol=1e-6,
                               atol=2**-23 * float(np.max(np.abs(scalars))))
    # a scalar step gives a scalar
    assert tuple(ops.shape(schedule(3))) == ()


@pytest.mark.parametrize("schedule", [s for _, s in ours()], ids=[i for i, _ in ours()])
@pytest.mark.parametrize(
    "make_step",
    [
        pytest.param(lambda s: s, id="python-int"),
        pytest.param(np.int64, id="numpy-int64"),
        pytest.param(np.int32, id="numpy-int32"),
        pytest.param(np.float32, id="numpy-float32"),
        pytest.param(lambda s: keras.Variable(s, dtype="int64", trainable=False), id="variable"),
        pytest.param(lambda s: ops.convert_to_tensor(s, "int64"), id="tensor"),
    ],
)
def test_step_types_give_the_same_rate(schedule, make_step):
    for step in (0, 4, 9):
        expected = lrs.values(schedule, [step])[0]
        got = float(ops.convert_to_numpy(schedule(make_step(step))))
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-9)
        assert str(ops.convert_to_numpy(schedule(make_step(step))).dtype) == "float32"


@pytest.mark.parametrize("schedule", [s for _, s in ours()], ids=[i for i, _ in ours()])
def test_negative_and_fractional_steps(schedule):
    np.testing.assert_allclose(
        [float(ops.convert_to_numpy(schedule(-5))), float(ops.convert_to_numpy(schedule(3.7)))],
        lrs.values(schedule, [0, 3]), rtol=1e-6,
    )


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.function specific")
@pytest.mark.parametrize("schedule", [s for _, s in ours()], ids=[i for i, _ in ours()])
def test_inside_tf_function(schedule):
    import tensorflow as tf

    variable = tf.Variable(0, dtype=tf.int64)
    compiled = tf.function(lambda: schedule(variable))
    got = []
    for step in range(6):
        variable.assign(step)
        got.append(float(compiled()))
    np.testing.assert_allclose(got, lrs.values(schedule, range(6)), rtol=1e-6)


# Past 2**24 a float32 step cannot hold every integer; the schedules count in integers.
LARGE = [
    ("milestone-2**24+1", lrs.MultiStepDecay(1.0, [16_777_217], 0.1),
     [16_777_216, 16_777_217], [1.0, 0.1]),
    ("step-size-2**30", lrs.StepDecay(1.0, 2**30, 0.5), [2**30 - 1, 2**30, 2**31 - 1],
     [1.0, 0.5, 0.5]),
    ("sequence-boundary", lrs.Sequence([lrs.Constant(1.0), lrs.Constant(2.0)], [16_777_217]),
     [16_777_216, 16_777_217], [1.0, 2.0]),
    ("cyclic-position", lrs.Cyclic(0.0, 1.0, step_size_up=4), [2**31 - 7, 2**31 - 2],
     [0.25, 0.5]),
    ("per-epoch", lrs.PerEpoch(lrs.MultiStepDecay(1.0, [3], 0.5), 8_388_609),
     [3 * 8_388_609 - 1, 3 * 8_388_609], [1.0, 0.5]),
    ("tabulated-hold", lrs.Tabulated([1.0, 0.5]), [2**31 - 1], [0.5]),
    # near the end of a ramp of 2**25 steps the remaining fraction is 1/2**25: a float32
    # step would round 2**25 - 1 up to 2**25 and give 0
    ("linear-end", lrs.Linear(1.0, 0.0, 2**25), [2**25 - 1, 2**25], [2.0**-25, 0.0]),
    ("wsd-decay-end", lrs.WarmupStableDecay(1.0, 0, 0, 2**25, decay_type="linear"),
     [2**25 - 1], [2.0**-25]),
    # odd steps past 2**24 do not exist in float32; two steps before the end of the
    # cycle, 2 / (0.7 * 2**25) of the way from min to max remains
    ("one-cycle-end", lrs.OneCycle(1.0, 2**25, anneal_strategy="linear"), [2**25 - 3, 2**25 - 1],
     [4e-6 + (1.0 - 4e-6) * 2 / (0.7 * 2**25), 4e-6]),
]


@pytest.mark.parametrize("schedule, steps, expected", [t[1:] for t in LARGE],
                         ids=[t[0] for t in LARGE])
def test_exact_at_large_step_counts(schedule, steps, expected):
    np.testing.assert_allclose(lrs.values(schedule, steps), expected, rtol=1e-6)
    for step, value in zip(steps, expected):
        variable = keras.Variable(step, dtype="int64", trainable=False)
        assert float(ops.convert_to_numpy(schedule(variable))) == pytest.approx(value, rel=1e-6)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=IDS)
def test_rate_used_inside_fit_is_the_schedule(schedule):
    steps = 9
    trace = RateTrace()
    x, y = probe_data(steps)
    kernel_probe(schedule).fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0,
                               callbacks=[trace])
    np.testing.assert_allclose(trace.rates, lrs.values(schedule, range(steps)), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=IDS)
def test_json_round_trip(schedule):
    blob = json.dumps(keras.saving.serialize_keras_object(schedule))
    restored = keras.saving.deserialize_keras_object(json.loads(blob), safe_mode=True)
    assert type(restored) is type(schedule)
    assert json.dumps(keras.saving.serialize_keras_object(restored)) == blob
    np.testing.assert_array_equal(lrs.values(restored, range(30)), lrs.values(schedule, range(30)))


@pytest.mark.parametrize("schedule", [s for _, s in ours()], ids=[i for i, _ in ours()])
def test_config_rebuilds_with_from_config(schedule):
    config = schedule.get_config()
    rebuilt = type(schedule).from_config(config)
    assert rebuilt.get_config() == config
    np.testing.assert_array_equal(lrs.values(rebuilt, range(20)), lrs.values(schedule, range(20)))


@pytest.mark.backend_independent
def test_registered_under_lrschedule_package():
    name = keras.saving.get_registered_name(lrs.OneCycle)
    assert name == "lrschedule>OneCycle"
    assert keras.saving.get_registered_object("lrschedule>Tabulated") is lrs.Tabulated


@pytest.mark.parametrize("schedule", SCHEDULES, ids=IDS)
def test_keras_file_round_trip_safe_mode(schedule, tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    model.fit(x, x[:, :1], batch_size=4, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    restored = loaded.optimizer._learning_rate
    assert type(restored) is type(schedule)
    np.testing.assert_array_equal(lrs.values(restored, range(40)), lrs.values(schedule, range(40)))
    assert int(ops.convert_to_numpy(loaded.optimizer.iterations)) == 2
    assert float(ops.convert_to_numpy(loaded.optimizer.learning_rate)) == pytest.approx(
        lrs.values(schedule, [2])[0], rel=1e-6
    )


class _FailsAtZero(keras.optimizers.schedules.LearningRateSchedule):
    def __call__(self, step):
        raise RuntimeError("no rate at this step")


def test_warmup_refuses_a_schedule_that_cannot_be_evaluated_at_step_0():
    # Warmup ramps to schedule(0), taken once when it is built: a schedule failing
    # there is refused then, naming the argument, not in the middle of fit().
    with pytest.raises(ValueError, match=r"`schedule`.*evaluated at step 0.*no rate at this step"):
        lrs.Warmup(_FailsAtZero(), 10)


def _compiled(fn):
    """`fn` compiled as the train step is: XLA on JAX and (jit_compile) on TensorFlow."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    pytest.skip("torch evaluates the schedule eagerly")


def test_warmup_hands_over_at_every_length_when_compiled():
    # XLA divides by a constant as a multiplication by its reciprocal: 107 / 107 is
    # 0.99999994 there, and a warmup that switched on floor(step / w) stayed in its
    # warmup for ever (w = 107, 213, ...) in JAX's train step. On JAX every length from
    # 1 to 300, in one compiled function (one compile, not 300) taking the steps at run
    # time. TensorFlow's XLA compiles each warmup for ~80 ms whatever the grouping: there
    # the first lengths, the first ten at which the floor switch failed on both (found
    # with it), and 300.
    inner = lrs.Cyclic(0.1, 0.5, step_size_up=7)
    expected = lrs.values(inner, range(3))
    lengths = range(1, 301)
    if keras.backend.backend() == "tensorflow":
        lengths = [*range(1, 13), 41, 47, 55, 61, 82, 83, 94, 107, 109, 110, 300]
    warmups = [lrs.Warmup(inner, w, start_learning_rate=0.0) for w in lengths]

    def all_lengths(steps):  # steps[i] = w + k for the i-th (w, k)
        return ops.concatenate([warmup(steps[3 * i: 3 * i + 3]) for i, warmup in enumerate(warmups)])

    steps = np.array([w + k for w in lengths for k in range(3)], dtype="int32")
    got = np.asarray(ops.convert_to_numpy(_compiled(all_lengths)(ops.convert_to_tensor(steps))))
    for i, w in enumerate(lengths):
        np.testing.assert_allclose(got[3 * i: 3 * i + 3], expected, rtol=1e-6,
                                   err_msg=f"warmup_steps={w}")
        np.testing.assert_allclose(lrs.values(warmups[i], range(w, w + 3)), expected, rtol=1e-6,
                                   err_msg=f"warmup_steps={w}")


@pytest.mark.parametrize("inner", [
    lambda: lrs.StepDecay(0.2, 3, 0.5),
    lambda: keras.optimizers.schedules.CosineDecay(0.1, 20),
    lambda: lrs.OneCycle(0.3, 30),
], ids=["StepDecay", "Keras-CosineDecay", "OneCycle"])
@pytest.mark.parametrize("warmup_steps, start", [(0, 0.0), (5, 0.0), (7, 0.01)])
def test_warmup_is_a_sequence_of_a_linear_ramp_and_the_schedule(inner, warmup_steps, start):
    # Warmup keeps its own few lines (the same arithmetic, one select fewer in the
    # compiled step than the general Sequence): they must agree.
    schedule = inner()
    target = float(lrs.values(schedule, 0))
    composed = lrs.Sequence([lrs.Linear(start, target, max(warmup_steps, 1)), schedule],
                            [warmup_steps]) if warmup_steps else schedule
    steps = range(40)
    np.testing.assert_allclose(lrs.values(lrs.Warmup(schedule, warmup_steps, start), steps),
                               lrs.values(composed, steps), rtol=1e-6, atol=1e-9)
