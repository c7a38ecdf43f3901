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

With a smooth reduction (`ReduceLROnPlateau(decay_steps=N)`) the multiplier does not
jump: from the step a reduction is made, the rate moves from the rate in force then
(multiplier `decay_from`) to the reduced rate (multiplier `multiplier`) over N steps,

    rate(step) = interpolate(reduced(decay_from), reduced(multiplier), progress)

with `reduced(m)` the formula above and the interpolation's shape ("linear",
"cosine", "1-sqrt") a setting of the `ControlledRate` (`decay_type`), not of the state.

The rate state: one layout, which every callback of ours reads and writes
(DESIGN principle 3). Nine numbers, in this order (`_RateState.FIELDS`):

    base_rate         the held rate (a constant rate, or ScheduleLR's per-epoch value)
    multiplier        the product of the plateau reductions (1 until the first)
    min_lr            the floor of reductions
    best              the best monitored value (NaN before the first; in the variable,
                      0 with wait stored as -(wait + 1): JAX's multi-process checks
                      fail on NaN)
    wait              epochs without improvement since the last reset
    cooldown_counter  cooldown epochs left
    decay_from        the multiplier a smooth reduction starts from
    decay_start       the optimizer step at which it starts
    decay_steps       its length in optimizer steps (0: no smooth reduction)

The first six are the layout of 0.1.0's files, which load with no reduction in
progress. Steps are held as float32, exact up to 2**24 (16.7 million) steps.

* **In training** they are one float32 vector variable of the optimizer
  (`install()` binds it with `optimizer.add_variable`, named
  "lrschedule_rate_state"), so they are among `optimizer.variables`: the state
  every backend's compiled train step receives, and on JAX the only state it
  receives. A callback writes them (`write_state()`, one transfer for all) and
  the next step reads the new values: the step is compiled once per fit, not once
  per change, and nothing is read back from the device per batch (the callbacks
  read the state once per epoch end). Under JAX's `DataParallel` the vector is
  replicated like the optimizer's other scalars; under TensorFlow's
  `MirroredStrategy` it is an "only_first_replica" variable. The rates the callbacks
  report are computed from the same numbers (`ControlledRate.values_at()`), on JAX by
  one compiled function per schedule.
* **In a `.keras` file or a weights file** they are written twice: as numbers in
  the `ControlledRate`'s config (`get_config()`), which `load_model()` rebuilds
  them from, and as the child `optimizer/_lrschedule_state` of the weights store
  (`_RateState.save_own_variables()`), which `load_weights()` and therefore
  `BackupAndRestore` restore them from. The optimizer's own entries
  (`optimizer/vars`) keep exactly Keras's layout: Keras loads them by position and
  skips all of them (with only a warning) when their count differs, and a model
  loaded from a file gets a `ControlledRate` that is not bound yet. So the bound
  optimizer's `save_own_variables()`/`load_own_variables()` are wrapped, on the
  instance, to hide the state while Keras's own methods run
  (`_keep_keras_layout()`). Files written by 0.1.0 have this same layout.
* **Unbound** (a `ControlledRate` built by hand or from a config, before a
  callback attaches it) they are Python floats: nothing writes them then.

Groups: a `keras.optimizers.MultiOptimizer` (per-layer rates, `per_layer()`) routes
each variable to one of several optimizers, each with its own rate. Each of them is a
group (`groups_of()`), named after the optimizer, with its own rate state of the
layout above, bound to it; the primary group (the MultiOptimizer's default optimizer)
is the one whose rate is logged as `learning_rate`, and holds the plateau's counters
(one decision for all groups). The MultiOptimizer's own `learning_rate` (0) is never
used.

Steps: a schedule is called with the optimizer's counter, which counts micro-batches
under gradient accumulation (Keras's `optimizer._iterations`). lrschedule's steps are
updates: an accumulating optimizer's schedule is wrapped in `InUpdates` (counter //
k) by `count_updates()`, R's `optimizer_*()`, or `install()` (with one warning),
unless it is marked `InMicroBatches`.

The callbacks attach the state in `set_model()`, which Keras calls for every
callback before any `on_train_begin()`, so it is in place whatever the order of the
callbacks list (`RateCallback`), in particular before `BackupAndRestore` restores.

Keras internals, touched here and nowhere else (`find_lr` goes through this module):

* `optimizer.inner_optimizer`: a `LossScaleOptimizer` (mixed precision) delegates
  its rate to it (`optimizer_of()`);
* `optimizer._learning_rate`: the rate object itself, which Keras has no public
  getter for (`rate_object()`);
* `optimizer._iterations`: the counter the optimizer evaluates its schedule at,
  which counts micro-batches under gradient accumulation (`step_count()`);
* `model.train_function`: a compiled step captured the rate object and the
  optimizer variables it was built with, so it is dropped when either changes
  (`invalidate_train_function()`; `fit()` then builds it again);
* `optimizer._variables`: the list behind `optimizer.variables`, from which the
  state is hidden while Keras saves or loads the optimizer (`_rate_state_hidden()`);
* `model.jax_state_sync()`: on JAX, brings the trainer's state back into the
  variables before a callback writes one (`write_state()`);
* `keras.src.utils.io_utils.print_msg`: how Keras's callbacks print, to stdout or,
  with `keras.config.disable_interactive_logging()`, to absl logging
  (`print_message()`).
"""

import contextlib
import logging
import math
import types
import weakref

import keras
import numpy as np
from keras import ops

from lrschedule import _validation as check
from lrschedule import inspection
from lrschedule._horizon import AccumulationWarning, emit
from lrschedule.schedules import (
    InMicroBatches,
    InUpdates,
    _interpolate,
    evaluate,
    takes_length,
)

try:
    from keras.src.utils.io_utils import print_msg as _keras_print_msg
except ImportError:  # pragma: no cover - a Keras that moved it
    _keras_print_msg = None

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule
_STATE_ATTR = "_lrschedule_state"
# The state fields the rate itself depends on (the others are the plateau's counters).
_HELD = ("base_rate", "multiplier", "min_lr")
# ...and, with a smooth reduction configured, the reduction in progress.
_DECAY = ("decay_from", "decay_start", "decay_steps")
# ControlledRate's decay_type -> the interpolation of schedules._interpolate.
_DECAY_TYPES = {"linear": "linear", "cosine": "cos", "1-sqrt": "1-sqrt"}


def print_message(message, line_break=True):
    """Prints as Keras's own callbacks do: stdout, or absl logging when Keras's
    interactive logging is off."""
    if _keras_print_msg is None:  # pragma: no cover - a Keras that moved it
        print(message, end="\n" if line_break else "", flush=True)
    else:
        _keras_print_msg(message, line_break=line_break)


def _host_value(variable):
    """A variable's value as numpy. Under JAX multi-process training a replicated
    variable spans devices of other processes, which numpy cannot fetch: its local
    copy is read instead (every copy holds the same value), by `addressable_data(0)`
    (JAX 0.10's `addressable_shards` fails on such arrays: "the input arrays must have
    one shard each")."""
    value = getattr(variable, "value", variable)
    if not getattr(value, "is_fully_addressable", True) and hasattr(value, "addressable_data"):
        return np.asarray(value.addressable_data(0))
    return ops.convert_to_numpy(value)


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
    """The numbers behind a `ControlledRate` (`FIELDS`), unbound or bound to an optimizer.

    Unbound (a `ControlledRate` built by hand or from a config), the numbers are Python
    floats: nothing changes them, and a compiled step may take them as constants.
    `bind()` moves them into one float32 vector variable created by the optimizer
    (`optimizer.add_variable`, "lrschedule_rate_state", in `FIELDS` order), so they are
    among `optimizer.variables`: the state every backend's compiled train step
    receives (on JAX, the only state it receives). A callback's write is then read by
    the next step without rebuilding it; one vector costs one read or one write per
    callback call, where six scalars cost six.

    A `Layer` only because a layer is what Keras's saving walks into: attached to the
    optimizer as `_lrschedule_state`, its `save_own_variables()` writes the numbers
    under `optimizer/_lrschedule_state` in `save_weights()` and `.keras` files, as
    scalars in `FIELDS` order (0.1.0's files hold the first six, and load). It is
    never called.
    """

    FIELDS = ("base_rate", "multiplier", "min_lr", "best", "wait", "cooldown_counter",
              "decay_from", "decay_start", "decay_steps")
    # The fields of 0.1.0's files, and the values the later ones take when loading them.
    FIELDS_0_1 = FIELDS[:6]
    DEFAULTS = {"decay_from": 1.0, "decay_start": 0.0, "decay_steps": 0.0}
    _INDEX = {field: i for i, field in enumerate(FIELDS)}

    def __init__(self, values, **kwargs):
        super().__init__(trainable=False, dtype="float32", **kwargs)
        # Not tracked by the Layer: the saved layout is written by save_own_variables().
        values = dict(self.DEFAULTS, **values)
        object.__setattr__(self, "_values", {f: float(values[f]) for f in self.FIELDS})
        object.__setattr__(self, "_vector", None)
        object.__setattr__(self, "_owner", None)
        self.built = True

    def owner(self):
        """The optimizer whose variable holds the numbers, or None (unbound).

        A method, not a property: Keras's saving walks a layer's attributes, and an
        attribute leading back to the optimizer would be walked into forever.
        """
        return self._owner() if self._owner is not None else None

    @property
    def bound_variables(self):
        """The optimizer variable holding the numbers (a list: empty when unbound)."""
        return [] if self._vector is None else [self._vector]

    # In the variable, "no best value yet" is best = 0 with wait stored as -(wait + 1)
    # (wait is never negative otherwise), not NaN: under JAX multi-process training every value put
    # into a replicated variable is checked to be the same on each process, and
    # NaN != NaN fails that check. Files and configs keep NaN/None, as 0.1.0 wrote them.
    def _to_vector(self, values):
        values = dict(values)
        if math.isnan(values["best"]):
            values["best"], values["wait"] = 0.0, -(values["wait"] + 1.0)
        return np.array([values[f] for f in self.FIELDS], dtype="float32")

    def _from_vector(self, vector):
        values = {field: float(vector[i]) for i, field in enumerate(self.FIELDS)}
        if values["wait"] < 0:
            values["best"], values["wait"] = float("nan"), -values["wait"] - 1.0
        return values

    def bind(self, optimizer):
        """Moves the numbers into a variable of `optimizer`; returns True if it did."""
        if self._owner is not None:
            if self.owner() is optimizer:
                return False
            raise ValueError("this rate state is already bound to another optimizer")
        vector = optimizer.add_variable(
            shape=(len(self.FIELDS),),
            initializer=keras.initializers.Constant(self._to_vector(self._values)),
            dtype="float32",
            # One value for all replicas: TensorFlow's MirroredStrategy keeps it in
            # sync (the callbacks write it outside the replica context).
            aggregation="only_first_replica",
            name="lrschedule_rate_state",
        )
        object.__setattr__(self, "_vector", vector)
        object.__setattr__(self, "_owner", weakref.ref(optimizer))
        return True

    def variable(self, field):
        """What the compiled rate reads: the bound vector's element, or the unbound float."""
        if self._vector is None:
            return self._values[field]
        return self._vector[self._INDEX[field]]

    def read_all(self):
        """All the numbers, as a dict of Python floats (one read of the device)."""
        if self._vector is None:
            return dict(self._values)
        return self._from_vector(np.asarray(_host_value(self._vector), dtype=np.float64))

    def read(self, field):
        return self.read_all()[field]

    def numbers(self):
        """`read_all()` as the callbacks and configs use it: `best` None before the
        first value, the counters as integers."""
        values = self.read_all()
        values["best"] = None if math.isnan(values["best"]) else values["best"]
        values["wait"] = int(round(values["wait"]))
        values["cooldown_counter"] = int(round(values["cooldown_counter"]))
        values["decay_start"] = int(round(values["decay_start"]))
        values["decay_steps"] = int(round(values["decay_steps"]))
        return values

    def write(self, **values):
        """Sets some of the numbers (`field=value`); one write of the device. Returns
        all of them, as `read_all()` would."""
        unknown = set(values) - set(self.FIELDS)
        if unknown:
            raise KeyError(f"unknown rate-state fields: {sorted(unknown)}")
        if self._vector is None:
            self._values.update({f: float(v) for f, v in values.items()})
            return dict(self._values)
        current = self.read_all()
        current.update({f: float(v) for f, v in values.items()})
        self._vector.assign(self._to_vector(current))
        return current

    # -- saving (FIELDS order, float32 scalars; 0.1.0's files hold the first six) -------

    def save_own_variables(self, store):
        values = self.read_all()
        for i, field in enumerate(self.FIELDS):
            store[str(i)] = np.asarray(values[field], dtype="float32")

    def load_own_variables(self, store):
        count = len(store.keys())
        if count == len(self.FIELDS_0_1):
            fields, values = self.FIELDS_0_1, dict(self.DEFAULTS)  # a 0.1.0 file
        elif count == len(self.FIELDS):
            fields, values = self.FIELDS, {}
        else:
            raise ValueError(
                f"The saved learning-rate state has {count} values where lrschedule "
                f"expects {len(self.FIELDS)} ({', '.join(self.FIELDS)}) or, in files of "
                f"lrschedule 0.1.0, {len(self.FIELDS_0_1)}: the file was not written by "
                "lrschedule or is damaged."
            )
        values.update({field: np.asarray(store[str(i)]).reshape(())
                       for i, field in enumerate(fields)})
        self.write(**values)


@register
class ControlledRate(_LearningRateSchedule):
    """The learning rate driven by lrschedule's callbacks: a base rate times a multiplier.

    `rate(step) = reduced(multiplier)`, with
    `reduced(m) = max(base(step) * m, min(base(step), min_lr))`

    `base` is `schedule(step)` or, when `schedule` is None, the held `learning_rate`.
    The floor makes `min_lr` a bound on reductions only: a reduction never takes the
    rate below `min_lr`, and never raises a rate the base schedule itself put below
    it. With `multiplier = 1` the rate is exactly the base.

    With `decay_type` set, a reduction can be smooth: from step `decay_start` to
    `decay_start + decay_steps` the rate moves from `reduced(decay_from)` to
    `reduced(multiplier)` along the shape `decay_type` ("linear", "cosine" or
    "1-sqrt", as `WarmupStableDecay`'s decay), and is `reduced(multiplier)` after.

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
        decay_type: None, or "linear", "cosine" or "1-sqrt": the shape of smooth
            reductions (`ReduceLROnPlateau(decay_steps=...)` sets it). Defaults to None
            (reductions are steps).
        decay_from: A float > 0, the multiplier the smooth reduction in progress
            started from. Defaults to `multiplier`.
        decay_start: Integer >= 0, the optimizer step at which it started.
        decay_steps: Integer >= 0, its length in optimizer steps (0: none).
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
        decay_type=None,
        decay_from=None,
        decay_start=0,
        decay_steps=0,
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
            "decay_start": check.integer("decay_start", decay_start, minimum=0),
            "decay_steps": check.integer("decay_steps", decay_steps, minimum=0),
        }
        values["decay_from"] = (values["multiplier"] if decay_from is None
                                else check.positive("decay_from", decay_from))
        if decay_type is not None:
            decay_type = check.choice("decay_type", decay_type, tuple(_DECAY_TYPES))
        # Checked here: keras.name_scope() would only refuse it when the rate is used.
        if not isinstance(name, str):
            check.fail_type("name", name, "a string")
        if "/" in name:
            check.fail_value("name", name, "a string without the character `/`")
        self.schedule = schedule
        self.name = name
        self.decay_type = decay_type
        self.state = _RateState(values)

    # -- the rate ---------------------------------------------------------------------

    def base(self, step):
        """The rate before any plateau reduction, at `step` (elementwise)."""
        return self._base(ops.convert_to_tensor(step), self.state.variable("base_rate"))

    def _base(self, steps, base_rate):
        if self.schedule is None:
            return ops.cast(ops.ones_like(steps), "float32") * base_rate
        # evaluate(): the schedule itself at a scalar step (the train step); at a vector
        # of steps (inspection) it works around Keras's scalar-only CosineDecay warmup.
        return ops.cast(evaluate(self.schedule, steps), "float32")

    def _held_fields(self):
        return _HELD + _DECAY if self.decay_type is not None else _HELD

    def _formula(self, steps, base_rate, multiplier, min_lr, *decay):
        return self._combine(steps, self._base(steps, base_rate), multiplier, min_lr, *decay)

    def _combine(self, steps, base, multiplier, min_lr, *decay):
        """The rate from the base rates at `steps`: reductions, and a smooth one."""
        min_lr = ops.cast(min_lr, base.dtype)
        rate = _reduced(base, ops.cast(multiplier, base.dtype), min_lr)
        if not decay:
            return rate
        # A smooth reduction: from reduced(decay_from) at decay_start to rate at
        # decay_start + decay_steps. `ahead` counts the steps still to go, in [0, n]:
        # 0 when no reduction is in progress (n = 0), so the weight of the start is 0.
        decay_from, start, n = (ops.cast(v, base.dtype) for v in decay)
        d = ops.maximum(n, 1.0)
        steps = ops.cast(steps, base.dtype)
        ahead = ops.minimum(ops.maximum(start + n - steps, 0.0), n)
        start_rate = _reduced(base, decay_from, min_lr)
        return _interpolate(start_rate, rate, (d - ahead) / d, ahead / d,
                            _DECAY_TYPES[self.decay_type])

    def __call__(self, step):
        with keras.name_scope(self.name):
            step = ops.convert_to_tensor(step)
            return self._formula(step, *(self.state.variable(f) for f in self._held_fields()))

    def hold(self, values=None):
        """The state numbers the rate depends on now (or in `values`, as `read_all()`
        returns them), for `values_at()`."""
        values = self.state.read_all() if values is None else values
        return {field: values[field] for field in self._held_fields()}

    def values_at(self, steps, held=None):
        """The rates at `steps` (a step, or a 1-D array of steps) as numpy float32,
        with the state as it stands, or as it stood when `hold()` returned `held`.

        The callbacks' queries from Python (the rate to log, the rate a reduction
        scales). On JAX and TensorFlow they run as one compiled function per schedule,
        taking the state as arguments (`_compiled()`).
        """
        held = self.hold() if held is None else held
        args = [np.float32(held[field]) for field in self._held_fields()]
        steps = np.asarray(steps, dtype=np.int64)
        try:
            compiled = self._compiled()
            if compiled is not None:
                out = compiled(_host_steps(steps), *args)
            else:
                out = self._formula(ops.convert_to_tensor(steps), *args)
            out = np.asarray(ops.convert_to_numpy(out), dtype=np.float32)
            if out.shape != steps.shape:
                raise ValueError("not elementwise")
            return out
        except Exception:  # noqa: BLE001 - a user's scalar-only schedule at several steps
            if steps.ndim == 0 or self.schedule is None:
                raise
        base = inspection.values(self.schedule, steps).astype("float32")
        out = self._combine(ops.convert_to_tensor(steps), ops.convert_to_tensor(base), *args[1:])
        return np.asarray(ops.convert_to_numpy(out), dtype=np.float32)

    def _compiled(self):
        # Rebuilt when the schedule is replaced (ScheduleLR holds a rate instead) or a
        # smooth reduction is configured.
        cached = self.__dict__.get("_compiled_formula")
        key = (self.schedule, self.decay_type)
        if cached is None or cached[0][0] is not key[0] or cached[0][1] != key[1]:
            cached = (key, _compile(self._formula))
            self.__dict__["_compiled_formula"] = cached
        return cached[1]

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
        return self.state.numbers()["best"]

    @property
    def wait(self):
        return self.state.numbers()["wait"]

    @property
    def cooldown_counter(self):
        return self.state.numbers()["cooldown_counter"]

    def get_config(self):
        schedule = self.schedule
        state = self.state.numbers()
        return {
            "schedule": None if schedule is None else keras.saving.serialize_keras_object(schedule),
            "learning_rate": state["base_rate"] if schedule is None else None,
            "multiplier": state["multiplier"],
            "min_lr": state["min_lr"],
            "best": state["best"],
            "wait": state["wait"],
            "cooldown_counter": state["cooldown_counter"],
            "name": self.name,
            "decay_type": self.decay_type,
            "decay_from": state["decay_from"],
            "decay_start": state["decay_start"],
            "decay_steps": state["decay_steps"],
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


def _reduced_number(values):
    """The rate a held base rate gives with the state's reductions (`values` as
    `read_all()` returns them), as a Python float: `_reduced()` of the numbers."""
    base = values["base_rate"]
    return max(base * values["multiplier"], min(base, values["min_lr"]))


def _reduced(base, multiplier, min_lr):
    # The ControlledRate formula: reductions scale the base, floored at min_lr, but a
    # base already below min_lr is never raised.
    return ops.maximum(base * multiplier, ops.minimum(base, min_lr))


# --------------------------------------------------------------------------------------
# The optimizer plumbing (Keras's private attributes are read here only)


_MultiOptimizer = getattr(keras.optimizers, "MultiOptimizer", None)


def _is_multi(optimizer):
    return _MultiOptimizer is not None and isinstance(optimizer, _MultiOptimizer)


def _top_optimizer(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(
            "The model has no optimizer. Compile the model before training it with "
            "lrschedule's callbacks."
        )
    # A LossScaleOptimizer (mixed precision) delegates its rate to the inner optimizer.
    return getattr(optimizer, "inner_optimizer", optimizer)


class Group:
    """One optimizer that owns a learning rate: the model's optimizer, or one of a
    `MultiOptimizer`'s (`name` is then its name, made unique as Keras makes layer
    names unique: "adam", "adam_1"). `primary` marks the group whose rate is
    `learning_rate` in the logs: the only one, or the MultiOptimizer's default
    optimizer (the first one holding variables when the default holds none)."""

    def __init__(self, name, optimizer, primary, index=0):
        self.name = name
        self.optimizer = optimizer
        self.primary = primary
        self.index = index  # the position among the MultiOptimizer's optimizers

    def __repr__(self):
        return f"Group({self.name!r}, {type(self.optimizer).__name__})"


def groups_of(model):
    """The optimizers owning the model's rates (`Group`s), the primary one first.

    `model` may also be an optimizer. A `MultiOptimizer` (Keras 3.15) routes each
    variable to one of its optimizers: each is a group. Its own `learning_rate` (0,
    never used) is not one.
    """
    if isinstance(model, keras.optimizers.Optimizer):
        top = getattr(model, "inner_optimizer", model)
    else:
        top = _top_optimizer(model)
    if not _is_multi(top):
        return [Group(None, top, True)]
    inner = list(top.optimizers)
    used, names = {}, []
    for optimizer in inner:
        base = optimizer.name
        count = used.get(base, 0)
        used[base] = count + 1
        names.append(base if count == 0 else f"{base}_{count}")
    default = getattr(getattr(top, "_optimizer_map", None), "default_optimizer", None)
    candidates = [o for o in inner if o is default] + [o for o in inner if o is not default]
    built = [o for o in candidates if getattr(o, "built", False)]
    primary = (built or candidates or [None])[0]
    groups = [Group(name, o, o is primary, i) for i, (name, o) in enumerate(zip(names, inner))]
    return sorted(groups, key=lambda g: not g.primary)


def group_names(model):
    """The names of the model's rate groups (empty for a single optimizer)."""
    return [g.name for g in groups_of(model) if g.name is not None]


