"""Learning-rate schedules: pure, elementwise functions of the optimizer step.

Every schedule here is a `keras.optimizers.schedules.LearningRateSchedule` written
with `keras.ops` only, so the same code runs inside the compiled train step on the
TensorFlow, JAX and torch backends. Three rules hold for all of them:

* **Elementwise.** A scalar step gives a scalar, a vector of steps gives a vector of
  rates (branches are `ops.where`, never a Python `if` on a tensor, never `ops.cond`).
* **Pure.** A schedule holds no counter: the value at step N depends on N only, so a
  run resumed from a checkpoint at step N continues exactly.
* **Exact at large step counts.** Steps are handled as integers (phase indices,
  milestones, positions inside a cycle are integer arithmetic) and only the offset
  inside the current phase becomes a float, so a milestone at 16,777,217 (past 2**24,
  where float32 stops representing every integer) is hit on the right step.

Steps are optimizer iterations counted from 0. A fractional step is floored and a
negative step is treated as 0.
"""

import math
import numbers
from typing import Self

import keras
import numpy as np
from keras import ops

from lrschedule import _tables
from lrschedule._keras import cosine_decay_parts
from lrschedule import _validation as check

__all__ = [
    "Schedule",
    "Constant",
    "Linear",
    "StepDecay",
    "MultiStepDecay",
    "OneCycle",
    "Cyclic",
    "WarmupStableDecay",
    "InverseSqrt",
    "Warmup",
    "Sequence",
    "PerEpoch",
    "Scaled",
    "CycledMomentum",
    "InUpdates",
    "InMicroBatches",
    "Extended",
    "Tabulated",
    "evaluate",
    "horizon",
    "extend",
    "with_length",
]

_FLOAT = "float32"
_register = keras.saving.register_keras_serializable(package="lrschedule")


def _int_dtype():
    """The widest integer the backend computes with (int32 on JAX without x64)."""
    if keras.backend.backend() == "jax":
        import jax

        return "int64" if jax.config.jax_enable_x64 else "int32"
    return "int64"


def _step_tensor(step):
    """The step as a non-negative integer tensor (floats are floored)."""
    step = ops.convert_to_tensor(step)
    if "float" in keras.backend.standardize_dtype(step.dtype):
        step = ops.floor(step)
    return ops.maximum(ops.cast(step, _int_dtype()), 0)


def _f(x):
    return ops.cast(x, _FLOAT)


def _progress(step, n):
    """(done, remaining) through a ramp of `n` steps: min(step, n) / n and its complement.

    `step` is a non-negative integer tensor. Both fractions come from exact integers
    (no `1 - done`) and lie in [0, 1] without clipping. Do not test them for
    exactly 1: XLA computes `x / n` as `x * (1 / n)`, so `n / n` may be 1 - 2**-24.
    """
    position = ops.minimum(step, n)
    return _f(position) / float(n), _f(n - position) / float(n)


def _sin2_half_pi(fraction):
    """sin(pi * fraction / 2) ** 2, the weight of cosine annealing.

    Cosine annealing from `a` to `b` at progress p is
    b + (a - b) * (1 + cos(pi p)) / 2 = a * sin^2(pi (1-p) / 2) + b * sin^2(pi p / 2).
    The second form is used everywhere: both weights are computed from an exact
    fraction and both terms are non-negative, so a rate that decays to 1e-6 of its
    peak keeps full float32 relative precision instead of drowning in cancellation.
    """
    s = ops.sin(fraction * (math.pi / 2.0))
    return s * s


def _switch(before, after, switched):
    """`before` where `switched` is 0.0, `after` where it is 1.0, exactly.

    The branch-free select used inside schedules: in the compiled train step an
    ops.where with its comparison costs several times these float ops.
    """
    return before * (1.0 - switched) + after * switched


def _interpolate(start, end, done, remaining, anneal):
    """Anneal from `start` (done=0) to `end` (remaining=0); done + remaining = 1.

    Cosine weighs `start` by sin^2(pi remaining / 2) and `end` by sin^2(pi done / 2)
    (as `_sin2_half_pi` explains), linear by `remaining` and `done`, "1-sqrt" (the
    cooldown of warmup-stable-decay runs) by 1 - sqrt(done) and sqrt(done). Each weight comes
    from its own exact fraction: a weight taken as `1 - w` loses float32 precision
    where w is near 1, which matters when `end` is far larger than `start` (a one-cycle
    with div_factor 1e4 was off PyTorch by 4.5e-4 one step after the start).
    """
    if anneal == "cos":
        return start * _sin2_half_pi(remaining) + end * _sin2_half_pi(done)
    if anneal == "1-sqrt":
        # start weighed by 1 - sqrt(p) (written without cancellation), end by sqrt(p).
        root = ops.sqrt(done)
        return start * (remaining / (1.0 + root)) + end * root
    return start * remaining + end * done


def _fraction_until(step, point):
    """(point - step) as a float, its integer part computed exactly; `point` may be
    fractional (PyTorch's phase boundaries)."""
    whole = math.floor(point)
    fraction = _f(whole - step)
    return fraction + (point - whole) if point != whole else fraction


def evaluate(schedule: check.KerasSchedule, step: check.Tensor) -> check.Tensor:
    """Evaluates any Keras schedule elementwise at `step` (a tensor of steps).

    Our schedules and most of Keras's are elementwise already, and a scalar step always
    goes straight to the schedule itself. For a vector of steps, two of Keras's own
    schedules need help: `CosineDecay` with `warmup_target` branches with `ops.cond`,
    which accepts only a scalar, and `PiecewiseConstantDecay` adds in place into a
    scalar, which the torch backend refuses for a vector. For those the schedule's own
    parameters (and, for CosineDecay, its own two formula methods) are evaluated on all
    steps and merged with `ops.where`: the same values, in one vectorized pass.
    """
    if len(ops.shape(step)) == 0:
        return schedule(step)
    keras_schedules = keras.optimizers.schedules
    if isinstance(schedule, keras_schedules.CosineDecay) and (
        getattr(schedule, "warmup_target", None) is not None
    ):
        return _keras_cosine_with_warmup(schedule, step)
    if isinstance(schedule, keras_schedules.PiecewiseConstantDecay):
        return _keras_piecewise_constant(schedule, step)
    return schedule(step)


def _keras_piecewise_constant(schedule, step):
    # Keras: values[0] for step <= boundaries[0], values[i] for
    # boundaries[i-1] < step <= boundaries[i], values[-1] after the last boundary;
    # compared, as Keras does, in the step's own dtype (boundaries cast to it): in
    # float32, step 2**24 + 1 would equal a boundary at 2**24.
    step = ops.convert_to_tensor(step)
    value_dtype = ops.convert_to_tensor(schedule.values[0]).dtype
    result = ops.zeros(ops.shape(step), dtype=value_dtype) + ops.cast(schedule.values[0],
                                                                        value_dtype)
    for boundary, value in zip(schedule.boundaries, schedule.values[1:]):
        after = ops.greater(step, ops.cast(boundary, step.dtype))
        result = ops.where(after, ops.cast(value, value_dtype), result)
    return result


def _keras_cosine_with_warmup(schedule, step):
    initial = ops.convert_to_tensor(schedule.initial_learning_rate)
    dtype = initial.dtype
    decay_steps = ops.cast(schedule.decay_steps, dtype)
    warmup_steps = ops.cast(schedule.warmup_steps, dtype)
    target = ops.cast(schedule.warmup_target, dtype)
    step = ops.minimum(ops.cast(step, dtype), decay_steps + warmup_steps)
    warm, decay = cosine_decay_parts(schedule, step, warmup_steps, target, initial, decay_steps, dtype)
    return ops.where(step < warmup_steps, warm, decay)


def _first_rate(schedule):
    """The rate of `schedule` at step 0, as a Python float (of its float32 value): from
    what the schedule knows (`_rate_at_zero()`, e.g. a Warmup's start), else evaluated."""
    own = getattr(schedule, "_rate_at_zero", None)
    value = own() if own is not None else None
    if value is None:
        value = float(ops.convert_to_numpy(_f(evaluate(schedule, _step_tensor(0)))))
    return value


def _momentum_value(name, value):
    """A momentum (SGD's momentum, Adam's beta_1): a number in [0, 1]."""
    return check.number(name, value, minimum=0.0, maximum=1.0)


def _not_known_yet(schedule):
    """The error of a schedule whose length is taken from fit() and not known yet."""
    raise ValueError(
        f"The length of this {type(schedule).__name__} is not known yet: it takes it from "
        "fit() when training starts (with one of lrschedule's callbacks in the fit: "
        "LRLogger, HorizonCheck, ReduceLROnPlateau...). To look at it before, give it a "
        "length: lrschedule.with_length(schedule, steps) (R: lr_with_length()).")


def _serialize(schedule):
    return keras.saving.serialize_keras_object(schedule)


