"""The one way lrschedule evaluates a schedule at steps from Python, and its one cache of
compiled functions.

`rates(schedule, steps)` serves `values()` and `plot()` (eagerly: one vectorized call,
no tracing for a one-off look), the callbacks' queries at epoch ends (`compile=True`: one
compiled function per schedule, kept in `_COMPILED`) and the `ControlledRate`'s own
queries (its formula with the rate state as arguments: the schedule provides it through
`_host_query()`, so a state change does not recompile).

Inside the train step a schedule is called by Keras itself; `schedules.evaluate()` is
the elementwise form both paths build on.
"""

import logging
import weakref

import keras
import numpy as np
from keras import ops

from lrschedule import _validation as check
from lrschedule.schedules import Schedule, evaluate

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule

# schedule -> (key, compiled function): rebuilt when the key changes (a ControlledRate
# whose schedule was replaced, or given a smooth reduction).
_COMPILED = weakref.WeakKeyDictionary()


def compiled(owner, key, fn):
    """`fn` compiled for queries from Python, once per `owner` and `key`; None where eager
    is as fast (torch).

    Eagerly, JAX and TensorFlow dispatch each of a schedule's dozens of operations on
    its own: 2 to 4 ms per query of a one-cycle, at every epoch's end, where a
    compiled call takes a small fraction of that.
    """
    cached = _COMPILED.get(owner)
    if cached is not None and _same_key(cached[0], key):
        return cached[1]
    function = _compile(fn)
    if function is not None:
        _COMPILED[owner] = (key, function)
    return function


def _same_key(a, b):
    # Keys are tuples of objects compared by identity (schedules) or value (names).
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(x is y or (isinstance(x, str) and x == y)
                                    for x, y in zip(a, b))


def _compile(fn):
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf

        # One trace per shape of steps: a step, and the length of an epoch (schedules
        # branch on the rank of the step, which a relaxed shape would hide). Each
        # schedule gets its own function, traced once or twice: TensorFlow counts the
        # traces of all of them together and warns of "excessive retracing" after
        # five schedules of a session; that warning is dropped for these functions.
        _quiet_tracing_warnings()
        return tf.function(_HostQuery(fn))
    return None


class _HostQuery:
    """A schedule's host query, under a name TensorFlow's retracing warning shows."""

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = self.__qualname__ = "lrschedule_host_query"

    def __call__(self, *args):
        return self.fn(*args)


class _NoHostQueryRetracing(logging.Filter):
    def filter(self, record):
        return "lrschedule_host_query" not in record.getMessage()


def _quiet_tracing_warnings():
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NoHostQueryRetracing) for f in logger.filters):
        logger.addFilter(_NoHostQueryRetracing())


def _host_steps(steps):
    # The step dtype of the backend's train step: JAX counts in int32 (without x64).
    return steps.astype(np.int32) if keras.backend.backend() == "jax" else steps


def _is_pure(schedule):
    # Ours and Keras's own hold no variables: their value is a function of the step
    # and their config, so a compiled evaluation never goes stale.
    return isinstance(schedule, Schedule) or type(schedule).__module__.startswith("keras.")


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


def _eager(schedule, steps):
    if isinstance(schedule, Schedule):
        return schedule(steps)
    return evaluate(schedule, ops.convert_to_tensor(steps))


def _as_float(out):
    out = np.asarray(ops.convert_to_numpy(out))
    return out.astype(np.float64) if out.dtype.kind != "f" else out


def rates(schedule, steps, compile=False, held=None):
    """The rates of `schedule` at `steps` (an int64 array of any shape) as a numpy array
    of the same shape.

    `schedule` may be any Keras schedule, a number (a constant rate) or the scalar
    variable of an optimizer built with one (its value now). Eagerly, the result is in
    the schedule's own float dtype; with `compile=True` (the callbacks' queries), a
    schedule whose value depends on its configuration only (ours, Keras's) or one that
    gives its own query (`_host_query()`: the ControlledRate) is evaluated by one
    compiled function per schedule, in float32. A schedule that accepts only a scalar
    step is mapped over the steps. `held`: the state numbers a `ControlledRate` is
    evaluated with (None: its state now).
    """
    steps = np.asarray(steps, dtype=np.int64)
    if isinstance(schedule, keras.Variable) and len(schedule.shape) == 0:
        # An optimizer's constant rate (`optimizer.learning_rate`): its value now.
        schedule = float(ops.convert_to_numpy(schedule))
    if not isinstance(schedule, _LearningRateSchedule):
        if callable(schedule) or not check._is_real(check._unwrap_scalar(schedule)):
            check.fail_type(
                "schedule", schedule,
                "a keras.optimizers.schedules.LearningRateSchedule or a number (to use a "
                "function, wrap it with Tabulated.from_function(fn, total_steps))",
            )
        rate = check.non_negative("schedule", schedule)
        return np.full(steps.shape, rate, dtype=np.float32)
    if steps.size == 0:
        return np.zeros(steps.shape, dtype=np.float32)
    query = getattr(schedule, "_host_query", None)
    if query is not None:
        fn, args, key, from_base = query(held)
    else:
        fn, args, key, from_base = (lambda s: ops.cast(evaluate(schedule, s), "float32")), (), None, None
    if compile and (query is not None or _is_pure(schedule)):
        try:
            function = compiled(schedule, key, fn)
            if function is not None:
                out = np.asarray(ops.convert_to_numpy(function(_host_steps(steps), *args)),
                                 dtype=np.float32)
                if out.shape == steps.shape:
                    return out
        except Exception:  # noqa: BLE001 - a schedule that cannot be traced as a whole
            pass
    try:
        out = fn(ops.convert_to_tensor(steps), *args) if query is not None else _eager(schedule, steps)
        out = _as_float(out)
        if out.shape != steps.shape:
            raise ValueError("not elementwise")
        return out
    except Exception:  # noqa: BLE001 - a user's scalar-only schedule at several steps
        # Ours are elementwise: their errors (a length not known yet...) are the answer.
        if steps.ndim == 0 or (query is not None and from_base is None) or (
                query is None and isinstance(schedule, Schedule)):
            raise
    if query is not None:  # the ControlledRate over a scalar-only schedule
        return _as_float(from_base(steps, rates(schedule.schedule, steps)))
    return _as_float(_vectorized_map(schedule, steps.reshape(-1))).reshape(steps.shape)