def select_groups(model, names, argument="groups"):
    """The groups `names` selects (None: all), or a clear error naming the argument."""
    groups = groups_of(model)
    if names is None:
        return groups
    known = [g.name for g in sorted(groups, key=lambda g: g.index) if g.name is not None]
    if not known:
        check.fail_value(
            argument, names,
            "given only when the model's optimizer is a keras.optimizers.MultiOptimizer, "
            "whose optimizers it names (this model's optimizer is a single "
            f"{type(groups[0].optimizer).__name__})")
    wanted = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in wanted if n not in known]
    if unknown or not wanted:
        check.fail_value(argument, names, "names of the MultiOptimizer's optimizers: "
                         + ", ".join(repr(n) for n in known))
    return [g for g in groups if g.name in wanted]


def optimizer_of(model, group=None):
    """The optimizer that owns the model's learning rate (of a MultiOptimizer: the
    primary group's, or the group named `group`)."""
    if group is None:
        return groups_of(model)[0].optimizer
    return select_groups(model, [group], "group")[0].optimizer


def rate_object(optimizer):
    """The optimizer's rate itself: a schedule, or the variable holding a constant rate."""
    # Keras has no public getter for the schedule object itself (the `learning_rate`
    # property evaluates it), hence the private attribute, read in this one place.
    return optimizer._learning_rate


