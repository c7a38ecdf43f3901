"""The floor under everything that touches Keras beyond its public API.

lrschedule reads and writes a few of Keras's private attributes, and calls a few
functions Keras does not document, because Keras offers no public way to do what the
package does (drive a scheduled rate, count updates under accumulation, keep a saved
optimizer's layout). They are all here, and nowhere else: when a Keras release moves
one, this module (and `KERAS_INTERNALS`, which `tests/python/test_structure.py`
checks against the installed Keras) is what changes.

This module imports nothing of lrschedule but `_validation`: the schedules, the rate
control, the callbacks, the optimizers and `find_lr` are all above it.

The optimizer plumbing lives here too: which optimizers own the model's rates
(`groups_of()`: one optimizer, a `LossScaleOptimizer`'s inner one, or each optimizer
of a `MultiOptimizer`), their rate objects, their step counters.
"""

import contextlib
import types

import keras
import numpy as np
from keras import ops

from lrschedule import _validation as check

try:
    from keras.src.utils.io_utils import print_msg as _keras_print_msg
except ImportError:  # pragma: no cover - a Keras that moved it
    _keras_print_msg = None

# Every Keras internal used, where, and why: (where it is looked up, name, what for).
# `tests/python/test_structure.py` checks each against the installed Keras and
# fails naming the entry when a release moves one; adding a use here means adding it
# to this list.
KERAS_INTERNALS = (
    ("keras.src.utils.io_utils", "print_msg",
     "how Keras's callbacks print: stdout, or absl logging with interactive logging off "
     "(print_message())"),
    ("optimizer", "_learning_rate",
     "the rate object itself (a schedule or a variable); Keras has no public getter "
     "(rate_object())"),
    ("optimizer", "_iterations",
     "the counter the optimizer evaluates its schedule at; it counts micro-batches under "
     "gradient accumulation (step_count(), update_counter())"),
    ("optimizer", "_variables",
     "the list behind optimizer.variables, from which the rate state is hidden while "
     "Keras saves or loads the optimizer (keep_keras_layout())"),
    ("optimizer", "_backend_apply_gradients",
     "the part of apply() that runs weight decay, the update step and the weights' moving "
     "average, which lrschedule's optimizers wrap to put the values of scheduled "
     "hyperparameters in force while it is built (UpdateStepHook)"),
    ("optimizer", "_get_variable_index",
     "the slot index of a variable, for the optimizers' own update steps "
     "(variable_index())"),
    ("rmsprop", "_velocities", "RMSprop's slots, for its update with a scheduled momentum"),
    ("rmsprop", "_momentums", "RMSprop's slots, for its update with a scheduled momentum"),
    ("rmsprop", "_average_gradients", "RMSprop's centered slots (rmsprop_slots())"),
    ("multi_optimizer", "_optimizer_map",
     "a MultiOptimizer's default optimizer, the primary group (groups_of())"),
    ("model", "train_function",
     "the compiled step, dropped when the rate object changes (invalidate_train_function())"),
    ("model", "jax_state_sync",
     "on JAX, brings the trainer's state into the variables before a callback writes one "
     "(sync_trainer_state())"),
    ("cosine_decay", "_warmup_function",
     "Keras's CosineDecay's own warmup formula, evaluated at a vector of steps "
     "(cosine_decay_parts())"),
    ("cosine_decay", "_decay_function",
     "Keras's CosineDecay's own decay formula (cosine_decay_parts())"),
    ("metric", "_direction",
     "whether a compiled metric is maximized ('up') or minimized ('down') "
     "(metric_direction())"),
)


# --------------------------------------------------------------------------------------
# Printing, host reads


def print_message(message, line_break=True):
    """Prints as Keras's own callbacks do: stdout, or absl logging when Keras's
    interactive logging is off."""
    if _keras_print_msg is None:  # pragma: no cover - a Keras that moved it
        print(message, end="\n" if line_break else "", flush=True)
    else:
        _keras_print_msg(message, line_break=line_break)


def host_value(variable):
    """A variable's value as numpy. Under JAX multi-process training a replicated
    variable spans devices of other processes, which numpy cannot fetch: its local
    copy is read instead (every copy holds the same value), by `addressable_data(0)`
    (JAX 0.10's `addressable_shards` fails on such arrays: "the input arrays must have
    one shard each")."""
    value = getattr(variable, "value", variable)
    if not getattr(value, "is_fully_addressable", True) and hasattr(value, "addressable_data"):
        return np.asarray(value.addressable_data(0))
    return ops.convert_to_numpy(value)


# --------------------------------------------------------------------------------------
# Optimizers and their groups


MultiOptimizer = getattr(keras.optimizers, "MultiOptimizer", None)


def is_multi(optimizer):
    return MultiOptimizer is not None and isinstance(optimizer, MultiOptimizer)


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
    if not is_multi(top):
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


def optimizer_chain(optimizer):
    """The optimizer, then the ones it wraps (a LossScaleOptimizer's inner one, a
    MultiOptimizer's optimizers)."""
    if optimizer is None:
        return
    yield optimizer
    yield from optimizer_chain(getattr(optimizer, "inner_optimizer", None))
    if is_multi(optimizer):
        for inner in optimizer.optimizers:
            yield from optimizer_chain(inner)