def deserialize_schedule(name, config, custom_objects=None):
    """The object a saved config holds where a schedule goes (argument `name`), or a
    clear error naming `name`.

    Plain dicts and lists nested deeper than any schedule nests are refused before
    Keras's recursive deserializer sees them; Keras's own errors for a config it cannot
    build (a KeyError, an AttributeError, a TypeError naming an inner class's
    arguments), and lrschedule's own refusals of an inner schedule's argument, are
    refused naming the slot, the inner error quoted (it names the argument that is
    wrong)."""
    if isinstance(config, keras.optimizers.schedules.LearningRateSchedule):
        return config
    if isinstance(config, (dict, list)) and check._too_deep(config, limit=4 * MAX_DEPTH + 8):
        check.fail_value(name, config, "a schedule or the serialized config of one (this one "
                         "nests plain dicts or lists deeper than any schedule does)")
    if isinstance(config, dict) and _config_nesting(config, MAX_DEPTH) > MAX_DEPTH:
        check.fail_value(name, f"a config nesting {MAX_DEPTH + 1}+ schedules",
                         f"a schedule nested at most MAX_DEPTH = {MAX_DEPTH} levels deep")
    try:
        return keras.saving.deserialize_keras_object(config, custom_objects=custom_objects)
    except Exception as error:  # noqa: BLE001 - Keras raises KeyError, AttributeError...
        reason = error
    # the slot named, and the inner refusal kept (it names the argument that is wrong)
    check.fail_value(name, _tables._summary(config),
                     f"a schedule or the serialized config of one ({type(reason).__name__}: "
                     f"{str(reason)[:300]})")


def _deserialize(config, name="schedule"):
    return deserialize_schedule(name, config)


def _schedule_or_constant(name, value):
    """A schedule, or a plain non-negative number taken as a `Constant`."""
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return _inner(name, value)
    if check._is_real(check._unwrap_scalar(value)):
        return Constant(check.non_negative(name, value))
    return check.schedule(name, value)


# Schedules nest (a Warmup over a Sequence of Scaled pieces...), at most this deep: a
# run needs a handful of levels, and a saved file nesting hundreds would cost time and
# Python's recursion to load and to evaluate at every step.
MAX_DEPTH = 32


def nesting(schedule):
    """How deep `schedule` nests: 1 for a schedule that wraps none, 1 + the deepest of
    those it wraps otherwise (computed once per schedule: each level was checked, and
    remembered its own, when it was built)."""
    known = getattr(schedule, "__dict__", {}).get("_nesting")
    if known is not None:
        return known
    if isinstance(schedule, Sequence):
        inner = schedule.schedules
    elif isinstance(schedule, _Wrapping):
        inner = [schedule._wrapped()]
    else:
        inner = []
    depth = 1 + max((nesting(s) for s in inner if s is not None), default=0)
    if hasattr(schedule, "__dict__"):
        schedule.__dict__["_nesting"] = depth
    return depth


def _inner(name, value):
    """A schedule to wrap: any Keras schedule, nested less than `MAX_DEPTH` deep."""
    check.schedule(name, value)
    depth = nesting(value)
    if depth >= MAX_DEPTH:
        check.fail_value(name, type(value).__name__ + "(...)",
                         f"a schedule that, wrapped, nests at most MAX_DEPTH = {MAX_DEPTH} "
                         f"levels deep (this one nests {depth} already)")
    return value


def _config_nesting(config, limit):
    """How deep the serialized schedules in `config` nest (counted without recursion, and
    no further than `limit` + 1)."""
    deepest, stack, seen = 0, [(config, 1)], 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > 100_000:  # a config that big is refused by its depth or its content
            break
        if isinstance(node, dict):
            if "class_name" in node and "config" in node:
                depth += 1
                deepest = max(deepest, depth)
                if deepest > limit:
                    return deepest
            stack.extend((v, depth) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth) for v in node if isinstance(v, (dict, list)))
    return deepest


class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """Base class of lrschedule's schedules.

    Subclasses validate and store their arguments in `__init__`, list them in
    `_config_keys` (in constructor order) and implement `_compute(step)`, which
    receives a non-negative integer tensor and returns the rates elementwise.
    `__call__` prepares the step, names the scope and returns float32 rates.
    """

    _config_keys = ()
    _nested_keys = ()  # config entries holding schedules (serialized on save)

    def __call__(self, step: check.Tensor) -> check.Tensor:
        with keras.name_scope(type(self).__name__):
            return ops.cast(self._compute(_step_tensor(step)), _FLOAT)

    def _compute(self, step):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    def get_config(self) -> check.Config:
        config = {}
        for key in self._config_keys:
            value = getattr(self, key)
            if key in self._nested_keys:
                if isinstance(value, (list, tuple)):
                    value = [_serialize(v) for v in value]
                else:
                    value = _serialize(value)
            config[key] = value
        return config

    @classmethod
    def from_config(cls, config: check.Config) -> Self:
        if cls._nested_keys and isinstance(config, dict):
            depth = _config_nesting(config, MAX_DEPTH)
            if depth > MAX_DEPTH:
                check.fail_value(
                    cls._nested_keys[0], f"a {cls.__name__} config nesting {depth}+ levels",
                    f"a schedule nested at most MAX_DEPTH = {MAX_DEPTH} levels deep")
        config = dict(config)
        for key in cls._nested_keys:
            if key in config:
                value = config[key]
                if isinstance(value, (list, tuple)):
                    config[key] = [_deserialize(v, f"{key}[{i}]") for i, v in enumerate(value)]
                else:
                    config[key] = _deserialize(value, key)
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._config_keys)
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = object.__hash__

    # -- what the schedule says about itself -------------------------------------------
    # Read through `describe()` by `horizon()`, `takes_length()`, `inspection`'s
    # `default_steps()` and `is_stepwise()`, and the callbacks' horizon check. A new
    # schedule says them here, in its own class; the defaults are those of a schedule
    # with no end, no length to take, no span of its own and no known shape.

    def horizon(self) -> check.Horizon:
        """The steps this schedule is sized for, as `(steps, kind)`, or None when it has
        no end: see `lrschedule.horizon()`."""
        return None

    def lengths_wanted(self) -> check.LengthsWanted:
        """The schedules inside this one waiting for a length from fit(), each with the
        map from the run's steps to theirs: `[(schedule, f)]` (empty: none)."""
        return []

    def display_span(self) -> int:
        """The steps over which this schedule shows its whole shape (0: no length of its
        own; `inspection.default_steps()` then shows 1000)."""
        return 0

    def is_stepwise(self) -> bool | None:
        """True when the rate holds still between jumps, False when it moves (a ramp or
        a curve), None when only its rates can tell (`inspection.is_stepwise()`)."""
        return None


class _Wrapping:
    """What a schedule that wraps another (its `schedule`) says about itself, from what
    that one says. A wrapper that counts in other steps than its inner schedule maps
    them (`_maps_steps`): the inner schedule's step `m` is this one's `_outer_step(m)`,
    this one's step `n` is the inner one's `_inner_step(n)` (Warmup: an offset;
    PerEpoch, InUpdates: a factor). Scaled, InMicroBatches, CycledMomentum, Extended and
    the callbacks' ControlledRate count in the same steps."""

    _maps_steps = False

    def _wrapped(self):
        return self.schedule

    def _outer_step(self, inner_step):
        return inner_step

    def _inner_step(self, step):
        return step

    def horizon(self) -> check.Horizon:
        found = horizon(self._wrapped())
        return None if found is None else (self._outer_step(found[0]), found[1])

    def lengths_wanted(self) -> check.LengthsWanted:
        inner = self._wrapped()
        return [(s, lambda n, f=f: f(self._inner_step(n))) for s, f in lengths_wanted(inner)]

    def display_span(self) -> int:
        if self._maps_steps:  # the inner schedule's whole span, in this one's steps
            return self._outer_step(shown_span(self._wrapped()))
        return display_span(self._wrapped())

    def is_stepwise(self) -> bool | None:
        # A wrapper keeps its inner schedule's jumps (a factor, a counter, a stretch
        # that holds a stepping schedule's steps).
        return bool(stepwise(self._wrapped()))


class _CountsEvery(_Wrapping):
    """A schedule counted in units of k steps, k in the attribute `_every` names
    (PerEpoch: an epoch's steps; InUpdates: an update's micro-batches):

        lr(step) = schedule(floor(step / k))

    Each rate holds for k steps (stepwise when k > 1), and the inner schedule's step m
    is step k * m of this one."""

    _every = None
    _maps_steps = True

    def _k(self):
        return getattr(self, self._every)

    def _compute(self, step):
        return evaluate(self.schedule, ops.floor_divide(step, self._k()))

    def _outer_step(self, inner_step):
        return self._k() * inner_step

    def _inner_step(self, step):
        return step // self._k()

    def _rate_at_zero(self):
        return _first_rate(self.schedule)  # step 0 is the inner schedule's step 0

    def is_stepwise(self) -> bool | None:
        return True if self._k() > 1 else super().is_stepwise()


class _SizedByTotalSteps:
    """A schedule that moves at every step and ends at `total_steps`, which may be None
    until fit() gives it the run's length (Linear, OneCycle)."""

    def horizon(self) -> check.Horizon:
        return None if self.total_steps is None else (int(self.total_steps), "ends")

    def lengths_wanted(self) -> check.LengthsWanted:
        return [(self, _same)] if self.total_steps is None else []

    def display_span(self) -> int:
        return _whole(self.total_steps)

    def is_stepwise(self) -> bool | None:
        return False