def set_rate_object(optimizer, schedule):
    """Gives the optimizer a new rate object (a schedule), through Keras's setter.

    Called as the property's setter itself: `optimizer.learning_rate = x` first reads
    the current rate on TensorFlow (its tracking compares the old value), which
    evaluates the current schedule, and a schedule waiting for its length cannot be.
    """
    type(optimizer).learning_rate.fset(optimizer, schedule)


def step_count(optimizer):
    """The step the optimizer's next update evaluates its rate at."""
    # The optimizer evaluates its schedule at the raw iteration counter (micro-batches
    # under gradient accumulation: see InUpdates).
    return int(_host_value(getattr(optimizer, "_iterations", optimizer.iterations)))


def accumulation_steps(optimizer):
    """The optimizer's `gradient_accumulation_steps` (an int >= 2), or None."""
    steps = getattr(optimizer, "gradient_accumulation_steps", None)
    return int(steps) if steps else None


def _counted(schedule, depth=0):
    # Says how the schedule counts under accumulation (wrapped by the user or us),
    # itself or a schedule it wraps (Scaled(InUpdates(...)) from per_layer()).
    if isinstance(schedule, (InUpdates, InMicroBatches)):
        return True
    if depth > 20:
        return False
    inner = getattr(schedule, "schedule", None)
    inner = [inner] if inner is not None else list(getattr(schedule, "schedules", None) or [])
    return any(isinstance(i, _LearningRateSchedule) and _counted(i, depth + 1) for i in inner)


