"""Looking at a schedule before training with it: `values()` and `plot()`."""

import numbers

import keras
import numpy as np
from keras import ops

from lrschedule import _validation as check
from lrschedule.schedules import Schedule, evaluate

__all__ = ["values", "plot"]

_MAX_STEP = 2**63 - 1


# The longest run of steps values() builds from a count: 2**31 - 1, R's largest
# integer (the float32 rates alone take 8 GiB).
_MAX_COUNT = 2**31 - 1


def _steps_array(steps):
    """An int `n` means steps 0..n-1; a sequence means exactly those steps."""
    what = "a number of steps or a 1-D array of step numbers"
    scalar = check._unwrap_scalar(steps)
    if isinstance(scalar, (bool, np.bool_)):
        check.fail_type("steps", steps, what)
    if isinstance(scalar, (numbers.Real, np.integer, np.floating)):
        n = check.integer("steps", scalar, minimum=0)
        if n > _MAX_COUNT:
            check.fail_value(
                "steps", steps,
                f"a number of steps <= {_MAX_COUNT} (for later steps, pass an array of "
                "the step numbers wanted)",
            )
        return np.arange(n, dtype=np.int64)
    array = check.real_array(
        "steps", steps, what, element_what="a 1-D array of integer step numbers"
    )
    if array.size == 0:
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.floor(array)):
            check.fail_value("steps", steps, "whole step numbers")
    if np.any(array < 0):
        check.fail_value("steps", steps, "step numbers >= 0")
    if array.dtype.kind != "i" and np.any(array >= 2.0**63):
        check.fail_value("steps", steps, "step numbers < 2**63")
    return array.astype(np.int64)


def _vectorized_map(schedule, steps):
    """Last resort for a user schedule that only accepts a scalar step.

    Maps it over the steps with the backend's vectorizing map (one traced call, not a
    Python loop over the steps), falling back to a per-step loop only on backends that
    have none for such a schedule.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        mapped = tf.vectorized_map(lambda s: ops.cast(schedule(s), "float32"), tf.constant(steps))
        return ops.convert_to_numpy(mapped)
    if backend == "jax":
        import jax

        return np.asarray(jax.vmap(lambda s: ops.cast(schedule(s), "float32"))(steps))
    return np.asarray([ops.convert_to_numpy(schedule(int(s))) for s in steps])


def values(schedule, steps):
    """The learning rate of any Keras schedule at the given steps, as a numpy array.

    Our schedules and Keras's own are evaluated in one vectorized call (a million
    steps take milliseconds); Keras's `CosineDecay` with a warmup, which branches with
    a scalar-only `ops.cond`, is evaluated with its own two formulas merged
    elementwise. A plain number is a constant rate.

    Args:
        schedule: a `keras.optimizers.schedules.LearningRateSchedule` (ours or Keras's,
            or a user subclass), or a number.
        steps: int n >= 0 for steps 0..n-1, or a 1-D array of step numbers >= 0.

    Returns:
        A numpy array with one rate per step, in the schedule's own float dtype
        (float32 for ours and for Keras's under the default float type).

    These are the rates training uses, to float32 rounding: a compiled train step may
    round the same formula an ulp or two differently (TensorFlow's and XLA's optimizers
    fold products of constants; vectorized sin/cos round differently from scalar ones).

    Example:
        >>> lrschedule.values(lrschedule.StepDecay(1.0, step_size=2, gamma=0.5), 5)
        array([1.  , 1.  , 0.5 , 0.5 , 0.25], dtype=float32)
    """
    steps = _steps_array(steps)
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        if callable(schedule) or not check._is_real(check._unwrap_scalar(schedule)):
            check.fail_type(
                "schedule", schedule,
                "a keras.optimizers.schedules.LearningRateSchedule or a number (to use a "
                "function, wrap it with Tabulated.from_function(fn, total_steps))",
            )
        rate = check.non_negative("schedule", schedule)
        return np.full(steps.shape, rate, dtype=np.float32)
    if steps.size == 0:
        return np.zeros(0, dtype=np.float32)
    if isinstance(schedule, Schedule):
        out = schedule(steps)
    else:
        try:
            out = evaluate(schedule, ops.convert_to_tensor(steps))
            out = ops.convert_to_numpy(out)
            if np.shape(out) != steps.shape:
                raise ValueError("not elementwise")
        except Exception:  # noqa: BLE001 - a scalar-only user schedule
            out = _vectorized_map(schedule, steps)
    out = np.asarray(ops.convert_to_numpy(out))
    if out.dtype.kind != "f":
        out = out.astype(np.float64)
    return out.reshape(steps.shape)


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


def plot(schedule, steps, ax=None, log=False, **kwargs):
    """Draws the learning rate against the step with matplotlib.

    Args:
        schedule: any Keras schedule (see `values`).
        steps: int n for steps 0..n-1, or a 1-D array of step numbers.
        ax: a matplotlib Axes to draw on; a new figure when None.
        log: bool (True or False). Logarithmic rate axis.
        **kwargs: passed to `Axes.plot`.

    Returns:
        The matplotlib Axes.
    """
    plt = require_pyplot("lrschedule.plot()")
    step_array = _steps_array(steps)
    log = check.boolean("log", log)
    check_axes("ax", ax)
    rates = values(schedule, step_array)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(step_array, rates, **kwargs)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    name = getattr(schedule, "name", None) or type(schedule).__name__
    ax.set_title(str(name))
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    return ax
