"""The public queries of a model's rates: `current()` (the rate the next update uses),
`rate_used()` (the rate of the last one), and what the callbacks log and report
(`host_rates()`, `log_rates()`), whatever drives the rate."""

from typing import Literal, overload

import keras
import numpy as np
from keras import ops

from lrschedule import _evaluation
from lrschedule import _validation as check
from lrschedule._keras import groups_of, optimizer_of, rate_object, step_count
from lrschedule._rate import ControlledRate

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


def host_rates(schedule, steps):
    """The rates of `schedule` at `steps` (a step or a 1-D array of steps), as numpy
    float32: the callbacks' queries from Python, made at epoch ends.

    A schedule whose value depends on its configuration only (lrschedule's, Keras's
    own) and the `ControlledRate` are evaluated by one compiled function per schedule
    object; anything else as `values()` does (`_evaluation.rates()`).
    """
    return np.asarray(_evaluation.rates(schedule, steps, compile=True), dtype=np.float32)


def _rate_at(optimizer, step):
    """The optimizer's rate at `step` (a Python float), whatever drives it."""
    rate = rate_object(optimizer)
    if isinstance(rate, _LearningRateSchedule):
        value = host_rates(rate, step)
    elif callable(rate) and not isinstance(rate, keras.Variable):
        value = rate()
    else:
        value = rate
    return float(np.asarray(ops.convert_to_numpy(value)).reshape(()))


def last_rate(optimizer):
    """The rate `optimizer` used at its most recent step (before the first, the rate the
    first step will use), as a Python float."""
    return _rate_at(optimizer, max(step_count(optimizer) - 1, 0))


def schedule_of(optimizer):
    """The schedule the optimizer's rate follows (inside a `ControlledRate`), or its
    rate object itself (a variable for a constant rate; None when ScheduleLR holds it)."""
    rate = rate_object(optimizer)
    return rate.schedule if isinstance(rate, ControlledRate) else rate


def rate_used(model: check.KerasModel | check.KerasOptimizer, group: str | None = None) -> float:
    """The learning rate the optimizer used at its most recent step (a Python float).

    Before the first step, the rate the first step will use. Whatever drives the
    rate: a constant, a schedule, a `ControlledRate`. Of a MultiOptimizer: the
    primary group's, or the group named `group`.
    """
    return last_rate(optimizer_of(model, group))


def _hyperparameter_at(optimizer, name, step):
    """The optimizer's hyperparameter `name` at `step`: a scheduled one's value (a
    Python float), or the number (or None) it holds."""
    schedules = getattr(optimizer, "hyperparameter_schedules", None) or {}
    if name in schedules:
        return float(host_rates(schedules[name], step))
    config = optimizer.get_config()
    numeric = sorted(k for k, v in config.items() if k != "name" and not isinstance(v, bool)
                     and (v is None or check._is_real(v)))
    if name not in numeric:
        check.fail_value("hyperparameter", name, f"\"learning_rate\" or a numeric "
                         f"hyperparameter of {type(optimizer).__name__}: "
                         f"{', '.join(numeric)}")
    value = config[name]
    return None if value is None else float(value)


@overload
def current(model: check.KerasModel | check.KerasOptimizer, group: str | None = None,
            hyperparameter: Literal["learning_rate"] = "learning_rate") -> float: ...


@overload
def current(model: check.KerasModel | check.KerasOptimizer, group: str | None = None, *,
            hyperparameter: str) -> float | None: ...


def current(model: check.KerasModel | check.KerasOptimizer, group: str | None = None,
            hyperparameter: str = "learning_rate") -> float | None:
    """The learning rate (or another hyperparameter) in force now: the one the
    optimizer's next update will use.

    Whatever drives it: a constant rate, any schedule (ours, Keras's, a user's),
    evaluated at the optimizer's step count, or a rate driven by lrschedule's
    callbacks (a plateau's reductions, `ScheduleLR`'s per-epoch value). It is the value
    Keras's `optimizer.learning_rate` reads, as a Python float, on every backend. A
    `LossScaleOptimizer` reports its inner optimizer's rate. Under gradient
    accumulation it is the rate of the next micro-batch's call, which the next update
    uses (see `InUpdates` for how a schedule counts there).

    Args:
        model: a compiled `keras.Model`, or a Keras optimizer.
        group: None, or the name of one of a `keras.optimizers.MultiOptimizer`'s
            optimizers. With None, a MultiOptimizer reports its primary group's rate
            (its default optimizer's: the `learning_rate` that lrschedule's callbacks
            log). Defaults to None.
        hyperparameter: "learning_rate", or the name of another numeric
            hyperparameter of the optimizer ("weight_decay", "beta_2", ...): a
            scheduled one (`lrschedule.optimizers`) is evaluated at the step the next
            update uses, a number is returned as it is (None where Keras holds None,
            e.g. no weight decay). Defaults to "learning_rate".

    Returns:
        A float (or None for a hyperparameter Keras holds as None).

    Example:
        >>> model.fit(x, y, epochs=3, callbacks=[lrschedule.ReduceLROnPlateau("loss")])
        >>> lrschedule.current(model)
        0.001
    """
    expected = "a compiled Keras model or a Keras optimizer"
    if isinstance(model, keras.optimizers.Optimizer):
        pass
    elif isinstance(model, keras.Model):
        if getattr(model, "optimizer", None) is None:
            check.fail_value("model", model, expected + " (this model has no optimizer: "
                             "compile() it first)")
    else:
        check.fail_type("model", model, expected)
    if group is not None and not isinstance(group, str):
        check.fail_type("group", group, "None or a string naming an optimizer of a MultiOptimizer")
    if not isinstance(hyperparameter, str):
        check.fail_type("hyperparameter", hyperparameter, "a string naming a hyperparameter "
                        "(\"learning_rate\", \"weight_decay\", ...)")
    optimizer = optimizer_of(model, group)
    if hyperparameter != "learning_rate":
        return _hyperparameter_at(optimizer, hyperparameter, step_count(optimizer))
    return _rate_at(optimizer, step_count(optimizer))


def log_rates(model, logs, overwrite=False):
    """Puts the rates used by the epoch's last step into the epoch logs: `learning_rate`
    (the primary group's) and, for a MultiOptimizer, `learning_rate/<group>`.

    Keeps values already there unless `overwrite`: they were written by one of our
    callbacks that ran earlier at this epoch's end, possibly before a plateau
    reduction that would otherwise be read back as if it had applied to this epoch.
    """
    if logs is None:
        return
    groups = groups_of(model)
    for group in groups:
        names = ["learning_rate"] if group.primary else []
        if group.name is not None:
            names.append(f"learning_rate/{group.name}")
        if overwrite or any(n not in logs for n in names):
            value = last_rate(group.optimizer)
            for n in names:
                if overwrite or n not in logs:
                    logs[n] = value


