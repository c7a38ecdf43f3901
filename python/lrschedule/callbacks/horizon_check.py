"""`HorizonCheck`: warns when a schedule's horizon does not match the run fit() makes."""

from lrschedule._rate import register
from lrschedule.callbacks._base import LRCallback


@register
class HorizonCheck(LRCallback):
    """Warns (`lrschedule.HorizonWarning`) when the optimizer's schedule is sized for a
    run other than the one this `fit()` makes.

    For a schedule that ends (`lrschedule.horizon()`: OneCycle, Linear, a cosine
    decay, a table...), the steps it is sized for are compared with the updates of the
    fit, `(epochs - initial_epoch) * steps per epoch` from the optimizer's count (over
    `gradient_accumulation_steps` when it accumulates), at the first epoch's start:

        OneCycle ends after 1,000 updates, but this fit() makes 1,875 from update 0 to
        1,875: the last 875 of them at its final rate 4e-07. ...

    and the mirror case, a fit that stops before the schedule's end (for a schedule
    that only steps, such as MultiStepDecay, only that case). Differences up to 1% of
    the horizon pass. Schedules with no end and fits whose steps per epoch are unknown
    are not checked. Every optimizer of a MultiOptimizer is checked.

    lrschedule's `ScheduleLR`, `ReduceLROnPlateau` and `LRLogger` run the same check
    (once per fit, whichever comes first): add this callback to check a fit that uses
    none of them. Silence it with `warnings.filterwarnings("ignore",
    category=lrschedule.HorizonWarning)` (R: `options(lrschedule.horizon_check =
    FALSE)`).

    Example:
        model.fit(x, y, epochs=10, callbacks=[lrschedule.HorizonCheck()])
    """

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
