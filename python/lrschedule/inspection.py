"""Looking at a schedule before training with it (`values()`, `plot()`), and at the rates
a run used beside the planned ones (`run_record()`, `plot(..., history=...)`)."""

import numbers
from typing import Any, overload

import keras
import numpy as np

from lrschedule import _evaluation
from lrschedule import _validation as check
from lrschedule import schedules as ours

__all__ = ["values", "plot", "default_steps", "run_record", "is_stepwise"]

# The most steps values() evaluates in one call: 2**31 - 1, R's largest integer (the
# float32 rates alone take 8 GiB).
_MAX_COUNT = 2**31 - 1


def _steps_array(steps):
    """The steps as an int64 array, and whether one step (a number) was given.

    A number is one step number, at every size: `1000` is step 1000, never "1000
    steps" (a meaning that changed with the length of the argument was misread by
    every new user). A `range`, list or 1-D array means exactly those steps.
    """
    what = "a step number, or a range or 1-D array of step numbers"
    scalar = check._unwrap_scalar(steps)
    if isinstance(scalar, (bool, np.bool_)):
        check.fail_type("steps", steps, what)
    if isinstance(scalar, (numbers.Real, np.integer, np.floating)):
        step = check.integer("steps", scalar, minimum=0, maximum=None)
        if step >= 2**63:
            check.fail_value("steps", steps, "a step number < 2**63")
        return np.asarray(step, dtype=np.int64), True
    if isinstance(steps, range):
        # np.arange, not np.asarray: a range of a million steps is not walked in Python.
        if len(steps) > _MAX_COUNT:
            check.fail_value("steps", steps, f"a range of at most {_MAX_COUNT} steps")
        if len(steps) and min(steps[0], steps[-1]) < 0:
            check.fail_value("steps", steps, "a range of step numbers >= 0")
        if len(steps) and max(steps[0], steps[-1]) >= 2**63:
            check.fail_value("steps", steps, "a range of step numbers < 2**63")
        return np.arange(steps.start, steps.stop, steps.step, dtype=np.int64), False
    array = check.real_array(
        "steps", steps, what, element_what="a 1-D array of integer step numbers"
    )
    if array.size > _MAX_COUNT:
        check.fail_value("steps", steps, f"at most {_MAX_COUNT} step numbers")
    if array.size == 0:
        return array.astype(np.int64), False
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.floor(array)):
            check.fail_value("steps", steps, "whole step numbers")
    if np.any(array < 0):
        check.fail_value("steps", steps, "step numbers >= 0")
    if array.dtype.kind != "i" and np.any(array >= 2.0**63):
        check.fail_value("steps", steps, "step numbers < 2**63")
    return array.astype(np.int64), False


def default_steps(schedule: check.KerasSchedule) -> range:
    """The steps `plot()` draws when none are given: a range showing the whole shape.

    The schedule's own length where it has one (OneCycle's `total_steps`, a warmup
    plus its inner schedule...), a few periods of a decay that goes on forever, else
    1000 steps. Each schedule says its span itself (`Schedule.display_span()`; Keras's
    own are described from their arguments: `schedules.describe()`).

    Args:
        schedule: any Keras schedule, or a number.

    Returns:
        A `range` starting at step 0.
    """
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return range(ours.DEFAULT_SPAN)
    return range(ours.shown_span(schedule))


def is_stepwise(schedule: check.KerasSchedule, rates: check.RealList | None = None) -> bool:
    """Whether the schedule's rate holds still between jumps, so a plot draws it as steps
    (each rate in force from its step to the next one), not as a sloping line.

    True for a step or multi-step decay, a piecewise-constant decay, a per-epoch
    schedule, a staircase exponential or inverse-time decay, a constant, and wrappers
    and sequences made only of those; False for ramps and curves (each schedule says
    which it is: `Schedule.is_stepwise()`). For any other schedule (a table from a
    function, a user's class) it is read off `rates`, the rates at consecutive steps:
    stepwise when the rate changes at no more than one step in ten.

    Args:
        schedule: any Keras schedule, or a number.
        rates: None, or the rates at consecutive steps (as `values()` gives them).

    Returns:
        bool.
    """
    if isinstance(schedule, numbers.Real):
        return True
    said = ours.stepwise(schedule)
    if said is not None:
        return bool(said)
    if rates is None:
        return False
    rates = np.asarray(rates, dtype=np.float64).reshape(-1)
    if rates.size < 2:
        return True
    changes = np.count_nonzero(rates[1:] != rates[:-1])
    return bool(changes <= 0.1 * (rates.size - 1))


