"""lrschedule: learning-rate schedules and callbacks for Keras 3.

Every schedule is a `keras.optimizers.schedules.LearningRateSchedule` written with
`keras.ops`, so it runs inside the compiled train step on the TensorFlow, JAX and
torch backends, and evaluates a whole vector of steps in one call.

    import keras
    import lrschedule as lrs

    schedule = lrs.OneCycle(max_lr=1e-2, total_steps=1000)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss="mse")
    lrs.values(schedule, range(1000)) # the learning rate at steps 0..999
    lrs.values(schedule, 1000)        # the learning rate at step 1000
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from lrschedule import schedules
from lrschedule.schedules import (
    Constant,
    Cyclic,
    CycledMomentum,
    Extended,
    InverseSqrt,
    Linear,
    MultiStepDecay,
    OneCycle,
    InMicroBatches,
    InUpdates,
    PerEpoch,
    Scaled,
    Schedule,
    Sequence,
    StepDecay,
    Tabulated,
    Warmup,
    WarmupStableDecay,
    extend,
    horizon,
    with_length,
)
from lrschedule.inspection import plot, values
from lrschedule.callbacks import (
    ControlledRate,
    HorizonCheck,
    LRLogger,
    ReduceLROnPlateau,
    ScheduleLR,
    current,
)
from lrschedule.warnings import AccumulationWarning, HorizonWarning
from lrschedule.lr_finder import LRFinderResult, find_lr
from lrschedule import optimizers
from lrschedule.optimizers import count_updates, per_layer, shaped_like
from lrschedule.recipes import from_timm, from_torch, from_transformers

try:
    __version__ = _version("lrschedule")
except _PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

# A literal list: type checkers read only that, and under `mypy --strict` a name missing
# from it is not exported. The schedule classes are those of lrschedule.schedules.__all__
# (tests/python/test_packaging.py checks it).
__all__ = [
    "Schedule",
    "Constant",
    "Linear",
    "StepDecay",
    "MultiStepDecay",
    "OneCycle",
    "Cyclic",
    "WarmupStableDecay",
    "InverseSqrt",
    "Warmup",
    "Sequence",
    "PerEpoch",
    "Scaled",
    "CycledMomentum",
    "InUpdates",
    "InMicroBatches",
    "Extended",
    "Tabulated",
    "values",
    "plot",
    "current",
    "ScheduleLR",
    "ReduceLROnPlateau",
    "LRLogger",
    "ControlledRate",
    "find_lr",
    "LRFinderResult",
    "per_layer",
    "count_updates",
    "shaped_like",
    "extend",
    "horizon",
    "with_length",
    "HorizonCheck",
    "HorizonWarning",
    "AccumulationWarning",
    "from_transformers",
    "from_torch",
    "from_timm",
]