# --------------------------------------------------------------------------------------
# An optimizer's rate and counters


def rate_object(optimizer):
    """The optimizer's rate itself: a schedule, or the variable holding a constant rate."""
    # Keras has no public getter for the schedule object itself (the `learning_rate`
    # property evaluates it).
    return optimizer._learning_rate


def set_rate_object(optimizer, schedule):
    """Gives the optimizer a new rate object (a schedule), through Keras's setter.

    Called as the property's setter itself: `optimizer.learning_rate = x` first reads
    the current rate on TensorFlow (its tracking compares the old value), which
    evaluates the current schedule, and a schedule waiting for its length cannot be.
    """
    type(optimizer).learning_rate.fset(optimizer, schedule)


def update_counter(optimizer):
    """The counter variable the optimizer evaluates its schedule at (micro-batches under
    gradient accumulation, where `optimizer.iterations` counts updates)."""
    return getattr(optimizer, "_iterations", optimizer.iterations)


def step_count(optimizer):
    """The step the optimizer's next update evaluates its rate at, as a Python int."""
    return int(host_value(update_counter(optimizer)))


def accumulation_steps(optimizer):
    """The optimizer's `gradient_accumulation_steps` (an int >= 2), or None."""
    steps = getattr(optimizer, "gradient_accumulation_steps", None)
    return int(steps) if steps else None


def variable_index(optimizer, variable):
    """The index of `variable` in the optimizer's slot lists."""
    return optimizer._get_variable_index(variable)


def rmsprop_slots(optimizer, variable):
    """RMSprop's slots of `variable`: (velocity, average gradient or None, momentum)."""
    index = variable_index(optimizer, variable)
    average = optimizer._average_gradients[index] if optimizer.centered else None
    return optimizer._velocities[index], average, optimizer._momentums[index]


class UpdateStepHook:
    """Mixin for an optimizer subclass: `self._in_update_step()` (a context manager the
    subclass defines) is entered while Keras builds what one `apply()` does to the
    variables (`_backend_apply_gradients`: the gradients' clipping, weight decay
    (`_apply_weight_decay`), the update step (`_backend_update_step`, with its
    accumulation under `gradient_accumulation_steps`) and the weights' moving average
    (`use_ema`)), once per `apply()`, inside the compiled train step, after the
    gradients are ready and before the counter moves. Under a TensorFlow
    distribution strategy it is entered in each replica's thread; the cross-replica
    parts (weight decay, the update) run in a merge call, in another thread."""

    def _in_update_step(self):  # pragma: no cover - overridden
        return contextlib.nullcontext()

    def _backend_apply_gradients(self, grads, trainable_variables):
        with self._in_update_step():
            return super()._backend_apply_gradients(grads, trainable_variables)


# --------------------------------------------------------------------------------------
# Saving an optimizer in Keras's own layout


@contextlib.contextmanager
def variables_hidden(optimizer, hidden):
    """Takes the variables `hidden(owner)` lists out of `owner.variables` for the
    duration, for the optimizer and each one it wraps, putting them back in place."""
    removed = []
    for owner in optimizer_chain(optimizer):
        ours = {id(v) for v in hidden(owner)}
        if not ours:
            continue
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


def keep_keras_layout(optimizer, hidden):
    """Makes the optimizer (and each one it wraps) save and load its own variables in
    Keras's layout, without the variables `hidden(owner)` lists.

    An optimizer saves and loads `optimizer.variables` by position and skips loading
    all of them when their count differs; lrschedule's rate state is among them (the
    compiled step's state) but is saved apart. The methods are wrapped on the
    instance (plain attributes, not tracked; a deep copy rebinds them to the copy).
    """
    def in_keras_layout(name):
        def method(self, store):
            with variables_hidden(self, hidden):
                return getattr(type(self), name)(self, store)

        method.__name__ = name
        return method

    for each in optimizer_chain(optimizer):
        if not isinstance(each.__dict__.get("save_own_variables"), types.MethodType):
            for name in ("save_own_variables", "load_own_variables"):
                object.__setattr__(each, name, types.MethodType(in_keras_layout(name), each))


# --------------------------------------------------------------------------------------
# The model's compiled step and trainer state


def invalidate_train_function(model):
    """Call after replacing the optimizer's rate object (or what it evaluates)."""
    # A train step already compiled by an earlier fit() captured the previous rate
    # object; fit() rebuilds it right after set_model() when this is None.
    if getattr(model, "train_function", None) is not None:
        model.train_function = None


def sync_trainer_state(model):
    """On JAX, `fit()` keeps the variables' values in its own state during an epoch and
    writes them back at its end: this syncs that state into the variables (as a
    callback's access to `self.model` does), so that a write is read by the next step."""
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()


# --------------------------------------------------------------------------------------
# Keras's schedules and metrics


def cosine_decay_parts(schedule, step, warmup_steps, target, initial, decay_steps, dtype):
    """Keras's `CosineDecay`'s own two formulas at `step` (any shape): (warmup, decay)."""
    warm = schedule._warmup_function(step, warmup_steps, target, initial)
    decay = schedule._decay_function(step - warmup_steps, decay_steps, target, dtype)
    return warm, decay


def metric_direction(metric):
    """'up' (maximized), 'down' (minimized) or None, as Keras's metric says."""
    return getattr(metric, "_direction", None)