@_register
class Constant(Schedule):
    """A constant learning rate, as a schedule.

    lr(step) = learning_rate

    Useful as a piece of `Sequence` or as the inner schedule of `Warmup`.

    Args:
        learning_rate: float >= 0. The rate at every step.

    Example:
        >>> lrschedule.values(Constant(0.01), range(3))
        array([0.01, 0.01, 0.01])
    """

    _config_keys = ("learning_rate",)

    def __init__(self, learning_rate: check.Real) -> None:
        self.learning_rate = check.non_negative("learning_rate", learning_rate)

    def _compute(self, step):
        return ops.zeros_like(_f(step)) + self.learning_rate

    def is_stepwise(self) -> bool | None:
        return True


@_register
class Linear(_SizedByTotalSteps, Schedule):
    """Linear interpolation between two absolute rates, then hold.

    lr(step) = initial + (end - initial) * min(step, total_steps) / total_steps

    The shape of PyTorch's `LinearLR`, with absolute rates instead of factors of the
    optimizer's base rate: `LinearLR(opt, start_factor=a, end_factor=b, total_iters=n)`
    on base rate r is `Linear(a * r, b * r, n)`.

    Args:
        initial_learning_rate: float >= 0. The rate at step 0.
        end_learning_rate: float >= 0. The rate from `total_steps` on.
        total_steps: int > 0, or None to take the run's length from fit() when training
            starts (then saved with the model). Steps taken by the ramp.

    Example:
        >>> warmup = Linear(0.0, 1e-3, total_steps=500)
        >>> model.compile(optimizer=keras.optimizers.Adam(warmup), loss="mse")
    """

    _config_keys = ("initial_learning_rate", "end_learning_rate", "total_steps")

    def __init__(self, initial_learning_rate: check.Real, end_learning_rate: check.Real,
                 total_steps: check.Integer | None = None) -> None:
        self.initial_learning_rate = check.non_negative(
            "initial_learning_rate", initial_learning_rate
        )
        self.end_learning_rate = check.non_negative("end_learning_rate", end_learning_rate)
        self.total_steps = None if total_steps is None else check.count("total_steps", total_steps)

    def _take_length(self, steps):
        """Sets the length taken from fit() (`steps`, the run's updates)."""
        self.total_steps = check.count("total_steps", steps)

    def _compute(self, step):
        if self.total_steps is None:
            _not_known_yet(self)
        done, remaining = _progress(step, self.total_steps)
        return _interpolate(
            self.initial_learning_rate, self.end_learning_rate, done, remaining, "linear"
        )


@_register
class StepDecay(Schedule):
    """Decays the rate by `gamma` every `step_size` steps (PyTorch's `StepLR`).

    lr(step) = initial_learning_rate * gamma ** floor(step / step_size)

    Args:
        initial_learning_rate: float > 0. The rate for the first `step_size` steps.
        step_size: int > 0. Steps between two decays.
        gamma: float > 0. Multiplicative factor of each decay. Default 0.1.

    Example (step_size=2, gamma=0.5 from 1.0):

        step   0    1    2    3    4
        lr     1.0  1.0  0.5  0.5  0.25
    """

    _config_keys = ("initial_learning_rate", "step_size", "gamma")

    def __init__(self, initial_learning_rate: check.Real, step_size: check.Integer,
                 gamma: check.Real = 0.1) -> None:
        self.initial_learning_rate = check.positive("initial_learning_rate", initial_learning_rate)
        self.step_size = check.count("step_size", step_size)
        self.gamma = check.positive("gamma", gamma)

    def _compute(self, step):
        decays = ops.floor_divide(step, self.step_size)
        return self.initial_learning_rate * ops.power(self.gamma, _f(decays))

    def display_span(self) -> int:
        return 4 * _whole(self.step_size)

    def is_stepwise(self) -> bool | None:
        return True


@_register
class MultiStepDecay(Schedule):
    """Decays the rate by `gamma` at each milestone (PyTorch's `MultiStepLR`).

    lr(step) = initial_learning_rate * gamma ** (number of milestones <= step)

    Args:
        initial_learning_rate: float > 0. The rate before the first milestone.
        milestones: strictly increasing list of int >= 1. Steps at which to decay.
        gamma: float > 0. Multiplicative factor of each decay. Default 0.1.

    Example (milestones=[2, 4], gamma=0.1 from 1.0):

        step   0    1    2    3    4     5
        lr     1.0  1.0  0.1  0.1  0.01  0.01
    """

    _config_keys = ("initial_learning_rate", "milestones", "gamma")

    def __init__(self, initial_learning_rate: check.Real, milestones: check.IntegerList,
                 gamma: check.Real = 0.1) -> None:
        self.initial_learning_rate = check.positive("initial_learning_rate", initial_learning_rate)
        self.milestones = check.increasing_integers("milestones", milestones, minimum=1)
        self.gamma = check.positive("gamma", gamma)

    def _compute(self, step):
        passed = ops.zeros_like(_f(step))
        for milestone in self.milestones:
            passed = passed + _f(ops.greater_equal(step, milestone))
        return self.initial_learning_rate * ops.power(self.gamma, passed)

    def horizon(self) -> check.Horizon:
        return (max(self.milestones), "steps") if self.milestones else None

    def display_span(self) -> int:
        return math.ceil(1.25 * max(self.milestones, default=0))

    def is_stepwise(self) -> bool | None:
        return True


