"""Optimizers built for lrschedule's schedules: scheduled momentum, per-layer rates and
gradient accumulation.

* `SGD`, `RMSprop`, `Adam`, `AdamW`, `Adamax`, `Nadam`, `Lamb`: Keras's optimizers,
  whose momentum (SGD, RMSprop) or beta_1 (the Adam family) may also be a schedule
  (`OneCycle(...).momentum()`, `Cyclic(...).momentum()`, or any
  `LearningRateSchedule`), evaluated inside the update step at the optimizer's
  counter, as the rate is. Keras's own classes refuse a schedule there (SGD raises,
  Adam uses it as a number), and a value a callback assigns is frozen into JAX's
  compiled step. With a number they are Keras's optimizers exactly.

* `per_layer(optimizer, model, decay=...)`: discriminative learning rates (timm's
  layer decay, fastai's `slice(lo, hi)`): one optimizer and one rate or schedule,
  copied once per group of layers, each copy at the rate times its group's factor, in
  a `keras.optimizers.MultiOptimizer` (Keras 3.15). lrschedule's callbacks drive every
  group (`ReduceLROnPlateau`, `ScheduleLR`, `LRLogger`'s `learning_rate/<group>`).
* `count_updates(optimizer)`: an optimizer with `gradient_accumulation_steps=k` whose
  schedule counts updates, not micro-batches (`InUpdates`).
* `check_arguments(optimizer)`: the ranges of optimizer arguments that Keras takes as
  given although they break training (`ARGUMENT_RANGES`); lrschedule's optimizers and
  R's `optimizer_*()` apply them.

What counts as a step: the optimizer's updates, counted from 0. Keras calls a schedule
with its batch counter, which under gradient accumulation counts micro-batches; a
schedule wrapped in `InUpdates` turns that back into updates.
"""

import contextlib
import math
import inspect
import re
from typing import Any, Self

import keras
import numpy as np
from keras import ops

from lrschedule import _validation as check
from lrschedule import _keras
from lrschedule._control import count_in_updates
from lrschedule._keras import MultiOptimizer as _MultiOptimizer
from lrschedule._keras import is_multi as _is_multi
from lrschedule._keras import rate_object, set_rate_object
from lrschedule.schedules import (
    Constant,
    CycledMomentum,
    InMicroBatches,
    InUpdates,
    MAX_DEPTH,
    Scaled,
    deserialize_schedule,
)

__all__ = ["per_layer", "count_updates", "SGD", "RMSprop", "Adam", "AdamW", "Adamax", "Nadam",
           "Lamb", "SCHEDULED", "ARGUMENT_RANGES", "check_arguments", "argument_problem"]

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


# --------------------------------------------------------------------------------------
# Argument ranges

# Ranges of arguments that Keras takes as given although they break training: a
# negative `clipnorm` flips the gradients, `beta_1 = 1` divides by zero, a negative
# `epsilon` or `initial_accumulator_value` takes square roots of negative numbers,
# `gradient_accumulation_steps = 0` and `ema_overwrite_frequency = 0` silently mean
# "never", and Keras checks `ema_momentum` only with `use_ema=True`. The bounds are
# those PyTorch's optimizers check where it has them, else Keras's own (SGD's momentum,
# ema_momentum), applied whatever the other arguments. By argument name: the same
# meaning in every optimizer that has it. Each: (minimum, min_inclusive, maximum,
# max_inclusive, whole, what is expected); None (where Keras accepts it) is always
# accepted. R's optimizer_*() check with this table, in R's words.
ARGUMENT_RANGES = {
    "beta_1": (0.0, True, 1.0, False, False, "a number in [0, 1)"),
    "beta_2": (0.0, True, 1.0, False, False, "a number in [0, 1)"),
    "rho": (0.0, True, 1.0, True, False, "a number in [0, 1]"),
    "momentum": (0.0, True, 1.0, True, False, "a number in [0, 1]"),
    "epsilon": (0.0, True, None, None, False, "a number >= 0"),
    "epsilon_1": (0.0, True, None, None, False, "a number >= 0"),
    "epsilon_2": (0.0, True, None, None, False, "a number >= 0"),
    "initial_accumulator_value": (0.0, True, None, None, False, "a number >= 0"),
    "weight_decay": (0.0, True, None, None, False, "a number >= 0"),
    "clipnorm": (0.0, False, None, None, False, "a number > 0"),
    "clipvalue": (0.0, False, None, None, False, "a number > 0"),
    "global_clipnorm": (0.0, False, None, None, False, "a number > 0"),
    "clip_threshold": (0.0, False, None, None, False, "a number > 0"),
    "loss_scale_factor": (0.0, False, None, None, False, "a number > 0"),
    "ema_momentum": (0.0, True, 1.0, True, False, "a number in [0, 1]"),
    "ema_overwrite_frequency": (1.0, True, None, None, True, "a whole number >= 1"),
    "gradient_accumulation_steps": (2.0, True, None, None, True, "a whole number >= 2"),
}
# The arguments for which None is a value Keras accepts ("or None"; R: "or NULL").
NULLABLE = ("clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor",
            "ema_overwrite_frequency", "gradient_accumulation_steps", "weight_decay")