def count_in_updates(schedule, optimizer, warn=True):
    """`schedule` counted in the optimizer's updates (`InUpdates`) when the optimizer
    accumulates gradients and the schedule says nothing of how it counts; else
    `schedule` itself. Warns (`warn_micro_batches()`) when it wraps and `warn`."""
    if not counts_micro_batches(schedule, optimizer):
        return schedule
    if warn:
        warn_micro_batches(schedule, optimizer, wrapped=True)
    return InUpdates(schedule, accumulation_steps(optimizer))


def counts_micro_batches(schedule, optimizer):
    """Whether Keras evaluates `schedule` at the micro-batch counter of an accumulating
    optimizer without the schedule saying so (`InUpdates`/`InMicroBatches`)."""
    return (accumulation_steps(optimizer) is not None
            and isinstance(schedule, _LearningRateSchedule) and not _counted(schedule))


def warn_micro_batches(schedule, optimizer, wrapped):
    """The one warning for an accumulating optimizer with a schedule counted by Keras in
    micro-batches: `wrapped` when our rate control now counts it in updates."""
    steps = accumulation_steps(optimizer)
    now = (
        "lrschedule's callbacks count it in updates from now on: the update u uses "
        f"schedule(u), as lrschedule.InUpdates(schedule, {steps}) does"
        if wrapped else
        "it is left so (LRLogger does not change the optimizer); the rates it logs are "
        "the ones used"
    )
    emit(
        f"The optimizer {optimizer.name!r} accumulates gradients over {steps} batches "
        f"(gradient_accumulation_steps={steps}), and Keras evaluates its schedule "
        f"{_short(schedule)} at the batch counter, which runs it {steps} times too fast "
        f"for a schedule written in updates; {now}. This optimizer was built without "
        "lrschedule.count_updates(): pass it through lrschedule.count_updates(optimizer) "
        "to count updates (from R, build it with lrschedule's optimizer functions, e.g. "
        "lrschedule::optimizer_adamw(..., gradient_accumulation_steps = ...), which do; "
        "keras3's optimizer_*() and Keras's classes do not), or wrap the schedule in "
        "lrschedule.InMicroBatches(schedule) (schedule_in_micro_batches() in R) to keep "
        "Keras's counting; either silences this warning.",
        AccumulationWarning, stacklevel=5,
    )