@_register
class OneCycle(_SizedByTotalSteps, Schedule):
    """The 1cycle policy (PyTorch's `OneCycleLR`), step for step.

    With initial = max_lr / div_factor and min = initial / final_div_factor, the rate
    anneals from `initial` up to `max_lr` over the first `pct_start * total_steps - 1`
    steps, then down to `min` at step `total_steps - 1`. With `three_phase=True` it
    goes up to `max_lr`, back down to `initial` over as many steps, then to `min`.
    Annealing is cosine, `b + (a - b) * (1 + cos(pi * p)) / 2`, or linear,
    `a + (b - a) * p`, with p the progress through the phase, as in PyTorch (phase
    boundaries included, e.g. the first phase ends at step 299 for 1000 steps and
    pct_start 0.3). PyTorch raises past `total_steps`; this schedule holds `min`.

    Args:
        max_lr: float > 0. The peak rate.
        total_steps: int >= 2, or None to take the run's length from fit() when
            training starts (then saved with the model). Length of the cycle in steps.
        pct_start: float in (0, 1). Fraction of the cycle spent increasing. Default 0.3.
        anneal_strategy: "cos" or "linear". Default "cos".
        div_factor: float > 0. initial = max_lr / div_factor. Default 25.
        final_div_factor: float > 0. min = initial / final_div_factor. Default 1e4.
        three_phase: bool. Use the three-phase variant. Default False.
        base_momentum: float in [0, 1]. The momentum at the rate's peak, for
            `momentum()`. Default 0.85 (PyTorch's).
        max_momentum: float in [0, 1]. The momentum at the cycle's ends, for
            `momentum()`. Default 0.95 (PyTorch's).

    The momentum cycled inversely to the rate, as PyTorch's `OneCycleLR` and fastai's
    `fit_one_cycle` do, is `momentum()`: a schedule (`CycledMomentum`) to give an
    lrschedule optimizer as its momentum or beta_1.

    Example:
        >>> schedule = OneCycle(max_lr=1e-2, total_steps=1000)
        >>> model.compile(optimizer=keras.optimizers.SGD(schedule, momentum=0.9), loss="mse")
        >>> # momentum from 0.95 down to 0.85 at the peak and back, as PyTorch's
        >>> opt = lrschedule.optimizers.SGD(schedule, momentum=schedule.momentum())
    """

    _config_keys = (
        "max_lr",
        "total_steps",
        "pct_start",
        "anneal_strategy",
        "div_factor",
        "final_div_factor",
        "three_phase",
        "base_momentum",
        "max_momentum",
    )

    def __init__(
        self,
        max_lr: check.Real,
        total_steps: check.Integer | None = None,
        pct_start: check.Real = 0.3,
        anneal_strategy: str = "cos",
        div_factor: check.Real = 25.0,
        final_div_factor: check.Real = 1e4,
        three_phase: bool = False,
        base_momentum: check.Real = 0.85,
        max_momentum: check.Real = 0.95,
    ) -> None:
        self.max_lr = check.positive("max_lr", max_lr)
        self.total_steps = None if total_steps is None else check.integer(
            "total_steps", total_steps, minimum=2)
        self.pct_start = check.number(
            "pct_start", pct_start, minimum=0.0, maximum=1.0, min_inclusive=False,
            max_inclusive=False,
        )
        self.anneal_strategy = check.choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.div_factor = check.positive("div_factor", div_factor)
        if not 0 < np.float32(self.max_lr / self.div_factor) <= check.FLOAT32_MAX:
            check.fail_value("div_factor", div_factor, "a number that keeps the starting rate "
                             "max_lr / div_factor within float32's range, above 0 "
                             f"({self.max_lr:g} / {self.div_factor:g} is not)")
        self.final_div_factor = check.positive("final_div_factor", final_div_factor)
        self.three_phase = check.boolean("three_phase", three_phase)
        self.base_momentum = _momentum_value("base_momentum", base_momentum)
        self.max_momentum = _momentum_value("max_momentum", max_momentum)
        if self.total_steps is not None:
            self._setup()

    def _take_length(self, steps):
        """Sets the length taken from fit() (`steps`, the run's updates)."""
        self.total_steps = check.integer("total_steps", steps, minimum=2)
        self._setup()

    def _setup(self):
        pct_start = self.pct_start
        initial = self.max_lr / self.div_factor
        minimum = initial / self.final_div_factor
        # Phase boundaries exactly as PyTorch computes them (floats).
        up_end = float(self.pct_start * self.total_steps) - 1
        last = float(self.total_steps - 1)
        if self.three_phase:
            down_end = float(2 * self.pct_start * self.total_steps) - 2
            phases = [(up_end, initial, self.max_lr), (down_end, self.max_lr, initial),
                      (last, initial, minimum)]
        else:
            phases = [(up_end, initial, self.max_lr), (last, self.max_lr, minimum)]
        start = 0.0
        self._phases = []
        for end, lr_from, lr_to in phases:
            if end - start <= 0:
                check.fail_value(
                    "pct_start",
                    pct_start,
                    f"such that every phase of the cycle lasts at least one step "
                    f"(total_steps={self.total_steps}, three_phase={self.three_phase})",
                )
            self._phases.append((start, end, lr_from, lr_to))
            start = end
        # The phase in force can be told by value when the cycle rises to max_lr, then
        # falls (and, three-phase, phase 3 stays at or below `initial`): true for
        # div_factor >= 1 with a final rate <= max_lr (two phases) or final_div_factor
        # >= 1 (three). Other arguments (PyTorch accepts any > 0) select by step.
        if self.three_phase:
            self._by_value = self.div_factor >= 1 and self.final_div_factor >= 1
        else:
            self._by_value = self.div_factor >= 1 and minimum <= self.max_lr

    def momentum(self) -> "CycledMomentum":
        """The momentum cycled inversely to this rate, as PyTorch's `OneCycleLR`
        (`cycle_momentum=True`) cycles it: from `max_momentum` down to
        `base_momentum` while the rate rises, back up while it falls (three-phase:
        then held at `max_momentum`), on the same steps and with the same annealing.
        A `CycledMomentum` schedule, for `lrschedule.optimizers`' momentum/beta_1."""
        return CycledMomentum(self)

    def _momentum(self, step):
        if self.total_steps is None:
            _not_known_yet(self)
        low, high = self.base_momentum, self.max_momentum
        ends = [(high, low), (low, high)] + ([(high, high)] if self.three_phase else [])
        return self._by_step(step, self._phase_values(step, ends))

    def _phase_values(self, step, ends):
        # Each phase's value at `step`, annealing between `ends` (one pair per phase).
        values = []
        for (start, end, _, _), (value_from, value_to) in zip(self._phases, ends):
            # The fractions of the phase behind and ahead, each from an exact integer
            # difference and clipped to [0, 1].
            span = end - start
            left = ops.clip(_fraction_until(step, end) / span, 0.0, 1.0)
            done = ops.clip(-_fraction_until(step, start) / span, 0.0, 1.0)
            values.append(_interpolate(value_from, value_to, done, left, self.anneal_strategy))
        return values

    def _by_step(self, step, values):
        # PyTorch's rule: phase k runs while step <= its end; the next from the step
        # after (exact 0/1 switches from integer steps, no ops.where).
        value = values[0]
        for (_, end, _, _), later in zip(self._phases, values[1:]):
            value = _switch(value, later, ops.clip(_f(step - math.floor(end)), 0.0, 1.0))
        return value

    def _compute(self, step):
        if self.total_steps is None:
            _not_known_yet(self)
        # Every phase's value at every step, from the fractions of the phase behind
        # and ahead clipped to [0, 1]: a phase not yet begun sits at its start rate, a
        # finished one at its end rate. For the usual arguments phases meet at max_lr
        # (and three-phase at `initial`), so min() and a product pick the phase in
        # force; otherwise exact 0/1 switches by step do. Neither uses ops.where: a
        # select costs the compiled train step several times what these float ops do,
        # and this runs at every step.
        values = self._phase_values(step, [(a, b) for _, _, a, b in self._phases])
        if not self._by_value:
            return self._by_step(step, values)
        # Up to max_lr, then down: the phase in force is the smaller value.
        rate = ops.minimum(values[0], values[1])
        if self.three_phase:
            # Phases 1-2 never go below `initial` and phase 3 sits at `initial` until it
            # starts; from then on phases 1-2 sit at `initial` and phase 3 is at or below
            # it. Phase 3 over `initial` (in [1 / final_div_factor, 1]) times the rest is
            # each in its turn, to a rounding, and cannot overflow or underflow.
            rate = rate * (values[2] / self._phases[0][2])
        return rate


@_register
class Cyclic(Schedule):
    """Cyclical learning rate between `base_lr` and `max_lr` (PyTorch's `CyclicLR`).

    Each cycle rises linearly from `base_lr` to the peak over `step_size_up` steps and
    falls back over `step_size_down` steps. The amplitude `max_lr - base_lr` is scaled
    by mode: "triangular" keeps it, "triangular2" halves it every cycle,
    "exp_range" multiplies it by `gamma ** step`.

        cycle = floor(step / (up + down)),  pos = step - cycle * (up + down)
        x     = pos / up  if pos <= up  else  (up + down - pos) / down
        lr    = base_lr + (max_lr - base_lr) * x * scale

    Args:
        base_lr: float >= 0. The lower bound of the cycle.
        max_lr: float >= base_lr. The upper bound of the cycle.
        step_size_up: int > 0. Steps in the increasing half. Default 2000.
        step_size_down: int > 0 or None (then equal to `step_size_up`). Default None.
        mode: "triangular", "triangular2" or "exp_range". Default "triangular".
        gamma: float in (0, 1]. Decay base of "exp_range". Default 1.
        base_momentum: float in [0, 1]. The momentum at the rate's peaks, for
            `momentum()`. Default 0.8 (PyTorch's).
        max_momentum: float in [0, 1]. The momentum where the rate is `base_lr`, for
            `momentum()`. Default 0.9 (PyTorch's).

    `momentum()` is the momentum cycled inversely, as PyTorch's `CyclicLR` cycles it
    (`cycle_momentum=True`): `max_momentum - (max_momentum - base_momentum) * x * scale`.

    Example (base_lr=1, max_lr=3, step_size_up=2):

        step   0    1    2    3    4    5
        lr     1    2    3    2    1    2
    """

    _config_keys = ("base_lr", "max_lr", "step_size_up", "step_size_down", "mode", "gamma",
                    "base_momentum", "max_momentum")

    def __init__(self, base_lr: check.Real, max_lr: check.Real, step_size_up: check.Integer = 2000,
                 step_size_down: check.Integer | None = None,
                 mode: str = "triangular", gamma: check.Real = 1.0,
                 base_momentum: check.Real = 0.8, max_momentum: check.Real = 0.9) -> None:
        self.base_lr = check.non_negative("base_lr", base_lr)
        self.max_lr = check.number("max_lr", max_lr)
        if self.max_lr < self.base_lr or self.max_lr <= 0:
            check.fail_value("max_lr", max_lr, f"> 0 and >= base_lr ({self.base_lr:g})")
        self.step_size_up = check.count("step_size_up", step_size_up)
        self.step_size_down = (
            None if step_size_down is None else check.count("step_size_down", step_size_down)
        )
        self.mode = check.choice("mode", mode, ("triangular", "triangular2", "exp_range"))
        self.gamma = check.number("gamma", gamma, minimum=0.0, maximum=1.0, min_inclusive=False)
        self.base_momentum = _momentum_value("base_momentum", base_momentum)
        self.max_momentum = _momentum_value("max_momentum", max_momentum)

    def momentum(self) -> "CycledMomentum":
        """The momentum cycled inversely to this rate, as PyTorch's `CyclicLR`
        (`cycle_momentum=True`) cycles it: `max_momentum` where the rate is
        `base_lr`, down towards `base_momentum` at its peaks, with the same scaling
        by mode. A `CycledMomentum` schedule, for `lrschedule.optimizers`'
        momentum/beta_1."""
        return CycledMomentum(self)

    def _momentum(self, step):
        # max - (max - base) * height, written from 1 - height, which is taken from the
        # step's integers: near a peak `height` is almost 1, and the subtraction left
        # little but its rounding (110 float32 ulps at a momentum of 1e-3).
        return self.base_momentum + (self.max_momentum - self.base_momentum) * \
            self._height(step, complement=True)

    def _compute(self, step):
        return self.base_lr + (self.max_lr - self.base_lr) * self._height(step)

    def _height(self, step, complement=False):
        # x * scale in PyTorch's notation: the position in the cycle, in [0, 1] (or,
        # with `complement`, 1 minus it).
        up = self.step_size_up
        down = up if self.step_size_down is None else self.step_size_down
        period = up + down
        cycle = ops.floor_divide(step, period)
        position = step - cycle * period
        # Rising is <= 1 exactly while falling is >= 1, and the other way round: the
        # smaller is the one in force (no ops.where, costly in the train step).
        height = ops.minimum(_f(position) / float(up), _f(period - position) / float(down))
        scale = None
        if self.mode == "triangular2":
            scale = ops.power(0.5, _f(cycle))
        elif self.mode == "exp_range":
            scale = ops.power(self.gamma, _f(step))
        if not complement:
            return height if scale is None else height * scale
        # 1 - height from the integers: the larger of the two is the one in force
        rest = ops.maximum(_f(up - position) / float(up), _f(position - up) / float(down))
        return rest if scale is None else rest + height * (1.0 - scale)

    def display_span(self) -> int:
        up = _whole(self.step_size_up)
        down = up if self.step_size_down is None else _whole(self.step_size_down)
        return 2 * (up + down)

    def is_stepwise(self) -> bool | None:
        return False


