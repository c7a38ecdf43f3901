"""Putting the rate control in an optimizer, and driving it: `install()`, `DrivenRate`.

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
"""

import keras
import numpy as np
from keras import ops

from lrschedule import _keras
from lrschedule._keras import accumulation_steps, host_value, rate_object, set_rate_object, step_count
from lrschedule._rate import _DECAY, ControlledRate, _RateState, _reduced_number
from lrschedule.schedules import InMicroBatches, InUpdates, takes_length
from lrschedule.warnings import AccumulationWarning, emit

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule

# Where an optimizer keeps its rate state (a constant-rate optimizer's own; a
# ControlledRate's is the same object as its `state`).
_STATE_ATTR = "_lrschedule_state"


# --------------------------------------------------------------------------------------
# Counting updates under gradient accumulation


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
    for group in _keras.groups_of(model):
        rate, group_changed = _install_one(group)
        rates.append(rate)
        changed = changed or group_changed
    _keras.keep_keras_layout(model.optimizer, _bound_state)
    if changed:
        _keras.invalidate_train_function(model)
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
                                    base_rate=float(host_value(current))))
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
            return float(host_value(self.variable))
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
            _keras.invalidate_train_function(model)

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
            rate = float(host_value(self.variable))
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
            _keras.invalidate_train_function(model)
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


def _bound_state(optimizer):
    """The rate-state variables bound to `optimizer` (hidden while Keras saves it)."""
    state = optimizer.__dict__.get(_STATE_ATTR)
    if state is None or state.owner() is not optimizer:
        return []
    return state.bound_variables


def write_state(model, state, **values):
    """Writes numbers of the rate state (`field=value`); the next train step reads them.

    The state is among the optimizer's variables, which every backend's compiled step
    reads, so nothing is rebuilt. On JAX, `fit()` keeps the variables' values in its
    own state during an epoch and writes them back at its end: that state is synced
    into the variables first (Keras's `jax_state_sync()`, as a callback's access to
    `self.model` does), so the trainer reads this write at the next step.
    """
    _keras.sync_trainer_state(model)
    return state.write(**values)