def _short(schedule):
    text = repr(schedule)
    return text if len(text) <= 80 else type(schedule).__name__ + "(...)"


_DEFAULT_STATE = {"base_rate": 0.0, "multiplier": 1.0, "min_lr": 0.0, "best": float("nan"),
                  "wait": 0.0, "cooldown_counter": 0.0}


def install(model):
    """The model's rates, ready for the callbacks to drive: a `DrivenRates`, one
    `DrivenRate` per group (`groups_of()`: the optimizer, or each optimizer of a
    `MultiOptimizer`).

    * An optimizer built with a constant rate keeps Keras's own `learning_rate`
      variable (so `optimizer.learning_rate` reads and assigns as in Keras, and
      Keras's `LearningRateScheduler` can run beside ours); the rate state is a
      `_RateState` of its own, bound to the optimizer.
    * An optimizer built with a schedule gets a `ControlledRate` wrapping it (Keras
      cannot assign a scheduled rate), whose state is bound to the optimizer. When
      the optimizer accumulates gradients, a schedule that does not say how it
      counts is counted in updates (`count_in_updates()`, with one warning).

    Either way the state is bound into a variable of the optimizer and attached for
    Keras's saving. Idempotent. Returns `(rates, changed)`; `changed` is True when an
    optimizer's rate object or its variables changed (the compiled train step has
    then been dropped, and `fit()` rebuilds it).
    """
    rates, changed = [], False
    for group in groups_of(model):
        rate, group_changed = _install_one(group)
        rates.append(rate)
        changed = changed or group_changed
    _keep_keras_layout(model.optimizer)
    if changed:
        invalidate_train_function(model)
    return DrivenRates(rates), changed


