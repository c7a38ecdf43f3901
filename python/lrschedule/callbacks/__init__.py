"""Learning-rate callbacks: `ScheduleLR`, `ReduceLROnPlateau` and `LRLogger`.

They work whatever drives the optimizer's rate, a number or any schedule: instead of
assigning the rate (which Keras refuses for a schedule), they put a `ControlledRate`
in the optimizer, a schedule whose state (the held rate, the plateau's multiplier
and counters) is saved with the model. `lrschedule._rate` explains the design.

One module per callback, as Keras has, over a slim base:

    _base.py                  LRCallback (the horizon check once per fit, in every
                              callback) and RateCallback (attaching the model's rates,
                              for the callbacks that drive them)
    schedule_lr.py            ScheduleLR
    reduce_lr_on_plateau.py   ReduceLROnPlateau
    lr_logger.py              LRLogger
    horizon_check.py          HorizonCheck (the check itself: lrschedule.horizon, which
                              every callback here runs once per fit)

Below them (each floor imports only from the floors under it): `lrschedule._horizon`
(the check), `_queries` (current(), rate_used(), what is logged), `_control` (installing
the rate control in an optimizer, driving it), `_rate` (ControlledRate and its state),
`_evaluation` (evaluating a schedule at steps), `schedules`, and `_keras`, the only
home of Keras's internals.

The classes' module path stays `lrschedule.callbacks` (`_rate.register`), as in saved
configs and R class names.
"""

from lrschedule._queries import current, rate_used
from lrschedule._rate import ControlledRate
from lrschedule.callbacks.horizon_check import HorizonCheck
from lrschedule.callbacks.lr_logger import LRLogger
from lrschedule.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from lrschedule.callbacks.schedule_lr import ScheduleLR

__all__ = ["ScheduleLR", "ReduceLROnPlateau", "LRLogger", "HorizonCheck", "ControlledRate",
           "current", "rate_used"]
