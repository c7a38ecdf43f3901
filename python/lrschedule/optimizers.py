"""Optimizers built for lrschedule's schedules: any hyperparameter as a schedule,
per-layer rates and gradient accumulation.

* `SGD`, `RMSprop`, `Adam`, `AdamW`, `Adamax`, `Nadam`, `Lamb`, `Adagrad`, `Adadelta`,
  `Ftrl`, `Lion`, `Adafactor`, `Muon`, `ScheduleFreeAdamW` (`OPTIMIZERS`): Keras's
  optimizers, whose numeric hyperparameters (`SCHEDULABLE`: the weight decay, the
  betas, epsilon, momentum, rho, the moving average's momentum, Ftrl's and Muon's and
  Adafactor's own) may also be schedules: any `LearningRateSchedule`, e.g. a
  `CosineDecay` of the weight decay, `OneCycle(...).momentum()` for beta_1, or
  `shaped_like(rate, 0.05)`. Each is evaluated once per `apply()` inside the compiled
  step, at the counter the rate is evaluated at, wherever Keras reads it: the weight
  decay in `_apply_weight_decay` (before the update, in TensorFlow's cross-replica
  merge call under a distribution strategy), the update step, the moving average of
  the weights (`use_ema`, updated at every `apply()`, micro-batches included). Keras's
  own classes take numbers only. With numbers they are Keras's optimizers exactly. The
  numbers that stay numbers (`NOT_SCHEDULABLE`: counts, flags, initial values, the
  clipping norms) refuse a schedule, saying why.

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
import inspect
import math
import re
import threading
from typing import Any, Self

import keras
import numpy as np
from keras import ops

from lrschedule import _evaluation, _keras
from lrschedule import _validation as check
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
    horizon,
    shown_span,
)

__all__ = ["per_layer", "count_updates", "shaped_like", "SGD", "RMSprop", "Adam", "AdamW",
           "Adamax", "Nadam", "Lamb", "Adagrad", "Adadelta", "Ftrl", "Lion", "Adafactor", "Muon",
           "ScheduleFreeAdamW", "OPTIMIZERS", "SCHEDULABLE", "NOT_SCHEDULABLE", "ARGUMENT_RANGES",
           "CLASS_RANGES", "check_arguments", "argument_problem", "schedule_problem"]

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
    # Ftrl's (as Keras's Ftrl checks them)
    "learning_rate_power": (None, None, 0.0, True, False, "a number <= 0"),
    "l1_regularization_strength": (0.0, True, None, None, False, "a number >= 0"),
    "l2_regularization_strength": (0.0, True, None, None, False, "a number >= 0"),
    "l2_shrinkage_regularization_strength": (0.0, True, None, None, False, "a number >= 0"),
    "beta": (0.0, True, None, None, False, "a number >= 0"),
    # Muon's: its Adam part's (as Adam's), its AdamW part's rate ratio and its update's
    # scale (RMS matching; None: none)
    "adam_beta_1": (0.0, True, 1.0, False, False, "a number in [0, 1)"),
    "adam_beta_2": (0.0, True, 1.0, False, False, "a number in [0, 1)"),
    "adam_weight_decay": (0.0, True, None, None, False, "a number >= 0"),
    "adam_lr_ratio": (0.0, False, None, None, False, "a number > 0"),
    "rms_rate": (0.0, True, None, None, False, "a number >= 0"),
    # Adafactor's: the second moment's decay 1 - t^beta_2_decay is in [0, 1) for t >= 1
    # (PyTorch's Adafactor checks beta2_decay <= 0)
    "beta_2_decay": (None, None, 0.0, True, False, "a number <= 0"),
    # the numbers that stay numbers, checked all the same: Muon's Newton-Schulz
    # coefficients and iterations (2**31 of them is a hang), ScheduleFreeAdamW's warmup
    "muon_a": (None, None, None, None, False, "a finite number"),
    "muon_b": (None, None, None, None, False, "a finite number"),
    "muon_c": (None, None, None, None, False, "a finite number"),
    "ns_steps": (1.0, True, 1000.0, True, True, "a whole number in [1, 1000]"),
    "warmup_steps": (0.0, True, None, None, True, "a whole number >= 0"),
}
# Where one optimizer needs a narrower range than the argument's name gives:
# ScheduleFreeAdamW and Lion divide by beta_1 or need it above 0 (Keras's Lion checks
# (0, 1]), Ftrl divides by the learning rate. {(class name, argument): entry}.
CLASS_RANGES = {
    ("ScheduleFreeAdamW", "beta_1"): (0.0, False, 1.0, False, False, "a number in (0, 1)"),
    ("Lion", "beta_1"): (0.0, False, 1.0, True, False, "a number in (0, 1]"),
    ("Ftrl", "learning_rate"): (0.0, False, None, None, False,
                                "a number > 0 (Ftrl divides by the rate)"),
}
# The arguments for which None is a value Keras accepts ("or None"; R: "or NULL").
NULLABLE = ("clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor",
            "ema_overwrite_frequency", "gradient_accumulation_steps", "weight_decay",
            "adam_weight_decay", "rms_rate")


def expected_of(entry: tuple[Any, ...]) -> str:
    return entry[-1]


# Flags Keras takes as given whatever they hold ("x" is true to Python).
BOOLEANS = ("amsgrad", "nesterov", "centered", "use_ema", "relative_step",
            "exclude_embeddings")


_FLOAT32_TINY = float(np.finfo(np.float32).tiny)  # the smallest normal float32


def _is_pattern(text):
    try:
        re.compile(text)
    except re.error:
        return False
    return True


def argument_problem(name: str, value: Any, optimizer: str | None = None) -> str | None:
    """What `value` of the optimizer argument `name` should be, when it is not a value
    of its range (`ARGUMENT_RANGES`: not a finite number, or out of the range), not
    True/False for a flag (`BOOLEANS`), or, for `learning_rate`, not a finite rate >= 0,
    a schedule or a function; None when it is fine (None, where Keras takes it, and
    a schedule are fine). `optimizer`: the Keras class name, for the ranges one
    optimizer narrows (`CLASS_RANGES`)."""
    if name in BOOLEANS:
        return None if isinstance(value, (bool, np.bool_)) else "True or False"
    if name == "exclude_layers":  # Muon's: patterns of variable paths for its AdamW part
        fine = value is None or (isinstance(value, (list, tuple))
                                 and all(isinstance(v, str) and _is_pattern(v) for v in value))
        return None if fine else "None or a list of layer names (regular expressions)"
    narrowed = CLASS_RANGES.get((optimizer, name))
    if name == "learning_rate" and callable(value) and not isinstance(
            value, _LearningRateSchedule) and not check._is_real(check._unwrap_scalar(value)):
        narrowed = None  # a function: Keras calls it for the rate (judged below)
    if name == "learning_rate" and narrowed is None:
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
        entry = narrowed or ARGUMENT_RANGES.get(name)
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
    fine = low is None or (value >= low if low_inclusive else value > low)
    if low is not None and not low_inclusive and low == 0.0 and abs(value) < _FLOAT32_TINY:
        # > 0, but 0 in the float32 Keras computes with: 1e-300 rounds to 0, and
        # TensorFlow flushes float32's subnormal numbers (1e-40) to 0
        fine = False
    if high is not None:
        fine = fine and (value <= high if high_inclusive else value < high)
    if whole:
        fine = fine and value == int(value) and value <= 2**31 - 1
    return None if fine else expected


def schedule_problem(name: str, schedule: check.KerasSchedule,
                     optimizer: str | None = None) -> str | None:
    """What a schedule given for the optimizer argument `name` should be, when its
    values, as far as it states them, leave the argument's range (`ARGUMENT_RANGES`,
    `CLASS_RANGES`): a momentum cycle of a OneCycle or Cyclic reaching 1 as Adam's
    beta_1 divides by 1 - beta_1 ** t = 0 at once. What a schedule states: the bounds
    of a momentum cycle, a constant's value, and for every other schedule its value at
    step 0 and, when it has an end (`horizon()`), its value there. Values between are
    taken as given. None when it is fine (or states nothing that can be evaluated)."""
    if name == "learning_rate" and (optimizer, name) not in CLASS_RANGES:
        return None  # any rate schedule: its values are rates
    if isinstance(schedule, CycledMomentum):
        inner = schedule.schedule
        values = [inner.base_momentum, inner.max_momentum]
    elif isinstance(schedule, Constant):
        values = [schedule.learning_rate]
    else:
        steps = [0]
        end = horizon(schedule)
        if end is not None and 0 < end[0] <= check.MAX_WHOLE:
            steps.append(end[0])
        try:
            values = [float(v) for v in _evaluation.rates(schedule, np.asarray(steps))]
        except Exception:  # noqa: BLE001 - a schedule that cannot run eagerly: Keras will tell
            return None
    for value in values:
        expected = argument_problem(name, value, optimizer)
        if expected is not None:
            values_are = ("numbers" + expected[len("a number"):]
                          if expected.startswith("a number") else expected)
            return f"a schedule whose values are {values_are} (this one reaches {value:g})"
    return None


def _check_schedule_range(name: str, schedule: check.KerasSchedule,
                          optimizer: str | None = None) -> None:
    """Refuses a schedule whose stated values leave the argument's range
    (`schedule_problem()`), naming the argument and the schedule."""
    expected = schedule_problem(name, schedule, optimizer)
    if expected is not None:
        check.fail_value(name, schedule, expected)


def check_arguments(arguments: check.Config | check.KerasOptimizer,
                    optimizer: str | None = None) -> check.Config | check.KerasOptimizer:
    """Refuses optimizer arguments out of their range (`ARGUMENT_RANGES`, and
    `CLASS_RANGES` for the optimizer named `optimizer`, or the class of a Keras
    optimizer given), naming the argument, the value and the range. `arguments`: a
    dict of them, or a Keras optimizer (its `get_config()`). Returns `arguments`.

    Example:
        >>> lrschedule.optimizers.check_arguments(keras.optimizers.Adam(epsilon=-1e-7))
        ValueError: Argument `epsilon` must be a number >= 0. Received: epsilon=-1e-07
    """
    if isinstance(arguments, keras.optimizers.Optimizer):
        config = arguments.get_config()
        optimizer = optimizer or next(c.__name__ for c in type(arguments).__mro__
                                      if c.__module__.startswith(("keras", "lrschedule")))
    else:
        config = arguments
    if not isinstance(config, dict):
        check.fail_type("arguments", arguments, "a dict of optimizer arguments or a Keras "
                        "optimizer")
    for name, value in config.items():
        if isinstance(value, _LearningRateSchedule):
            _check_schedule_range(name, value, optimizer)
            continue
        expected = argument_problem(name, value, optimizer)
        if expected is not None:
            check.fail_value(name, value, expected + (" or None" if name in NULLABLE else ""))
    return arguments


# --------------------------------------------------------------------------------------
# Any numeric hyperparameter as a schedule

# Keras 3.15's optimizers -> their hyperparameters that may be schedules (besides the
# learning rate), in lrschedule's subclass of each. Every optimizer takes `weight_decay`
# (decoupled, applied by Keras as `w -= lr(t) * wd(t) * w` before the update) and
# `ema_momentum` (with `use_ema=True`). Adding an optimizer or a hyperparameter is a
# line here (and, for an optimizer, its one-line class below).
_EVERY = ("weight_decay", "ema_momentum")
SCHEDULABLE = {
    "SGD": ("momentum",) + _EVERY,
    "RMSprop": ("rho", "momentum", "epsilon") + _EVERY,
    "Adam": ("beta_1", "beta_2", "epsilon") + _EVERY,
    "AdamW": ("beta_1", "beta_2", "epsilon") + _EVERY,
    "Adamax": ("beta_1", "beta_2", "epsilon") + _EVERY,
    "Nadam": ("beta_1", "beta_2", "epsilon") + _EVERY,
    "Lamb": ("beta_1", "beta_2", "epsilon") + _EVERY,
    "Adagrad": ("epsilon",) + _EVERY,
    "Adadelta": ("rho", "epsilon") + _EVERY,
    "Ftrl": ("learning_rate_power", "l1_regularization_strength", "l2_regularization_strength",
             "l2_shrinkage_regularization_strength", "beta") + _EVERY,
    "Lion": ("beta_1", "beta_2") + _EVERY,
    "Adafactor": ("beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold") + _EVERY,
    "Muon": ("momentum", "adam_beta_1", "adam_beta_2", "adam_weight_decay", "adam_lr_ratio",
             "epsilon", "rms_rate") + _EVERY,
    "ScheduleFreeAdamW": ("beta_1", "beta_2", "epsilon") + _EVERY,
}

# The numeric arguments that stay numbers, and why: Keras uses them once, or decides
# in Python from them, or they are counts. The error for a schedule there says why.
NOT_SCHEDULABLE = {
    "initial_accumulator_value": "the accumulators' starting value, used once when they "
                                 "are created",
    "clipnorm": "Keras decides in Python, when it builds the step, whether and how to clip",
    "clipvalue": "Keras decides in Python, when it builds the step, whether and how to clip",
    "global_clipnorm": "Keras decides in Python, when it builds the step, whether and how "
                       "to clip",
    "loss_scale_factor": "a fixed factor the loss is multiplied by (a LossScaleOptimizer "
                         "adjusts its scale by itself)",
    "muon_a": "one of the three coefficients of Muon's Newton-Schulz iteration, tuned "
              "together",
    "muon_b": "one of the three coefficients of Muon's Newton-Schulz iteration, tuned "
              "together",
    "muon_c": "one of the three coefficients of Muon's Newton-Schulz iteration, tuned "
              "together",
    "ns_steps": "a number of iterations, which sizes the compiled step",
    "warmup_steps": "a count of steps (for a warmup of the rate, give the rate a schedule: "
                    "Warmup(...))",
    "ema_overwrite_frequency": "a count of steps",
    "gradient_accumulation_steps": "a count of batches, which sizes the accumulators",
}

_SCHEDULED_DOC = """

    lrschedule's subclass of `keras.optimizers.{base}`: the same arguments, and any of
    {names} may also be a schedule (any `LearningRateSchedule`: lrschedule's, Keras's,
    your own), evaluated once per update (each call of apply) inside the compiled step,
    at the counter the learning rate is evaluated at. With numbers it is Keras's
    `{base}`. Saved models load with `safe_mode=True` once lrschedule is imported
    ("lrschedule>{base}").