def _install_one(group):
    optimizer = group.optimizer
    current = rate_object(optimizer)
    changed = False
    controlled = None
    if isinstance(current, ControlledRate):
        controlled = current
        owner = controlled.state.owner()
        if owner is not None and owner is not optimizer:
            # The one object was given to a second optimizer: each gets its own state.
            controlled = ControlledRate.from_config(current.get_config())
            set_rate_object(optimizer, controlled)
            changed = True
        if controlled.schedule is not None:
            counted = count_in_updates(controlled.schedule, optimizer)
            if counted is not controlled.schedule:
                controlled.schedule = counted
                changed = True
        state = controlled.state
    elif isinstance(current, _LearningRateSchedule):
        controlled = ControlledRate(schedule=count_in_updates(current, optimizer))
        # The setter accepts a schedule in every case.
        set_rate_object(optimizer, controlled)
        changed = True
        state = controlled.state
    elif isinstance(current, keras.Variable):
        state = optimizer.__dict__.get(_STATE_ATTR)
        if state is None or state.owner() not in (None, optimizer):
            state = _RateState(dict(_DEFAULT_STATE,
                                    base_rate=float(_host_value(current))))
    else:
        raise TypeError(
            "lrschedule's callbacks need an optimizer whose `learning_rate` is a number "
            "or a keras.optimizers.schedules.LearningRateSchedule. Received an optimizer "
            f"with learning_rate={current!r} (of type {type(current).__name__})."
        )
    if state.bind(optimizer):
        changed = True
    if getattr(optimizer, _STATE_ATTR, None) is not state:
        setattr(optimizer, _STATE_ATTR, state)
    return DrivenRate(optimizer, state, controlled, group.name), changed


class DrivenRates(list):
    """The `DrivenRate` of every group, the primary one first (`primary`)."""

    @property
    def primary(self):
        return self[0]

    @property
    def grouped(self):
        """True for a MultiOptimizer's groups (their rates get a column each)."""
        return self[0].name is not None

    def select(self, names):
        """The rates of the groups named (None: all); names checked at attach."""
        if names is None:
            return list(self)
        return [r for r in self if r.name in names]