def expected_of(entry: tuple[Any, ...]) -> str:
    return entry[-1]


# Flags Keras takes as given whatever they hold ("x" is true to Python).
BOOLEANS = ("amsgrad", "nesterov", "centered", "use_ema")


def argument_problem(name: str, value: Any) -> str | None:
    """What `value` of the optimizer argument `name` should be, when it is not a value
    of its range (`ARGUMENT_RANGES`: not a finite number, or out of the range), not
    True/False for a flag (`BOOLEANS`), or, for `learning_rate`, not a finite rate >= 0,
    a schedule or a function; None when it is fine (None, where Keras takes it, and
    a schedule are fine)."""
    if name in BOOLEANS:
        return None if isinstance(value, (bool, np.bool_)) else "True or False"
    if name == "learning_rate":
        if isinstance(value, _LearningRateSchedule):
            return None
        if callable(value) and not check._is_real(check._unwrap_scalar(value)):
            # Keras calls a function for the rate, with no argument
            try:
                inspect.signature(value).bind()
            except TypeError:
                return "a finite number >= 0, a schedule or a function of no arguments"
            except ValueError:  # no signature to read (a builtin): Keras will tell
                pass
            return None
        entry = (0.0, True, None, None, False, "a finite number >= 0, a schedule or a function")
    else:
        entry = ARGUMENT_RANGES.get(name)
    if value is None:  # Keras's "not set", where it has one
        return None if entry is None or name in NULLABLE else expected_of(entry)
    if entry is None or isinstance(value, _LearningRateSchedule):
        return None
    low, low_inclusive, high, high_inclusive, whole, expected = entry
    value = check._unwrap_scalar(value)
    if isinstance(value, (bool, np.bool_)) or not check._is_real(value):
        return expected
    if isinstance(value, (int, np.integer)) and abs(int(value)) > check.MAX_WHOLE:
        return expected  # an integer Keras cannot make a tensor of
    value = float(value)
    if not math.isfinite(value) or abs(value) > check.FLOAT32_MAX:
        return expected  # Keras computes in float32: beyond its range is inf there
    fine = (value >= low if low_inclusive else value > low)
    if not low_inclusive and low == 0.0 and np.float32(value) == 0:
        fine = False  # > 0, but 0 in the float32 Keras computes with (1e-300)
    if high is not None:
        fine = fine and (value <= high if high_inclusive else value < high)
    if whole:
        fine = fine and value == int(value) and value <= 2**31 - 1
    return None if fine else expected


