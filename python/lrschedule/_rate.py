"""The rate the callbacks drive: `ControlledRate` and its saved state (`_RateState`).

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

The optimizer side (installing it, the groups of a MultiOptimizer, counting updates)
is `_control`; the Keras internals it needs are in `_keras`, as every other one.
"""

import math
import weakref

import keras
import numpy as np
from keras import ops

from lrschedule import _evaluation
from lrschedule import _validation as check
from lrschedule._keras import host_value
from lrschedule.schedules import _Wrapping, _interpolate, deserialize_schedule, evaluate

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule

# The state fields the rate itself depends on (the others are the plateau's counters).
_HELD = ("base_rate", "multiplier", "min_lr")
# ...and, with a smooth reduction configured, the reduction in progress.
_DECAY = ("decay_from", "decay_start", "decay_steps")
# ControlledRate's decay_type -> the interpolation of schedules._interpolate.
_DECAY_TYPES = {"linear": "linear", "cosine": "cos", "1-sqrt": "1-sqrt"}


def register(cls):
    """Registers `cls` for Keras saving as "lrschedule>ClassName", under the module
    path `lrschedule.callbacks`.

    That path is the one users import from, the one reticulate puts in the R class
    vector ("lrschedule.callbacks.ControlledRate") and the one Keras writes as
    "module" in a saved config: the classes kept it when callbacks.py became a
    package and when the rate control moved out of it, so configs saved before and
    after are the same.
    """
    cls.__module__ = "lrschedule.callbacks"
    return keras.saving.register_keras_serializable(package="lrschedule")(cls)


# --------------------------------------------------------------------------------------
# Where the state lives


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
        return self._from_vector(np.asarray(host_value(self._vector), dtype=np.float64))

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
class ControlledRate(_Wrapping, _LearningRateSchedule):
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
        schedule: check.KerasSchedule = None,
        learning_rate: check.Real | None = None,
        multiplier: check.Real = 1.0,
        min_lr: check.Real = 0.0,
        best: check.Real | None = None,
        wait: check.Integer = 0,
        cooldown_counter: check.Integer = 0,
        name: str = "ControlledRate",
        decay_type: str | None = None,
        decay_from: check.Real | None = None,
        decay_start: check.Integer = 0,
        decay_steps: check.Integer = 0,
    ) -> None:
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

    def __call__(self, step: check.Tensor) -> check.Tensor:
        with keras.name_scope(self.name):
            step = ops.convert_to_tensor(step)
            return self._formula(step, *(self.state.variable(f) for f in self._held_fields()))

    def hold(self, values=None):
        """The state numbers the rate depends on now (or in `values`, as `read_all()`
        returns them), for `values_at()`."""
        values = self.state.read_all() if values is None else values
        return {field: values[field] for field in self._held_fields()}

    def values_at(self, steps, held=None):
        """The rates at `steps` (a step, or an array of steps) as numpy float32, with the
        state as it stands, or as it stood when `hold()` returned `held`.

        The callbacks' queries from Python (the rate to log, the rate a reduction
        scales), through `_evaluation.rates()`: on JAX and TensorFlow one compiled
        function per schedule, taking the state as arguments (`_host_query()`).
        """
        return np.asarray(_evaluation.rates(self, steps, compile=True, held=held),
                          dtype=np.float32)

    def _host_query(self, held):
        """For `_evaluation.rates()`: the formula, its arguments (the held state), the
        key its compiled form is kept under (rebuilt when the schedule is replaced, as
        ScheduleLR does, or a smooth reduction is configured), and the rates from the
        base rates (for a schedule that takes only a scalar step)."""
        held = self.hold() if held is None else held
        args = [np.float32(held[field]) for field in self._held_fields()]

        def from_base(steps, base):
            out = self._combine(ops.convert_to_tensor(steps),
                                ops.convert_to_tensor(np.asarray(base, "float32")), *args[1:])
            return ops.convert_to_numpy(out)

        return self._formula, args, (self.schedule, self.decay_type), (
            None if self.schedule is None else from_base)

    # -- what it says about itself (schedules.describe()) -------------------------------

    def is_stepwise(self):
        # A smooth reduction slopes; a held rate (schedule None) shows only in its rates.
        if self.decay_type is not None or self.schedule is None:
            return None
        return super().is_stepwise()

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
    return deserialize_schedule(name, config)


def _reduced_number(values):
    """The rate a held base rate gives with the state's reductions (`values` as
    `read_all()` returns them), as a Python float: `_reduced()` of the numbers."""
    base = values["base_rate"]
    return max(base * values["multiplier"], min(base, values["min_lr"]))


def _reduced(base, multiplier, min_lr):
    # The ControlledRate formula: reductions scale the base, floored at min_lr, but a
    # base already below min_lr is never raised.
    return ops.maximum(base * multiplier, ops.minimum(base, min_lr))