class DrivenRate:
    """The one thing the callbacks drive: the optimizer's rate and its rate state.

    `controlled` is the optimizer's `ControlledRate` (a schedule, or a held rate), or
    None when the optimizer keeps Keras's own rate variable (built with a constant
    rate). Every change goes through here, so the two cases differ in this class only.
    """

    def __init__(self, optimizer, state, controlled, name=None):
        self.optimizer = optimizer
        self.state = state
        self.controlled = controlled
        self.name = name

    @property
    def variable(self):
        """Keras's own rate variable, or None (a `ControlledRate` drives the rate)."""
        return None if self.controlled is not None else rate_object(self.optimizer)

    def base(self):
        """The rate before plateau reductions: `lr` of a ScheduleLR function of two
        arguments."""
        return self.state.read("base_rate")

    def now(self):
        """The rate in force now: the one the next step uses."""
        if self.controlled is None:
            return float(_host_value(self.variable))
        return float(self.controlled.values_at(step_count(self.optimizer)))

    def write(self, model, **fields):
        return write_state(model, self.state, **fields)

    def hold_schedule(self, model):
        """Replaces a schedule by its rate now, held (what ScheduleLR drives)."""
        controlled = self.controlled
        if controlled is not None and controlled.schedule is not None:
            if takes_length(controlled.schedule):
                raise ValueError(
                    "ScheduleLR replaces the optimizer's schedule by the rates it sets, and "
                    f"this one ({type(controlled.schedule).__name__}) has no length yet (it "
                    "would take it from fit()): compile the optimizer with a rate, or with a "
                    "schedule given its length.")
            step = step_count(self.optimizer)
            self.write(model, base_rate=float(ops.convert_to_numpy(controlled.base(step))))
            controlled.schedule = None
            invalidate_train_function(model)

    def set_base(self, model, value):
        """Sets the held rate (ScheduleLR's value for the epoch), reductions applied."""
        values = self.write(model, base_rate=value)
        if self.controlled is None:
            self.variable.assign(_reduced_number(values))

    def reduce(self, model, factor, min_lr):
        """A plateau's reduction. Returns the new rate (as Keras prints it), or None when
        the rate is at `min_lr` already.

        With Keras's rate variable it is Keras's own rule and rounding: the float32 rate
        read as a Python float, times `factor`, floored at `min_lr`, assigned (rounded to
        float32). With a `ControlledRate` the multiplier is multiplied by `factor`.
        Either way the state's multiplier records the product of the reductions.
        """
        old = self.now()
        if not old > np.float32(min_lr):
            return None
        multiplier = self.state.read("multiplier") * factor
        self.write(model, multiplier=multiplier)
        if self.controlled is None:
            new = max(old * factor, min_lr)
            self.variable.assign(new)
            return new
        return self.now()

    def allow_smooth(self, model, decay_type):
        """Makes smooth reductions of shape `decay_type` possible (`decay()`). Returns
        True when the optimizer's rate object changed (the train step must be rebuilt).

        A smooth reduction is computed in the train step, so it needs a
        `ControlledRate`: an optimizer keeping Keras's own rate variable (built with a
        constant rate) gets one holding that rate, with the state it had. (Keras's
        setter then stops tracking its variable: the optimizer's saved variables are a
        scheduled optimizer's, the same in every run with this callback.)
        """
        changed = False
        if self.controlled is None:
            rate = float(_host_value(self.variable))
            driven = _reduced_number(self.state.read_all())
            controlled = ControlledRate(learning_rate=rate)
            object.__setattr__(controlled, "state", self.state)  # the bound state
            if np.float32(driven) != np.float32(rate):
                # The variable was set by someone else (Keras's LearningRateScheduler):
                # hold what is in force.
                self.write(model, base_rate=rate, multiplier=1.0, decay_steps=0.0)
            set_rate_object(self.optimizer, controlled)
            self.controlled = controlled
            changed = True
        if self.controlled.decay_type != decay_type:
            self.controlled.decay_type = decay_type
            changed = True
        if changed:
            invalidate_train_function(model)
        return changed

    def decay(self, model, factor, min_lr, updates):
        """A plateau's smooth reduction: from the rate in force now to the rate reduced
        by `factor` (floored at `min_lr` as `reduce()`), over the next `updates`
        optimizer updates. Returns the rate it ends at (at today's base), or None when
        the rate is at `min_lr` already.

        The multiplier records the product of the reductions (the target); the start
        is the multiplier in force now, so a reduction made while another is in
        progress continues from the rate reached, without a jump. Under gradient
        accumulation (k micro-batches per update) the decay starts at the counter of
        the next update and spans `updates * k` counts, so update j of it is at
        progress j / updates exactly.
        """
        k = accumulation_steps(self.optimizer) or 1
        step = step_count(self.optimizer)
        start = step + (k - 1 - step) % k  # the counter the next update sees
        values = self.state.read_all()  # one read of the device for what follows
        held = self.controlled.hold(values)
        old = float(self.controlled.values_at(start, held))
        if not old > np.float32(min_lr):
            return None
        base = float(self.controlled.values_at(
            start, dict(held, multiplier=1.0, min_lr=0.0, decay_steps=0.0)))
        # The multiplier in force: the rate over the base, unless the rate sits on the
        # floor (min(base, min_lr)), where the target's multiplier is the one in force.
        above_floor = base > 0 and np.float32(old) > np.float32(min(base, values["min_lr"]))
        from_multiplier = old / base if above_floor else values["multiplier"]
        target = values["multiplier"] * factor
        span = updates * k
        held.update(multiplier=target, decay_from=from_multiplier,
                    decay_start=float(start), decay_steps=float(span))
        self.write(model, **{f: held[f] for f in _DECAY + ("multiplier",)})
        return float(self.controlled.values_at(start + span, held))


def _optimizer_chain(optimizer):
    # The model's optimizer, then the ones it wraps (a LossScaleOptimizer's inner one,
    # a MultiOptimizer's optimizers).
    if optimizer is None:
        return
    yield optimizer
    yield from _optimizer_chain(getattr(optimizer, "inner_optimizer", None))
    if _is_multi(optimizer):
        for inner in optimizer.optimizers:
            yield from _optimizer_chain(inner)


@contextlib.contextmanager
def _rate_state_hidden(optimizer):
    """Takes the bound rate-state variables out of `optimizer.variables` (and out of
    those of the optimizers it wraps) for the duration, putting them back in place."""
    removed = []
    for owner in _optimizer_chain(optimizer):
        state = owner.__dict__.get(_STATE_ATTR)
        if state is None or state.owner() is not owner:
            continue
        ours = {id(v) for v in state.bound_variables}
        positions = [(i, v) for i, v in enumerate(owner._variables) if id(v) in ours]
        for i, _ in reversed(positions):
            del owner._variables[i]
        removed.append((owner, positions))
    try:
        yield
    finally:
        for owner, positions in removed:
            for i, variable in positions:
                owner._variables.insert(i, variable)


def _in_keras_layout(name):
    def method(self, store):
        with _rate_state_hidden(self):
            return getattr(type(self), name)(self, store)

    method.__name__ = name
    return method


_save_in_keras_layout = _in_keras_layout("save_own_variables")
_load_in_keras_layout = _in_keras_layout("load_own_variables")


