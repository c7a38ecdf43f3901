"""Learning-rate callbacks: `ScheduleLR`, `ReduceLROnPlateau` and `LRLogger`."""

from lrschedule.callbacks._rate_control import (
    _STATE_ATTR,
    ControlledRate,
    LRLogger,
    ReduceLROnPlateau,
    ScheduleLR,
    _checked_rate,
    rate_used,
)

__all__ = ["ScheduleLR", "ReduceLROnPlateau", "LRLogger", "ControlledRate"]