def _check_schedule_range(name: str, schedule: check.KerasSchedule) -> None:
    """Refuses a hyperparameter schedule whose values, as its arguments state them,
    leave the argument's range (`ARGUMENT_RANGES`): a momentum cycle of a OneCycle or
    Cyclic reaching 1 as Adam's beta_1 divides by 1 - beta_1 ** t = 0 at once. Other
    schedules state no bounds and are taken as given."""
    if isinstance(schedule, CycledMomentum):
        inner = schedule.schedule
        values = (inner.base_momentum, inner.max_momentum)
    elif isinstance(schedule, Constant):
        values = (schedule.learning_rate,)
    else:
        return
    for value in values:
        expected = argument_problem(name, value)
        if expected is not None:
            values_are = expected[2:] if expected.startswith("a ") else expected
            check.fail_value(name, f"{type(schedule).__name__}(...)",
                             f"a schedule whose values are {values_are} (this one reaches "
                             f"{value:g})")


def check_arguments(
        arguments: check.Config | check.KerasOptimizer) -> check.Config | check.KerasOptimizer:
    """Refuses optimizer arguments out of their range (`ARGUMENT_RANGES`), naming the
    argument, the value and the range. `arguments`: a dict of them, or a Keras
    optimizer (its `get_config()`). Returns `arguments`.

    Example:
        >>> lrschedule.optimizers.check_arguments(keras.optimizers.Adam(epsilon=-1e-7))
        ValueError: Argument `epsilon` must be a number >= 0. Received: epsilon=-1e-07
    """
    config = arguments.get_config() if isinstance(arguments, keras.optimizers.Optimizer) \
        else arguments
    if not isinstance(config, dict):
        check.fail_type("arguments", arguments, "a dict of optimizer arguments or a Keras "
                        "optimizer")
    for name, value in config.items():
        expected = argument_problem(name, value)
        if expected is not None:
            check.fail_value(name, value, expected + (" or None" if name in NULLABLE else ""))
    return arguments


# --------------------------------------------------------------------------------------
# Momentum and beta_1 as schedules


_SCHEDULED_DOC = """

    lrschedule's subclass of `keras.optimizers.{base}`: the same arguments, and
    `{name}` may also be a schedule (e.g. `OneCycle(...).momentum()`), evaluated at
    every update at the counter the learning rate is evaluated at. With a number it
    is Keras's `{base}`. Saved models load with `safe_mode=True` once lrschedule is
    imported ("lrschedule>{base}").
"""


class _Scheduled:
    """A hyperparameter of a Keras optimizer that may be a schedule.

    A data descriptor on the class: the optimizer's own code reads and assigns the
    attribute (`self.beta_1`) as Keras wrote it. While an update step is being built
    (`_backend_update_step`), a schedule's value at the optimizer's counter is in
    force and reading the attribute gives it, a tensor; otherwise it gives what was
    set (a number or the schedule).
    """

    def __init__(self, name):
        self.name = name

    def __get__(self, optimizer, owner=None):
        if optimizer is None:
            return self
        state = optimizer.__dict__
        in_force = state.get("_lrschedule_in_force")
        if in_force is not None:
            return in_force
        return state.get("_lrschedule_" + self.name)

    def __set__(self, optimizer, value):
        optimizer.__dict__["_lrschedule_" + self.name] = value


