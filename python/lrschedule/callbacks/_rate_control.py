"""The rate control behind the callbacks: `ControlledRate`, its saved state, and the
one place where lrschedule touches Keras's private optimizer attributes.

Keras's own `LearningRateScheduler` and `ReduceLROnPlateau` assign a float to the
optimizer's learning rate, which fails ("... learning rate is not settable") when the
optimizer was built with a `LearningRateSchedule`. lrschedule's callbacks never assign
the optimizer's rate. Instead, the first of them attached to a model puts a
`ControlledRate` in the optimizer (`install()`):

    rate(step) = max(base(step) * multiplier, min(base(step), min_lr))

where `base` is the optimizer's original schedule (or a held rate: the optimizer's
constant rate, or the per-epoch value `ScheduleLR` sets), and `multiplier` is the
product of the reductions made by `ReduceLROnPlateau` (1 until the first one).
`ControlledRate` is itself a `LearningRateSchedule`: it is evaluated inside the
compiled train step, elementwise, on every backend, and serializes with the model.

Where the state lives (DESIGN principle 3): the held rate, the multiplier, `min_lr`
and the plateau counters (`best`, `wait`, `cooldown_counter`) are Keras variables of
a small state object owned by the `ControlledRate`. They are saved twice over:

* in the optimizer's config, as numbers (`ControlledRate.get_config()` reads the
  variables), so `model.save()` / `keras.models.load_model(..., safe_mode=True)`
  gives back the same state;
* in the weights store, as a child of the optimizer (attribute
  `_lrschedule_state`), so `model.save_weights()` / `load_weights()` and therefore
  `keras.callbacks.BackupAndRestore` restore it. The callbacks attach the state in
  `set_model()`, which Keras calls for every callback before any `on_train_begin()`,
  so it is in place whatever the order of the callbacks list (`RateCallback`).

The variables are deliberately not added to `optimizer.variables`: a model loaded
from a `.keras` file gets its `ControlledRate` from the config before any callback
exists, and an optimizer whose variable count differed from the saved one would
skip loading all of its state (Keras only warns). TensorFlow and torch read them
at every step; on JAX, whose compiled step only receives the optimizer's own
variables, the step is recompiled after each change (once per plateau reduction,
once per epoch under `ScheduleLR`).

Keras internals, touched here and nowhere else (`find_lr` goes through this module):

* `optimizer.inner_optimizer`: a `LossScaleOptimizer` (mixed precision) delegates
  its rate to it (`optimizer_of()`);
* `optimizer._learning_rate`: the rate object itself, which Keras has no public
  getter for (`rate_object()`);
* `optimizer._iterations`: the counter the optimizer evaluates its schedule at,
  which counts micro-batches under gradient accumulation (`step_count()`);
* `model.train_function`: a compiled step captured the rate object it was built
  with, so it is dropped when the object is replaced (`invalidate_train_function()`),
  and rebuilt with `make_train_function(force=True)` on JAX when a state variable
  changes (`state_changed()`);
* `keras.src.utils.io_utils.print_msg`: how Keras's callbacks print, to stdout or,
  with `keras.config.disable_interactive_logging()`, to absl logging
  (`print_message()`).
"""

import math

import keras
import numpy as np
from keras import ops

from lrschedule import _validation as check
from lrschedule import inspection
from lrschedule.schedules import evaluate

try:
    from keras.src.utils.io_utils import print_msg as _keras_print_msg
except ImportError:  # pragma: no cover - a Keras that moved it
    _keras_print_msg = None

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule
_STATE_ATTR = "_lrschedule_state"


def print_message(message, line_break=True):
    """Prints as Keras's own callbacks do: stdout, or absl logging when Keras's
    interactive logging is off."""
    if _keras_print_msg is None:  # pragma: no cover - a Keras that moved it
        print(message, end="\n" if line_break else "", flush=True)
    else:
        _keras_print_msg(message, line_break=line_break)


def register(cls):
    """Registers `cls` for Keras saving as "lrschedule>ClassName", under the module
    path `lrschedule.callbacks`.

    That path is the one users import from, the one reticulate puts in the R class
    vector ("lrschedule.callbacks.ControlledRate") and the one Keras writes as
    "module" in a saved config: the classes kept it when callbacks.py became a
    package, so configs saved before and after are the same.
    """
    cls.__module__ = "lrschedule.callbacks"
    return keras.saving.register_keras_serializable(package="lrschedule")(cls)


# --------------------------------------------------------------------------------------
# The schedule the callbacks install, and where their state lives


class _RateState(keras.layers.Layer):
    """The mutable numbers behind a `ControlledRate`, as saved Keras variables.

    A `Layer` only because a layer is what Keras's saving walks into and whose
    variables `save_weights()` stores; it is never called.
    """

    _FIELDS = ("base_rate", "multiplier", "min_lr", "best", "wait", "cooldown_counter")

    def __init__(self, values, **kwargs):
        super().__init__(trainable=False, dtype="float32", **kwargs)
        for field in self._FIELDS:
            variable = self.add_weight(
                shape=(),
                initializer=keras.initializers.Constant(values[field]),
                dtype="float32",
                trainable=False,
                name=field,
            )
            object.__setattr__(self, "_var_" + field, variable)
        self.built = True

    def variable(self, field):
        return getattr(self, "_var_" + field)

    def read(self, field):
        return float(ops.convert_to_numpy(self.variable(field)))

    def write(self, field, value):
        self.variable(field).assign(float(value))


@register
class ControlledRate(_LearningRateSchedule):
    """The learning rate driven by lrschedule's callbacks: a base rate times a multiplier.

    `rate(step) = max(base(step) * multiplier, min(base(step), min_lr))`

    `base` is `schedule(step)` or, when `schedule` is None, the held `learning_rate`.
    The floor makes `min_lr` a bound on reductions only: a reduction never takes the
    rate below `min_lr`, and never raises a rate the base schedule itself put below
    it. With `multiplier = 1` the rate is exactly the base.

    You rarely build one yourself: `ReduceLROnPlateau`, `ScheduleLR` and `LRLogger`
    install it in the optimizer when training starts (wrapping the optimizer's own
    rate or schedule). It serializes with the optimizer, state included.

    Why it also carries `best`, `wait` and `cooldown_counter`, which only
    `ReduceLROnPlateau` uses: Keras saves a model's optimizer, never its callbacks.
    Held here, the plateau's counters are saved with the multiplier they drive, in
    the one object that holds all of the rate's state (its config in `model.save()`,
    its variables in `save_weights()` and `BackupAndRestore`), so a callback attached
    to a restored model continues where the saved one stopped. They are arguments
    because `from_config()` rebuilds the object from its config; the config keys are
    fixed by the `.keras` files saved so far.

    Args:
        schedule: A `LearningRateSchedule` (ours or Keras's), or None to use
            `learning_rate`.
        learning_rate: A float > 0, the held base rate; required when `schedule` is
            None, ignored otherwise.
        multiplier: A float > 0, the product of the plateau reductions so far.
            Defaults to 1.
        min_lr: A float >= 0, the floor of reductions. Defaults to 0.
        best: A float or None, the best monitored value seen by `ReduceLROnPlateau`.
        wait: Integer >= 0, epochs without improvement since the last reset.
        cooldown_counter: Integer >= 0, cooldown epochs left.
        name: String, the name scope of the rate's operations (no `/`).
            Defaults to "ControlledRate".

    Example:

        opt = keras.optimizers.SGD(learning_rate=ControlledRate(lrs.StepDecay(0.1, 100)))
    """

    def __init__(
        self,
        schedule=None,
        learning_rate=None,
        multiplier=1.0,
        min_lr=0.0,
        best=None,
        wait=0,
        cooldown_counter=0,
        name="ControlledRate",
    ):
        if isinstance(schedule, dict):
            schedule = schedule_from_config("schedule", schedule)
        if schedule is not None:
            schedule = check.schedule("schedule", schedule)
            if isinstance(schedule, ControlledRate):
                check.fail_type("schedule", schedule, "a schedule other than a ControlledRate")
            base_rate = 0.0 if learning_rate is None else check.positive("learning_rate", learning_rate)
        else:
            if learning_rate is None:
                check.fail_value(
                    "learning_rate", learning_rate, "a number > 0 when `schedule` is None"
                )
            base_rate = check.positive("learning_rate", learning_rate)
        values = {
            "base_rate": base_rate,
            "multiplier": check.positive("multiplier", multiplier),
            "min_lr": check.non_negative("min_lr", min_lr),
            "best": float("nan") if best is None else check.number("best", best),
            "wait": check.integer("wait", wait, minimum=0),
            "cooldown_counter": check.integer("cooldown_counter", cooldown_counter, minimum=0),
        }
        # Checked here: keras.name_scope() would only refuse it when the rate is used.
        if not isinstance(name, str):
            check.fail_type("name", name, "a string")
        if "/" in name:
            check.fail_value("name", name, "a string without the character `/`")
        self.schedule = schedule
        self.name = name
        self.state = _RateState(values)

    # -- the rate ---------------------------------------------------------------------

    def base(self, step):
        """The rate before any plateau reduction, at `step` (elementwise)."""
        step = ops.convert_to_tensor(step)
        if self.schedule is None:
            return ops.cast(ops.ones_like(step), "float32") * self.state.variable("base_rate")
        # evaluate(): the schedule itself at a scalar step (the train step); at a vector
        # of steps (inspection) it works around Keras's scalar-only CosineDecay warmup.
        return ops.cast(evaluate(self.schedule, step), "float32")

    def __call__(self, step):
        with keras.name_scope(self.name):
            base = self.base(step)
            multiplier = ops.cast(self.state.variable("multiplier"), base.dtype)
            min_lr = ops.cast(self.state.variable("min_lr"), base.dtype)
            return _reduced(base, multiplier, min_lr)

    def hold(self):
        """The state numbers the rate depends on now, for `rates_with()`."""
        return {field: self.state.read(field) for field in ("base_rate", "multiplier", "min_lr")}

    def rates_with(self, steps, held):
        """The rates at `steps` (a 1-D array) with the state numbers `held` by `hold()`:
        the rate as it stood then, whatever a callback has changed since."""
        if self.schedule is None:
            base = np.full(np.shape(steps), held["base_rate"], dtype="float32")
        else:
            base = inspection.values(self.schedule, steps).astype("float32")
        rates = _reduced(ops.convert_to_tensor(base), held["multiplier"], held["min_lr"])
        return np.asarray(ops.convert_to_numpy(rates))

    # -- state, as Python numbers -----------------------------------------------------

    @property
    def multiplier(self):
        return self.state.read("multiplier")

    @property
    def learning_rate(self):
        """The held base rate (meaningful when `schedule` is None)."""
        return self.state.read("base_rate")

    @property
    def min_lr(self):
        return self.state.read("min_lr")

    @property
    def best(self):
        value = self.state.read("best")
        return None if math.isnan(value) else value

    @property
    def wait(self):
        return int(round(self.state.read("wait")))

    @property
    def cooldown_counter(self):
        return int(round(self.state.read("cooldown_counter")))

    def get_config(self):
        schedule = self.schedule
        return {
            "schedule": None if schedule is None else keras.saving.serialize_keras_object(schedule),
            "learning_rate": self.learning_rate if schedule is None else None,
            "multiplier": self.multiplier,
            "min_lr": self.min_lr,
            "best": self.best,
            "wait": self.wait,
            "cooldown_counter": self.cooldown_counter,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        base = f"learning_rate={self.learning_rate!r}" if self.schedule is None else (
            f"schedule={self.schedule!r}"
        )
        return f"ControlledRate({base}, multiplier={self.multiplier!r})"


def schedule_from_config(name, config):
    """A schedule from its serialized config (a saved callback's), or a clear error."""
    try:
        return keras.saving.deserialize_keras_object(config)
    except Exception as error:  # noqa: BLE001 - Keras raises TypeError/ValueError/KeyError
        check.fail_value(
            name, config,
            f"a schedule or the serialized config of one ({type(error).__name__}: {error})",
        )


def _reduced(base, multiplier, min_lr):
    # The ControlledRate formula: reductions scale the base, floored at min_lr, but a
    # base already below min_lr is never raised.
    return ops.maximum(base * multiplier, ops.minimum(base, min_lr))


# --------------------------------------------------------------------------------------
# The optimizer plumbing (Keras's private attributes are read here only)


def optimizer_of(model):
    """The optimizer that owns the model's learning rate."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(
            "The model has no optimizer. Compile the model before training it with "
            "lrschedule's callbacks."
        )
    # A LossScaleOptimizer (mixed precision) delegates its rate to the inner optimizer.
    return getattr(optimizer, "inner_optimizer", optimizer)


def rate_object(optimizer):
    """The optimizer's rate itself: a schedule, or the variable holding a constant rate."""
    # Keras has no public getter for the schedule object itself (the `learning_rate`
    # property evaluates it), hence the private attribute, read in this one place.
    return optimizer._learning_rate


def step_count(optimizer):
    """The step the optimizer's next update evaluates its rate at."""
    # The optimizer evaluates its schedule at the raw iteration counter.
    return int(ops.convert_to_numpy(getattr(optimizer, "_iterations", optimizer.iterations)))


def install(model):
    """The model's `ControlledRate`, putting one in the optimizer if needed.

    Returns `(controlled, changed)`; `changed` is True when the optimizer's rate
    object was replaced (the compiled train step must then be rebuilt).
    """
    optimizer = optimizer_of(model)
    current = rate_object(optimizer)
    changed = False
    if isinstance(current, ControlledRate):
        controlled = current
    else:
        if isinstance(current, _LearningRateSchedule):
            controlled = ControlledRate(schedule=current)
        elif isinstance(current, keras.Variable):
            controlled = ControlledRate(learning_rate=float(ops.convert_to_numpy(current)))
        else:
            raise TypeError(
                "lrschedule's callbacks need an optimizer whose `learning_rate` is a number "
                "or a keras.optimizers.schedules.LearningRateSchedule. Received an optimizer "
                f"with learning_rate={current!r} (of type {type(current).__name__})."
            )
        # The setter accepts a schedule in every case, and stops tracking a replaced
        # learning-rate variable.
        optimizer.learning_rate = controlled
        changed = True
    if getattr(optimizer, _STATE_ATTR, None) is not controlled.state:
        setattr(optimizer, _STATE_ATTR, controlled.state)
    if changed:
        invalidate_train_function(model)
    return controlled, changed


def invalidate_train_function(model):
    """Call after replacing the optimizer's rate object (or what it evaluates)."""
    # A train step already compiled by an earlier fit() captured the previous rate
    # object; fit() rebuilds it right after set_model() when this is None.
    if getattr(model, "train_function", None) is not None:
        model.train_function = None


def state_changed(model):
    """Call after writing a variable the compiled train step reads.

    TensorFlow and torch read the variables at every step. JAX compiles the step
    with the values of variables outside the optimizer's own list, so there the step
    is rebuilt (once per change) to see the new value.
    """
    if keras.backend.backend() == "jax" and getattr(model, "train_function", None) is not None:
        model.make_train_function(force=True)


def _rate_at(optimizer, step):
    """The optimizer's rate at `step` (a Python float), whatever drives it."""
    rate = rate_object(optimizer)
    if isinstance(rate, _LearningRateSchedule):
        value = rate(ops.convert_to_tensor(step))
    elif callable(rate) and not isinstance(rate, keras.Variable):
        value = rate()
    else:
        value = rate
    return float(np.asarray(ops.convert_to_numpy(value)).reshape(()))


def rate_used(model):
    """The learning rate the optimizer used at its most recent step (a Python float).

    Before the first step, the rate the first step will use. Whatever drives the
    rate: a constant, a schedule, a `ControlledRate`.
    """
    optimizer = optimizer_of(model)
    return _rate_at(optimizer, max(step_count(optimizer) - 1, 0))


def current(model):
    """The learning rate in force now: the one the optimizer's next update will use.

    Whatever drives it: a constant rate, any schedule (ours, Keras's, a user's),
    evaluated at the optimizer's step count, or a rate driven by lrschedule's
    callbacks (a plateau's reductions, `ScheduleLR`'s per-epoch value). It is the value
    Keras's `optimizer.learning_rate` reads (under gradient accumulation Keras evaluates
    a schedule at its micro-batch counter), as a Python float, on every backend. A
    `LossScaleOptimizer` reports its inner optimizer's rate.

    Args:
        model: a compiled `keras.Model`, or a Keras optimizer.

    Returns:
        A float.

    Example:
        >>> model.fit(x, y, epochs=3, callbacks=[lrschedule.ReduceLROnPlateau("loss")])
        >>> lrschedule.current(model)
        0.001
    """
    expected = "a compiled Keras model or a Keras optimizer"
    if isinstance(model, keras.optimizers.Optimizer):
        optimizer = getattr(model, "inner_optimizer", model)
    elif isinstance(model, keras.Model):
        if getattr(model, "optimizer", None) is None:
            check.fail_value("model", model, expected + " (this model has no optimizer: "
                             "compile() it first)")
        optimizer = optimizer_of(model)
    else:
        check.fail_type("model", model, expected)
    return _rate_at(optimizer, step_count(optimizer))


def log_rate(model, logs):
    """Puts the rate used by the epoch's last step into the epoch logs.

    Keeps a value already there: it was written by one of our callbacks that ran
    earlier at this epoch's end, possibly before a plateau reduction that would
    otherwise be read back as if it had applied to this epoch.
    """
    if logs is not None and "learning_rate" not in logs:
        logs["learning_rate"] = rate_used(model)


# --------------------------------------------------------------------------------------
# The base of the callbacks that drive the rate


class RateCallback(keras.callbacks.Callback):
    """Attaches the model's `ControlledRate` (`self._controlled`) as soon as the model is known.

    Keras calls `set_model()` for every callback before any `on_train_begin()`, so
    attaching there puts the state in the optimizer whatever the order of the
    callbacks list (a `BackupAndRestore` restores into it). `on_train_begin()`
    attaches again (installing is idempotent), for a model that had no optimizer
    when it was set. A subclass adds what attaching means for it in `_attached()`.
    """

    def __init__(self):
        super().__init__()
        self._controlled = None

    def set_model(self, model):
        super().set_model(model)
        if getattr(model, "optimizer", None) is not None:
            self._controlled, _ = install(model)
        if self._controlled is not None:
            self._attached()

    def on_train_begin(self, logs=None):
        self._controlled, _ = install(self.model)
        self._attached()

    def _attached(self):
        """Runs after each attach, with `self._controlled` set; nothing by default."""

    @classmethod
    def from_config(cls, config):
        return cls(**config)
