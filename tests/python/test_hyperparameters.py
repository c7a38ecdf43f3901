"""Any numeric hyperparameter of every Keras optimizer as a schedule
(`lrschedule.optimizers`): the table against Keras's classes, each optimizer with every
schedulable hyperparameter as a schedule against Keras's own optimizer given the numbers
(set by hand before each update, as Keras reads them), under gradient accumulation, and
what is refused.

The reference is Keras's own optimizer class, run eagerly, whose hyperparameters are
plain numbers assigned before each `apply()`: Keras reads them afresh at each update,
so it gives the trajectory a schedule should give. The numbers are exact in float32
(dyadic), so that a schedule's float32 value is the number Keras computes with: the
trajectories are then equal to float32 rounding of the operations.
"""

import inspect
import json
import os
import pathlib
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

import lrschedule as lrs
from lrschedule import optimizers as lro
from probes import run_worker_process

K = keras.optimizers.schedules
BACKEND = keras.backend.backend()

# A value for each schedulable hyperparameter: in its range, not Keras's default, exact
# in float32 (and 1 - value exact too).
VALUES = {
    "momentum": 0.5, "rho": 0.75, "epsilon": 2.0**-20, "beta_1": 0.875, "beta_2": 0.9921875,
    "weight_decay": 0.0625, "ema_momentum": 0.75, "learning_rate_power": -0.625,
    "l1_regularization_strength": 2.0**-7, "l2_regularization_strength": 2.0**-5,
    "l2_shrinkage_regularization_strength": 2.0**-6, "beta": 0.125, "adam_beta_1": 0.875,
    "adam_beta_2": 0.9921875, "adam_weight_decay": 2.0**-5, "adam_lr_ratio": 0.25,
    "rms_rate": 0.125, "beta_2_decay": -0.625, "epsilon_1": 2.0**-30, "epsilon_2": 2.0**-9,
    "clip_threshold": 0.75,
}
# Hyperparameters whose first value may not be 0: Muon's AdamW-part rate ratio and
# Adafactor's clipping threshold (both > 0: they divide or scale the step to nothing),
# ScheduleFreeAdamW's beta_1 (it divides by beta_1 to recover its average) and Lion's
# (Keras checks it is in (0, 1]): refused (optimizers.CLASS_RANGES, ARGUMENT_RANGES).
NEVER_ZERO = {("Muon", "adam_lr_ratio"), ("Adafactor", "clip_threshold"),
              ("ScheduleFreeAdamW", "beta_1"), ("Lion", "beta_1")}
LEARNING_RATE = 0.0625
STEPS = 6


def keras_optimizer_classes():
    """Every optimizer class keras.optimizers exports but the wrappers (the classes one
    trains with)."""
    wrappers = {"Optimizer", "LossScaleOptimizer", "MultiOptimizer"}
    return sorted(name for name, value in vars(keras.optimizers).items()
                  if isinstance(value, type) and issubclass(value, keras.optimizers.Optimizer)
                  and name not in wrappers)


def constant(value):
    """A schedule of one value: lrschedule's Constant (>= 0), Keras's own piecewise
    constant schedule for a negative value."""
    if value >= 0:
        return lrs.Constant(value)
    return K.PiecewiseConstantDecay([10**9], [value, value])


def zero_then(value):
    """Keras's PiecewiseConstantDecay: 0 at step 0, `value` from step 1 on."""
    return K.PiecewiseConstantDecay([0], [0.0, value])


def data(seed=0):
    rng = np.random.RandomState(seed)
    kernel = rng.uniform(0.5, 1.5, (4, 3)).astype("float32")
    bias = rng.uniform(-1.0, 1.0, (3,)).astype("float32")
    grads = [(rng.randn(4, 3).astype("float32"), rng.randn(3).astype("float32"))
             for _ in range(STEPS * 2)]
    return kernel, bias, grads


def run(optimizer, per_step=None, steps=STEPS, seed=0):
    """Weights after each apply(), then the moving average (finalize_variable_values).
    `per_step(t)`: {name: number} assigned to the optimizer before apply() number t."""
    kernel, bias, grads = data(seed)
    variables = [keras.Variable(kernel, name="kernel"), keras.Variable(bias, name="bias")]
    optimizer.build(variables)  # with the numbers it was made with (see the 0-first test)
    trajectory = []
    for t in range(steps):
        for name, value in (per_step(t) if per_step else {}).items():
            setattr(optimizer, name, value)
        optimizer.apply([ops.convert_to_tensor(g) for g in grads[t]], variables)
        trajectory.append([ops.convert_to_numpy(v).copy() for v in variables])
    if optimizer.use_ema:
        optimizer.finalize_variable_values(variables)
        trajectory.append([ops.convert_to_numpy(v).copy() for v in variables])
    return trajectory


