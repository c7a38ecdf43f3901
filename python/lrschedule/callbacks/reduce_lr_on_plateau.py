"""`ReduceLROnPlateau`: Keras's plateau rule, as a multiplier of whatever drives the rate."""

import math
import warnings

import numpy as np
from keras import ops

from lrschedule import _validation as check
from lrschedule.callbacks._rate_control import (
    RateCallback,
    optimizer_of,
    print_message,
    rate_used,
    register,
    step_count,
    write_state,
)


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


@register
class ReduceLROnPlateau(RateCallback):
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
        verbose: Integer >= 0. 1 prints a message at each reduction. Defaults to 0.
        mode: One of "auto", "min", "max". "auto" infers the direction from the
            name (losses decrease) or the compiled metric. Defaults to "auto".
        min_delta: A float >= 0, the change that counts as improvement.
            Defaults to 1e-4.
        cooldown: Integer >= 0, epochs to wait after a reduction before counting
            epochs without improvement again. Defaults to 0.
        min_lr: A float >= 0, lower bound of the rate for reductions. Defaults to 0.

    The arguments come in Keras's order (`verbose` fourth), so positional calls
    written for `keras.callbacks.ReduceLROnPlateau` mean the same here.

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
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
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

    def _best(self, stored):
        if stored is not None and self._best_exact is not None:
            if np.float32(self._best_exact) == np.float32(stored):
                return self._best_exact
        return stored

    def _attached(self):
        # min_lr is a property of the rate the callback drives; a newly attached
        # callback's value wins.
        write_state(self.model, self._controlled, min_lr=self.min_lr)

    def _rate_now(self):
        """The rate in force now (at the next step): the one a reduction scales."""
        step = step_count(optimizer_of(self.model))
        return float(self._controlled.values_at(step))

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
        state = self._controlled.state.read_all()  # one read of the device
        best = self._best(None if math.isnan(state["best"]) else state["best"])
        wait = int(round(state["wait"]))
        cooldown_counter = int(round(state["cooldown_counter"]))
        multiplier = state["multiplier"]
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
                if self._rate_now() > np.float32(self.min_lr):
                    multiplier *= self.factor
                    cooldown_counter = self.cooldown
                    wait = 0
                    reduced = True

        self._best_exact = best
        write_state(self.model, self._controlled, best=best, wait=wait,
                    cooldown_counter=cooldown_counter, multiplier=multiplier)
        if reduced:
            if self.verbose > 0:
                print_message(
                    f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                    f"{self._rate_now()}."
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