@_register
class WarmupStableDecay(Schedule):
    """Warmup, a stable plateau, then decay (transformers' `get_wsd_schedule`).

    With W, S, D the warmup, stable and decay steps and m = min_lr_ratio:

        step < W:          factor = m + (1 - m) * warm(step / W)
        W <= step < W+S:   factor = 1
        W+S <= step < W+S+D: factor = m + (1 - m) * decay((step - W - S) / D)
        later:             factor = m
        lr = learning_rate * factor

    warm(p): "linear" p, "cosine" (1 - cos(pi p)) / 2, "1-sqrt" 1 - sqrt(1 - p).
    decay(p): "linear" 1 - p, "cosine" (1 + cos(2 pi num_cycles p)) / 2,
    "1-sqrt" 1 - sqrt(p).

    Args:
        learning_rate: float > 0. The peak (stable) rate.
        warmup_steps: int >= 0. Steps of warmup.
        stable_steps: int >= 0, or None for a plateau that fills the run: its length is
            taken from fit() when training starts (then saved with the model).
        decay_steps: int >= 0. Steps of decay; with `stable_steps=None` also a
            fraction of the run in (0, 1) (e.g. 0.1: the last tenth decays).
        warmup_type: "linear", "cosine" or "1-sqrt". Default "linear".
        decay_type: "linear", "cosine" or "1-sqrt". Default "cosine".
        min_lr_ratio: float in [0, 1]. Floor, as a fraction of `learning_rate`. Default 0.
        num_cycles: float > 0. Cosine cycles in the decay ("cosine" only). Default 0.5.

    Example:
        >>> WarmupStableDecay(3e-4, warmup_steps=100, stable_steps=800, decay_steps=100)
    """

    _config_keys = (
        "learning_rate",
        "warmup_steps",
        "stable_steps",
        "decay_steps",
        "warmup_type",
        "decay_type",
        "min_lr_ratio",
        "num_cycles",
    )
    _types = ("linear", "cosine", "1-sqrt")

    def __init__(self, learning_rate: check.Real, warmup_steps: check.Integer,
                 stable_steps: check.Integer | None = None, decay_steps: check.Real | None = None,
                 warmup_type: str = "linear", decay_type: str = "cosine",
                 min_lr_ratio: check.Real = 0.0, num_cycles: check.Real = 0.5) -> None:
        self.learning_rate = check.positive("learning_rate", learning_rate)
        self.warmup_steps = check.integer("warmup_steps", warmup_steps, minimum=0)
        if decay_steps is None:
            check.fail_type("decay_steps", decay_steps, "an integer >= 0, or (with "
                            "stable_steps=None) a fraction of the run in (0, 1)")
        if stable_steps is None:
            # The plateau fills the run, whose length comes from fit().
            if isinstance(decay_steps, float) and 0 < decay_steps < 1:
                self.decay_steps = float(decay_steps)
            else:
                self.decay_steps = check.integer("decay_steps", decay_steps, minimum=0)
            self.stable_steps = None
        else:
            self.stable_steps = check.integer("stable_steps", stable_steps, minimum=0)
            self.decay_steps = check.integer("decay_steps", decay_steps, minimum=0)
        self.warmup_type = check.choice("warmup_type", warmup_type, self._types)
        self.decay_type = check.choice("decay_type", decay_type, self._types)
        self.min_lr_ratio = check.number("min_lr_ratio", min_lr_ratio, minimum=0.0, maximum=1.0)
        self.num_cycles = check.positive("num_cycles", num_cycles)

    def _take_length(self, steps):
        """The plateau fills the run of `steps` updates, taken from fit()."""
        steps = check.count("total_steps", steps)
        decay = self.decay_steps
        if isinstance(decay, float):
            decay = int(round(decay * steps))
        stable = steps - self.warmup_steps - decay
        if stable < 0:
            check.fail_value("total_steps", steps, f"at least warmup_steps + decay_steps "
                             f"({self.warmup_steps + decay}) updates in the run")
        self.stable_steps, self.decay_steps = stable, decay

    def _warm_shape(self, step):
        done, remaining = _progress(step, self.warmup_steps)
        if self.warmup_type == "linear":
            return done
        if self.warmup_type == "cosine":
            return _sin2_half_pi(done)
        # 1 - sqrt(1 - p), written without cancellation.
        return done / (1.0 + ops.sqrt(remaining))

    def _decay_shape(self, step):
        # Steps of decay still ahead, clamped to [0, d]: d during warmup and the
        # plateau, so the decay shape is 1 there, and 0 once the decay is over.
        d = max(1, self.decay_steps)
        end = self.warmup_steps + self.stable_steps + self.decay_steps
        ahead = ops.maximum(ops.minimum(end - step, d), 0)
        remaining = _f(ahead) / float(d)
        if self.decay_type == "linear":
            return remaining
        if self.decay_type == "cosine" and self.num_cycles == 0.5:
            # (1 + cos(pi p)) / 2 = sin^2(pi (1 - p) / 2): exact near the end.
            return _sin2_half_pi(remaining)
        done = _f(d - ahead) / float(d)
        if self.decay_type == "1-sqrt":
            # 1 - sqrt(p), written without cancellation.
            return remaining / (1.0 + ops.sqrt(done))
        # (1 + cos(2 pi c p)) / 2 = cos^2(pi c p), which need not be 0 at p = 1:
        # times 1 while decay steps remain (ahead >= 1), 0 after.
        c = ops.cos(done * (math.pi * self.num_cycles))
        return c * c * _f(ops.minimum(ahead, 1))

    def _compute(self, step):
        if self.stable_steps is None:
            _not_known_yet(self)
        # One shape in [0, 1] (warmup ramp, 1 on the plateau, decay, 0 after), then
        # the floor: a few scalar ops, as the rate is computed in every train step.
        # The warmup shape is < 1 during warmup and 1 after it, where the decay shape
        # is 1 during warmup: the smaller of the two is the shape (no ops.where,
        # costly in the compiled train step).
        shape = self._decay_shape(step)
        if self.warmup_steps > 0:
            shape = ops.minimum(self._warm_shape(step), shape)
        m = self.min_lr_ratio
        if m > 0:
            shape = m + (1.0 - m) * shape
        return self.learning_rate * shape

    def horizon(self) -> check.Horizon:
        if self.stable_steps is None:
            return None
        return self.warmup_steps + self.stable_steps + self.decay_steps, "ends"

    def lengths_wanted(self) -> check.LengthsWanted:
        return [(self, _same)] if self.stable_steps is None else []

    def display_span(self) -> int:
        found = self.horizon()
        return 0 if found is None else found[0]

    def is_stepwise(self) -> bool | None:
        return False


@_register
class InverseSqrt(Schedule):
    """Linear warmup, then inverse square-root decay (transformers' `get_inverse_sqrt_schedule`).

        step < warmup_steps:  lr = learning_rate * step / warmup_steps
        otherwise:            lr = learning_rate * sqrt(timescale / (step - warmup_steps + timescale))

    Args:
        learning_rate: float > 0. The rate at the end of warmup.
        warmup_steps: int >= 0. Steps of linear warmup from 0.
        timescale: int > 0 or None. Decay timescale; None means `warmup_steps`, or
            10,000 when `warmup_steps` is 0 (as in transformers). Default None.

    Example:
        >>> InverseSqrt(1e-3, warmup_steps=4000)
    """

    _config_keys = ("learning_rate", "warmup_steps", "timescale")

    def __init__(self, learning_rate: check.Real, warmup_steps: check.Integer,
                 timescale: check.Integer | None = None) -> None:
        self.learning_rate = check.positive("learning_rate", learning_rate)
        self.warmup_steps = check.integer("warmup_steps", warmup_steps, minimum=0)
        self.timescale = None if timescale is None else check.count("timescale", timescale)

    def _compute(self, step):
        w = self.warmup_steps
        timescale = self.timescale if self.timescale is not None else (w or 10_000)
        after = _f(ops.maximum(step - w, 0)) + float(timescale)
        decay = ops.sqrt(float(timescale) / after)
        if w == 0:
            return self.learning_rate * decay
        # During warmup step / w < 1 = decay; after it step / w >= 1 >= decay.
        return self.learning_rate * ops.minimum(_f(step) / float(w), decay)

    def is_stepwise(self) -> bool | None:
        return False