def _keep_keras_layout(optimizer):
    """Keeps each optimizer's own saved variables in Keras's layout.

    The bound rate state is among `optimizer.variables` (the compiled step's state),
    but an optimizer saves and loads `optimizer.variables` by position and skips
    loading all of them when the count differs. A model loaded from a file gets an
    optimizer whose `ControlledRate` is not bound yet, and a file saved before
    `install()` (or by 0.1.0) has no state among them. So the optimizer's own entries
    are kept exactly Keras's (the state is saved by `_RateState`, as its child), by
    instance methods that hide the state while Keras's own methods run.
    """
    for each in _optimizer_chain(optimizer):
        if not isinstance(each.__dict__.get("save_own_variables"), types.MethodType):
            # Set on the instance (plain attributes, not tracked); a deep copy rebinds
            # them to the copy.
            object.__setattr__(each, "save_own_variables",
                               types.MethodType(_save_in_keras_layout, each))
            object.__setattr__(each, "load_own_variables",
                               types.MethodType(_load_in_keras_layout, each))


def invalidate_train_function(model):
    """Call after replacing the optimizer's rate object (or what it evaluates)."""
    # A train step already compiled by an earlier fit() captured the previous rate
    # object; fit() rebuilds it right after set_model() when this is None.
    if getattr(model, "train_function", None) is not None:
        model.train_function = None


def write_state(model, state, **values):
    """Writes numbers of the rate state (`field=value`); the next train step reads them.

    The state is among the optimizer's variables, which every backend's compiled step
    reads, so nothing is rebuilt. On JAX, `fit()` keeps the variables' values in its
    own state during an epoch and writes them back at its end: that state is synced
    into the variables first (Keras's `jax_state_sync()`, as a callback's access to
    `self.model` does), so the trainer reads this write at the next step.
    """
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()
    return state.write(**values)


_COMPILED = weakref.WeakKeyDictionary()


def _compile(fn):
    """`fn` compiled for queries from Python, or None where eager is as fast (torch).

    Eagerly, JAX and TensorFlow dispatch each of a schedule's dozens of operations on
    its own: 2 to 4 ms per query of a one-cycle, at every epoch's end, where a
    compiled call takes a small fraction of that.
    """
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


def host_rates(schedule, steps):
    """The rates of `schedule` at `steps` (a step or a 1-D array of steps), as numpy
    float32: the callbacks' queries from Python, made at epoch ends.

    A schedule whose value depends on its configuration only (lrschedule's, Keras's
    own) is evaluated by one compiled function per schedule object (`_compile()`).
    Anything else is evaluated as `values()` does.
    """
    if isinstance(schedule, ControlledRate):
        return schedule.values_at(steps)
    steps = np.asarray(steps, dtype=np.int64)
    if _is_pure(schedule):
        try:
            compiled = _COMPILED.get(schedule)
            if compiled is None:
                compiled = _compile(lambda s: ops.cast(evaluate(schedule, s), "float32"))
                if compiled is not None:
                    _COMPILED[schedule] = compiled
            if compiled is not None:
                out = np.asarray(ops.convert_to_numpy(compiled(_host_steps(steps))),
                                 dtype=np.float32)
                if out.shape == steps.shape:
                    return out
        except Exception:  # noqa: BLE001 - a schedule that cannot be traced as a whole
            pass
    return np.asarray(inspection.values(schedule, steps), dtype=np.float32)


def _is_pure(schedule):
    # Ours and Keras's own hold no variables: their value is a function of the step
    # and their config, so a compiled evaluation never goes stale.
    from lrschedule.schedules import Schedule

    return isinstance(schedule, Schedule) or type(schedule).__module__.startswith("keras.")


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


def rate_used(model, group=None):
    """The learning rate the optimizer used at its most recent step (a Python float).

    Before the first step, the rate the first step will use. Whatever drives the
    rate: a constant, a schedule, a `ControlledRate`. Of a MultiOptimizer: the
    primary group's, or the group named `group`.
    """
    return last_rate(optimizer_of(model, group))


def current(model, group=None):
    """The learning rate in force now: the one the optimizer's next update will use.

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

    Returns:
        A float.

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
    optimizer = optimizer_of(model, group)
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


# --------------------------------------------------------------------------------------
# The base of the callbacks that drive the rate


class RateCallback(keras.callbacks.Callback):
    """Attaches the model's rates as soon as the model is known: `self._rates` (a
    `DrivenRates`, one per optimizer of a MultiOptimizer), `self._targets` (those of
    the groups named by `groups`, all by default).

    Keras calls `set_model()` for every callback before any `on_train_begin()`, so
    attaching there puts the state in the optimizer whatever the order of the
    callbacks list (a `BackupAndRestore` restores into it). `on_train_begin()`
    attaches again (installing is idempotent), for a model that had no optimizer
    when it was set. A subclass adds what attaching means for it in `_attached()`.
    """

    def __init__(self, groups=None):
        super().__init__()
        self._rates = None
        self._targets = None
        self.groups = _checked_group_names(groups)

    @property
    def _rate(self):
        """The primary group's rate (the only one of a single optimizer)."""
        return None if self._rates is None else self._rates.primary

    def _attach(self, model):
        names = None
        if self.groups is not None:
            names = [g.name for g in select_groups(model, self.groups)]
        self._rates, _ = install(model)
        self._targets = self._rates.select(names)
        self._attached()

    def set_model(self, model):
        super().set_model(model)
        if getattr(model, "optimizer", None) is not None:
            self._attach(model)

    def on_train_begin(self, logs=None):
        self._attach(self.model)

    def _attached(self):
        """Runs after each attach, with `self._rates` set; nothing by default."""

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _checked_group_names(groups):
    """None, or a list of group names (a string is one name)."""
    if groups is None:
        return None
    if isinstance(groups, str):
        groups = [groups]
    if isinstance(groups, (list, tuple)) and groups and all(isinstance(g, str) for g in groups):
        return list(groups)
    check.fail_type("groups", groups, "None or a non-empty list of names of the optimizers "
                    "of a keras.optimizers.MultiOptimizer")