def assert_same(ours, theirs, what):
    # Equal to float32 rounding: on torch Keras swaps its own classes for torch-specific
    # ones (foreach operations) that order a few operations differently.
    assert len(ours) == len(theirs)
    for t, (a, b) in enumerate(zip(ours, theirs)):
        for x, y, name in zip(a, b, ("kernel", "bias")):
            assert np.all(np.isfinite(y)), f"{what}: the reference is not finite at {t}"
            np.testing.assert_allclose(x, y, rtol=2e-6, atol=1e-7,
                                       err_msg=f"{what}: {name} after apply {t}")


CASES = [(name, hyper) for name in sorted(lro.SCHEDULABLE) for hyper in lro.SCHEDULABLE[name]]


def test_there_is_a_subclass_of_every_keras_optimizer():
    assert sorted(lro.SCHEDULABLE) == keras_optimizer_classes()
    assert sorted(cls.__name__ for cls in lro.OPTIMIZERS) == keras_optimizer_classes()
    for cls in lro.OPTIMIZERS:
        keras_class = getattr(keras.optimizers, cls.__name__)
        assert issubclass(cls, keras_class)
        assert inspect.signature(cls) == inspect.signature(keras_class)
        assert keras.saving.get_registered_name(cls) == f"lrschedule>{cls.__name__}"
        assert cls.HYPERPARAMETERS == lro.SCHEDULABLE[cls.__name__]


def test_the_table_holds_every_float_hyperparameter_of_keras():
    # From Keras's signatures: every argument whose default is a float (or None for
    # weight_decay, Muon's rms_rate; Muon's adam_lr_ratio defaults to the integer 1) is
    # schedulable or refused with a reason; nothing else is in the table.
    float_like = {"weight_decay", "adam_lr_ratio", "rms_rate"}
    for name in keras_optimizer_classes():
        parameters = inspect.signature(getattr(keras.optimizers, name).__init__).parameters
        floats = {p for p, v in parameters.items() if p != "learning_rate" and (
            p in float_like or (isinstance(v.default, float) and not isinstance(v.default, bool)))}
        schedulable = set(lro.SCHEDULABLE[name])
        assert schedulable <= floats, (name, schedulable - floats)
        assert floats - schedulable <= set(lro.NOT_SCHEDULABLE), (name, floats - schedulable)
        for hyper in schedulable:
            assert hyper in lro.ARGUMENT_RANGES, hyper
            assert lro.argument_problem(hyper, VALUES[hyper]) is None, hyper


def _arguments(name, make):
    return {hyper: make(VALUES[hyper]) for hyper in lro.SCHEDULABLE[name]}


@pytest.mark.parametrize("name", sorted(lro.SCHEDULABLE))
def test_every_hyperparameter_as_a_constant_schedule_is_kerass_optimizer(name):
    ours = getattr(lro, name)(learning_rate=LEARNING_RATE, use_ema=True,
                              **_arguments(name, constant))
    theirs = getattr(keras.optimizers, name)(learning_rate=LEARNING_RATE, use_ema=True,
                                             **_arguments(name, float))
    assert set(ours.hyperparameter_schedules) == set(lro.SCHEDULABLE[name])
    assert_same(run(ours), run(theirs), name)


@pytest.mark.parametrize("name", sorted(lro.SCHEDULABLE))
def test_numbers_give_kerass_optimizer(name):
    ours = getattr(lro, name)(learning_rate=LEARNING_RATE, use_ema=True,
                              **_arguments(name, float))
    theirs = getattr(keras.optimizers, name)(learning_rate=LEARNING_RATE, use_ema=True,
                                             **_arguments(name, float))
    assert ours.hyperparameter_schedules == {}
    config = ours.get_config()
    assert config == theirs.get_config() | {"name": config["name"]}
    assert_same(run(ours), run(theirs), name)


@pytest.mark.parametrize("name,hyper", [c for c in CASES if c not in NEVER_ZERO],
                         ids=[f"{n}-{h}" for n, h in CASES if (n, h) not in NEVER_ZERO])
def test_a_schedule_whose_first_value_is_0_follows_kerass_numbers(name, hyper):
    # Keras decides some things in Python from the number (SGD and RMSprop create
    # their momentum slots only for a momentum other than 0, and skip them at an
    # update whose momentum is 0): the reference is built with the later value and
    # given 0 before its first update, so it holds the slots a schedule needs.
    others = {h: VALUES[h] for h in lro.SCHEDULABLE[name] if h != hyper}
    ours = getattr(lro, name)(learning_rate=LEARNING_RATE, use_ema=True,
                              **{hyper: zero_then(VALUES[hyper])}, **others)
    theirs = getattr(keras.optimizers, name)(learning_rate=LEARNING_RATE, use_ema=True,
                                             **{hyper: VALUES[hyper]}, **others)
    assert_same(run(ours), run(theirs, lambda t: {hyper: 0.0 if t == 0 else VALUES[hyper]}),
                f"{name}.{hyper}")


