"""Schedules that know the run: the horizon a schedule is sized for, checked against fit().

A schedule that ends (OneCycle, a cosine decay, a table...) is sized for a number of
optimizer steps, its horizon. The most common silent schedule bug is a horizon that
does not match the run: a one-cycle sized for 1,000 steps in a fit of 1,875 spends
875 of them at its final rate, one sized for 5,000 stops in the middle of its decay.
`HorizonCheck` compares the two when training starts and warns (`HorizonWarning`)
with the numbers; every lrschedule callback runs the same check once per fit.

* `horizon(schedule)`: the steps a schedule is sized for, and whether it "ends" (its
  rate stops changing there and training past it is wasted: OneCycle, Linear,
  WarmupStableDecay, Tabulated, Keras's CosineDecay and PolynomialDecay) or only
  "steps" (its last change is at that step and its final rate is meant to last:
  MultiStepDecay's last milestone, PiecewiseConstantDecay's last boundary, a
  Sequence ending in a constant): for those only a fit stopping before the last change
  is a mismatch. Schedules with no end (ExponentialDecay, StepDecay, Cyclic,
  InverseSqrt, CosineDecayRestarts, Constant) have no horizon.
* Steps are the counter Keras calls a schedule with; the check counts the fit's updates
  (epochs - initial_epoch) * steps per epoch, from the optimizer's count, divided by
  `gradient_accumulation_steps` when the optimizer accumulates. A fit whose number of
  steps per epoch is unknown is not checked. Differences up to 1% of the horizon (at
  least one step) pass: a Linear of `total_steps = n` reaches its end rate at step n,
  one step after a fit of n updates.
* `extend(schedule, at_step, total_steps)`: a schedule lengthened without a jump.

Silence the check in Python with `warnings.filterwarnings("ignore",
category=lrschedule.HorizonWarning)`; in R, with `suppressWarnings(..., classes =
"lrschedule_horizon_warning")` or `options(lrschedule.horizon_check = FALSE)`.
"""

import weakref

import keras

from lrschedule import schedules as ours
from lrschedule._keras import accumulation_steps, groups_of, step_count
from lrschedule._queries import _rate_at, schedule_of
from lrschedule.schedules import horizon
# set_warning_handler: imported from here by the R package of 0.2.0's development
# versions; lrschedule.warnings is its home.
from lrschedule.warnings import HorizonWarning, emit, set_warning_handler  # noqa: F401

__all__ = ["check_once", "take_lengths"]

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


# --------------------------------------------------------------------------------------
# The check


def _plan(first_epoch, params):
    """The batches this fit() runs, or None when its steps per epoch are unknown."""
    epochs, steps = (params or {}).get("epochs"), (params or {}).get("steps")
    if not epochs or not steps:
        return None
    return (int(epochs) - int(first_epoch)) * int(steps)


def _name(schedule):
    return type(schedule).__name__


def _fmt(x):
    return f"{x:,}"


def _messages(model, first_epoch, params):
    micro = _plan(first_epoch, params)
    if micro is None or micro <= 0:
        return []
    out, seen = [], set()
    for group in groups_of(model):
        optimizer = group.optimizer
        schedule = schedule_of(optimizer)
        if not isinstance(schedule, _LearningRateSchedule):
            continue
        found = horizon(schedule)
        if found is None:
            continue
        length, kind = found
        start = step_count(optimizer)
        end = start + micro  # the counter after the fit's last step
        k = accumulation_steps(optimizer) or 1
        key = (length, kind, start, end)
        if key in seen:
            continue
        seen.add(key)
        tolerance = max(k, int(0.01 * length))
        unit = "updates" if k == 1 else f"updates (of {k} batches)"
        shown = _name(schedule.schedule if isinstance(schedule, (ours.InUpdates, ours.Scaled))
                      else schedule)
        where = f" (optimizer {group.name!r})" if group.name is not None else ""
        final = _rate_at(optimizer, length)
        made = f"{_fmt(micro // k)} updates ({_fmt(start // k)} to {_fmt((end - 1) // k)})"
        size = ("Size the schedule for the run (epochs x steps per epoch"
                f"{' / gradient_accumulation_steps' if k > 1 else ''})")
        if end - length > tolerance and kind == "ends":
            past = min(end - length, micro)
            out.append(
                f"{shown}{where} ends after {_fmt(length // k)} {unit}, but this fit() makes "
                f"{made}: {_fmt(past // k)} of them after its end, at its final rate "
                f"{final:.3g}. {size}, or lengthen it without a jump with lrschedule.extend() "
                "(R: schedule_extend())."
            )
        elif length - end > tolerance:
            at_stop = _rate_at(optimizer, max(end - 1, 0))
            what = "ends" if kind == "ends" else "makes its last change"
            out.append(
                f"{shown}{where} {what} after {_fmt(length // k)} {unit}, but this fit() makes "
                f"{made}, stopping {_fmt((length - end) // k)} before: the rate at the stop is "
                f"{at_stop:.3g}, where the schedule goes on to {final:.3g}. {size}, or train "
                "for longer."
            )
    return out


_CHECKED = weakref.WeakKeyDictionary()


def check_once(callback, epoch):
    """Gives schedules built without their length the run's (`take_lengths()`), then
    runs the horizon check, once per fit (every lrschedule callback calls it at its first
    `on_epoch_begin`, `callbacks._base.LRCallback`, before the first train step is traced;
    the first one does it)."""
    model = callback.model
    params = callback.params
    if params is None or _CHECKED.get(model) is params:
        return
    _CHECKED[model] = params
    take_lengths(model, epoch, params)
    for message in _messages(model, epoch, params):
        emit(message, HorizonWarning, stacklevel=4)


def take_lengths(model, first_epoch, params):
    """Schedules built without their length (`OneCycle(max_lr)`, `Linear(a, b)`,
    `WarmupStableDecay(..., stable_steps=None)`) take the run's: the optimizer's count
    now plus the updates of this fit, in the steps Keras passes them. Set before the
    first train step is traced, and saved with the model from then on."""
    pending = []
    for group in groups_of(model):
        schedule = schedule_of(group.optimizer)
        if isinstance(schedule, _LearningRateSchedule) and ours.takes_length(schedule):
            pending.append((group.optimizer, schedule))
    if not pending:
        return
    micro = _plan(first_epoch, params)
    if micro is None:
        names = ", ".join(sorted({type(s).__name__ for _, s in pending}))
        raise ValueError(
            f"{names} takes its length from fit(), but this fit's number of steps per "
            "epoch is unknown (a dataset or generator of unknown length): pass "
            "steps_per_epoch to fit(), or give the schedule its length (total_steps).")
    for optimizer, schedule in pending:
        ours.take_length(schedule, step_count(optimizer) + micro)


