"""`LRLogger`: the learning rate actually used, in the logs and per batch."""

import weakref

import keras
import numpy as np

from lrschedule import _validation as check
from lrschedule._control import counts_micro_batches, warn_micro_batches
from lrschedule._keras import groups_of, rate_object, step_count
from lrschedule._queries import host_rates, last_rate, log_rates, schedule_of
from lrschedule._rate import ControlledRate, register
from lrschedule.callbacks._base import LRCallback

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule
# Schedules warned about, so that a logger in every fit() warns once.
_WARNED = weakref.WeakSet()


def _hyperparameter_schedules(optimizer):
    """{name: schedule} of an lrschedule optimizer's scheduled hyperparameters."""
    return getattr(optimizer, "hyperparameter_schedules", None) or {}


# The hyperparameters `batch_momenta` holds (the one scheduled first), as before 0.2.
_MOMENTA = ("momentum", "beta_1")


@register
class LRLogger(LRCallback):
    """Puts the learning rate actually used into the logs, so `History` has it.

    Whatever drives the rate — a constant, a schedule, `ScheduleLR`,
    `ReduceLROnPlateau`'s multiplier — the epoch logs get `learning_rate`: the rate
    used by the epoch's last optimizer step. With `per="batch"` the rate of every
    batch is also kept, in `batch_rates` (with the optimizer step of each in
    `batch_steps`), reset when training starts.

    With a `keras.optimizers.MultiOptimizer` (per-layer rates, `lrschedule.per_layer()`)
    every optimizer's rate is logged, as `learning_rate/<name>` (`name` the
    optimizer's name, made unique: "adam", "adam_1"), and `learning_rate` is the
    rate of its default optimizer. Per batch, `group_batch_rates` maps each name to
    its rates (empty for a single optimizer).

    Per-batch logging costs next to nothing when the rate is a schedule (with or
    without lrschedule's callbacks): a batch only notes its index, and at the end of
    the epoch the schedule is evaluated on all of the epoch's steps at once, with the
    callbacks' state as it stood during the epoch (it changes only between epochs),
    as `lrschedule.values()` does: equal to the rates used up to float32 rounding.
    So `batch_rates` grows at each epoch's end. A rate held in a variable (a
    constant-rate optimizer, which other code may assign at any batch) is read at
    every batch. Under gradient accumulation a batch is a micro-batch: `batch_steps`
    are the optimizer's batch counter, and the rate of a batch is the one an update
    made at that batch uses.

    Every scheduled hyperparameter (an `lrschedule.optimizers` optimizer given a
    schedule as its `weight_decay`, `beta_1`, `momentum`, ...) is logged beside the rate
    by its Keras name: the epoch logs get `weight_decay` etc. (the value used by the
    epoch's last update; `weight_decay/<name>` for each optimizer of a MultiOptimizer),
    and per batch `batch_hyperparameters` maps each name to the value of every batch
    (the primary optimizer's). `batch_momenta` is the list of `momentum` or `beta_1`
    among them.

    The logger does not change the optimizer.

    Args:
        per: "epoch" or "batch". Defaults to "epoch".

    Example:

        logger = lrschedule.LRLogger(per="batch")
        history = model.fit(x, y, epochs=3, callbacks=[logger])
        history.history["learning_rate"]; logger.batch_rates
    """

    def __init__(self, per: str = "epoch") -> None:
        super().__init__()
        self.per = check.choice("per", per, ("epoch", "batch"))
        self._reset()

    def _reset(self):
        self.batch_rates = []
        self.batch_steps = []
        self.group_batch_rates = {}
        self.batch_hyperparameters = {}
        self._epoch = None

    @property
    def batch_momenta(self) -> list:
        """Per batch, the scheduled `momentum` or `beta_1` (empty when neither is)."""
        for name in _MOMENTA:
            if name in self.batch_hyperparameters:
                return self.batch_hyperparameters[name]
        return []

    def on_train_begin(self, logs=None):
        self._reset()
        for group in groups_of(self.model):
            rate = schedule_of(group.optimizer)
            if counts_micro_batches(rate, group.optimizer) and rate not in _WARNED:
                _WARNED.add(rate)
                warn_micro_batches(rate, group.optimizer, wrapped=False)

    def on_train_batch_begin(self, batch, logs=None):
        # The first batch of an epoch notes where its steps start and the state of the
        # rates: after every on_epoch_begin() (ScheduleLR sets the rate there), before
        # the step (ReduceLROnPlateau changes it only after the epoch's last). On JAX
        # the model's state is still in its variables here: reading it costs no sync.
        if self.per != "batch" or self._epoch is not None:
            return
        groups = []
        for group in groups_of(self.model):
            rate = rate_object(group.optimizer)
            scheduled = isinstance(rate, _LearningRateSchedule)
            groups.append({
                "group": group,
                "rate": rate if scheduled else None,
                "held": rate.hold() if isinstance(rate, ControlledRate) else None,
                "step": step_count(group.optimizer),
                "rates": [],  # per batch, for a rate held in a variable
            })
        self._epoch = {"batch": batch, "batches": [], "groups": groups}

    def on_train_batch_end(self, batch, logs=None):
        if self.per != "batch" or self._epoch is None:
            return
        self._epoch["batches"].append(batch)
        held_in_variables = [e for e in self._epoch["groups"] if e["rate"] is None]
        if held_in_variables:
            # On JAX, Callback.model brings the trainer's state back into the variables.
            self.model  # noqa: B018 - the access itself syncs
        for entry in held_in_variables:
            # A rate held in a variable, which other code may assign at any batch.
            entry["rates"].append(last_rate(entry["group"].optimizer))

    def _flush(self):
        epoch, self._epoch = self._epoch, None
        if not epoch or not epoch["batches"]:
            return
        for entry in epoch["groups"]:
            group = entry["group"]
            steps = [entry["step"] + b - epoch["batch"] for b in epoch["batches"]]
            if entry["rate"] is None:
                rates = entry["rates"]
            elif entry["held"] is not None:
                rates = entry["rate"].values_at(np.asarray(steps), entry["held"])
            else:
                rates = host_rates(entry["rate"], np.asarray(steps))
            rates = [float(r) for r in rates]
            if group.primary:
                self.batch_steps.extend(steps)
                self.batch_rates.extend(rates)
            if group.name is not None:
                self.group_batch_rates.setdefault(group.name, []).extend(rates)
            if group.primary:
                for name, schedule in _hyperparameter_schedules(group.optimizer).items():
                    self.batch_hyperparameters.setdefault(name, []).extend(
                        float(v) for v in host_rates(schedule, np.asarray(steps)))

    def on_train_end(self, logs=None):
        self._flush()

    def on_epoch_end(self, epoch, logs=None):
        self._flush()
        log_rates(self.model, logs)
        if logs is None:
            return
        for group in groups_of(self.model):
            step = max(step_count(group.optimizer) - 1, 0)
            for name, schedule in _hyperparameter_schedules(group.optimizer).items():
                value = float(host_rates(schedule, step))
                if group.primary:
                    logs[name] = value
                if group.name is not None:
                    logs[f"{name}/{group.name}"] = value

    def get_config(self) -> check.Config:
        return {"per": self.per}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