class _ScheduledHyperparameter(_keras.UpdateStepHook):
    """The mixin behind lrschedule's optimizers: `HYPERPARAMETER` may be a schedule.

    The constructor is Keras's (same signature): a schedule is set after Keras's
    constructor ran with a number in its place (Keras's SGD refuses anything else).
    A subclass names its hyperparameter; it is then documented and registered for
    Keras's saving as "lrschedule>ClassName", under the module `lrschedule.optimizers`.
    """

    HYPERPARAMETER = None
    _PLACEHOLDER = {"momentum": 0.0, "beta_1": 0.9}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        setattr(cls, cls.HYPERPARAMETER, _Scheduled(cls.HYPERPARAMETER))
        keras_class = next(c for c in cls.__mro__[1:] if c.__module__.startswith("keras"))
        cls._keras_class = keras_class
        cls._keras_init = inspect.signature(keras_class.__init__)
        cls.__signature__ = inspect.signature(keras_class)
        cls.__module__ = "lrschedule.optimizers"
        cls.__doc__ = (keras_class.__doc__ or "").split("\n")[0] + _SCHEDULED_DOC.format(
            base=keras_class.__name__, name=cls.HYPERPARAMETER)
        keras.saving.register_keras_serializable(package="lrschedule")(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name = self.HYPERPARAMETER
        bound = self._keras_init.bind(self, *args, **kwargs)
        value = bound.arguments.get(name)
        check_arguments({k: v for k, v in bound.arguments.items() if k != "self"})
        scheduled = isinstance(value, _LearningRateSchedule)
        if scheduled:
            _check_schedule_range(name, value)
            bound.arguments[name] = self._PLACEHOLDER[name]
        super().__init__(*bound.args[1:], **bound.kwargs)
        if scheduled:
            setattr(self, name, value)

    def build(self, variables):
        # Keras's build() asks `self.momentum > 0` (RMSprop) or `!= 0` (SGD) to create
        # the momentum slots: a schedule wants them.
        if self.hyperparameter_schedule is None or self.built:
            return super().build(variables)
        self.__dict__["_lrschedule_in_force"] = 1.0
        try:
            return super().build(variables)
        finally:
            del self.__dict__["_lrschedule_in_force"]

    @property
    def hyperparameter_schedule(self) -> check.KerasSchedule | None:
        """The schedule of `HYPERPARAMETER`, or None when it is a number."""
        value = self.__dict__.get("_lrschedule_" + self.HYPERPARAMETER)
        return value if isinstance(value, _LearningRateSchedule) else None

    @contextlib.contextmanager
    def _in_update_step(self):
        schedule = self.hyperparameter_schedule
        if schedule is None:
            yield
            return
        # Evaluated once per update, at the counter the rate is evaluated at.
        value = ops.cast(schedule(_keras.update_counter(self)), "float32")
        self.__dict__["_lrschedule_in_force"] = value
        try:
            yield
        finally:
            del self.__dict__["_lrschedule_in_force"]

    def get_config(self) -> check.Config:
        config = super().get_config()
        schedule = self.hyperparameter_schedule
        if schedule is not None:
            config[self.HYPERPARAMETER] = keras.saving.serialize_keras_object(schedule)
        return config

    @classmethod
    def from_config(cls, config: check.Config, custom_objects: Any = None) -> Self:
        config = dict(config)
        for name, value in config.items():  # Keras's deserializer recurses into these
            if isinstance(value, (dict, list)) and check._too_deep(value, limit=4 * MAX_DEPTH + 8):
                check.fail_value(name, value, "a value of the optimizer's argument (this one "
                                 "nests plain dicts or lists deeper than any does)")
        for name in (cls.HYPERPARAMETER, "learning_rate"):
            if isinstance(config.get(name), (dict, list)):
                config[name] = deserialize_schedule(name, config[name], custom_objects)
                if not isinstance(config[name], _LearningRateSchedule):
                    # a saved rate is a number or a schedule: a function or a layer
                    # is code, which a config can name but does not hold
                    check.fail_value(name, type(config[name]).__name__, "a number or the "
                                     "serialized config of a LearningRateSchedule")
        return super().from_config(config, custom_objects=custom_objects)


class Adam(_ScheduledHyperparameter, keras.optimizers.Adam):
    HYPERPARAMETER = "beta_1"


class AdamW(_ScheduledHyperparameter, keras.optimizers.AdamW):
    HYPERPARAMETER = "beta_1"


class Adamax(_ScheduledHyperparameter, keras.optimizers.Adamax):
    HYPERPARAMETER = "beta_1"


class Nadam(_ScheduledHyperparameter, keras.optimizers.Nadam):
    HYPERPARAMETER = "beta_1"


class Lamb(_ScheduledHyperparameter, keras.optimizers.Lamb):
    HYPERPARAMETER = "beta_1"


class SGD(_ScheduledHyperparameter, keras.optimizers.SGD):
    HYPERPARAMETER = "momentum"

    def update_step(self, gradient, variable, learning_rate):
        if self.hyperparameter_schedule is None:
            return super().update_step(gradient, variable, learning_rate)
        # Keras's SGD with momentum (its `if self.momentum != 0` cannot be asked of a
        # tensor): velocity = momentum * velocity - lr * g; w += velocity, or with
        # Nesterov w += momentum * velocity - lr * g.
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        momentum = ops.cast(self.momentum, variable.dtype)
        m = self.momentums[_keras.variable_index(self, variable)]
        self.assign(m, ops.subtract(ops.multiply(m, momentum), ops.multiply(gradient, lr)))
        if self.nesterov:
            self.assign_add(variable, ops.subtract(ops.multiply(m, momentum),
                                                   ops.multiply(gradient, lr)))
        else:
            self.assign_add(variable, m)


class RMSprop(_ScheduledHyperparameter, keras.optimizers.RMSprop):
    HYPERPARAMETER = "momentum"

    def update_step(self, gradient, variable, learning_rate):
        if self.hyperparameter_schedule is None:
            return super().update_step(gradient, variable, learning_rate)
        # Keras's RMSprop with momentum (its `if self.momentum > 0` cannot be asked of a
        # tensor): v = rho v + (1 - rho) g^2 (centered: minus the squared mean
        # gradient), increment = lr g / sqrt(v + eps), m = momentum m + increment,
        # w -= m.
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity, average, m = _keras.rmsprop_slots(self, variable)
        rho = self.rho
        self.assign(velocity, ops.add(ops.multiply(rho, velocity),
                                      ops.multiply(1 - rho, ops.square(gradient))))
        if self.centered:
            self.assign(average, ops.add(ops.multiply(rho, average),
                                         ops.multiply(1 - rho, gradient)))
            denominator = velocity - ops.square(average) + self.epsilon
        else:
            denominator = ops.add(velocity, self.epsilon)
        increment = ops.divide(ops.multiply(lr, gradient), ops.sqrt(denominator))
        momentum = ops.cast(self.momentum, variable.dtype)
        self.assign(m, ops.add(ops.multiply(momentum, m), increment))
        self.assign_sub(variable, m)


# Keras's optimizer class name -> the hyperparameter lrschedule's subclass schedules.
SCHEDULED = {cls.__name__: cls.HYPERPARAMETER
             for cls in (SGD, RMSprop, Adam, AdamW, Adamax, Nadam, Lamb)}


def count_updates(optimizer: check.KerasOptimizer) -> check.KerasOptimizer:
    """Makes an accumulating optimizer's schedule count updates; returns the optimizer.

    With `gradient_accumulation_steps=k`, Keras evaluates the schedule at its
    micro-batch counter, so a schedule written in updates would run k times too fast.
    This wraps the optimizer's schedule in `InUpdates(schedule, k)` (in place): the
    update `u` uses `schedule(u)`; so is a momentum schedule of an
    `lrschedule.optimizers` optimizer. Nothing changes for an optimizer that does not
    accumulate, holds a constant rate, or whose schedule already says how it counts
    (`InUpdates`, `InMicroBatches`). Every optimizer of a `MultiOptimizer` is treated.

    Args:
        optimizer: A Keras optimizer.

    Returns:
        The optimizer.

    Example:
        >>> opt = lrschedule.count_updates(keras.optimizers.AdamW(
        ...     learning_rate=lrschedule.OneCycle(1e-3, total_steps=250),
        ...     gradient_accumulation_steps=4))
    """
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        check.fail_type("optimizer", optimizer, "a Keras optimizer")
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    targets = list(inner.optimizers) if _is_multi(inner) else [inner]
    for target in targets:
        rate = rate_object(target)
        counted = count_in_updates(rate, target, warn=False)
        if counted is not rate:
            set_rate_object(target, counted)
        # A momentum schedule counts as the rate does.
        momentum = getattr(target, "hyperparameter_schedule", None)
        if momentum is not None:
            counted = count_in_updates(momentum, target, warn=False)
            if counted is not momentum:
                setattr(target, target.HYPERPARAMETER, counted)
    return optimizer


def _trainable_layers(model):
    return [layer for layer in model.layers if layer.trainable_weights]


def _layer_groups(model, groups):
    """[(label, [layers])] from input to output."""
    layers = {layer.name: layer for layer in model.layers}
    expected = ("None, a list of layer names or lists of them, or a dict of such lists "
                "by group name, from input to output")
    if groups is None:
        found = _trainable_layers(model)
        if not found:
            check.fail_value("model", model, "a model with trainable weights")
        return [(layer.name, [layer]) for layer in found]
    if isinstance(groups, dict):
        items = list(groups.items())
        if not all(isinstance(k, str) and k and "/" not in k for k, _ in items):
            check.fail_value("groups", groups, "a dict whose names are non-empty strings "
                             "without `/`")
    elif isinstance(groups, (list, tuple)):
        items = [(None, g) for g in groups]
    else:
        check.fail_type("groups", groups, expected)
    if not items:
        check.fail_value("groups", groups, "at least one group")
    out, seen = [], {}
    for i, (label, members) in enumerate(items):
        names = [members] if isinstance(members, str) else members
        if not isinstance(names, (list, tuple)) or not names or not all(
                isinstance(n, str) for n in names):
            check.fail_value("groups", groups, expected + f" (group {i + 1} is {members!r})")
        chosen = []
        for name in names:
            if name not in layers:
                check.fail_value("groups", groups, "names of the model's layers: "
                                 f"{name!r} is not one (its layers: "
                                 f"{', '.join(repr(n) for n in list(layers)[:12])}"
                                 f"{', ...' if len(layers) > 12 else ''})")
            if name in seen:
                check.fail_value("groups", groups, f"each layer in one group: {name!r} is "
                                 f"in groups {seen[name] + 1} and {i + 1}")
            seen[name] = i
            chosen.append(layers[name])
        if label is None:
            label = names[0] if len(names) == 1 else f"group_{i}"
        out.append((label, chosen))
    return out


def per_layer(optimizer: check.KerasOptimizer, model: check.KerasModel,
              decay: check.Real | None = None, factors: check.RealList | None = None,
              groups: check.LayerGroups = None) -> check.KerasOptimizer:
    """Per-layer (discriminative) learning rates: one optimizer and rate, a factor per depth.

    The layers are taken in groups from input to output (by default each layer of
    `model.layers` that has trainable weights is a group). Group `i` of `n` trains
    with a copy of `optimizer` whose rate is the optimizer's rate times

    * `decay ** (n - 1 - i)` (timm's layer decay: the last group at the full rate,
      each group before it `decay` times its successor's), or
    * `factors[i]` (e.g. fastai's `slice(lo, hi)`: factors spaced geometrically
      from `lo / hi` to 1, `numpy.geomspace(lo / hi, 1, n)`).

    A schedule keeps its shape in every group (`Scaled(schedule, factor)`), so a
    one-cycle peaks at the same step in every layer. The copies are named after their
    group (the layer's name, `group_<i>` for a list of layers, or the dict's names),
    which is how lrschedule's callbacks name them: `LRLogger` logs each group's rate
    as `learning_rate/<name>`, `ReduceLROnPlateau(groups=...)` and
    `ScheduleLR(groups=...)` take the names. The last group's copy is the
    MultiOptimizer's default optimizer: it also trains every trainable variable in no
    group, and its rate is the one logged as `learning_rate`.

    Args:
        optimizer: A Keras optimizer (not built yet), the template: its class, its
            arguments and its rate or schedule.
        model: The built Keras model the optimizer will train (its layers are read to
            route their variables; build it first, e.g. with `keras.Input`).
        decay: A float, 0 < decay <= 1: the factor between successive groups.
        factors: A list of floats > 0, one per group (instead of `decay`).
        groups: None (each layer with trainable weights), or the groups from input to
            output: a list whose items are a layer name or a list of layer names, or a
            dict of such lists keyed by the group's name.

    Returns:
        A `keras.optimizers.MultiOptimizer`.

    Example:
        >>> opt = lrschedule.per_layer(
        ...     keras.optimizers.AdamW(lrschedule.OneCycle(1e-3, total_steps=1000)),
        ...     model, decay=0.5)
        >>> model.compile(optimizer=opt, loss="mse")
    """
    if _MultiOptimizer is None:  # pragma: no cover - a Keras before 3.15
        raise RuntimeError(f"per_layer() needs keras.optimizers.MultiOptimizer (Keras >= 3.15); "
                           f"this is Keras {keras.__version__}")
    if not isinstance(optimizer, keras.optimizers.Optimizer) or _is_multi(optimizer) or hasattr(
            optimizer, "inner_optimizer"):
        check.fail_type("optimizer", optimizer, "a Keras optimizer (not a MultiOptimizer or a "
                        "LossScaleOptimizer)")
    if optimizer.built:
        check.fail_value("optimizer", optimizer, "an optimizer not built yet (a new one: "
                         "per_layer() copies it for each group)")
    if not isinstance(model, keras.Model):
        check.fail_type("model", model, "a built keras.Model")
    if not model.built:
        check.fail_value("model", model, "a built keras.Model (build it first: give it a "
                         "keras.Input, or call it on a batch)")
    layer_groups = _layer_groups(model, groups)
    n = len(layer_groups)
    if (decay is None) == (factors is None):
        check.fail_value("decay", decay, "a number in (0, 1] when `factors` is None, and None "
                         "when `factors` is given (one of the two)")
    if decay is not None:
        decay = check.number("decay", decay, minimum=0.0, maximum=1.0, min_inclusive=False)
        scales = [decay ** (n - 1 - i) for i in range(n)]
    else:
        if not isinstance(factors, (list, tuple)) and not hasattr(factors, "__len__"):
            check.fail_type("factors", factors, f"a list of {n} numbers > 0, one per group")
        scales = [check.positive("factors", f) for f in list(factors)]
        if len(scales) != n:
            check.fail_value("factors", factors, f"{n} numbers > 0, one per group (the groups: "
                             f"{', '.join(label for label, _ in layer_groups)})")
    rate = rate_object(optimizer)
    if isinstance(rate, keras.Variable):
        rate = float(keras.ops.convert_to_numpy(rate))
    elif not isinstance(rate, _LearningRateSchedule):
        check.fail_value("optimizer", optimizer, "an optimizer whose learning rate is a number "
                         "or a schedule")
    config = optimizer.get_config()

    def scaled(schedule, scale):
        # The counting wrapper stays outermost: InUpdates(Scaled(s)), not the reverse.
        if isinstance(schedule, InUpdates):
            return InUpdates(scaled(schedule.schedule, scale), schedule.gradient_accumulation_steps)
        if isinstance(schedule, InMicroBatches):
            return InMicroBatches(scaled(schedule.schedule, scale))
        return schedule if scale == 1.0 else Scaled(schedule, scale)

    def copy(label, scale):
        scaled_rate = rate * scale if isinstance(rate, float) else scaled(rate, scale)
        return type(optimizer).from_config(dict(config, learning_rate=scaled_rate, name=label))

    copies = [copy(label, scale) for (label, _), scale in zip(layer_groups, scales)]
    mapping = {}
    for (label, layers), each in zip(layer_groups[:-1], copies[:-1]):
        paths = [v.path for layer in layers for v in layer.trainable_weights]
        if not paths:
            check.fail_value("groups", groups, f"groups of layers with trainable weights: "
                             f"group {label!r} has none")
        mapping["(?:" + "|".join(re.escape(p) for p in paths) + ")"] = each
    return _MultiOptimizer(keras.optimizers.OptimizerMap(copies[-1], mapping))
