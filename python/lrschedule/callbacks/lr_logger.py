"""`LRLogger`: the learning rate actually used, in the logs and per batch."""

import keras
import numpy as np

from lrschedule import _validation as check
from lrschedule.callbacks._rate_control import (
    ControlledRate,
    host_rates,
    log_rate,
    optimizer_of,
    rate_object,
    rate_used,
    register,
    step_count,
)

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


@register
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

    def on_train_batch_begin(self, batch, logs=None):
        # The first batch of an epoch notes where its steps start and the state of the
        # rate: after every on_epoch_begin() (ScheduleLR sets the rate there), before
        # the step (ReduceLROnPlateau changes it only after the epoch's last). On JAX
        # the model's state is still in its variables here: reading it costs no sync.
        if self.per != "batch" or self._epoch is not None:
            return
        optimizer = optimizer_of(self.model)
        rate = rate_object(optimizer)
        if not isinstance(rate, _LearningRateSchedule):
            return
        held = rate.hold() if isinstance(rate, ControlledRate) else None
        self._epoch = {"rate": rate, "held": held, "batch": batch,
                       "step": step_count(optimizer), "batches": []}

    def on_train_batch_end(self, batch, logs=None):
        if self.per != "batch":
            return
        if self._epoch is not None:
            self._epoch["batches"].append(batch)
            return
        # A rate held in a variable, which other code may assign at any batch.
        optimizer = optimizer_of(self.model)
        self.batch_steps.append(max(step_count(optimizer) - 1, 0))
        self.batch_rates.append(rate_used(self.model))

    def _flush(self):
        epoch, self._epoch = self._epoch, None
        if not epoch or not epoch["batches"]:
            return
        steps = [epoch["step"] + b - epoch["batch"] for b in epoch["batches"]]
        if epoch["held"] is not None:
            rates = epoch["rate"].values_at(np.asarray(steps), epoch["held"])
        else:
            rates = host_rates(epoch["rate"], np.asarray(steps))
        self.batch_steps.extend(steps)
        self.batch_rates.extend(float(r) for r in rates)

    def on_train_end(self, logs=None):
        self._flush()

    def on_epoch_end(self, epoch, logs=None):
        self._flush()
        log_rate(self.model, logs)

    def get_config(self):
        return {"per": self.per}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
