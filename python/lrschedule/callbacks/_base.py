"""The base of lrschedule's callbacks: the horizon check once per fit (`LRCallback`),
and attaching the model's rates (`RateCallback`, for the callbacks that drive them)."""

import keras

from lrschedule import _validation as check
from lrschedule._control import install
from lrschedule._horizon import check_once
from lrschedule._keras import select_groups


class LRCallback(keras.callbacks.Callback):
    """Every lrschedule callback: at the first epoch's start of each fit, schedules
    built without their length take the run's and the horizon check runs
    (`check_once()`, once per fit whichever callback comes first), before the subclass's
    own `_epoch_begin()`."""

    def on_epoch_begin(self, epoch, logs=None):
        check_once(self, epoch)
        self._epoch_begin(epoch, logs)

    def _epoch_begin(self, epoch, logs):
        """What the subclass does at each epoch's start; nothing by default."""


class RateCallback(LRCallback):
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