@pytest.mark.parametrize("name", ["SGD", "RMSprop"])
@pytest.mark.parametrize("nesterov_or_centered", [False, True])
def test_a_momentum_that_returns_to_0_leaves_the_velocity_as_keras_does(name,
                                                                        nesterov_or_centered):
    # Keras (and PyTorch's SGD) leave the velocity alone at a step whose momentum is 0.
    values = [0.5, 0.0, 0.25, 0.0, 0.0, 0.75]
    schedule = K.PiecewiseConstantDecay(list(range(5)), values)
    flag = {"SGD": "nesterov", "RMSprop": "centered"}[name]
    ours = getattr(lro, name)(learning_rate=LEARNING_RATE, momentum=schedule,
                              **{flag: nesterov_or_centered})
    theirs = getattr(keras.optimizers, name)(learning_rate=LEARNING_RATE, momentum=0.5,
                                             **{flag: nesterov_or_centered})
    assert_same(run(ours), run(theirs, lambda t: {"momentum": values[t]}), name)


def _varying(value, t):
    # A different number at each update, exact in float32, within the range.
    return value * (1.0 - 2.0**-(t + 2)) if value > 0 else value * (1.0 + 2.0**-(t + 2))


@keras.saving.register_keras_serializable(package="lrschedule_tests")
class _Listed(K.LearningRateSchedule):
    """A schedule of a list of values (Keras's PiecewiseConstantDecay, by step)."""

    def __init__(self, values):
        self.values = list(values)
        self.inner = K.PiecewiseConstantDecay(list(range(len(values) - 1)), self.values)

    def __call__(self, step):
        return self.inner(step)

    def get_config(self):
        return {"values": self.values}


@pytest.mark.parametrize("name", sorted(lro.SCHEDULABLE))
def test_schedules_that_move_are_read_once_per_update(name):
    hypers = lro.SCHEDULABLE[name]
    values = {h: [_varying(VALUES[h], t) for t in range(STEPS)] for h in hypers}
    ours = getattr(lro, name)(learning_rate=LEARNING_RATE, use_ema=True,
                              **{h: _Listed(values[h]) for h in hypers})
    theirs = getattr(keras.optimizers, name)(learning_rate=LEARNING_RATE, use_ema=True,
                                             **_arguments(name, float))
    assert_same(run(ours), run(theirs, lambda t: {h: values[h][t] for h in hypers}), name)