@overload
def values(schedule: check.KerasSchedule, steps: check.Integer) -> check.Rate: ...
@overload
def values(schedule: check.KerasSchedule, steps: check.IntegerList) -> check.Rates: ...
def values(schedule: check.KerasSchedule,
           steps: check.Integer | check.IntegerList) -> check.Rate | check.Rates:
    """The learning rate of any Keras schedule at the given steps.

    A number is one step: `values(s, 1000)` is the rate at step 1000. Several steps
    are a range or an array: `values(s, range(1000))` gives the rates of steps
    0..999, `values(s, [0, 500, 999])` those three.

    Our schedules and Keras's own are evaluated in one vectorized call (a million
    steps take milliseconds); Keras's `CosineDecay` with a warmup, which branches with
    a scalar-only `ops.cond`, is evaluated with its own two formulas merged
    elementwise. A plain number as `schedule` is a constant rate, and so is the Keras
    variable of an optimizer built with one (`optimizer.learning_rate`), at its value.

    Args:
        schedule: a `keras.optimizers.schedules.LearningRateSchedule` (ours or Keras's,
            or a user subclass), or a number.
        steps: a step number >= 0, or a `range`, list or 1-D array of step numbers
            >= 0 (at most 2**31 - 1 of them).

    Returns:
        For one step, the rate as a numpy scalar; otherwise a 1-D numpy array with one
        rate per step. In the schedule's own float dtype (float32 for ours and for
        Keras's under the default float type).

    These are the rates training uses, to float32 rounding: a compiled train step may
    round the same formula an ulp or two differently (TensorFlow's and XLA's optimizers
    fold products of constants; vectorized sin/cos round differently from scalar ones).

    Example:
        >>> s = lrschedule.StepDecay(1.0, step_size=2, gamma=0.5)
        >>> lrschedule.values(s, range(5))
        array([1.  , 1.  , 0.5 , 0.5 , 0.25], dtype=float32)
        >>> lrschedule.values(s, 4)
        0.25
    """
    steps, one_step = _steps_array(steps)
    rates = _evaluation.rates(schedule, steps.reshape(-1))
    return rates.reshape(())[()] if one_step else rates