@_register
class Warmup(_Wrapping, Schedule):
    """A linear warmup in front of any schedule.

    For step < warmup_steps the rate rises linearly from `start_learning_rate` to
    `schedule(0)`; from then on it is `schedule(step - warmup_steps)`: the wrapped
    schedule starts at its own step 0 when the warmup ends.

    Args:
        schedule: any Keras `LearningRateSchedule` (ours or Keras's own).
        warmup_steps: int >= 0. Steps of warmup.
        start_learning_rate: float >= 0. The rate at step 0. Default 0.

    Example:
        >>> cosine = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=9000)
        >>> schedule = Warmup(cosine, warmup_steps=1000)
    """

    _config_keys = ("schedule", "warmup_steps", "start_learning_rate")
    _nested_keys = ("schedule",)

    def __init__(self, schedule: check.KerasSchedule, warmup_steps: check.Integer,
                 start_learning_rate: check.Real = 0.0) -> None:
        self.schedule = _inner("schedule", schedule)
        self.warmup_steps = check.integer("warmup_steps", warmup_steps, minimum=0)
        self.start_learning_rate = check.non_negative("start_learning_rate", start_learning_rate)
        # The rate the ramp ends on, schedule(0) (schedules are pure): a number taken
        # once here, not a second evaluation of the schedule in every train step (for a
        # schedule waiting for its length from fit(), once it has it).
        self._target = None
        if not takes_length(self.schedule):
            self._take_target(schedule)

    def _take_target(self, given):
        try:
            self._target = _first_rate(self.schedule)
        except Exception as error:  # noqa: BLE001 - reported with the argument's name
            check.fail_value(
                "schedule", given, f"a schedule that can be evaluated at step 0 (it raised "
                f"{type(error).__name__}: {error})"
            )

    def _compute(self, step):
        if self._target is None:
            self._take_target(self.schedule)
        w = self.warmup_steps
        after = _f(evaluate(self.schedule, ops.maximum(step - w, 0)))
        if w == 0:
            return after
        done, remaining = _progress(step, w)
        ramp = self._target * done
        if self.start_learning_rate:
            ramp = ramp + self.start_learning_rate * remaining
        # From step w on: an integer comparison, not floor(done). XLA divides by a
        # constant as a multiplication by its reciprocal, so w / w can be 0.99999994
        # (w = 107), and floor(done) never reached 1: on JAX the schedule stayed in
        # its warmup.
        return _switch(ramp, after, ops.clip(_f(step - w) + 1.0, 0.0, 1.0))

    def _rate_at_zero(self):
        # The ramp's start (exactly: the select at step 0 takes it), or with no warmup
        # the inner schedule's first rate, which is the target: no evaluation of the
        # inner schedules, so building a nest of wrappers is linear in its depth.
        if self.warmup_steps > 0:
            return float(np.float32(self.start_learning_rate))
        return self._target

    _maps_steps = True

    def _outer_step(self, inner_step):
        return self.warmup_steps + inner_step

    def _inner_step(self, step):
        return step - self.warmup_steps

    def is_stepwise(self) -> bool | None:
        return False


@_register
class Sequence(_Wrapping, Schedule):
    """Schedules one after another (optax's `join_schedules`).

    `schedules[i]` runs from `boundaries[i-1]` (0 for the first) and receives
    `step - boundaries[i-1]`, so each piece starts at its own step 0.

    Args:
        schedules: list of Keras `LearningRateSchedule` (a plain number is taken
            as a `Constant`).
        boundaries: strictly increasing list of int >= 0, one fewer than `schedules`.

    Example:
        >>> Sequence([Linear(0.0, 1e-3, 100), keras.optimizers.schedules.CosineDecay(1e-3, 900)],
        ...          boundaries=[100])
    """

    _config_keys = ("schedules", "boundaries")
    _nested_keys = ("schedules",)

    def __init__(self, schedules: check.Schedules, boundaries: check.IntegerList) -> None:
        if isinstance(schedules, keras.optimizers.schedules.LearningRateSchedule) or isinstance(
            schedules, (str, bytes, dict)
        ) or not hasattr(schedules, "__iter__"):
            check.fail_type("schedules", schedules, "a list of LearningRateSchedule objects")
        schedules = list(schedules)
        if not schedules:
            check.fail_value("schedules", schedules, "a non-empty list of schedules")
        self.schedules = [
            _schedule_or_constant(f"schedules[{i}]", s) for i, s in enumerate(schedules)
        ]
        for i, piece in enumerate(self.schedules[:-1]):
            if takes_length(piece):
                check.fail_value(f"schedules[{i}]", type(piece).__name__ + "(...)",
                                 "a schedule given its length: only the last piece can take "
                                 "its length from fit() (give this one total_steps, or "
                                 "lrschedule.with_length(piece, steps))")
        self.boundaries = check.increasing_integers(
            "boundaries", boundaries, minimum=0, allow_empty=True
        )
        if len(self.boundaries) != len(self.schedules) - 1:
            check.fail_value(
                "boundaries",
                boundaries,
                f"one element fewer than `schedules` ({len(self.schedules)} schedules, "
                f"so {len(self.schedules) - 1} boundaries)",
            )

    def _compute(self, step):
        result = _f(evaluate(self.schedules[0], step))
        for boundary, schedule in zip(self.boundaries, self.schedules[1:]):
            since = step - boundary
            later = _f(evaluate(schedule, ops.maximum(since, 0)))
            # 1.0 from the boundary on, 0.0 before it.
            result = _switch(result, later, ops.clip(_f(since) + 1.0, 0.0, 1.0))
        return result

    _maps_steps = True

    def _wrapped(self):
        return self.schedules[-1]  # the piece in force from the last boundary on

    def _outer_step(self, inner_step):
        return max(self.boundaries, default=0) + inner_step

    def _inner_step(self, step):
        return step - max(self.boundaries, default=0)

    def horizon(self) -> check.Horizon:
        start = max(self.boundaries, default=0)
        if isinstance(self._wrapped(), Constant):
            return (start, "steps") if start > 0 else None
        return _Wrapping.horizon(self)

    def is_stepwise(self) -> bool | None:
        return all(stepwise(part) for part in self.schedules)


@_register
class PerEpoch(_CountsEvery, Schedule):
    """Evaluates a schedule at the epoch index instead of the step.

        lr(step) = schedule(floor(step / steps_per_epoch))

    Args:
        schedule: any Keras `LearningRateSchedule`, whose "step" is the epoch.
        steps_per_epoch: int > 0. Optimizer steps per epoch.

    Example:
        >>> PerEpoch(StepDecay(0.1, step_size=10, gamma=0.5), steps_per_epoch=100)
    """

    _config_keys = ("schedule", "steps_per_epoch")
    _nested_keys = ("schedule",)

    def __init__(self, schedule: check.KerasSchedule, steps_per_epoch: check.Integer) -> None:
        self.schedule = _inner("schedule", schedule)
        self.steps_per_epoch = check.count("steps_per_epoch", steps_per_epoch)

    _every = "steps_per_epoch"


@_register
class Scaled(_Wrapping, Schedule):
    """A schedule times a constant factor.

        lr(step) = factor * schedule(step)

    The shape of `schedule`, at another height: what `per_layer()` gives each layer
    group (one schedule, a factor per depth).

    Args:
        schedule: any Keras `LearningRateSchedule`.
        factor: float > 0.

    Example:
        >>> Scaled(OneCycle(max_lr=1e-2, total_steps=1000), factor=0.1)
    """

    _config_keys = ("schedule", "factor")
    _nested_keys = ("schedule",)

    def __init__(self, schedule: check.KerasSchedule, factor: check.Real) -> None:
        self.schedule = _inner("schedule", schedule)
        self.factor = check.positive("factor", factor)

    def _compute(self, step):
        return ops.cast(evaluate(self.schedule, step), _FLOAT) * self.factor


@_register
class CycledMomentum(_Wrapping, Schedule):
    """The momentum cycled inversely to a cyclical rate, as PyTorch does.

    PyTorch's `OneCycleLR` and `CyclicLR` (with `cycle_momentum=True`, their default)
    set the optimizer's momentum (SGD, RMSprop) or beta_1 (Adam and its family) at
    every step, high where the rate is low and low where it is high; fastai's
    `fit_one_cycle` does the same. This is that momentum as a schedule of its own:
    `OneCycle(...).momentum()` and `Cyclic(...).momentum()` build it, with the
    schedule's `base_momentum` and `max_momentum`. Give it to one of
    `lrschedule.optimizers`' optimizers (`SGD(momentum=...)`, `Adam(beta_1=...)`),
    which evaluate it at every update, as they evaluate the rate.

    Its values are momenta, not rates: `values()` and `plot()` show them.

    Args:
        schedule: a `OneCycle` (given its `total_steps`) or a `Cyclic`.

    Example:
        >>> rate = OneCycle(max_lr=1e-2, total_steps=1000)
        >>> opt = lrschedule.optimizers.Adam(learning_rate=rate, beta_1=rate.momentum())
    """

    _config_keys = ("schedule",)
    _nested_keys = ("schedule",)

    def __init__(self, schedule: OneCycle | Cyclic) -> None:
        if not isinstance(schedule, (OneCycle, Cyclic)):
            check.fail_type("schedule", schedule, "a OneCycle or Cyclic schedule (the ones "
                            "PyTorch cycles momentum with)")
        if isinstance(schedule, OneCycle) and schedule.total_steps is None:
            check.fail_value("schedule", schedule, "a OneCycle given its total_steps (a "
                             "momentum schedule does not take its length from fit())")
        self.schedule = schedule

    def _compute(self, step):
        return self.schedule._momentum(step)

    def is_stepwise(self) -> bool | None:
        return False