"""


class _Scheduled:
    """A hyperparameter of a Keras optimizer that may be a schedule.

    A data descriptor on the class: the optimizer's own code reads and assigns the
    attribute (`self.beta_2`) as Keras wrote it. While Keras builds what an `apply()`
    does (`_backend_apply_gradients`: weight decay, the update, the moving average), a
    schedule's value at the optimizer's counter is in force: reading the attribute gives
    it, a float32 tensor, evaluated once per `apply()` in the thread that builds it.
    Under a TensorFlow distribution strategy, the cross-replica merge call (weight decay
    and the update) runs in another thread while the replicas' threads are inside
    `apply()`: there the schedule is evaluated again, at the same counter, as Keras does
    for the rate. Otherwise reading gives what was set: a number, None or the schedule.
    """

    def __init__(self, name):
        self.name = name
        # what the documentation of each optimizer class shows for the attribute
        self.__doc__ = (f"Keras's `{name}`: a number, or a schedule evaluated once per "
                        f"update inside the compiled step.")

    def __get__(self, optimizer, owner=None):
        if optimizer is None:
            return self
        state = optimizer.__dict__
        value = state.get("_lrschedule_" + self.name)
        in_force = state.get("_lrschedule_in_force")
        if not in_force or not isinstance(value, _LearningRateSchedule):
            return value
        mine = in_force.get(threading.get_ident())
        if mine is not None and self.name in mine:
            return mine[self.name]
        return optimizer._evaluate(value)

    def __set__(self, optimizer, value):
        optimizer.__dict__["_lrschedule_" + self.name] = value


class _ScheduledHyperparameters(_keras.UpdateStepHook):
    """The mixin behind lrschedule's optimizers: every hyperparameter its Keras class
    has in `SCHEDULABLE` may be a schedule.

    The constructor is Keras's (same signature): a schedule is set after Keras's
    constructor ran with Keras's default in its place (Keras checks the numbers it is
    given, and SGD refuses anything else). A subclass is documented and registered for
    Keras's saving as "lrschedule>ClassName", under the module `lrschedule.optimizers`.
    """

    # The values Keras's build() sees for a scheduled hyperparameter: SGD and RMSprop
    # create their momentum slots only for a momentum other than 0, so a schedule,
    # whose first value may be 0, gets them.
    _AT_BUILD = {"momentum": 1.0}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        keras_class = next(c for c in cls.__mro__[1:] if c.__module__.startswith("keras"))
        cls._keras_class = keras_class
        cls.HYPERPARAMETERS = SCHEDULABLE[keras_class.__name__]
        for name in cls.HYPERPARAMETERS:
            setattr(cls, name, _Scheduled(name))
        cls._keras_init = inspect.signature(keras_class.__init__)
        cls.__signature__ = inspect.signature(keras_class)
        cls.__module__ = "lrschedule.optimizers"
        names = ", ".join(f"`{n}`" for n in cls.HYPERPARAMETERS)
        cls.__doc__ = (keras_class.__doc__ or "").split("\n")[0] + _SCHEDULED_DOC.format(
            base=keras_class.__name__, names=names)
        keras.saving.register_keras_serializable(package="lrschedule")(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        bound = self._keras_init.bind(self, *args, **kwargs)
        arguments = {k: v for k, v in bound.arguments.items() if k != "self"}
        keras_name = self._keras_class.__name__
        scheduled = {name: value for name, value in arguments.items()
                     if isinstance(value, _LearningRateSchedule) and name != "learning_rate"}
        for name, value in scheduled.items():
            if name not in self.HYPERPARAMETERS:
                _refuse_schedule(keras_name, name, value)
        check_arguments(arguments, keras_name)
        for name in scheduled:  # Keras's constructor gets its default (a number)
            bound.arguments[name] = self._keras_init.parameters[name].default
        if "ema_momentum" in scheduled and not arguments.get("use_ema"):
            check.fail_value("ema_momentum", scheduled["ema_momentum"],
                             "a number when `use_ema` is False (a schedule of the moving "
                             "average's momentum needs use_ema=True)")
        super().__init__(*bound.args[1:], **bound.kwargs)
        for name, value in scheduled.items():
            setattr(self, name, value)

    def build(self, variables):
        if self.built or not self.hyperparameter_schedules:
            return super().build(variables)
        values = {name: self._AT_BUILD.get(name, 0.5) for name in self.hyperparameter_schedules}
        with self._values_in_force(values):
            return super().build(variables)

    @property
    def hyperparameter_schedules(self) -> dict[str, check.KerasSchedule]:
        """The scheduled hyperparameters: {Keras's name: its schedule}, in the order of
        `HYPERPARAMETERS` (empty when all are numbers)."""
        state = self.__dict__
        return {name: state["_lrschedule_" + name] for name in self.HYPERPARAMETERS
                if isinstance(state.get("_lrschedule_" + name), _LearningRateSchedule)}

    def _evaluate(self, schedule):
        return ops.cast(schedule(_keras.update_counter(self)), "float32")

    @contextlib.contextmanager
    def _values_in_force(self, values):
        in_force = self.__dict__.setdefault("_lrschedule_in_force", {})
        me = threading.get_ident()
        previous = in_force.get(me)
        in_force[me] = values
        try:
            yield
        finally:
            if previous is None:
                in_force.pop(me, None)
            else:
                in_force[me] = previous

    def _in_update_step(self):
        schedules = self.hyperparameter_schedules
        if not schedules:
            return contextlib.nullcontext()
        # Evaluated once per apply(), at the counter the rate is evaluated at.
        return self._values_in_force({name: self._evaluate(schedule)
                                      for name, schedule in schedules.items()})

    def get_config(self) -> check.Config:
        config = super().get_config()
        for name, schedule in self.hyperparameter_schedules.items():
            config[name] = keras.saving.serialize_keras_object(schedule)
        return config

    @classmethod
    def from_config(cls, config: check.Config, custom_objects: Any = None) -> Self:
        config = dict(config)
        for name, value in config.items():  # Keras's deserializer recurses into these
            if isinstance(value, (dict, list)) and check._too_deep(value, limit=4 * MAX_DEPTH + 8):
                check.fail_value(name, value, "a value of the optimizer's argument (this one "
                                 "nests plain dicts or lists deeper than any does)")
        for name, value in config.items():
            if (name not in ("learning_rate",) + cls.HYPERPARAMETERS and isinstance(value, dict)
                    and "class_name" in value and "config" in value):
                # a serialized schedule (or other object) where a number goes: said as the
                # constructor says it, without building it
                _refuse_schedule(cls._keras_class.__name__, name,
                                 _Shown(f"{value.get('class_name')}(...)"))
        for name in ("learning_rate",) + cls.HYPERPARAMETERS:
            if isinstance(config.get(name), (dict, list)):
                config[name] = deserialize_schedule(name, config[name], custom_objects)
                if not isinstance(config[name], _LearningRateSchedule):
                    # a saved rate is a number or a schedule: a function or a layer
                    # is code, which a config can name but does not hold
                    check.fail_value(name, type(config[name]).__name__, "a number or the "
                                     "serialized config of a LearningRateSchedule")
        return super().from_config(config, custom_objects=custom_objects)


class _Shown:
    """A value as a message shows it (a saved object's class, not built)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _refuse_schedule(optimizer_name, name, value):
    why = NOT_SCHEDULABLE.get(name)
    if why is None:
        why = ("not a number Keras uses at every update" if name in BOOLEANS or name == "name"
               else "not among its hyperparameters that may be schedules")
    schedulable = ", ".join(SCHEDULABLE.get(optimizer_name, ()))
    check.fail_value(name, value,
                     f"a number, not a schedule: {why}. {optimizer_name}'s hyperparameters "
                     f"that may be schedules: learning_rate, {schedulable}")


class Adam(_ScheduledHyperparameters, keras.optimizers.Adam):
    pass


class AdamW(_ScheduledHyperparameters, keras.optimizers.AdamW):
    pass


class Adamax(_ScheduledHyperparameters, keras.optimizers.Adamax):
    pass


class Nadam(_ScheduledHyperparameters, keras.optimizers.Nadam):
    pass


class Lamb(_ScheduledHyperparameters, keras.optimizers.Lamb):
    pass


class Adagrad(_ScheduledHyperparameters, keras.optimizers.Adagrad):
    pass


class Adadelta(_ScheduledHyperparameters, keras.optimizers.Adadelta):
    pass


class Ftrl(_ScheduledHyperparameters, keras.optimizers.Ftrl):
    pass


class Lion(_ScheduledHyperparameters, keras.optimizers.Lion):
    pass


class Adafactor(_ScheduledHyperparameters, keras.optimizers.Adafactor):
    pass


class Muon(_ScheduledHyperparameters, keras.optimizers.Muon):
    pass


class ScheduleFreeAdamW(_ScheduledHyperparameters, keras.optimizers.ScheduleFreeAdamW):
    pass


class SGD(_ScheduledHyperparameters, keras.optimizers.SGD):

    def update_step(self, gradient, variable, learning_rate):
        if "momentum" not in self.hyperparameter_schedules:
            return super().update_step(gradient, variable, learning_rate)
        # Keras's SGD, its `if self.momentum != 0` asked of the tensor at each update
        # (as PyTorch's SGD asks it of the number at each step): with a momentum,
        # velocity = momentum * velocity - lr * g; w += velocity, or with Nesterov
        # w += momentum * velocity - lr * g; with a momentum of 0 the velocity is left
        # as it is and w -= lr * g.
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        momentum = ops.cast(self.momentum, variable.dtype)
        moving = ops.not_equal(momentum, 0)
        m = self.momentums[_keras.variable_index(self, variable)]
        previous = ops.convert_to_tensor(m)  # its value (in JAX's stateless step too)
        step = ops.multiply(gradient, lr)
        velocity = ops.subtract(ops.multiply(previous, momentum), step)
        self.assign(m, ops.where(moving, velocity, previous))
        if self.nesterov:
            change = ops.subtract(ops.multiply(velocity, momentum), step)
        else:
            change = velocity
        self.assign_add(variable, ops.where(moving, change, ops.negative(step)))


class RMSprop(_ScheduledHyperparameters, keras.optimizers.RMSprop):

    def update_step(self, gradient, variable, learning_rate):
        if "momentum" not in self.hyperparameter_schedules:
            return super().update_step(gradient, variable, learning_rate)
        # Keras's RMSprop, its `if self.momentum > 0` asked of the tensor at each
        # update: v = rho v + (1 - rho) g^2 (centered: minus the squared mean
        # gradient), increment = lr g / sqrt(v + eps); with a momentum,
        # m = momentum m + increment, w -= m; with a momentum of 0, m is left as it is
        # and w -= increment.
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
        moving = ops.greater(momentum, 0)
        previous = ops.convert_to_tensor(m)  # its value (in JAX's stateless step too)
        accumulated = ops.add(ops.multiply(momentum, previous), increment)
        self.assign(m, ops.where(moving, accumulated, previous))
        self.assign_sub(variable, ops.where(moving, accumulated, increment))


OPTIMIZERS = (SGD, RMSprop, Adam, AdamW, Adamax, Nadam, Lamb, Adagrad, Adadelta, Ftrl, Lion,
              Adafactor, Muon, ScheduleFreeAdamW)


def count_updates(optimizer: check.KerasOptimizer) -> check.KerasOptimizer:
    """Makes an accumulating optimizer's schedule count updates; returns the optimizer.

    With `gradient_accumulation_steps=k`, Keras evaluates the schedule at its
    micro-batch counter, so a schedule written in updates would run k times too fast.
    This wraps the optimizer's schedule in `InUpdates(schedule, k)` (in place): the
    update `u` uses `schedule(u)`; so is every scheduled hyperparameter of an
    `lrschedule.optimizers` optimizer (its weight decay, betas, moving-average
    momentum...). Nothing changes for an optimizer that does not
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
        # Every scheduled hyperparameter counts as the rate does.
        for name, schedule in getattr(target, "hyperparameter_schedules", {}).items():
            counted = count_in_updates(schedule, target, warn=False)
            if counted is not schedule:
                setattr(target, name, counted)
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


def _path_pattern(model, path):
    """A pattern matching a variable's path as the model has it now and once the model
    is saved and loaded: Keras 3.15 prefixes the paths of a new Sequential model's
    variables with the model's name ("sequential/dense/kernel") and not those of the
    same model loaded from a file ("dense/kernel")."""
    prefix = model.name + "/"
    if path.startswith(prefix):
        return f"(?:{re.escape(prefix)})?{re.escape(path[len(prefix):])}"
    return re.escape(path)


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
        mapping["(?:" + "|".join(_path_pattern(model, p) for p in paths) + ")"] = each
    return _MultiOptimizer(keras.optimizers.OptimizerMap(copies[-1], mapping))


def shaped_like(schedule: check.KerasSchedule, value: check.Real,
                reference: str | check.Real = "peak") -> check.KerasSchedule:
    """A hyperparameter schedule with the shape of a rate schedule: `value` at the
    rate's reference, in proportion elsewhere.

        hyperparameter(t) = value * schedule(t) / reference_rate

    `reference_rate` is the rate's peak ("peak": its largest value over its span, the
    horizon for a schedule that ends), its value at step 0 ("initial"), or a number
    you give. The common case is a weight decay that follows the rate's shape (a
    cosine decay of both): `weight_decay=shaped_like(rate, 0.05)`.

    Keras already multiplies the weight decay by the rate: each update shrinks the
    weights by `lr(t) * weight_decay(t)`. A constant `weight_decay` therefore already
    decays with the rate (as PyTorch's AdamW does); `shaped_like(rate, wd)` makes the
    shrink `lr(t) * wd * lr(t) / reference_rate`, which is what recipes mean by a
    weight decay schedule that follows the rate. Do not shape it by the rate twice.

    Args:
        schedule: the rate's schedule (any `LearningRateSchedule`).
        value: float > 0, the hyperparameter at the reference rate.
        reference: "peak", "initial", or a float > 0 (the rate the value goes with).

    Returns:
        `Scaled(schedule, value / reference_rate)`.

    Example:
        >>> rate = lrschedule.OneCycle(1e-3, total_steps=10_000)
        >>> opt = lrschedule.optimizers.AdamW(rate, weight_decay=shaped_like(rate, 0.05))
    """
    if not isinstance(schedule, _LearningRateSchedule):
        check.fail_type("schedule", schedule, "a learning-rate schedule")
    value = check.positive("value", value)
    if isinstance(reference, str):
        reference = check.choice("reference", reference, ("peak", "initial"))
        span = 1 if reference == "initial" else min(max(shown_span(schedule), 1) + 1, 2**20)
        rates = np.asarray(_evaluation.rates(schedule, np.arange(span)), dtype=np.float64)
        reference_rate = float(np.max(rates))
        if not (math.isfinite(reference_rate) and reference_rate > 0):
            check.fail_value("reference", reference, f"a reference at which the schedule's rate "
                             f"is > 0 (its {reference} rate is {reference_rate:g})")
    else:
        reference_rate = check.positive("reference", reference)
    return Scaled(schedule, value / reference_rate)
