"""`ScheduleLR`: the learning rate set at the start of every epoch by a function or a schedule."""

import inspect
import math

import keras
import numpy as np
from keras import ops

from lrschedule import _validation as check
from lrschedule._keras import print_message
from lrschedule._queries import log_rates
from lrschedule._rate import register, schedule_from_config
from lrschedule.callbacks._base import RateCallback

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


def _saves_again(function):
    """Refuses a function loaded from a config that would not load again once saved
    (a Keras op, or a builtin, saves as a plain builtin Keras cannot find)."""
    try:
        again = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(function))
    except Exception as error:  # noqa: BLE001 - Keras's own refusal, quoted
        check.fail_value("schedule", getattr(function, "__name__", type(function).__name__),
                         "a schedule, or a registered function that saves again "
                         f"({type(error).__name__}: {str(error)[:200]})")
    return again


def _arity(function, arity):
    """How many arguments (1: epoch; 2: epoch, lr) `function` takes."""
    if arity is None:
        arity = getattr(function, "lrschedule_arity", None)
    if arity is not None:
        # check.integer refuses a bool (TypeError) before the value is compared.
        checked = check.integer("arity", arity)
        if checked not in (1, 2):
            check.fail_value("arity", arity, "1 (a function of epoch) or 2 (of epoch and lr)")
        return checked
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        signature = None

    def ambiguous(why):
        check.fail_value(
            "schedule", function,
            "a function whose arity can be told. Cannot tell whether the function passed "
            f"as `schedule` takes (epoch) or (epoch, lr): {why}. Pass arity=1 or arity=2 "
            "to ScheduleLR (or set the function's `lrschedule_arity` attribute)",
        )

    if signature is None:
        ambiguous("its signature cannot be inspected")
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    required = [p for p in positional if p.default is p.empty]
    varargs = any(p.kind == p.VAR_POSITIONAL for p in signature.parameters.values())
    if len(required) > 2:
        check.fail_value(
            "schedule", function, f"a function of (epoch) or (epoch, lr); it requires "
            f"{len(required)} arguments"
        )
    if len(positional) >= 2:
        return 2
    if len(positional) == 1 and not varargs:
        return 1
    if not positional and not varargs:
        check.fail_value("schedule", function, "a function of (epoch) or (epoch, lr); it takes no argument")
    ambiguous(f"its signature is {signature}")


def _checked_rate(value, epoch, source="The schedule given to ScheduleLR"):
    """`value` as a float if it is one finite positive number, else a clear error."""
    original = value
    if ops.is_tensor(value) or isinstance(value, keras.Variable):
        value = ops.convert_to_numpy(value)
    shown = check._received("value", original).replace("Received: value=", "")
    message = (
        f"{source} must return one finite positive number, but at epoch {epoch} it "
        f"returned {shown}"
    )
    if value is None or isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(message + f" (of type {type(original).__name__}).")
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - anything that is not array-like
        raise TypeError(message + f" (of type {type(original).__name__}).") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(message + f" (of type {type(original).__name__}).")
    if array.size != 1:
        raise ValueError(message + f" ({array.size} values).")
    number = float(array.reshape(()))
    if not math.isfinite(number) or number <= 0:
        raise ValueError(message + ".")
    return number


