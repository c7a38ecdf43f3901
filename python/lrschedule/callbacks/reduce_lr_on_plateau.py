"""`ReduceLROnPlateau`: Keras's plateau rule, as a multiplier of whatever drives the rate."""

import math
import warnings

import numpy as np
from keras import ops

from lrschedule import _validation as check
from lrschedule._keras import metric_direction, print_message
from lrschedule._queries import log_rates
from lrschedule._rate import register
from lrschedule.callbacks._base import RateCallback


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
            direction = metric_direction(metric)
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

    A drop-in for Keras's callback with a constant rate: the optimizer keeps Keras's own
    `learning_rate` variable and a reduction is Keras's, with Keras's rounding:
    `new_lr = max(lr * factor, min_lr)` with `lr` the float32 rate read as a Python
    float, assigned back (rounded to float32). `optimizer.learning_rate` reads and
    assigns as in Keras, and Keras's `LearningRateScheduler` can run beside it.
    Keras's messages, with `verbose=1`, through Keras's logging.

    What differs, on purpose:

    * It works over a schedule. With any schedule in the optimizer (ours or Keras's),
      where Keras's callback fails with "not settable", the optimizer uses
      `max(schedule(step) * multiplier, min(schedule(step), min_lr))` from then on,
      `multiplier` being the product of the reductions: the schedule keeps its shape,
      scaled down (see `ControlledRate`).
    * Its counters (best value, wait, cooldown) and the multiplier are kept, not reset
      when a new `fit()` starts: they live in a variable of the optimizer, saved with
      it, so `BackupAndRestore` and `load_weights()` resume exactly where the run
      stopped. A `.keras` file (`model.save()`, `ModelCheckpoint`) keeps them too when
      the rate is a schedule; with a constant rate it keeps the reduced rate, as with
      Keras's callback, and `load_model()` starts the counters afresh.

    Callbacks run in list order at an epoch's end, so list this callback before
    `BackupAndRestore` or `ModelCheckpoint`: a backup written earlier at the same
    epoch's end would hold the state from before this epoch's update.

    Logs `learning_rate` (the rate used at the epoch's last step, before a reduction
    made at its end) into the epoch logs.

    Smooth reductions (a cooldown on plateau): with `decay_steps=N`, a reduction does
    not cut the rate at once. From the next step, the rate moves from the rate in force
    to the reduced one (`lr * factor`, not below `min_lr`) over N optimizer updates,
    along `decay_type` ("linear", "cosine" or "1-sqrt", the decays of
    `WarmupStableDecay`), then stays reduced; over a schedule both ends follow the
    schedule, so it keeps its shape. The rule that triggers it is unchanged (patience,
    min_delta, cooldown), and a reduction made while one is in progress continues from
    the rate reached. A small `factor` (e.g. 1e-3, with `min_lr` the floor) makes it
    the cooldown of a warmup-stable-decay run, started when the metric stalls rather
    than at a fixed step. It runs inside the compiled train step (no per-batch
    callback), and is saved and resumed with the other state. With a constant rate,
    the optimizer gets a `ControlledRate` holding it (Keras's `LearningRateScheduler`
    can no longer set that optimizer's rate).

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
        groups: None, or names of the optimizers of a `keras.optimizers.MultiOptimizer`
            whose rate a reduction multiplies (see `lrschedule.per_layer()`). None
            reduces every group's rate by `factor`, keeping their ratios; a group
            already at `min_lr` is left there. Defaults to None.
        decay_steps: Integer >= 0. 0: a reduction is a step, as in Keras. N > 0: it is
            a smooth decay over N optimizer updates. Defaults to 0.
        decay_type: "linear", "cosine" or "1-sqrt", the shape of a smooth reduction.
            Defaults to "linear".
        min_delta_mode: "abs" (Keras's rule: an improvement is better than the best
            value by more than `min_delta`) or "rel" (PyTorch's default
            `threshold_mode`: better by more than `min_delta` times the best value).
            Defaults to "abs".

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
        monitor: str = "val_loss",
        factor: check.Real = 0.1,
        patience: check.Integer = 10,
        verbose: check.Integer = 0,
        mode: str = "auto",
        min_delta: check.Real = 1e-4,
        cooldown: check.Integer = 0,
        min_lr: check.Real = 0.0,
        groups: check.GroupNames = None,
        decay_steps: check.Integer = 0,
        decay_type: str = "linear",
        min_delta_mode: str = "abs",
    ) -> None:
        super().__init__(groups)
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
        self.decay_steps = check.integer("decay_steps", decay_steps, minimum=0)
        self.decay_type = check.choice("decay_type", decay_type, ("linear", "cosine", "1-sqrt"))
        self.min_delta_mode = check.choice("min_delta_mode", min_delta_mode, ("abs", "rel"))
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
        for rate in self._targets:
            rate.write(self.model, min_lr=self.min_lr)
            if self.decay_steps > 0:
                rate.allow_smooth(self.model, self.decay_type)

    def _reduce(self, rate):
        if self.decay_steps == 0:
            return rate.reduce(self.model, self.factor, self.min_lr)
        return rate.decay(self.model, self.factor, self.min_lr, self.decay_steps)

    def _is_improvement(self, current, best):
        # Keras's rule, best starting at +inf (min) or -inf (max): a NaN never improves,
        # nor does an infinite value on the first epoch.
        if best is None:
            best = math.inf if self._minimize else -math.inf
        if self.min_delta_mode == "rel":  # PyTorch's default rule: better by a fraction
            if self._minimize:
                return current < best * (1.0 - self.min_delta)
            return current > best * (1.0 + self.min_delta)
        if self._minimize:
            return current < best - self.min_delta
        return current > best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if self._minimize is None:
            self._minimize = {"min": True, "max": False}.get(self.mode)
            if self._minimize is None:
                self._minimize = _minimize_by_name(self.monitor, self.model)
        log_rates(self.model, logs, overwrite=True)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau is conditioned on `{self.monitor}`, which is not in the "
                f"logs. Available: {', '.join(sorted(logs))}.",
                stacklevel=2,
            )
            return
        current = float(ops.convert_to_numpy(current))
        # The counters live in the primary group's state (one decision for all groups).
        state = self._rate.state.numbers()  # one read of the device
        best = self._best(state["best"])
        wait = state["wait"]
        cooldown_counter = state["cooldown_counter"]
        new_rate = None

        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        if self._is_improvement(current, best):
            best = current
            wait = 0
        elif cooldown_counter == 0:
            wait += 1
            if wait >= self.patience:
                # Each rate's reduction is None when it is at min_lr already (Keras's
                # condition); the cooldown starts when any rate was reduced.
                reduced = [(rate, self._reduce(rate)) for rate in self._targets]
                reduced = [(rate, new) for rate, new in reduced if new is not None]
                if reduced:
                    new_rate = reduced
                    cooldown_counter = self.cooldown
                    wait = 0

        self._best_exact = best
        self._rate.write(self.model, best=math.nan if best is None else best, wait=wait,
                         cooldown_counter=cooldown_counter)
        if new_rate is not None and self.verbose > 0:
            over = (f" over the next {self.decay_steps} updates ({self.decay_type})"
                    if self.decay_steps else "")
            if self._rates.grouped:
                shown = ", ".join(f"{rate.name} to {new}" for rate, new in new_rate)
                message = f"reducing learning rates{over}: {shown}."
            else:
                message = f"reducing learning rate to {new_rate[0][1]}{over}."
            print_message(f"\nEpoch {epoch + 1}: ReduceLROnPlateau {message}")

    def get_config(self) -> check.Config:
        return {
            "monitor": self.monitor,
            "factor": self.factor,
            "patience": self.patience,
            "mode": self.mode,
            "min_delta": self.min_delta,
            "cooldown": self.cooldown,
            "min_lr": self.min_lr,
            "verbose": self.verbose,
            "groups": self.groups,
            "decay_steps": self.decay_steps,
            "decay_type": self.decay_type,
            "min_delta_mode": self.min_delta_mode,
        }