@_register
class InUpdates(_CountsEvery, Schedule):
    """A schedule counted in optimizer updates, under gradient accumulation.

        lr(counter) = schedule(floor(counter / gradient_accumulation_steps))

    With `gradient_accumulation_steps=k`, a Keras optimizer applies an update every
    k batches but evaluates its schedule at its micro-batch counter (Keras's
    `optimizer._iterations`), so a schedule written in updates (PyTorch's convention,
    `OneCycle(total_steps=updates)`) would run k times too fast. Wrapped, the update
    applied after micro-batches `u*k ... u*k + k - 1` uses `schedule(u)`: the rate of
    update `u`, counted from 0, as `optimizer.iterations` counts them.

    `lrschedule.count_updates(optimizer)` (R: `optimizer_*(gradient_accumulation_steps
    = k)`) wraps an optimizer's schedule so, and lrschedule's callbacks do it when
    they meet an accumulating optimizer whose schedule is not wrapped (with a warning).
    Like any schedule it is called with the counter Keras passes: `values()` and
    `plot()` of an `InUpdates` are in micro-batches; those of its `schedule` are in
    updates.

    Args:
        schedule: any Keras `LearningRateSchedule`, whose "step" is the update.
        gradient_accumulation_steps: int > 0, the optimizer's.

    Example:
        >>> InUpdates(OneCycle(max_lr=1e-2, total_steps=250), gradient_accumulation_steps=4)
    """

    _config_keys = ("schedule", "gradient_accumulation_steps")
    _nested_keys = ("schedule",)

    def __init__(self, schedule: check.KerasSchedule,
                 gradient_accumulation_steps: check.Integer) -> None:
        self.schedule = _inner("schedule", schedule)
        self.gradient_accumulation_steps = check.count(
            "gradient_accumulation_steps", gradient_accumulation_steps)

    _every = "gradient_accumulation_steps"


@_register
class InMicroBatches(_Wrapping, Schedule):
    """A schedule counted in micro-batches under gradient accumulation, as Keras counts.

        lr(counter) = schedule(counter)

    The schedule unchanged: it says that the schedule was written for Keras's
    micro-batch counter, so lrschedule's callbacks leave it so (without it they count
    an accumulating optimizer's schedule in updates: see `InUpdates`).

    Args:
        schedule: any Keras `LearningRateSchedule`, whose "step" is the micro-batch.

    Example:
        >>> InMicroBatches(OneCycle(max_lr=1e-2, total_steps=1000))
    """

    _config_keys = ("schedule",)
    _nested_keys = ("schedule",)

    def __init__(self, schedule: check.KerasSchedule) -> None:
        self.schedule = _inner("schedule", schedule)

    def _compute(self, step):
        return evaluate(self.schedule, step)

    def _rate_at_zero(self):
        return _first_rate(self.schedule)


def _same(steps):
    return steps


def _whole(value):
    return int(value) if isinstance(value, numbers.Real) else 0


# The steps shown for a schedule whose shape says nothing about its length.
DEFAULT_SPAN = 1000


class _Silent:
    """The description of a schedule that says nothing about itself (a user's class)."""

    def __init__(self, schedule=None):
        self.schedule = schedule

    horizon = Schedule.horizon
    lengths_wanted = Schedule.lengths_wanted
    display_span = Schedule.display_span
    is_stepwise = Schedule.is_stepwise


class _UserWrapper(_Wrapping, _Silent):
    """A user's schedule holding another as `schedule`: it is taken to count in the same
    steps for its length, span and shape, but it is given no horizon (what it does to
    the steps is unknown, and a wrong horizon would warn on runs that are right)."""

    horizon = Schedule.horizon

    def _wrapped(self):
        return self.schedule.schedule


class _Keras(_Silent):
    """Keras's own six schedules, described from their arguments."""

    def _k(self):
        return keras.optimizers.schedules

    def horizon(self):
        s, K = self.schedule, self._k()
        if isinstance(s, K.CosineDecay):
            return int(s.decay_steps) + int(s.warmup_steps or 0), "ends"
        if isinstance(s, K.PolynomialDecay):
            return None if s.cycle else (int(s.decay_steps), "ends")
        if isinstance(s, K.PiecewiseConstantDecay):
            # Keras's value changes after the boundary: steps <= b take the earlier value.
            return (int(max(s.boundaries)) + 1, "steps") if s.boundaries else None
        return None  # ExponentialDecay, InverseTimeDecay, CosineDecayRestarts: no end

    def display_span(self):
        s, K = self.schedule, self._k()
        if isinstance(s, K.CosineDecay):
            return _whole(s.decay_steps) + _whole(s.warmup_steps)
        if isinstance(s, K.CosineDecayRestarts):
            return 7 * _whole(s.first_decay_steps)
        if isinstance(s, K.PiecewiseConstantDecay):
            return math.ceil(1.25 * max((_whole(b) for b in s.boundaries), default=0))
        return 2 * _whole(s.decay_steps)  # Exponential, InverseTime, Polynomial: periods

    def is_stepwise(self):
        s, K = self.schedule, self._k()
        if isinstance(s, K.PiecewiseConstantDecay):
            return True
        if isinstance(s, (K.ExponentialDecay, K.InverseTimeDecay)):
            return bool(s.staircase)
        return False  # CosineDecay, CosineDecayRestarts, PolynomialDecay


def _keras_own(schedule):
    K = keras.optimizers.schedules
    return isinstance(schedule, (K.CosineDecay, K.CosineDecayRestarts, K.ExponentialDecay,
                                 K.InverseTimeDecay, K.PolynomialDecay,
                                 K.PiecewiseConstantDecay))


def describe(schedule):
    """What `schedule` says about itself: an object with `horizon()`, `lengths_wanted()`,
    `display_span()` and `is_stepwise()` (see `Schedule`). Ours (and the callbacks'
    ControlledRate) describe themselves; Keras's six are described from their
    arguments; anything else says nothing, or, holding a schedule as `schedule`,
    passes on what that one says (`_UserWrapper`)."""
    if isinstance(schedule, (Schedule, _Wrapping)):
        return schedule
    if _keras_own(schedule):
        return _Keras(schedule)
    if isinstance(getattr(schedule, "schedule", None), keras.optimizers.schedules.LearningRateSchedule):
        return _UserWrapper(schedule)
    return _Silent(schedule)


def horizon(schedule: check.KerasSchedule) -> check.Horizon:
    """The steps `schedule` is sized for, as `(steps, kind)`, or None when it has no end.

    `kind` is "ends" (its rate stops changing at `steps`: training past it runs at its
    final rate: OneCycle, Linear, WarmupStableDecay, Tabulated, Extended, Keras's
    CosineDecay and PolynomialDecay) or "steps" (its last change is at `steps`, and its
    final rate is meant to last: MultiStepDecay's last milestone, Keras's
    PiecewiseConstantDecay's last boundary, a Sequence ending in a constant). Wrappers
    add their steps to the inner schedule's. Steps are the counter Keras passes to the
    schedule. ExponentialDecay, StepDecay, Cyclic, InverseSqrt, CosineDecayRestarts and
    Constant have no end: None.

    Example:
        >>> horizon(OneCycle(0.01, total_steps=1000))
        (1000, 'ends')
    """
    if schedule is None:
        return None
    return describe(schedule).horizon()


def lengths_wanted(schedule):
    """The schedules inside `schedule` waiting for a length from fit(), with the steps of
    the run they get: [(schedule, f)] where f maps the run's steps to theirs."""
    return [] if schedule is None else describe(schedule).lengths_wanted()


def display_span(schedule):
    """The steps over which `schedule` shows its whole shape, or 0 when it has no length
    (a schedule that ends: up to its end; one that decays forever: a few of its
    periods; wrappers add their own steps to the inner schedule's)."""
    return 0 if schedule is None else describe(schedule).display_span()


def shown_span(schedule):
    """The steps a plot of `schedule` shows by default: its span, or `DEFAULT_SPAN`."""
    n = display_span(schedule)
    return n if n >= 2 else DEFAULT_SPAN


def stepwise(schedule):
    """True/False when `schedule`'s arguments say whether it holds still between jumps,
    None when only its rates can tell."""
    return None if schedule is None else describe(schedule).is_stepwise()


def takes_length(schedule):
    """Whether `schedule` (or one it wraps) waits for its length from fit()."""
    return bool(lengths_wanted(schedule))


def take_length(schedule, steps):
    """Gives the schedules waiting inside `schedule` their lengths, for a run of `steps`
    (in the steps Keras passes it); returns their names. Done by lrschedule's callbacks
    when training starts."""
    done = []
    for inner, steps_of in lengths_wanted(schedule):
        inner._take_length(steps_of(steps))
        done.append(type(inner).__name__)
    return done


def with_length(schedule: check.ScheduleT, steps: check.Integer) -> check.ScheduleT:
    """A copy of `schedule` with the length it would take from a run of `steps`: to look
    at a schedule built without its length (`values()`, `plot()`) before training.

    Example:
        >>> lrschedule.values(with_length(OneCycle(0.01), 1000), range(1000))
    """
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    if not take_length(copy, check.count("steps", steps)):
        check.fail_value("schedule", schedule, "a schedule built without its length (e.g. "
                         "OneCycle(max_lr) with no total_steps)")
    return copy


