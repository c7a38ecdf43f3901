"""lrschedule's warnings, and where they go.

* `HorizonWarning`: a schedule's horizon does not match the run `fit()` makes
  (`lrschedule.HorizonCheck`, and every lrschedule callback once per fit).
* `AccumulationWarning`: Keras evaluates an accumulating optimizer's schedule at its
  micro-batch counter, and the schedule does not say how it counts.

They are Python warnings (`warnings.filterwarnings("ignore",
category=lrschedule.HorizonWarning)` silences one), unless a handler is set
(`set_warning_handler()`): the R package sets one, so that a warning raised during an R
user's `fit()` arrives as an R warning of class "lrschedule_horizon_warning" or
"lrschedule_accumulation_warning".
"""

import warnings as _warnings
from collections.abc import Callable

__all__ = ["HorizonWarning", "AccumulationWarning", "set_warning_handler", "emit"]


class HorizonWarning(UserWarning):
    """A schedule's horizon does not match the run that fit() makes."""


class AccumulationWarning(UserWarning):
    """An accumulating optimizer's schedule is counted by Keras in micro-batches."""


_HANDLER: Callable[[str, str], object] | None = None


def set_warning_handler(handler: Callable[[str, str], object] | None) -> None:
    """Routes lrschedule's warnings to `handler(message, category_name)` (None: Python's
    `warnings`). The R package sets it, so that they arrive as R warnings."""
    global _HANDLER
    _HANDLER = handler


def emit(message: str, category: type[Warning] = UserWarning, stacklevel: int = 3) -> None:
    """Warns through the handler if one is set (a failing handler falls back to Python's
    warnings: a warning never stops training), else with `warnings.warn`."""
    if _HANDLER is not None:
        try:
            _HANDLER(message, category.__name__)
            return
        except Exception:  # noqa: BLE001 - a warning never stops training
            pass
    _warnings.warn(message, category, stacklevel=stacklevel)
