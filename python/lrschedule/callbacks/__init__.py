"""Learning-rate callbacks: `ScheduleLR`, `ReduceLROnPlateau` and `LRLogger`.

They work whatever drives the optimizer's rate, a number or any schedule: instead of
assigning the rate (which Keras refuses for a schedule), they put a `ControlledRate`
in the optimizer, a schedule whose state (the held rate, the plateau's multiplier
and counters) is saved with the model. `_rate_control` explains the design.

One module per callback, as Keras has, over the rate control they share:

    _rate_control.py          ControlledRate and its saved state; installing it in
                              the optimizer; RateCallback, the attach logic of the
                              callbacks that drive the rate; the only module that
                              touches Keras's private optimizer attributes
    schedule_lr.py            ScheduleLR
    reduce_lr_on_plateau.py   ReduceLROnPlateau
    lr_logger.py              LRLogger
    horizon_check.py          HorizonCheck (the check itself: lrschedule.horizon, which
                              every callback here runs once per fit)

The classes' module path stays `lrschedule.callbacks` (`_rate_control.register`), as
in saved configs and R class names.
"""

from lrschedule.callbacks._rate_control import ControlledRate, current, rate_used
from lrschedule.callbacks.horizon_check import HorizonCheck
from lrschedule.callbacks.lr_logger import LRLogger
from lrschedule.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from lrschedule.callbacks.schedule_lr import ScheduleLR

__all__ = ["ScheduleLR", "ReduceLROnPlateau", "LRLogger", "HorizonCheck", "ControlledRate",
           "current"]