@_register
class Extended(_Wrapping, Schedule):
    """A schedule that ends, lengthened (or shortened) from `at_step` on, without a jump.

        lr(step) = schedule(step)                            for step < at_step
        lr(step) = schedule(at_step + (step - at_step) * r)   from at_step on,
        r = (end - at_step) / (total_steps - at_step)

    with `end` the steps the schedule is sized for (`horizon()`): the rest of the old
    schedule, from `at_step` to its end, stretched onto `at_step` to `total_steps`. The
    rate is the old one up to `at_step` (so a run resumed there goes on without a jump),
    keeps its shape, and reaches the old final rate at the new end (step `end` of the
    old schedule is step `total_steps` of the new). Between two steps of the old
    schedule the rate is interpolated linearly; a schedule that "steps" (such as
    MultiStepDecay) keeps its steps: the old rate at the floor of the mapped step,
    computed in integers where the backend counts steps in int64 (TensorFlow, torch,
    JAX with x64), so exact at any step; JAX without x64 maps through a float32
    position, exact up to 2^24.

    Args:
        schedule: a schedule that ends (see `horizon()`): ours or Keras's.
        at_step: int >= 0, before the schedule's end: the first step that changes.
        total_steps: int > at_step: the steps the new schedule is sized for.

    Example:
        >>> s = OneCycle(max_lr=0.01, total_steps=1000)   # planned 10 epochs
        >>> Extended(s, at_step=600, total_steps=1500)     # 15 epochs, from epoch 6 on
    """

    _config_keys = ("schedule", "at_step", "total_steps")
    _nested_keys = ("schedule",)

    def __init__(self, schedule: check.KerasSchedule, at_step: check.Integer,
                 total_steps: check.Integer) -> None:
        self.schedule = _inner("schedule", schedule)
        found = horizon(self.schedule)
        if found is None:
            check.fail_value(
                "schedule", schedule,
                "a schedule that ends (OneCycle, Linear, WarmupStableDecay, MultiStepDecay, "
                "Tabulated, a Warmup/Sequence/PerEpoch over one, Keras's CosineDecay, "
                "PolynomialDecay or PiecewiseConstantDecay); this one has no end to stretch")
        self._end, self._kind = found
        self.at_step = check.integer("at_step", at_step, minimum=0)
        if self.at_step >= self._end:
            check.fail_value("at_step", at_step, f"a step before the schedule's end ({self._end})")
        self.total_steps = check.integer("total_steps", total_steps, minimum=self.at_step + 1)

    def _compute(self, step):
        a = self.at_step
        span, new_span = self._end - a, self.total_steps - a  # `end` moves to `total_steps`
        after = ops.maximum(step - a, 0)
        if _int_dtype() == "int64":
            # The old step a + after * span / new_span, its floor in integers: exact at
            # any step (a float32 position holds integers exactly only up to 2^24, and a
            # schedule that steps switched a step early or late past it).
            scaled = ops.cast(after, "int64") * span
            offset = ops.cast(ops.floor_divide(scaled, new_span), ops.dtype(step))
            fraction = ops.cast(scaled - ops.cast(offset, "int64") * new_span, _FLOAT) / new_span
        else:
            # int32 (JAX without x64): after * span could overflow; a float32 position
            position = ops.cast(after, _FLOAT) * (span / new_span)
            below = ops.floor(position)
            offset = ops.cast(below, _int_dtype())
            fraction = position - below
        x0 = offset + a
        if self._kind == "steps":
            stretched = ops.cast(evaluate(self.schedule, x0), _FLOAT)
        else:
            low = ops.cast(evaluate(self.schedule, x0), _FLOAT)
            high = ops.cast(evaluate(self.schedule, x0 + 1), _FLOAT)
            stretched = low + fraction * (high - low)
        before = ops.cast(evaluate(self.schedule, ops.minimum(step, a)), _FLOAT)
        return _switch(before, stretched, ops.cast(step >= a, _FLOAT))

    def horizon(self) -> check.Horizon:
        return self.total_steps, self._kind

    def lengths_wanted(self) -> check.LengthsWanted:
        return []  # its schedule ends: its length is known

    def display_span(self) -> int:
        return self.total_steps


def extend(schedule: check.KerasSchedule, at_step: check.Integer,
           total_steps: check.Integer) -> Extended:
    """`schedule` lengthened from `at_step` to `total_steps` without a jump (`Extended`).

    Use it when a run grows: a one-cycle planned for 10 epochs, trained for 6 and now
    wanted for 15, is `extend(s, at_step=6 * steps_per_epoch, total_steps=15 *
    steps_per_epoch)`; resumed (e.g. with `BackupAndRestore`) with it, the rate goes on
    from where it was, the rest of the cycle stretched over the longer run.

    Example:
        >>> extend(OneCycle(0.01, total_steps=1000), at_step=600, total_steps=1500)
    """
    return Extended(schedule, at_step, total_steps)


def _check_table(name, given, table, allow_empty=False):
    """Refuses an empty table or one with a rate that is not finite and >= 0."""
    what = "a non-empty list of finite numbers >= 0 within float32's range"
    if table.size == 0 and not allow_empty:
        check.fail_value(name, given, what)
    chunk = 1 << 22  # bounded temporaries for a table of up to 2**28 steps
    for start in range(0, table.size, chunk):
        part = table[start:start + chunk]
        bad = np.flatnonzero(~np.isfinite(part) | (part < 0) | (part > check.FLOAT32_MAX))
        if bad.size:
            i = start + int(bad[0])
            check.fail_value(name, _tables._summary(given),
                             what + f" (element {i} is {check.shown(table[i])})")


@_register
class Tabulated(Schedule):
    """A schedule given as a table of rates, one per step; the last value holds after.

        lr(step) = values[min(step, len(values) - 1)]

    The table holds numbers only, so a saved model never stores code. Build it from
    any function with `Tabulated.from_function(fn, total_steps)`, which calls the
    function once, before training.

    Args:
        values: non-empty list of finite floats >= 0.

    Example:
        >>> Tabulated.from_function(lambda s: 1e-3 * 0.5 ** (s // 100), total_steps=1000)
    """

    _config_keys = ("values",)

    def __init__(self, values: check.RealList) -> None:
        if _tables.is_encoded(values):  # a saved config: float32, kept as the one copy
            table = _tables.decode("values", values)
            _check_table("values", values, table)
            self._values = None
            self._table = table
            self._table.setflags(write=False)
            return
        if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "iuf":
            table = values.astype(np.float64)
            _check_table("values", values, table, allow_empty=False)
            self._values = table
        else:
            self._values = np.asarray(check.numbers_list("values", values, minimum=0.0))
        self._table = self._values.astype(np.float32)
        self._values.setflags(write=False)
        self._table.setflags(write=False)

    @property
    def values(self) -> list[float]:
        """The rates, one per step (a list of floats)."""
        return (self._table if self._values is None else self._values).tolist()

    def get_config(self) -> check.Config:
        # Binary, about 4 bytes per step at most (lrschedule._tables): a table of a
        # million steps saves and loads in a fraction of a second. The rates are
        # stored as float32, the precision they are used at.
        return {"values": _tables.encode(self._table)}

    @classmethod
    def from_function(cls, fn: check.Function, total_steps: check.Integer) -> "Tabulated":
        """Tabulates `fn` on steps 0 .. total_steps - 1.

        `fn` is first called once with the whole vector of steps (a numpy int64 array);
        if that fails or does not return one value per step, it is called step by step.

        Args:
            fn: callable of one step returning a rate (float >= 0).
            total_steps: int > 0. Steps to tabulate; the last value holds after.
        """
        if not callable(fn):
            check.fail_type("fn", fn, "a function of the step")
        total_steps = check.count("total_steps", total_steps)
        steps = np.arange(total_steps, dtype=np.int64)
        table = None
        try:
            out = np.asarray(fn(steps), dtype=np.float64)
            if out.shape == (total_steps,):
                table = out
        except Exception:  # noqa: BLE001 - not vectorized: fall back to per-step calls
            table = None
        if table is None:
            table = []
            for s in range(total_steps):
                value = fn(s)
                try:
                    table.append(float(np.asarray(value, dtype=np.float64).reshape(())))
                except (TypeError, ValueError):
                    check.fail_value(
                        "fn", fn, f"a function returning one number per step (at step {s} it "
                        f"returned {check.shown(value)})"
                    )
            table = np.asarray(table)
        bad = np.flatnonzero(~np.isfinite(table) | (table < 0))
        if bad.size:
            s = int(bad[0])
            check.fail_value(
                "fn", fn, f"a function returning finite rates >= 0 (at step {s} it returned "
                f"{check.shown(table[s])})"
            )
        return cls(table)

    def __repr__(self):
        n = len(self._table)
        head = ", ".join(f"{v:g}" for v in self.values[:3]) if n <= 3 else ", ".join(
            f"{v:g}" for v in (self._table if self._values is None else self._values)[:3])
        return f"Tabulated(values=[{head}{', ...' if n > 3 else ''}] ({n} steps))"

    def _compute(self, step):
        index = ops.minimum(step, len(self._table) - 1)
        table = ops.convert_to_tensor(self._table)
        if len(ops.shape(index)) == 0 and keras.backend.backend() != "torch":
            # One step (the train step): a slice, where ops.take would add a select
            # for negative indices, which cannot occur here. (Keras's torch slice
            # indexes with a list, which torch deprecates; torch runs eagerly anyway.)
            return ops.reshape(ops.slice(table, ops.reshape(index, (1,)), (1,)), ())
        return ops.take(table, index)

    def horizon(self) -> check.Horizon:
        return len(self._table), "ends"

    def display_span(self) -> int:
        return len(self._table)