@pytest.mark.parametrize("name", ["AdamW", "SGD", "Lion", "Muon"])
def test_under_accumulation_every_schedule_counts_updates(name):
    # gradient_accumulation_steps=2 and count_updates(): update u (micro-batches 2u and
    # 2u + 1) uses each schedule's value at u; the moving average is updated at every
    # apply(), micro-batches included, with the momentum of the update being
    # accumulated.
    hypers = lro.SCHEDULABLE[name]
    values = {h: [_varying(VALUES[h], t) for t in range(STEPS)] for h in hypers}
    ours = lrs.count_updates(getattr(lro, name)(
        learning_rate=LEARNING_RATE, use_ema=True, gradient_accumulation_steps=2,
        **{h: _Listed(values[h]) for h in hypers}))
    assert all(type(s).__name__ == "InUpdates" for s in ours.hyperparameter_schedules.values())
    theirs = getattr(keras.optimizers, name)(learning_rate=LEARNING_RATE, use_ema=True,
                                             gradient_accumulation_steps=2,
                                             **_arguments(name, float))
    assert_same(run(ours, steps=2 * (STEPS // 2)),
                run(theirs, lambda t: {h: values[h][t // 2] for h in hypers},
                    steps=2 * (STEPS // 2)), name)


# --------------------------------------------------------------------------------------
# Refused


@pytest.mark.parametrize("name,argument", [
    ("Adagrad", "initial_accumulator_value"), ("Ftrl", "initial_accumulator_value"),
    ("SGD", "clipnorm"), ("Adam", "global_clipnorm"), ("Adam", "clipvalue"),
    ("Muon", "muon_a"), ("Adam", "loss_scale_factor"),
])
def test_a_schedule_for_a_number_keras_uses_once_is_refused_saying_why(name, argument):
    with pytest.raises(ValueError) as error:
        getattr(lro, name)(**{argument: lrs.Constant(0.5)})
    message = str(error.value)
    assert f"`{argument}`" in message and "Constant" in message
    assert lro.NOT_SCHEDULABLE[argument].split(" (")[0] in message
    assert "may be schedules: learning_rate, " + ", ".join(lro.SCHEDULABLE[name]) in message


@pytest.mark.parametrize("name,argument", [("Muon", "ns_steps"),
                                           ("ScheduleFreeAdamW", "warmup_steps"),
                                           ("Adam", "gradient_accumulation_steps"),
                                           ("Adam", "ema_overwrite_frequency")])
def test_a_schedule_for_a_count_is_refused(name, argument):
    with pytest.raises(ValueError, match=f"`{argument}`.*not a schedule"):
        getattr(lro, name)(**{argument: lrs.Constant(2.0)})


def test_a_moving_average_momentum_schedule_needs_use_ema():
    with pytest.raises(ValueError, match="`ema_momentum`.*use_ema=True"):
        lro.Adam(ema_momentum=lrs.Constant(0.9))
    assert "ema_momentum" in lro.Adam(use_ema=True, ema_momentum=lrs.Constant(0.9)) \
        .hyperparameter_schedules


@pytest.mark.parametrize("name,argument,schedule,reaches", [
    ("Adam", "beta_2", lrs.Linear(0.99, 1.0, 100), "1"),
    ("AdamW", "weight_decay", K.PiecewiseConstantDecay([5], [-0.1, 0.1]), "-0.1"),
    ("Ftrl", "learning_rate_power", constant(0.5), "0.5"),
    ("Adafactor", "beta_2_decay", lrs.Constant(0.5), "0.5"),
    ("Muon", "adam_lr_ratio", zero_then(0.1), "0"),
    ("ScheduleFreeAdamW", "beta_1", zero_then(0.9), "0"),
    ("Lion", "beta_1", zero_then(0.9), "0"),
    ("Lion", "beta_1", lrs.OneCycle(0.01, 100).momentum(), None),  # OneCycle's 0.85-0.95: fine
])
def test_a_schedule_whose_stated_values_leave_the_range_is_refused(name, argument, schedule,
                                                                   reaches):
    if reaches is None:
        getattr(lro, name)(**{argument: schedule})
        return
    with pytest.raises(ValueError) as error:
        getattr(lro, name)(**{argument: schedule})
    message = str(error.value)
    assert f"`{argument}`" in message and f"this one reaches {reaches}" in message
    entry = lro.CLASS_RANGES.get((name, argument)) or lro.ARGUMENT_RANGES[argument]
    assert "values are numbers" + entry[-1][len("a number"):] in message


@pytest.mark.parametrize("argument,value", [
    ("learning_rate_power", 0.5), ("l1_regularization_strength", -1.0),
    ("l2_regularization_strength", float("nan")), ("l2_shrinkage_regularization_strength", -0.1),
    ("beta", -1.0), ("adam_beta_1", 1.0), ("adam_beta_2", -0.5), ("adam_weight_decay", -0.1),
    ("adam_lr_ratio", 0.0), ("rms_rate", -0.2), ("beta_2_decay", 0.1),
])
def test_the_new_ranges_refuse_numbers_out_of_them(argument, value):
    name = next(n for n in sorted(lro.SCHEDULABLE) if argument in lro.SCHEDULABLE[n])
    with pytest.raises(ValueError) as error:
        getattr(lro, name)(**{argument: value})
    assert f"`{argument}`" in str(error.value)
    assert lro.ARGUMENT_RANGES[argument][-1] in str(error.value)
    assert lro.argument_problem(argument, value) == lro.ARGUMENT_RANGES[argument][-1]


# --------------------------------------------------------------------------------------
# Saved, copied per layer, logged, read


@pytest.mark.parametrize("name", sorted(lro.SCHEDULABLE))
def test_the_config_round_trips_with_every_schedule(name):
    ours = getattr(lro, name)(learning_rate=LEARNING_RATE, use_ema=True,
                              **_arguments(name, constant))
    config = keras.saving.serialize_keras_object(ours)
    back = keras.saving.deserialize_keras_object(config, safe_mode=True)
    assert type(back) is type(ours)
    assert set(back.hyperparameter_schedules) == set(lro.SCHEDULABLE[name])
    assert_same(run(back), run(ours), name)


def test_per_layer_copies_keep_each_groups_schedules():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="a"),
                              keras.layers.Dense(1, name="b")])
    wd = lrs.Linear(0.1, 0.0, 50)
    multi = lrs.per_layer(lro.AdamW(lrs.OneCycle(1e-2, 50), weight_decay=wd,
                                    beta_2=lrs.Constant(0.99)), model, decay=0.5)
    for optimizer in multi.optimizers:
        schedules = optimizer.hyperparameter_schedules
        assert set(schedules) == {"weight_decay", "beta_2"}
        np.testing.assert_allclose(lrs.values(schedules["weight_decay"], [0, 25, 50]),
                                   [0.1, 0.05, 0.0], atol=1e-7)


def test_the_logger_and_current_report_every_scheduled_hyperparameter():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    wd = lrs.Linear(0.1, 0.0, 12)  # 0.1 * (1 - t / 12)
    beta_2 = K.PiecewiseConstantDecay([5], [0.99, 0.995])
    model.compile(lro.AdamW(1e-2, weight_decay=wd, beta_2=beta_2), "mse")
    assert lrs.current(model, hyperparameter="weight_decay") == pytest.approx(0.1)
    assert lrs.current(model, hyperparameter="epsilon") == pytest.approx(1e-7)
    logger = lrs.LRLogger(per="batch")
    x = np.ones((8, 3), "float32")
    history = model.fit(x, x[:, :1], batch_size=2, epochs=2, verbose=0, callbacks=[logger])
    # The epoch logs: the value used by the epoch's last update (steps 3 and 7).
    np.testing.assert_allclose(history.history["weight_decay"], [0.1 * (1 - 3 / 12),
                                                                 0.1 * (1 - 7 / 12)], rtol=1e-6)
    np.testing.assert_allclose(history.history["beta_2"], [0.99, 0.995], rtol=1e-7)
    np.testing.assert_allclose(logger.batch_hyperparameters["weight_decay"],
                               [0.1 * (1 - t / 12) for t in range(8)], rtol=1e-6)
    assert logger.batch_momenta == []
    assert lrs.current(model, hyperparameter="weight_decay") == pytest.approx(0.1 * (1 - 8 / 12))
    with pytest.raises(ValueError, match="`hyperparameter`.*numeric hyperparameter of AdamW"):
        lrs.current(model, hyperparameter="gamma")
    with pytest.raises(TypeError, match="`hyperparameter`"):
        lrs.current(model, hyperparameter=3)


def test_shaped_like_is_the_rate_times_value_over_the_reference():
    rate = lrs.OneCycle(1e-3, total_steps=100)  # starts at 1e-3 / 25, peaks at 1e-3
    steps = [0, 10, 30, 60, 99]
    rates = np.asarray(lrs.values(rate, steps), dtype=np.float64)
    np.testing.assert_allclose(lrs.values(lrs.shaped_like(rate, 0.05), steps),
                               0.05 * rates / 1e-3, rtol=1e-5)
    np.testing.assert_allclose(lrs.values(lrs.shaped_like(rate, 0.05, "initial"), steps),
                               0.05 * rates / (1e-3 / 25), rtol=1e-5)
    np.testing.assert_allclose(lrs.values(lrs.shaped_like(rate, 0.05, 2e-3), steps),
                               0.05 * rates / 2e-3, rtol=1e-5)
    with pytest.raises(ValueError, match="`reference`"):
        lrs.shaped_like(rate, 0.05, "end")
    with pytest.raises(ValueError, match="`value`"):
        lrs.shaped_like(rate, -1.0)
    with pytest.raises(ValueError, match="`reference`.*initial rate is 0"):
        lrs.shaped_like(lrs.Linear(0.0, 1e-3, 10), 0.05, "initial")
    with pytest.raises(TypeError, match="`schedule`"):
        lrs.shaped_like(0.001, 0.05)


# --------------------------------------------------------------------------------------
# Against PyTorch, trained with fit() (the compiled step)

TRAIN_STEPS = 8  # 2 epochs of 4 batches
BETA_1, BETA_2 = 0.875, 1 - 2.0**-10  # exact in float32


def _linear_problem():
    rng = np.random.RandomState(3)
    x = rng.randn(16, 3).astype("float32")
    y = (x @ rng.randn(3, 2) + 0.5).astype("float32")
    kernel = rng.uniform(-1, 1, (3, 2)).astype("float32")
    bias = rng.uniform(-1, 1, (2,)).astype("float32")
    return x, y, kernel, bias


def _fit_keras(optimizer):
    x, y, kernel, bias = _linear_problem()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        2, kernel_initializer=keras.initializers.Constant(kernel),
        bias_initializer=keras.initializers.Constant(bias))])
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == TRAIN_STEPS
    return [np.asarray(w) for w in model.get_weights()]


def _fit_torch(make_optimizer, before_step):
    """The same problem with torch: `before_step(optimizer, t)` sets the param groups'
    hyperparameters before step t."""
    torch = pytest.importorskip("torch")
    x, y, kernel, bias = _linear_problem()
    w = torch.tensor(kernel, requires_grad=True)
    b = torch.tensor(bias, requires_grad=True)
    optimizer = make_optimizer([w, b])
    for t in range(TRAIN_STEPS):
        i = (t % 4) * 4
        xb, yb = torch.tensor(x[i:i + 4]), torch.tensor(y[i:i + 4])
        loss = ((xb @ w + b - yb) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        before_step(optimizer, t)
        optimizer.step()
    return [w.detach().numpy(), b.detach().numpy()]


def _cosine(initial, t, steps):
    return initial * 0.5 * (1 + np.cos(np.pi * min(t, steps) / steps))


def test_adamw_with_a_cosine_weight_decay_is_torchs_adamw_with_it_set_each_step():
    # Both shrink the weights by lr(t) * wd(t) before the Adam step (Keras's
    # `_apply_weight_decay`, torch's `param.mul_(1 - lr * weight_decay)`); the rate is
    # a cosine too, so the product is what is compared. The betas are exact in float32
    # (Keras computes 1 - beta^t in float32: 0.999 there is 0.99900001, 1.3e-5 off in
    # 1 - beta_2); epsilon is 1e-12 in both (Keras adds it to sqrt(v), torch to
    # sqrt(v) / sqrt(1 - beta_2^t)).
    torch = pytest.importorskip("torch")
    ours = _fit_keras(lro.AdamW(learning_rate=K.CosineDecay(0.05, TRAIN_STEPS),
                                weight_decay=K.CosineDecay(0.4, TRAIN_STEPS), beta_1=BETA_1,
                                beta_2=BETA_2, epsilon=1e-12))

    def before(optimizer, t):
        optimizer.param_groups[0]["lr"] = _cosine(0.05, t, TRAIN_STEPS)
        optimizer.param_groups[0]["weight_decay"] = _cosine(0.4, t, TRAIN_STEPS)

    theirs = _fit_torch(lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.4, eps=1e-12,
                                                    betas=(BETA_1, BETA_2)), before)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_adam_with_a_beta_2_schedule_is_torchs_adam_with_betas_set_each_step():
    # The bias correction 1 - beta_2^t uses the current beta_2 in both. The schedule's
    # values are exact in float32 (steps of 127/8192).
    torch = pytest.importorskip("torch")
    ours = _fit_keras(lro.Adam(learning_rate=0.05, beta_1=BETA_1, epsilon=1e-12,
                               beta_2=lrs.Linear(BETA_1, BETA_2, TRAIN_STEPS)))

    def before(optimizer, t):
        optimizer.param_groups[0]["betas"] = (BETA_1, BETA_1 + (BETA_2 - BETA_1) * t / TRAIN_STEPS)

    theirs = _fit_torch(lambda p: torch.optim.Adam(p, lr=0.05, eps=1e-12), before)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sgd_with_a_momentum_schedule_is_torchs_sgd_with_it_set_each_step():
    # At a constant rate Keras's velocity is -lr times torch's momentum buffer: the same
    # trajectory (torch: buf = mu buf + g, p -= lr buf; Keras: m = mu m - lr g, w += m).
    torch = pytest.importorskip("torch")
    momentum = lrs.Cyclic(0.01, 0.1, step_size_up=3).momentum()
    values = [float(v) for v in lrs.values(momentum, range(TRAIN_STEPS))]
    ours = _fit_keras(lro.SGD(learning_rate=0.05, momentum=momentum))

    def before(optimizer, t):
        optimizer.param_groups[0]["momentum"] = values[t]

    theirs = _fit_torch(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), before)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sgd_with_momentum_and_weight_decay_schedules_follows_kerass_rule():
    # Keras's rule, not PyTorch's (whose SGD weight decay is an L2 term in the gradient,
    # inside the momentum): per update t, the decay w -= lr * wd(t) * w first, then
    # m = mu(t) m - lr g, w += m; g the gradient of the mean squared error at the
    # weights before the decay. Written out in NumPy, in float64.
    momentum = lrs.Linear(0.5, 0.9, TRAIN_STEPS)
    wd = K.CosineDecay(0.2, TRAIN_STEPS)
    ours = _fit_keras(lro.SGD(learning_rate=0.05, momentum=momentum, weight_decay=wd))
    x, y, kernel, bias = (a.astype(np.float64) for a in _linear_problem())
    velocity = [np.zeros_like(kernel), np.zeros_like(bias)]
    for t in range(TRAIN_STEPS):
        i = (t % 4) * 4
        xb, yb = x[i:i + 4], y[i:i + 4]
        error = 2 * (xb @ kernel + bias - yb) / error_size(yb)
        grads = [xb.T @ error, error.sum(axis=0)]
        mu, decay = 0.5 + 0.4 * t / TRAIN_STEPS, _cosine(0.2, t, TRAIN_STEPS)
        weights = [kernel * (1 - 0.05 * decay), bias * (1 - 0.05 * decay)]
        velocity = [mu * v - 0.05 * g for v, g in zip(velocity, grads)]
        kernel, bias = (w + v for w, v in zip(weights, velocity))
    for a, b in zip(ours, [kernel, bias]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def error_size(y):
    return y.size


# --------------------------------------------------------------------------------------
# TensorFlow's MirroredStrategy: weight decay and the update run in a cross-replica
# merge call, in another thread than the replicas'

MIRRORED = textwrap.dedent("""
    import json, sys
    import faulthandler; faulthandler.enable()
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    import keras, numpy as np
    import lrschedule as lrs
    from lrschedule import optimizers as lro
    K = keras.optimizers.schedules

    def optimizer(name):
        if name == "AdamW":
            return lro.AdamW(K.CosineDecay(0.05, 8), weight_decay=K.CosineDecay(0.4, 8),
                             beta_2=lrs.Linear(0.875, 0.9990234375, 8), use_ema=True,
                             ema_momentum=lrs.Linear(0.5, 0.75, 8))
        return lro.SGD(0.05, momentum=K.PiecewiseConstantDecay([2, 5], [0.0, 0.5, 0.9]),
                       weight_decay=lrs.Linear(0.2, 0.0, 8))

    def train(name, strategy):
        rng = np.random.RandomState(3)
        x = rng.randn(32, 3).astype("float32"); y = (x @ rng.randn(3, 2)).astype("float32")
        with strategy.scope():
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
                2, kernel_initializer=keras.initializers.Constant(0.5))])
            model.compile(optimizer=optimizer(name), loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        model.optimizer.finalize_variable_values(model.trainable_variables)
        return [w.tolist() for w in model.get_weights()]

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    out = {"replicas": mirrored.num_replicas_in_sync}
    for name in ("AdamW", "SGD"):
        out[name] = {"single": train(name, tf.distribute.get_strategy()),
                     "mirrored": train(name, mirrored)}
    json.dump(out, open(sys.argv[1], "w"))
""")


@pytest.mark.tensorflow_only
@pytest.mark.distributed
@pytest.mark.subprocess
def test_under_mirrored_strategy_the_scheduled_hyperparameters_train_as_on_one_device(tmp_path):
    if BACKEND != "tensorflow":
        pytest.skip("TensorFlow's MirroredStrategy")
    out = tmp_path / "out.json"
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["KERAS_BACKEND"] = "tensorflow"
    proc = run_worker_process([sys.executable, "-c", MIRRORED, str(out)], env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(out.read_text())
    assert result["replicas"] == 2
    for name in ("AdamW", "SGD"):
        for a, b in zip(result[name]["mirrored"], result[name]["single"]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)


# --------------------------------------------------------------------------------------
# Files saved before: one scheduled hyperparameter per optimizer

BEFORE = pathlib.Path(__file__).resolve().parent / "fixtures" / "optimizers-before-0.2.0"
BEFORE_FILES = sorted(json.loads((BEFORE / "expected.json").read_text())["files"])


@pytest.mark.parametrize("name", BEFORE_FILES)
def test_an_optimizer_saved_before_any_hyperparameter_could_be_scheduled_loads_and_trains_on(
        name):
    # Written by tests/reference/make_optimizer_fixtures.py with the version before this
    # one: saved after 6 steps, then trained 4 more; here loaded and trained the same 4.
    expected = json.loads((BEFORE / "expected.json").read_text())["files"][name]
    model = keras.models.load_model(BEFORE / name, safe_mode=True)
    optimizers = getattr(model.optimizer, "optimizers", [model.optimizer])
    for optimizer in optimizers:
        assert type(optimizer).__name__ == expected["class"] or expected["class"] == \
            "MultiOptimizer"
        assert type(optimizer).__module__ == "lrschedule.optimizers"
        schedules = optimizer.hyperparameter_schedules
        assert list(schedules) == [expected["hyperparameter"]]
        assert type(schedules[expected["hyperparameter"]]).__name__ == "CycledMomentum"
    rng = np.random.RandomState(0)
    x = rng.randn(40, 3).astype("float32")
    y = (x @ rng.randn(3, 2)).astype("float32")
    model.fit(x[24:], y[24:], batch_size=4, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(model.get_weights(), expected["weights"]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)


# --------------------------------------------------------------------------------------
# Inside Keras's wrappers


def test_inside_a_loss_scale_optimizer_the_schedules_are_kept():
    # fit() (the compiled step; Keras's LossScaleOptimizer cannot apply() eagerly on
    # JAX): the loss is scaled by 2^15 and the gradients unscaled, exactly in float32,
    # so the trajectory is the inner optimizer's alone, which the tests above compare
    # with Keras's.
    def adamw():
        return lro.AdamW(learning_rate=K.CosineDecay(0.05, TRAIN_STEPS),
                         weight_decay=K.CosineDecay(0.4, TRAIN_STEPS),
                         beta_2=lrs.Linear(BETA_1, BETA_2, TRAIN_STEPS), use_ema=True,
                         ema_momentum=lrs.Linear(0.5, 0.75, TRAIN_STEPS))

    wrapped = keras.optimizers.LossScaleOptimizer(adamw())
    alone = _fit_keras(adamw())
    for a, b in zip(_fit_keras(wrapped), alone):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    back = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(wrapped))
    assert set(back.inner_optimizer.hyperparameter_schedules) == {
        "weight_decay", "beta_2", "ema_momentum"}


def test_each_optimizer_of_a_multi_optimizer_keeps_its_schedules():
    values = {"a": [_varying(0.0625, t) for t in range(STEPS)],
              "b": [_varying(0.25, t) for t in range(STEPS)]}

    def multi(ours):
        if ours:
            default = lro.AdamW(LEARNING_RATE, weight_decay=_Listed(values["a"]), name="rest")
            kernel = lro.SGD(LEARNING_RATE, weight_decay=_Listed(values["b"]),
                             momentum=_Listed(values["a"]), name="kernel")
        else:
            default = keras.optimizers.AdamW(LEARNING_RATE, weight_decay=0.5, name="rest")
            kernel = keras.optimizers.SGD(LEARNING_RATE, weight_decay=0.5, momentum=0.5,
                                          name="kernel")
        return keras.optimizers.MultiOptimizer(
            keras.optimizers.OptimizerMap(default, {"kernel": kernel})), default, kernel

    def trajectory(ours):
        optimizer, default, kernel_optimizer = multi(ours)
        kernel, bias, grads = data()
        variables = [keras.Variable(kernel, name="kernel"), keras.Variable(bias, name="bias")]
        optimizer.build(variables)
        out = []
        for t in range(STEPS):
            if not ours:
                default.weight_decay = values["a"][t]
                kernel_optimizer.weight_decay = values["b"][t]
                kernel_optimizer.momentum = values["a"][t]
            optimizer.apply([ops.convert_to_tensor(g) for g in grads[t]], variables)
            out.append([ops.convert_to_numpy(v).copy() for v in variables])
        return out

    assert_same(trajectory(True), trajectory(False), "MultiOptimizer")


def test_a_saved_schedule_where_a_number_goes_is_refused_saying_why():
    config = keras.saving.serialize_keras_object(lro.SGD())
    config["config"]["clipnorm"] = keras.saving.serialize_keras_object(lrs.Constant(1.0))
    with pytest.raises(ValueError) as error:
        keras.saving.deserialize_keras_object(config, safe_mode=True)
    message = str(error.value)
    assert message.startswith("Argument `clipnorm` must be a number, not a schedule: ")
    assert lro.NOT_SCHEDULABLE["clipnorm"] in message
    assert message.endswith("Received: clipnorm=Constant(...)")


def test_a_runs_hyperparameter_is_drawn_beside_its_schedule():
    import matplotlib

    matplotlib.use("Agg")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    wd = lrs.Linear(0.1, 0.0, 12)  # 0.1 * (1 - t / 12)
    model.compile(lro.AdamW(1e-2, weight_decay=wd), "mse")
    logger = lrs.LRLogger(per="batch")
    x = np.ones((8, 3), "float32")
    history = model.fit(x, x[:, :1], batch_size=2, epochs=2, verbose=0, callbacks=[logger])
    record = lrs.inspection.run_record(logger, wd, hyperparameter="weight_decay")
    assert record["used_steps"] == list(range(8))
    np.testing.assert_allclose(record["used_rates"], [0.1 * (1 - t / 12) for t in range(8)],
                               rtol=1e-6)
    np.testing.assert_allclose(record["planned_rates"], record["used_rates"], rtol=1e-6)
    assert record["reductions"] == [] and record["restarts"] == []
    by_epoch = lrs.inspection.run_record(history, hyperparameter="weight_decay")
    assert by_epoch["used_steps"] == [3, 7]
    ax = lrs.plot(wd, history=logger, hyperparameter="weight_decay")
    assert ax.get_ylabel() == "weight decay"
    assert lrs.plot(wd, hyperparameter="weight_decay").get_ylabel() == "weight decay"
    with pytest.raises(ValueError, match="`hyperparameter`.*recorded \\(scheduled ones: "
                                         "weight_decay\\)"):
        lrs.plot(history=logger, hyperparameter="beta_2")
    with pytest.raises(ValueError, match="`hyperparameter`.*the run logged"):
        lrs.inspection.run_record(history, hyperparameter="beta_2")
    with pytest.raises(TypeError, match="`hyperparameter`"):
        lrs.plot(wd, hyperparameter=None)