def require_pyplot(what):
    """matplotlib.pyplot, imported on first use: matplotlib is an optional extra."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{what} needs matplotlib, which is not installed. Install it with "
            "`pip install matplotlib` (or `pip install lrschedule[plot]`)."
        ) from error
    return plt


def check_axes(name, ax):
    """`ax` if it is None or a matplotlib Axes (matplotlib is imported already)."""
    from matplotlib.axes import Axes

    if ax is not None and not isinstance(ax, Axes):
        check.fail_type(name, ax, "a matplotlib Axes or None")
    return ax


def run_record(history: Any = None, schedule: check.KerasSchedule = None,
               hyperparameter: str = "learning_rate") -> dict[str, Any]:
    """What a training run used beside what its schedule planned: the data of the
    planned-vs-used picture (`plot(schedule, history=...)`, R's `plot()` of a history).

    Args:
        history: what records the rates used: an `LRLogger` that ran with
            `per="batch"` (the rate of every batch), or the `History` that `fit()`
            returned (or its `.history` dict) with `learning_rate` in it (the rate of
            each epoch's last batch: any of lrschedule's callbacks logs it).
        schedule: the schedule planned (any schedule), or None.
        hyperparameter: "learning_rate", or another hyperparameter the run logged
            (a scheduled one of an `lrschedule.optimizers` optimizer: "weight_decay",
            "beta_1", ...; `LRLogger` logs them), whose values the record is then of
            (`used_rates` holds them; no reductions or restarts are looked for).

    Returns:
        A dict: `used_steps`, `used_rates` (the optimizer steps and the rates used
        there), `planned_steps`, `planned_rates` (the schedule over steps 0 to the last
        one used; empty without a schedule), `planned_stepwise` (whether the plan is
        drawn as steps: `is_stepwise()`), `reductions` (steps where the used rate
        fell below the plan by more than 1% more than at the record before: a plateau's
        reductions), `restarts` (steps where the used rate rose above the plan's course
        by more than 20%; without a plan, where it jumped by half after falling: warm
        restarts, a rate set back up) and `log` (True when the
        rates span more than two decades, so a log axis shows them).
    """
    if not isinstance(hyperparameter, str):
        check.fail_type("hyperparameter", hyperparameter, "a string naming a logged "
                        "hyperparameter (\"learning_rate\", \"weight_decay\", ...)")
    steps, used = _used_rates(history, hyperparameter)
    out = {"used_steps": steps.tolist(), "used_rates": used.tolist(), "planned_steps": [],
           "planned_rates": [], "planned_stepwise": False, "reductions": [], "restarts": []}
    planned_at_used = None
    if schedule is not None:
        last = int(steps.max()) if steps.size else 0
        planned_steps = np.arange(last + 1)
        planned = np.asarray(values(schedule, planned_steps), dtype=np.float64)
        out["planned_steps"], out["planned_rates"] = planned_steps.tolist(), planned.tolist()
        out["planned_stepwise"] = is_stepwise(schedule, planned)
        planned_at_used = planned[steps]
    if hyperparameter == "learning_rate":  # plateaus and restarts are the rate's
        out["reductions"], out["restarts"] = _reductions_and_restarts(steps, used,
                                                                      planned_at_used)
    positive = np.concatenate([used, np.asarray(out["planned_rates"])])
    positive = positive[positive > 0]
    out["log"] = bool(positive.size and positive.max() / positive.min() > 100)
    return out


def _reductions_and_restarts(steps, used, planned_at_used):
    """The steps where the used rate fell below the plan (a plateau's reductions) and
    where it rose above it, or without a plan jumped up after a fall (restarts)."""
    if planned_at_used is None:
        # without a plan: a jump up after a fall (a warm restart), not a warmup's climb
        change = np.diff(used)
        rises = np.flatnonzero((used[1:] > used[:-1] * 1.5)
                               & (np.concatenate([[np.inf], change[:-1]]) <= 0)) + 1
        return [], steps[rises].tolist()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(planned_at_used > 0, used / planned_at_used, np.nan)
    falls = np.flatnonzero(ratio[1:] < ratio[:-1] * 0.99) + 1
    # the used rate jumps above the plan's course (a rate set back up)
    rises = np.flatnonzero(ratio[1:] > ratio[:-1] * 1.2) + 1
    return steps[falls].tolist(), steps[rises].tolist()


def _used_rates(history, name="learning_rate"):
    """(steps, values used) of the rate, or of the hyperparameter `name`, from an
    LRLogger, a History or a History's dict."""
    expected = ("an LRLogger that ran with per='batch', or the History fit() returned (or "
                f"its .history dict) with a {name} entry")
    batch_steps = getattr(history, "batch_steps", None)
    if batch_steps is not None:
        if not batch_steps:
            check.fail_value("history", history, expected + " (this logger recorded no batch: "
                             "per='epoch', or fit() has not run)")
        if name == "learning_rate":
            used = history.batch_rates
        else:
            logged = getattr(history, "batch_hyperparameters", {})
            if name not in logged:
                check.fail_value("hyperparameter", name, "\"learning_rate\" or a "
                                 "hyperparameter this logger recorded (scheduled ones: "
                                 f"{', '.join(sorted(logged)) or 'none'})")
            used = logged[name]
        return (np.asarray(batch_steps, dtype=np.int64), np.asarray(used, dtype=np.float64))
    record = getattr(history, "history", history)
    if not isinstance(record, dict) or "learning_rate" not in record:
        check.fail_value("history", history, expected)
    if name not in record:
        check.fail_value("hyperparameter", name, "\"learning_rate\" or a hyperparameter "
                         "the run logged (its entries: "
                         f"{', '.join(sorted(record))})")
    rates = np.asarray(record[name], dtype=np.float64)
    params = getattr(history, "params", None) or {}
    per_epoch = params.get("steps")
    if not per_epoch:
        check.fail_value("history", history, expected + " (a History whose params say the "
                         "steps per epoch, as fit() returns it)")
    epochs = np.asarray(getattr(history, "epoch", range(len(rates))), dtype=np.int64)
    return (epochs + 1) * int(per_epoch) - 1, rates


def plot(schedule: check.KerasSchedule = None, steps: check.IntegerList | None = None,
         ax: check.Axes | None = None, log: bool | None = None, history: Any = None,
         hyperparameter: str = "learning_rate", **kwargs: Any) -> check.Axes:
    """Draws the learning rate against the step with matplotlib: a schedule's plan, or
    with `history` the rates a run used beside the plan.

    Args:
        schedule: any Keras schedule (see `values`); may be None with `history`.
        steps: the steps to draw, a `range` or 1-D array of at least two step numbers
            (e.g. `range(1000)`); a single number is one step, not a count, and is
            refused here. Defaults to `default_steps(schedule)`, the whole shape (with
            `history`: the run's steps).
        ax: a matplotlib Axes to draw on; a new figure when None.
        log: bool, or None: a logarithmic rate axis when the rates of a run span more
            than two decades, a linear one for a schedule alone. Defaults to None.
        history: None, or what recorded a run's rates (see `run_record()`): an
            `LRLogger(per="batch")`, or the `History` fit() returned. The planned rate
            is a line, the rates used are points, plateau reductions and restarts are
            marked by vertical lines.
        hyperparameter: "learning_rate", or the name of another hyperparameter
            (`schedule` is then its schedule, e.g. an optimizer's
            `hyperparameter_schedules["weight_decay"]`, and `history` draws the values
            the run used, which `LRLogger` logs): the axis is labelled with it.
            Defaults to "learning_rate".
        **kwargs: passed to `Axes.plot` for the planned line. A schedule whose rate
            holds still between jumps (`is_stepwise()`: a step decay, a per-epoch
            schedule...) is drawn as steps (`drawstyle="steps-post"`).

    Returns:
        The matplotlib Axes.

    Example:
        >>> logger = lrschedule.LRLogger(per="batch")
        >>> model.fit(x, y, epochs=10, callbacks=[lrschedule.ReduceLROnPlateau("loss"), logger])
        >>> lrschedule.plot(schedule, history=logger)
    """
    if not isinstance(hyperparameter, str):
        check.fail_type("hyperparameter", hyperparameter, "a string naming a hyperparameter "
                        "(\"learning_rate\", \"weight_decay\", ...)")
    label = hyperparameter.replace("_", " ")
    if history is not None:
        return _plot_run(schedule, history, ax, log, hyperparameter, **kwargs)
    if schedule is None:
        check.fail_type("schedule", schedule, "a Keras LearningRateSchedule or a number "
                        "(or give `history`)")
    log = False if log is None else log
    plt = require_pyplot("lrschedule.plot()")
    if steps is None:
        steps = default_steps(schedule)
    step_array, one_step = _steps_array(steps)
    if one_step or step_array.size < 2:
        check.fail_value(
            "steps", steps,
            "a range or array of at least two step numbers to draw, e.g. range(1000) "
            "(a single number is one step)",
        )
    log = check.boolean("log", log)
    check_axes("ax", ax)
    rates = _evaluation.rates(schedule, step_array)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    if is_stepwise(schedule, rates):
        kwargs.setdefault("drawstyle", "steps-post")
    ax.plot(step_array, rates, **kwargs)
    ax.set_xlabel("step")
    ax.set_ylabel(label)
    name = getattr(schedule, "name", None) or type(schedule).__name__
    ax.set_title(str(name))
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    return ax


def _plot_run(schedule, history, ax, log, hyperparameter="learning_rate", **kwargs):
    plt = require_pyplot("lrschedule.plot()")
    check_axes("ax", ax)
    record = run_record(history, schedule, hyperparameter)
    label = hyperparameter.replace("_", " ")
    log = record["log"] if log is None else check.boolean("log", log)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    if record["planned_steps"]:
        kwargs.setdefault("color", "0.55")
        if record["planned_stepwise"]:
            kwargs.setdefault("drawstyle", "steps-post")
        ax.plot(record["planned_steps"], record["planned_rates"], label="planned", **kwargs)
    per_batch = len(record["used_steps"]) > 1 and \
        record["used_steps"][1] - record["used_steps"][0] == 1
    ax.plot(record["used_steps"], record["used_rates"], ".-" if not per_batch else "-",
            color="C0", label="used", linewidth=1.2, markersize=4)
    for i, step in enumerate(record["reductions"]):
        ax.axvline(step, color="C3", linestyle="--", linewidth=0.8,
                   label="plateau reduction" if i == 0 else None)
    for i, step in enumerate(record["restarts"]):
        ax.axvline(step, color="C2", linestyle=":", linewidth=0.8,
                   label="restart" if i == 0 else None)
    ax.set_xlabel("step")
    ax.set_ylabel(label)
    name = getattr(schedule, "name", None) or type(schedule).__name__ if schedule is not None \
        else f"{label} used"
    ax.set_title(f"{name}: planned and used" if schedule is not None else name)
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax
