"""Learning-rate callbacks: `ScheduleLR`, `ReduceLROnPlateau` and `LRLogger`.

Keras's own `LearningRateScheduler` and `ReduceLROnPlateau` assign a float to the
optimizer's learning rate, which fails ("... learning rate is not settable") when the
optimizer was built with a `LearningRateSchedule`. These callbacks never assign the
optimizer's rate. Instead, the first of them attached to a model puts a
`ControlledRate` in the optimizer:

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
  so it is in place whatever the order of the callbacks list.

The variables are deliberately not added to `optimizer.variables`: a model loaded
from a `.keras` file gets its `ControlledRate` from the config before any callback
exists, and an optimizer whose variable count differed from the saved one would
skip loading all of its state (Keras only warns). TensorFlow and torch read them
at every step; on JAX, whose compiled step only receives the optimizer's own
variables, the step is recompiled after each change (once per plateau reduction,
once per epoch under `ScheduleLR`).
"""

import inspect
import math
import warnings

import keras
import numpy as np
from keras import ops

from lrschedule import _validation as check

__all__ = ["ScheduleLR", "ReduceLROnPlateau", "LRLogger", "ControlledRate"]



def _register(cls):
    """Registers `cls` for Keras saving as "lrschedule>ClassName", under the module
    path `lrschedule.callbacks`.

    The path is the one users import from, the one reticulate puts in the R class
    vector ("lrschedule.callbacks.ControlledRate") and the one Keras writes as
    "module" in a saved config: the classes kept it when callbacks.py became a
    package, so configs saved before and after are the same.
    """
    cls.__module__ = "lrschedule.callbacks"
    return keras.saving.register_keras_serializable(package="lrschedule")(cls)

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule
_STATE_ATTR = "_lrschedule_state"


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


@_register
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
            schedule = _from_config("schedule", schedule)
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
        if len(step.shape) == 0:
            return ops.cast(self.schedule(step), "float32")
        # A vector of steps (inspection): Keras's CosineDecay with warmup branches
        # with ops.cond, which `evaluate` works around.
        from lrschedule.schedules import evaluate

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
        from lrschedule.inspection import values

        if self.schedule is None:
            base = np.full(np.shape(steps), held["base_rate"], dtype="float32")
        else:
            base = values(self.schedule, steps).astype("float32")
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


def _from_config(name, config):
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


def _optimizer_of(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(
            "The model has no optimizer. Compile the model before training it with "
            "lrschedule's callbacks."
        )
    # A LossScaleOptimizer (mixed precision) delegates its rate to the inner optimizer.
    return getattr(optimizer, "inner_optimizer", optimizer)


def _rate_object(optimizer):
    # Keras has no public getter for the schedule object itself (the `learning_rate`
    # property evaluates it), hence the private attribute, read in this one place.
    return optimizer._learning_rate


def _step_count(optimizer):
    # The optimizer evaluates its schedule at the raw iteration counter.
    return int(ops.convert_to_numpy(getattr(optimizer, "_iterations", optimizer.iterations)))


def _install(model):
    """The model's `ControlledRate`, putting one in the optimizer if needed.

    Returns `(controlled, changed)`; `changed` is True when the optimizer's rate
    object was replaced (the compiled train step must then be rebuilt).
    """
    optimizer = _optimizer_of(model)
    current = _rate_object(optimizer)
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
        _invalidate_train_function(model)
    return controlled, changed


def _invalidate_train_function(model):
    # A train step already compiled by an earlier fit() captured the previous rate
    # object; fit() rebuilds it right after set_model() when this is None.
    if getattr(model, "train_function", None) is not None:
        model.train_function = None


def _state_changed(model):
    """Call after writing a variable the compiled train step reads.

    TensorFlow and torch read the variables at every step. JAX compiles the step
    with the values of variables outside the optimizer's own list, so there the step
    is rebuilt (once per change) to see the new value.
    """
    if keras.backend.backend() == "jax" and getattr(model, "train_function", None) is not None:
        model.make_train_function(force=True)


def rate_used(model):
    """The learning rate the optimizer used at its most recent step (a Python float).

    Before the first step, the rate the first step will use. Whatever drives the
    rate: a constant, a schedule, a `ControlledRate`.
    """
    optimizer = _optimizer_of(model)
    rate = _rate_object(optimizer)
    if isinstance(rate, _LearningRateSchedule):
        step = max(_step_count(optimizer) - 1, 0)
        value = rate(ops.convert_to_tensor(step))
    elif callable(rate) and not isinstance(rate, keras.Variable):
        value = rate()
    else:
        value = rate
    return float(np.asarray(ops.convert_to_numpy(value)).reshape(()))


def _log_rate(model, logs):
    """Puts the rate used by the epoch's last step into the epoch logs.

    Keeps a value already there: it was written by one of our callbacks that ran
    earlier at this epoch's end, possibly before a plateau reduction that would
    otherwise be read back as if it had applied to this epoch.
    """
    if logs is not None and "learning_rate" not in logs:
        logs["learning_rate"] = rate_used(model)


class _RateCallback(keras.callbacks.Callback):
    """Shared plumbing: installs the `ControlledRate` as soon as the model is known."""

    def __init__(self):
        super().__init__()
        self._controlled = None

    def set_model(self, model):
        super().set_model(model)
        if getattr(model, "optimizer", None) is not None:
            self._controlled, _ = _install(model)

    def on_train_begin(self, logs=None):
        self._controlled, _ = _install(self.model)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# --------------------------------------------------------------------------------------
# ScheduleLR


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


@_register
class ScheduleLR(_RateCallback):
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

    Example:

        def step_decay(epoch):
            return 0.01 * 0.5 ** (epoch // 10)

        model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
        model.fit(x, y, epochs=50, callbacks=[lrschedule.ScheduleLR(step_decay)])
    """

    def __init__(self, schedule, verbose=0, arity=None):
        super().__init__()
        if isinstance(schedule, dict):
            schedule = _from_config("schedule", schedule)
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

    def _take_over(self):
        """Switches the optimizer to a held rate (ScheduleLR replaces a schedule)."""
        controlled = self._controlled
        if controlled.schedule is not None:
            step = _step_count(_optimizer_of(self.model))
            controlled.state.write("base_rate", float(ops.convert_to_numpy(controlled.base(step))))
            controlled.schedule = None
            _invalidate_train_function(self.model)

    def set_model(self, model):
        super().set_model(model)
        if self._controlled is not None:
            self._take_over()

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._take_over()

    def on_epoch_begin(self, epoch, logs=None):
        if isinstance(self.schedule, _LearningRateSchedule):
            value = self.schedule(epoch)
        elif self._arity == 1:
            value = self.schedule(epoch)
        else:
            value = self.schedule(epoch, self._controlled.learning_rate)
        rate = _checked_rate(value, epoch)
        self._controlled.state.write("base_rate", rate)
        _state_changed(self.model)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ScheduleLR setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        _log_rate(self.model, logs)

    def get_config(self):
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "verbose": self.verbose,
            "arity": self.arity,
        }


# --------------------------------------------------------------------------------------
# ReduceLROnPlateau


def _minimize_by_name(monitor, model):
    """Whether `monitor` should decrease, as Keras decides in mode "auto"."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return True
    metrics = []
    for metric in getattr(model, "metrics", None) or []:
        metrics.extend(getattr(metric, "metrics", None) or [metric])
    for metric in metrics:
        if getattr(metric, "name", None) == name:
            direction = getattr(metric, "_direction", None)
            if direction == "up":
                return False
            if direction == "down":
                return True
    raise ValueError(
        f"ReduceLROnPlateau received monitor={monitor!r}, but cannot tell whether that "
        "metric should be maximized or minimized. Pass mode='max' or mode='min'."
    )


@_register
class ReduceLROnPlateau(_RateCallback):
    """Reduces the learning rate when a metric has stopped improving — also over a schedule.

    Keras's rule (`keras.callbacks.ReduceLROnPlateau`), checked at the end of every
    epoch: an epoch improves on the best value so far if the monitored value beats it
    by more than `min_delta`; after `patience` epochs without improvement the rate is
    multiplied by `factor`, then `cooldown` epochs pass before epochs count again.
    A reduction happens only while the rate is above `min_lr`, and never takes it
    below `min_lr`.

    What differs: the reduction multiplies whatever drives the rate. With a constant
    rate the result is Keras's `new_lr = max(lr * factor, min_lr)`. With any schedule
    in the optimizer (ours or Keras's) the optimizer uses
    `max(schedule(step) * multiplier, min(schedule(step), min_lr))` from then on,
    where `multiplier` is the product of the reductions: the schedule keeps its
    shape, scaled down. Nothing fails with Keras's "not settable" error.

    The state (best value, wait and cooldown counters, multiplier) lives in Keras
    variables saved with the optimizer (see `ControlledRate`), so it survives
    `model.save()` / `keras.models.load_model()` and `BackupAndRestore`: a callback
    attached to a restored model continues where the saved one stopped (the
    counters are not reset when a new `fit()` starts). Callbacks run in list order
    at an epoch's end, so list this callback before `BackupAndRestore` or
    `ModelCheckpoint`: a backup written earlier at the same epoch's end would hold the
    state from before this epoch's update.

    Logs `learning_rate` (the rate used at the epoch's last step, before a reduction
    made at its end) into the epoch logs.

    Args:
        monitor: String, the quantity to monitor. Defaults to "val_loss".
        factor: A float, 0 < factor < 1: `new_lr = lr * factor`. Defaults to 0.1.
        patience: Integer >= 0, epochs without improvement before a reduction.
            Defaults to 10.
        mode: One of "auto", "min", "max". "auto" infers the direction from the
            name (losses decrease) or the compiled metric. Defaults to "auto".
        min_delta: A float >= 0, the change that counts as improvement.
            Defaults to 1e-4.
        cooldown: Integer >= 0, epochs to wait after a reduction before counting
            epochs without improvement again. Defaults to 0.
        min_lr: A float >= 0, lower bound of the rate for reductions. Defaults to 0.
        verbose: Integer >= 0. 1 prints a message at each reduction. Defaults to 0.

    Example:

        opt = keras.optimizers.Adam(learning_rate=lrschedule.OneCycle(1e-2, 1000))
        model.compile(optimizer=opt, loss="mse")
        model.fit(x, y, validation_split=0.2, epochs=20,
                  callbacks=[lrschedule.ReduceLROnPlateau(patience=3, factor=0.5)])
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        verbose=0,
    ):
        super().__init__()
        if not isinstance(monitor, str):
            check.fail_type("monitor", monitor, "a string naming a logged quantity")
        if not monitor:
            check.fail_value("monitor", monitor, "a non-empty string")
        self.monitor = monitor
        self.factor = check.number(
            "factor", factor, minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False
        )
        self.patience = check.integer("patience", patience, minimum=0)
        self.mode = check.choice("mode", mode, ("auto", "min", "max"))
        self.min_delta = check.non_negative("min_delta", min_delta)
        self.cooldown = check.integer("cooldown", cooldown, minimum=0)
        self.min_lr = check.non_negative("min_lr", min_lr)
        self.verbose = check.integer("verbose", verbose, minimum=0)
        self._minimize = None
        # The best value is saved as float32; within a run the exact value is kept so
        # comparisons are Keras's (a restored run compares with the float32 value).
        self._best_exact = None

    def _best(self):
        stored = self._controlled.best
        if stored is not None and self._best_exact is not None:
            if np.float32(self._best_exact) == np.float32(stored):
                return self._best_exact
        return stored

    def _attach(self):
        # min_lr is a property of the rate the callback drives; a newly attached
        # callback's value wins.
        self._controlled.state.write("min_lr", self.min_lr)

    def set_model(self, model):
        super().set_model(model)
        if self._controlled is not None:
            self._attach()

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._attach()

    def _is_improvement(self, current, best):
        if best is None:
            return True
        if self._minimize:
            return current < best - self.min_delta
        return current > best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if self._minimize is None:
            self._minimize = {"min": True, "max": False}.get(self.mode)
            if self._minimize is None:
                self._minimize = _minimize_by_name(self.monitor, self.model)
        logs["learning_rate"] = rate_used(self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau is conditioned on `{self.monitor}`, which is not in the "
                f"logs. Available: {', '.join(sorted(logs))}.",
                stacklevel=2,
            )
            return
        current = float(ops.convert_to_numpy(current))
        state = self._controlled.state
        best = self._best()
        wait = self._controlled.wait
        cooldown_counter = self._controlled.cooldown_counter
        multiplier = self._controlled.multiplier
        reduced = False

        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        if self._is_improvement(current, best):
            best = current
            wait = 0
        elif cooldown_counter == 0:
            wait += 1
            if wait >= self.patience:
                # The rate in force now (at the next step), the one a reduction scales.
                optimizer = _optimizer_of(self.model)
                now = float(ops.convert_to_numpy(self._controlled(_step_count(optimizer))))
                if now > np.float32(self.min_lr):
                    multiplier *= self.factor
                    cooldown_counter = self.cooldown
                    wait = 0
                    reduced = True

        self._best_exact = best
        state.write("best", best)
        state.write("wait", wait)
        state.write("cooldown_counter", cooldown_counter)
        if reduced:
            state.write("multiplier", multiplier)
            _state_changed(self.model)
            if self.verbose > 0:
                optimizer = _optimizer_of(self.model)
                new = float(ops.convert_to_numpy(self._controlled(_step_count(optimizer))))
                print(
                    f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                    f"{new} (multiplier {self._controlled.multiplier:g})."
                )

    def get_config(self):
        return {
            "monitor": self.monitor,
            "factor": self.factor,
            "patience": self.patience,
            "mode": self.mode,
            "min_delta": self.min_delta,
            "cooldown": self.cooldown,
            "min_lr": self.min_lr,
            "verbose": self.verbose,
        }


# --------------------------------------------------------------------------------------
# LRLogger


@_register
class LRLogger(keras.callbacks.Callback):
    """Puts the learning rate actually used into the logs, so `History` has it.

    Whatever drives the rate — a constant, a schedule, `ScheduleLR`,
    `ReduceLROnPlateau`'s multiplier — the epoch logs get `learning_rate`: the rate
    used by the epoch's last optimizer step. With `per="batch"` the rate of every
    batch is also kept, in `batch_rates` (with the optimizer step of each in
    `batch_steps`), reset when training starts.

    Per-batch logging costs next to nothing when the rate is a schedule (with or
    without lrschedule's callbacks): a batch only notes its index, and at the end of
    the epoch the schedule is evaluated on all of the epoch's steps at once, with the
    callbacks' state as it stood during the epoch (it changes only between epochs),
    as `lrschedule.values()` does: equal to the rates used up to float32 rounding.
    So `batch_rates` grows at each epoch's end. A rate held in a variable (a
    constant-rate optimizer, which other code may assign at any batch) is read at
    every batch.

    The logger does not change the optimizer.

    Args:
        per: "epoch" or "batch". Defaults to "epoch".

    Example:

        logger = lrschedule.LRLogger(per="batch")
        history = model.fit(x, y, epochs=3, callbacks=[logger])
        history.history["learning_rate"]; logger.batch_rates
    """

    def __init__(self, per="epoch"):
        super().__init__()
        self.per = check.choice("per", per, ("epoch", "batch"))
        self.batch_rates = []
        self.batch_steps = []
        self._epoch = None

    def on_train_begin(self, logs=None):
        self.batch_rates = []
        self.batch_steps = []
        self._epoch = None

    def on_train_batch_end(self, batch, logs=None):
        if self.per != "batch":
            return
        if self._epoch is not None:
            self._epoch["batches"].append(batch)
            return
        optimizer = _optimizer_of(self.model)
        rate = _rate_object(optimizer)
        if not isinstance(rate, _LearningRateSchedule):
            self.batch_steps.append(max(_step_count(optimizer) - 1, 0))
            self.batch_rates.append(rate_used(self.model))
            return
        # The first batch of the epoch: where its steps start, and the state of the
        # rate (ScheduleLR sets it before the first batch, ReduceLROnPlateau changes
        # it only after the last).
        held = rate.hold() if isinstance(rate, ControlledRate) else None
        self._epoch = {"rate": rate, "held": held, "batch": batch,
                       "step": max(_step_count(optimizer) - 1, 0), "batches": [batch]}

    def _flush(self):
        epoch, self._epoch = self._epoch, None
        if not epoch:
            return
        from lrschedule.inspection import values

        steps = [epoch["step"] + b - epoch["batch"] for b in epoch["batches"]]
        if epoch["held"] is not None:
            rates = epoch["rate"].rates_with(np.asarray(steps), epoch["held"])
        else:
            rates = values(epoch["rate"], np.asarray(steps))
        self.batch_steps.extend(steps)
        self.batch_rates.extend(float(r) for r in rates)

    def on_train_end(self, logs=None):
        self._flush()

    def on_epoch_end(self, epoch, logs=None):
        self._flush()
        _log_rate(self.model, logs)

    def get_config(self):
        return {"per": self.per}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