@register
class ScheduleLR(RateCallback):
    """Sets the learning rate at the start of every epoch from a function or a schedule.

    At the start of epoch `e` (counted from 0, as in Keras) the base learning rate
    becomes `schedule(e)` or `schedule(e, lr)`, and stays for the whole epoch.

    * A function of one argument receives the epoch index.
    * A function of two arguments receives the epoch index and `lr`, the base rate
      in force before this epoch: what the function returned for the previous epoch
      (for the first epoch of training, the optimizer's rate at that point).
    * A `LearningRateSchedule` (ours or Keras's) is evaluated at the epoch index, as
      if one "step" were one epoch.

    The arity is read from the function's signature. Functions whose signature says
    nothing (`(*args, **kwargs)`, as R functions may look through reticulate) need
    `arity=1` or `arity=2`, or an `lrschedule_arity` attribute on the function.

    A drop-in for Keras's `LearningRateScheduler` with a constant rate: the optimizer
    keeps Keras's own `learning_rate` variable and ScheduleLR assigns it each epoch,
    so `optimizer.learning_rate` reads and assigns as in Keras.

    If the optimizer was compiled with a schedule, ScheduleLR **replaces** it: from
    the first epoch on, the rate is the function's value, constant within the epoch
    (the optimizer's schedule is no longer evaluated, and a saved model keeps the
    last value set). The function returns absolute rates, so multiplying them by a
    schedule would mix two rates into one number. A `ReduceLROnPlateau` used
    alongside multiplies the function's value: after a reduction by 0.1, the
    optimizer uses `0.1 * schedule(e)`; `lr` passed to a function of two arguments
    is the value before that reduction, so reductions are not applied twice.

    The rate used is logged as `learning_rate` in the epoch logs (and so in
    `History`). A function that raises stops training with its error; a value that is
    not one finite positive number stops it with an error naming the epoch and value.

    Args:
        schedule: A function of `(epoch)` or `(epoch, lr)` returning a float, or a
            `keras.optimizers.schedules.LearningRateSchedule`.
        verbose: Integer >= 0. 1 prints the rate set at each epoch. Defaults to 0.
        arity: None, 1 or 2. Overrides the arity read from a function's signature.
            Defaults to None.
        groups: None, or names of the optimizers of a `keras.optimizers.MultiOptimizer`
            whose rate to set (see `lrschedule.per_layer()`). None sets every group's.
            A function of `(epoch, lr)` is called once per group, with that group's
            `lr`, so `lambda epoch, lr: lr * 0.9` keeps per-layer ratios; a function
            of `(epoch)` and a schedule give every group the same rate. Defaults to
            None.

    Example:

        def step_decay(epoch):
            return 0.01 * 0.5 ** (epoch // 10)

        model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
        model.fit(x, y, epochs=50, callbacks=[lrschedule.ScheduleLR(step_decay)])
    """

    def __init__(self, schedule: check.KerasSchedule | check.Function, verbose: check.Integer = 0,
                 arity: check.Integer | None = None, groups: check.GroupNames = None) -> None:
        super().__init__(groups)
        if isinstance(schedule, dict):
            schedule = schedule_from_config("schedule", schedule)
            if callable(schedule) and not isinstance(schedule, _LearningRateSchedule):
                _saves_again(schedule)
        if isinstance(schedule, _LearningRateSchedule):
            self._arity = None
            if arity is not None:
                check.fail_value("arity", arity, "None when `schedule` is a LearningRateSchedule")
        elif callable(schedule):
            self._arity = _arity(schedule, arity)
        else:
            check.fail_type(
                "schedule", schedule, "a function of (epoch) or (epoch, lr), or a LearningRateSchedule"
            )
        self.schedule = schedule
        self.arity = None if arity is None else check.integer("arity", arity)
        self.verbose = check.integer("verbose", verbose, minimum=0)

    def _attached(self):
        """Switches a scheduled rate to a held one (ScheduleLR replaces a schedule)."""
        for rate in self._targets:
            rate.hold_schedule(self.model)

    def _epoch_begin(self, epoch, logs):
        set_to = []
        if self._arity == 2:
            # Each group's own rate in, each group's rate out.
            for rate in self._targets:
                value = _checked_rate(self.schedule(epoch, rate.base()), epoch)
                set_to.append((rate, value))
        else:
            value = _checked_rate(self.schedule(epoch), epoch)
            set_to = [(rate, value) for rate in self._targets]
        for rate, value in set_to:
            rate.set_base(self.model, value)
        if self.verbose > 0:
            if self._rates.grouped:
                shown = ", ".join(f"{rate.name} {value}" for rate, value in set_to)
                print_message(f"\nEpoch {epoch + 1}: ScheduleLR setting learning rates: {shown}.")
            else:
                print_message(
                    f"\nEpoch {epoch + 1}: ScheduleLR setting learning rate to {set_to[0][1]}.")

    def on_epoch_end(self, epoch, logs=None):
        log_rates(self.model, logs)

    def get_config(self) -> check.Config:
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "verbose": self.verbose,
            "arity": self.arity,
            "groups": self.groups,
        }
