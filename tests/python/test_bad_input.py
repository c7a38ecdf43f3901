"""A bad value of any argument of a public API other than the schedules is refused.

The schedule constructors have their table in test_validation.py; this is the same
table for everything else: the callbacks (`ScheduleLR`, `ReduceLROnPlateau`,
`LRLogger`), the `ControlledRate` they install, `find_lr()` and its
`LRFinderResult`, the inspection functions `values()` and `plot()`, and the recipes
(`from_transformers()`, `from_timm()`, `from_torch()`).

Each argument is fed, where it applies: a value of the wrong kind (string, list,
dict, None where None is not allowed, a bool where a number is needed), NaN and
±inf, zero and negative values where a positive one is needed, fractions where a
count is needed, a list where a scalar is needed, unknown choice strings, and bad
numpy scalars. Every case must raise at construction/call time (never later, inside
training or drawing):

* `TypeError` for a value of the wrong kind, `ValueError` for a value of the right
  kind that is out of range;
* with Keras's message format, naming the argument in backquotes and showing the
  value received: ``Argument `factor` must be ... Received: factor=1.5``.

The second half of the file checks that the valid edge values (zero patience, zero
floors, numpy scalars, integral floats for counts...) are accepted, so that the
table cannot pass by refusing everything.
"""

import functools
import math

import keras
import matplotlib
import numpy as np
import pytest

import lrschedule as lrs
from lrschedule import ControlledRate, LRFinderResult, LRLogger, ReduceLROnPlateau, ScheduleLR

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NAN, INF = float("nan"), float("inf")
GOOD = lrs.StepDecay(0.1, step_size=3)


def one_argument_function(epoch):
    return 0.1


def two_argument_function(epoch, lr):
    return lr


def varargs_function(*args):
    return 0.1


# --------------------------------------------------------------------------------------
# Families of bad values. Each entry: (label, value, exception, value as shown in the
# message; None means Python's repr of the plain value: messages show a numpy scalar as
# its Python number, the same on NumPy 1 and 2, where repr() reads `np.float64(nan)`).

def plain_repr(value):
    return repr(value.item()) if isinstance(value, np.generic) else repr(value)


WRONG_KIND = [
    ("string", "1", TypeError, "'1'"),
    ("none", None, TypeError, "None"),
    ("bool", True, TypeError, "True"),
    ("numpy-bool", np.bool_(True), TypeError, None),
    ("list", [1], TypeError, "[1]"),
    ("dict", {"v": 1}, TypeError, "{'v': 1}"),
]
NON_FINITE = [
    ("nan", NAN, ValueError, "nan"),
    ("inf", INF, ValueError, "inf"),
    ("-inf", -INF, ValueError, "-inf"),
]
NEGATIVE = [
    ("negative", -0.5, ValueError, "-0.5"),
    ("numpy-negative", np.float64(-2.0), ValueError, None),
]
ZERO = [("zero", 0, ValueError, "0"), ("numpy-zero", np.float32(0.0), ValueError, None)]
# A count: a whole number >= 0.
BAD_COUNT = WRONG_KIND + NON_FINITE + [
    ("negative", -1, ValueError, "-1"),
    ("numpy-negative", np.int64(-3), ValueError, None),
    ("fraction", 2.5, ValueError, "2.5"),
    ("numpy-fraction", np.float64(0.5), ValueError, None),
]
BAD_POSITIVE = WRONG_KIND + NON_FINITE + NEGATIVE + ZERO
BAD_NON_NEGATIVE = WRONG_KIND + NON_FINITE + NEGATIVE
BAD_FLAG = [
    ("string", "yes", TypeError, "'yes'"),
    ("int", 1, TypeError, "1"),
    ("none", None, TypeError, "None"),
    ("list", [True], TypeError, "[True]"),
]


def family(api, arg, call, entries, *, skip=()):
    """Cases `call(value)` for each entry, all expected to name `arg`."""
    out = []
    for label, value, error, shown in entries:
        if label in skip:
            continue
        shown = plain_repr(value) if shown is None else shown
        out.append((f"{api}-{arg}-{label}", functools.partial(call, value), error, arg, shown))
    return out


def case(name, call, error, arg, shown):
    return (name, call, error, arg, shown)


# --------------------------------------------------------------------------------------
# ScheduleLR(schedule, verbose=0, arity=None)

SCHEDULE_LR = (
    [
        case("ScheduleLR-schedule-string", lambda: ScheduleLR("step"), TypeError, "schedule",
             "'step'"),
        case("ScheduleLR-schedule-none", lambda: ScheduleLR(None), TypeError, "schedule", "None"),
        case("ScheduleLR-schedule-number", lambda: ScheduleLR(0.1), TypeError, "schedule", "0.1"),
        case("ScheduleLR-schedule-bool", lambda: ScheduleLR(True), TypeError, "schedule", "True"),
        case("ScheduleLR-schedule-list", lambda: ScheduleLR([one_argument_function]), TypeError,
             "schedule", "[<function one_argument_function"),
        case("ScheduleLR-schedule-dict", lambda: ScheduleLR({"lr": 0.1}), TypeError, "schedule",
             "{'lr': 0.1}"),
        case("ScheduleLR-schedule-config-of-unknown-class",
             lambda: ScheduleLR({"class_name": "Nope", "config": {}}), ValueError, "schedule",
             "{'class_name': 'Nope', 'config': {}}"),
        case("ScheduleLR-schedule-no-argument", lambda: ScheduleLR(lambda: 0.1), ValueError,
             "schedule", "<function"),
        case("ScheduleLR-schedule-three-arguments", lambda: ScheduleLR(lambda a, b, c: 0.1),
             ValueError, "schedule", "<function"),
        case("ScheduleLR-schedule-varargs-without-arity", lambda: ScheduleLR(lambda *a: 0.1),
             ValueError, "schedule", "<function"),
        case("ScheduleLR-arity-with-a-schedule", lambda: ScheduleLR(GOOD, arity=1), ValueError,
             "arity", "1"),
        case("ScheduleLR-arity-three", lambda: ScheduleLR(one_argument_function, arity=3),
             ValueError, "arity", "3"),
        case("ScheduleLR-arity-numpy-zero",
             lambda: ScheduleLR(one_argument_function, arity=np.int64(0)), ValueError, "arity",
             "0"),
    ]
    + family("ScheduleLR", "arity", lambda v: ScheduleLR(one_argument_function, arity=v),
             BAD_COUNT, skip=("none",))
    + family("ScheduleLR", "verbose", lambda v: ScheduleLR(one_argument_function, verbose=v),
             BAD_COUNT)
)

# --------------------------------------------------------------------------------------
# ReduceLROnPlateau(monitor, factor, patience, mode, min_delta, cooldown, min_lr, verbose,
#                   groups, decay_steps, decay_type)

BAD_FACTOR = WRONG_KIND + NON_FINITE + NEGATIVE + ZERO + [
    ("one", 1.0, ValueError, "1.0"),
    ("above-one", 1.5, ValueError, "1.5"),
    ("numpy-above-one", np.float64(2.0), ValueError, None),
]
BAD_MODE = [
    ("unknown", "sideways", ValueError, "'sideways'"),
    ("upper-case", "MIN", ValueError, "'MIN'"),
    ("empty", "", ValueError, "''"),
    ("none", None, TypeError, "None"),
    ("number", 1, TypeError, "1"),
    ("list", ["min"], TypeError, "['min']"),
]
BAD_DECAY_TYPE = [
    ("unknown", "exponential", ValueError, "'exponential'"),
    ("torch-name", "cos", ValueError, "'cos'"),
    ("none", None, TypeError, "None"),
    ("number", 2, TypeError, "2"),
]
BAD_MONITOR = [
    ("empty", "", ValueError, "''"),
    ("none", None, TypeError, "None"),
    ("number", 3, TypeError, "3"),
    ("bytes", b"loss", TypeError, "b'loss'"),
    ("list", ["loss"], TypeError, "['loss']"),
]

PLATEAU = (
    family("ReduceLROnPlateau", "monitor", lambda v: ReduceLROnPlateau(monitor=v), BAD_MONITOR)
    + family("ReduceLROnPlateau", "factor", lambda v: ReduceLROnPlateau(factor=v), BAD_FACTOR)
    + family("ReduceLROnPlateau", "patience", lambda v: ReduceLROnPlateau(patience=v), BAD_COUNT)
    + family("ReduceLROnPlateau", "mode", lambda v: ReduceLROnPlateau(mode=v), BAD_MODE)
    + family("ReduceLROnPlateau", "min_delta", lambda v: ReduceLROnPlateau(min_delta=v),
             BAD_NON_NEGATIVE)
    + family("ReduceLROnPlateau", "cooldown", lambda v: ReduceLROnPlateau(cooldown=v), BAD_COUNT)
    + family("ReduceLROnPlateau", "min_lr", lambda v: ReduceLROnPlateau(min_lr=v),
             BAD_NON_NEGATIVE)
    + family("ReduceLROnPlateau", "verbose", lambda v: ReduceLROnPlateau(verbose=v), BAD_COUNT)
    + family("ReduceLROnPlateau", "decay_steps", lambda v: ReduceLROnPlateau(decay_steps=v),
             BAD_COUNT)
    + family("ReduceLROnPlateau", "decay_type", lambda v: ReduceLROnPlateau(decay_type=v),
             BAD_DECAY_TYPE)
    + family("ReduceLROnPlateau", "min_delta_mode",
             lambda v: ReduceLROnPlateau(min_delta_mode=v), [
                 ("unknown", "relative", ValueError, "'relative'"),
                 ("upper", "REL", ValueError, "'REL'"),
                 ("none", None, TypeError, "None"),
                 ("number", 1, TypeError, "1"),
             ])
)

# --------------------------------------------------------------------------------------
# LRLogger(per)

LOGGER = family("LRLogger", "per", lambda v: LRLogger(per=v), [
    ("unknown", "step", ValueError, "'step'"),
    ("upper-case", "Epoch", ValueError, "'Epoch'"),
    ("none", None, TypeError, "None"),
    ("number", 1, TypeError, "1"),
    ("bool", True, TypeError, "True"),
    ("list", ["batch"], TypeError, "['batch']"),
])

# --------------------------------------------------------------------------------------
# ControlledRate(schedule, learning_rate, multiplier, min_lr, best, wait,
#                cooldown_counter, name)


def held(**kwargs):
    return ControlledRate(learning_rate=0.1, **kwargs)


CONTROLLED = (
    [
        case("ControlledRate-schedule-number", lambda: ControlledRate(0.1), TypeError, "schedule",
             "0.1"),
        case("ControlledRate-schedule-string", lambda: ControlledRate("StepDecay"), TypeError,
             "schedule", "'StepDecay'"),
        case("ControlledRate-schedule-function", lambda: ControlledRate(one_argument_function),
             TypeError, "schedule", "<function one_argument_function"),
        case("ControlledRate-schedule-list", lambda: ControlledRate([GOOD]), TypeError,
             "schedule", "[StepDecay("),
        case("ControlledRate-schedule-config-of-unknown-class",
             lambda: ControlledRate({"class_name": "Nope", "config": {}}), ValueError,
             "schedule", "{'class_name': 'Nope', 'config': {}}"),
        case("ControlledRate-schedule-config-with-bad-values",
             lambda: ControlledRate({"class_name": "StepDecay", "module": None,
                                     "registered_name": "lrschedule>StepDecay",
                                     "config": {"initial_learning_rate": -1, "step_size": 1}}),
             ValueError, "schedule", "{'class_name': 'StepDecay', 'module': None"),
        case("ControlledRate-schedule-bool", lambda: ControlledRate(True), TypeError, "schedule",
             "True"),
        case("ControlledRate-schedule-nested", lambda: ControlledRate(ControlledRate(GOOD)),
             TypeError, "schedule", "ControlledRate(schedule=StepDecay("),
        case("ControlledRate-learning_rate-missing", lambda: ControlledRate(), ValueError,
             "learning_rate", "None"),
        case("ControlledRate-learning_rate-negative-beside-a-schedule",
             lambda: ControlledRate(GOOD, learning_rate=-1.0), ValueError, "learning_rate",
             "-1.0"),
    ]
    + family("ControlledRate", "learning_rate", lambda v: ControlledRate(learning_rate=v),
             BAD_POSITIVE, skip=("none",))
    + family("ControlledRate", "multiplier", lambda v: held(multiplier=v), BAD_POSITIVE)
    + family("ControlledRate", "min_lr", lambda v: held(min_lr=v), BAD_NON_NEGATIVE)
    + family("ControlledRate", "best", lambda v: held(best=v), WRONG_KIND + NON_FINITE,
             skip=("none",))
    + family("ControlledRate", "wait", lambda v: held(wait=v), BAD_COUNT)
    + family("ControlledRate", "cooldown_counter", lambda v: held(cooldown_counter=v), BAD_COUNT)
    + family("ControlledRate", "name", lambda v: held(name=v), [
        ("none", None, TypeError, "None"),
        ("number", 3, TypeError, "3"),
        ("list", ["rate"], TypeError, "['rate']"),
        ("slash", "a/b", ValueError, "'a/b'"),
    ])
)

# --------------------------------------------------------------------------------------
# find_lr(model, x, y, start_lr, end_lr, num_steps, batch_size, smoothing,
#         diverge_factor, *, sample_weight, shuffle, seed, verbose)

X = np.linspace(-1, 1, 16, dtype="float32").reshape(8, 2)
Y = (X @ np.float32([[1.0], [-1.0]])).astype("float32")


def tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    return model


@functools.lru_cache(maxsize=None)
def guarded_model():
    """A compiled model that fails the test if find_lr gets as far as training it."""
    model = tiny_model()

    def no_training(*args, **kwargs):
        raise AssertionError("find_lr trained the model before refusing a bad argument")

    model.train_on_batch = no_training
    return model


@functools.lru_cache(maxsize=None)
def uncompiled_model():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])


def run_find_lr(**overrides):
    kwargs = dict(model=guarded_model(), x=X, y=Y, num_steps=4, batch_size=4, verbose=0)
    kwargs.update(overrides)
    return lrs.find_lr(**kwargs)


def find_lr_family(arg, entries, **fixed):
    return family("find_lr", arg, lambda v: run_find_lr(**{arg: v, **fixed}), entries)


FIND_LR = (
    [
        case("find_lr-model-string", lambda: run_find_lr(model="model"), TypeError, "model",
             "'model'"),
        case("find_lr-model-none", lambda: run_find_lr(model=None), TypeError, "model", "None"),
        case("find_lr-model-layer", lambda: run_find_lr(model=keras.layers.Dense(1)), TypeError,
             "model", "<Dense"),
        case("find_lr-model-list", lambda: run_find_lr(model=[guarded_model()]), TypeError,
             "model", "[<Sequential"),
        case("find_lr-model-uncompiled", lambda: run_find_lr(model=uncompiled_model()),
             ValueError, "model", "<Sequential"),
        # x
        case("find_lr-x-none", lambda: run_find_lr(x=None), TypeError, "x", "None"),
        case("find_lr-x-string", lambda: run_find_lr(x="abcdefgh"), TypeError, "x",
             "'abcdefgh'"),
        case("find_lr-x-string-without-y", lambda: run_find_lr(x="abcdefgh", y=None), TypeError,
             "x", "'abcdefgh'"),
        case("find_lr-x-number", lambda: run_find_lr(x=5), TypeError, "x", "5"),
        case("find_lr-x-list-of-strings", lambda: run_find_lr(x=["ab", "cd"]), TypeError, "x",
             "['ab', 'cd']"),
        case("find_lr-x-empty-array", lambda: run_find_lr(x=X[:0], y=Y[:0]), ValueError, "x",
             "[]"),
        case("find_lr-x-empty-dict", lambda: run_find_lr(x={}), ValueError, "x", "{}"),
        case("find_lr-x-empty-list", lambda: run_find_lr(x=[]), ValueError, "x", "[]"),
        case("find_lr-x-ragged-inputs", lambda: run_find_lr(x={"a": X, "b": X[:5]}), ValueError,
             "x", "{'a': array("),
        case("find_lr-x-no-batches", lambda: run_find_lr(x=[], y=None), ValueError, "x", "[]"),
        case("find_lr-x-empty-iterator", lambda: run_find_lr(x=iter([]), y=None), ValueError,
             "x", "list_iterator(...)"),
        case("find_lr-x-batches-not-pairs", lambda: run_find_lr(x=[X, Y], y=None), ValueError,
             "x", "[array("),
        case("find_lr-x-a-bad-batch-later", lambda: run_find_lr(x=[(X, Y), "oops"], y=None),
             ValueError, "x", "[(array("),
        # y
        case("find_lr-y-none-with-arrays", lambda: run_find_lr(y=None), ValueError, "y", "None"),
        case("find_lr-y-none-with-a-dict", lambda: run_find_lr(x={"a": X}, y=None), ValueError,
             "y", "None"),
        case("find_lr-y-string", lambda: run_find_lr(y="abcdefgh"), TypeError, "y",
             "'abcdefgh'"),
        case("find_lr-y-number", lambda: run_find_lr(y=1.0), TypeError, "y", "1.0"),
        case("find_lr-y-shorter", lambda: run_find_lr(y=Y[:3]), ValueError, "y", "[["),
        case("find_lr-y-longer", lambda: run_find_lr(y=np.zeros((9, 1))), ValueError, "y", "[["),
        case("find_lr-y-empty", lambda: run_find_lr(y=Y[:0]), ValueError, "y", "[]"),
        # sample_weight
        case("find_lr-sample_weight-shorter", lambda: run_find_lr(sample_weight=np.ones(7)),
             ValueError, "sample_weight", "[1.0, 1.0"),
        case("find_lr-sample_weight-longer", lambda: run_find_lr(sample_weight=np.ones(9)),
             ValueError, "sample_weight", "[1.0, 1.0"),
        case("find_lr-sample_weight-string", lambda: run_find_lr(sample_weight="ones"),
             TypeError, "sample_weight", "'ones'"),
        case("find_lr-sample_weight-number", lambda: run_find_lr(sample_weight=1.0), TypeError,
             "sample_weight", "1.0"),
        case("find_lr-sample_weight-with-batches",
             lambda: run_find_lr(x=[(X, Y)], y=None, sample_weight=np.ones(8)), ValueError,
             "sample_weight", "[1.0, 1.0"),
        # start_lr / end_lr
        case("find_lr-end_lr-equal", lambda: run_find_lr(start_lr=0.1, end_lr=0.1), ValueError,
             "end_lr", "0.1"),
        case("find_lr-end_lr-below-start", lambda: run_find_lr(start_lr=0.1, end_lr=0.01),
             ValueError, "end_lr", "0.01"),
    ]
    + find_lr_family("start_lr", BAD_POSITIVE)
    + find_lr_family("end_lr", BAD_POSITIVE, start_lr=1e-9)
    + find_lr_family("num_steps", BAD_COUNT + [("one", 1, ValueError, "1")])
    + find_lr_family("batch_size", BAD_COUNT + [("zero", 0, ValueError, "0")])
    + find_lr_family("smoothing", WRONG_KIND + NON_FINITE + NEGATIVE + [
        ("one", 1.0, ValueError, "1.0"), ("above-one", 1.5, ValueError, "1.5")])
    + find_lr_family("diverge_factor", WRONG_KIND + NON_FINITE + NEGATIVE + ZERO + [
        ("one", 1.0, ValueError, "1.0"), ("below-one", 0.5, ValueError, "0.5")], )
    + find_lr_family("shuffle", BAD_FLAG)
    + find_lr_family("seed", [e for e in BAD_COUNT if e[0] != "none"])
    + find_lr_family("verbose", BAD_COUNT)
)
# diverge_factor=None means "never stop early"; the family's None entry is not a bad value.
FIND_LR = [c for c in FIND_LR if c[0] != "find_lr-diverge_factor-none"]

def as_ax(value):
    """The `ax` of a case; "figure" stands for a new matplotlib Figure (not an Axes)."""
    return plt.figure() if isinstance(value, str) and value == "figure" else value


# --------------------------------------------------------------------------------------
# values(schedule, steps) and plot(schedule, steps, ax, log, **kwargs)

BAD_STEPS = [
    ("negative", -1, ValueError, "-1"),
    ("numpy-negative", np.int64(-3), ValueError, None),
    ("fraction", 2.5, ValueError, "2.5"),
    ("nan", NAN, ValueError, "nan"),
    ("inf", INF, ValueError, "inf"),
    ("-inf", -INF, ValueError, "-inf"),
    ("matrix", np.zeros((2, 2)), ValueError, "[[0.0, 0.0], [0.0, 0.0]]"),
    ("nested-list", [[1, 2]], ValueError, "[[1, 2]]"),
    ("negative-element", [1, -2], ValueError, "[1, -2]"),
    ("fractional-element", [0.5], ValueError, "[0.5]"),
    ("nan-element", [1.0, NAN], ValueError, "[1.0, nan]"),
    ("string", "10", TypeError, "'10'"),
    ("none", None, TypeError, "None"),
    ("bool", True, TypeError, "True"),
    ("numpy-bool", np.bool_(True), TypeError, None),
    ("bools", [True, False], TypeError, "[True, False]"),
    ("strings", ["a"], TypeError, "['a']"),
    ("none-element", [1, None], TypeError, "[1, None]"),
    ("dict", {"steps": 3}, TypeError, "{'steps': 3}"),
    ("complex", 3j, TypeError, "3j"),
    # a step is an int64 (1e30 used to fail inside numpy); a range past 2**31 - 1 steps
    # would allocate 8+ GiB
    ("step-2**63", 2**63, ValueError, "9223372036854775808"),
    ("step-1e30", 1e30, ValueError, "1e+30"),
    ("range-past-2**31", range(2**31), ValueError, "range(0, 2147483648)"),
    ("negative-range", range(-2, 2), ValueError, "range(-2, 2)"),
    ("element-past-2**63", [0.0, 1e300], ValueError, "[0.0, 1e+300]"),
]
BAD_SCHEDULE = [
    ("string", "cosine", TypeError, "'cosine'"),
    ("none", None, TypeError, "None"),
    ("bool", True, TypeError, "True"),
    ("list", [0.1], TypeError, "[0.1]"),
    ("vector", np.array([0.1, 0.2]), TypeError, "[0.1, 0.2]"),
    ("dict", {"lr": 0.1}, TypeError, "{'lr': 0.1}"),
    ("function", one_argument_function, TypeError, "<function one_argument_function"),
    ("negative", -1, ValueError, "-1"),
    ("numpy-negative", np.float64(-0.5), ValueError, None),
    ("nan", NAN, ValueError, "nan"),
    ("inf", INF, ValueError, "inf"),
]

INSPECTION = (
    family("values", "schedule", lambda v: lrs.values(v, 5), BAD_SCHEDULE)
    + family("values", "steps", lambda v: lrs.values(GOOD, v), BAD_STEPS)
    + family("plot", "schedule", lambda v: lrs.plot(v, range(5)), BAD_SCHEDULE)
    # None is plot()'s default (the schedule's whole shape), not a bad value there
    + family("plot", "steps", lambda v: lrs.plot(GOOD, v),
             [c for c in BAD_STEPS if c[0] != "none"] + [
        # one step (a number is a step, not a count) draws nothing
        ("one-step", 5, ValueError, "5"),
        ("one-element", [5], ValueError, "[5]"),
        ("empty", [], ValueError, "[]"),
    ])
    # None is plot()'s default for log (a log axis when a run's rates call for it)
    + family("plot", "log", lambda v: lrs.plot(GOOD, range(5), log=v),
             [c for c in BAD_FLAG if c[0] != "none"])
    + family("plot", "ax", lambda v: lrs.plot(GOOD, range(5), ax=as_ax(v)), [
        ("string", "ax", TypeError, "'ax'"),
        ("number", 1, TypeError, "1"),
        ("figure", "figure", TypeError, "<Figure"),
    ])
)

# --------------------------------------------------------------------------------------
# LRFinderResult(rates, losses, smoothed_losses, diverged, num_steps, skip_start,
#                skip_end) and its plot(ax, skip_end, suggestions)

RATES = [1e-4, 1e-3, 1e-2, 1e-1]
LOSSES = [1.0, 0.8, 0.5, 2.0]


def result(**overrides):
    kwargs = dict(rates=RATES, losses=LOSSES, smoothed_losses=LOSSES, diverged=False,
                  num_steps=4, skip_start=0, skip_end=0)
    kwargs.update(overrides)
    return LRFinderResult(**kwargs)


@functools.lru_cache(maxsize=None)
def a_result():
    return result()


def plot_result(**kwargs):
    if "ax" in kwargs:
        kwargs["ax"] = as_ax(kwargs["ax"])
    return a_result().plot(**kwargs)


RESULT = (
    family("LRFinderResult", "rates", lambda v: result(rates=v), [
        ("string", "rates", TypeError, "'rates'"),
        ("none", None, TypeError, "None"),
        ("number", 0.1, TypeError, "0.1"),
        ("strings", ["a", "b", "c", "d"], TypeError, "['a', 'b', 'c', 'd']"),
        ("matrix", [[1e-4, 1e-3], [1e-2, 1e-1]], ValueError, "[[0.0001, 0.001], [0.01, 0.1]]"),
        ("zero", [0.0, 1e-3, 1e-2, 1e-1], ValueError, "[0.0, 0.001, 0.01, 0.1]"),
        ("negative", [-1e-4, 1e-3, 1e-2, 1e-1], ValueError, "[-0.0001, 0.001"),
        ("nan", [NAN, 1e-3, 1e-2, 1e-1], ValueError, "[nan, 0.001"),
        ("inf", [1e-4, 1e-3, 1e-2, INF], ValueError, "[0.0001, 0.001, 0.01, inf]"),
    ])
    + family("LRFinderResult", "losses", lambda v: result(losses=v), [
        ("shorter", [1.0, 0.5], ValueError, "[1.0, 0.5]"),
        ("string", "loss", TypeError, "'loss'"),
        ("none", None, TypeError, "None"),
        ("strings", ["a", "b", "c", "d"], TypeError, "['a', 'b', 'c', 'd']"),
    ])
    + family("LRFinderResult", "smoothed_losses", lambda v: result(smoothed_losses=v), [
        ("longer", LOSSES + [1.0], ValueError, "[1.0, 0.8, 0.5, 2.0, 1.0]"),
        ("number", 1.0, TypeError, "1.0"),
    ])
    + family("LRFinderResult", "diverged", lambda v: result(diverged=v), BAD_FLAG)
    + family("LRFinderResult", "num_steps", lambda v: result(num_steps=v), [
        ("fewer-than-rates", 3, ValueError, "3"),
        ("fraction", 4.5, ValueError, "4.5"),
        ("string", "4", TypeError, "'4'"),
        ("bool", True, TypeError, "True"),
        ("none", None, TypeError, "None"),
    ])
    + family("LRFinderResult", "skip_start", lambda v: result(skip_start=v), [
        ("negative", -1, ValueError, "-1"),
        ("fraction", 1.5, ValueError, "1.5"),
        ("string", "1", TypeError, "'1'"),
    ])
    + family("LRFinderResult", "skip_end", lambda v: result(skip_end=v), [
        ("negative", -5, ValueError, "-5"),
        ("nan", NAN, ValueError, "nan"),
        ("bool", False, TypeError, "False"),
    ])
    + family("LRFinderResult.plot", "skip_end", lambda v: plot_result(skip_end=v),
             BAD_COUNT, skip=("none",))
    + family("LRFinderResult.plot", "suggestions", lambda v: plot_result(suggestions=v),
             BAD_FLAG + [("array", np.array([True]), TypeError, "[True]")])
    + family("LRFinderResult.plot", "ax", lambda v: plot_result(ax=v), [
        ("string", "ax", TypeError, "'ax'"),
        ("number", 1, TypeError, "1"),
        ("figure", "figure", TypeError, "<Figure"),
    ])
)

# --------------------------------------------------------------------------------------
# from_transformers(name, num_training_steps, num_warmup_steps, learning_rate, **kwargs),
# from_timm(config, steps_per_epoch, learning_rate, spelling), from_torch(scheduler, horizon)


def cosine(**kwargs):
    args = dict(name="cosine", num_training_steps=100, num_warmup_steps=10, learning_rate=1e-3)
    args.update(kwargs)
    return lrs.from_transformers(**args)


def timm(config=None, **kwargs):
    args = dict(steps_per_epoch=10, learning_rate=0.1)
    args.update(kwargs)
    return lrs.from_timm(dict(sched="cosine", num_epochs=10) if config is None else config, **args)


def torch_scheduler():
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    return torch.optim.lr_scheduler.StepLR(torch.optim.SGD([param], lr=0.1), 3)


RECIPES = (
    [
        case("from_transformers-name-unknown", lambda: cosine(name="cosine_hard"), ValueError,
             "name", "'cosine_hard'"),
        case("from_transformers-name-greedy", lambda: cosine(name="greedy"), ValueError, "name",
             "'greedy'"),
        case("from_transformers-name-number", lambda: cosine(name=3), TypeError, "name", "3"),
        case("from_transformers-name-none", lambda: cosine(name=None), TypeError, "name", "None"),
        case("from_transformers-name-dict-unknown-key",
             lambda: lrs.from_transformers({"epochs": 3}, num_training_steps=10), ValueError,
             "name", "['epochs']"),
        case("from_transformers-num_warmup_steps-with-a-dict",
             lambda: lrs.from_transformers({}, num_training_steps=10, num_warmup_steps=2),
             ValueError, "num_warmup_steps", "2"),
        case("from_transformers-num_training_steps-missing",
             lambda: cosine(num_training_steps=None), ValueError, "num_training_steps", "None"),
        case("from_transformers-num_warmup_steps-missing",
             lambda: cosine(num_warmup_steps=None), ValueError, "num_warmup_steps", "None"),
        case("from_transformers-learning_rate-missing", lambda: cosine(learning_rate=None),
             ValueError, "learning_rate", "None"),
        case("from_transformers-num_cycles-string", lambda: cosine(num_cycles="a"), TypeError,
             "num_cycles", "'a'"),
        case("from_transformers-num_cycles-negative", lambda: cosine(num_cycles=-1.0),
             ValueError, "num_cycles", "-1.0"),
        case("from_transformers-lr_end-above-the-rate",
             lambda: cosine(name="polynomial", lr_end=0.5), ValueError, "lr_end", "0.5"),
        case("from_transformers-power-zero", lambda: cosine(name="polynomial", power=0),
             ValueError, "power", "0"),
        case("from_transformers-min_lr_rate-above-one",
             lambda: cosine(name="cosine_with_min_lr", min_lr_rate=1.5), ValueError,
             "min_lr_rate", "1.5"),
        case("from_transformers-min_lr-and-min_lr_rate",
             lambda: cosine(name="cosine_with_min_lr", min_lr=1e-5, min_lr_rate=0.1),
             ValueError, "min_lr", "1e-05"),
        case("from_transformers-num_decay_steps-missing",
             lambda: cosine(name="warmup_stable_decay"), ValueError, "num_decay_steps", "None"),
        case("from_transformers-decay_type-unknown",
             lambda: cosine(name="warmup_stable_decay", num_decay_steps=10, decay_type="exp"),
             ValueError, "decay_type", "'exp'"),
        case("from_transformers-timescale-not-passed",
             lambda: cosine(name="inverse_sqrt", timescale=5), ValueError, "timescale", "5"),
        case("from_transformers-threshold_mode-unknown",
             lambda: cosine(name="reduce_lr_on_plateau", threshold_mode="relative"), ValueError,
             "threshold_mode", "'relative'"),
        case("from_transformers-eps-not-the-default",
             lambda: cosine(name="reduce_lr_on_plateau", eps=1e-3), ValueError, "eps", "0.001"),
        case("from_transformers-warmup_ratio-above-one",
             lambda: lrs.from_transformers({"warmup_ratio": 2.0}, num_training_steps=10),
             ValueError, "warmup_ratio", "2.0"),
        case("from_transformers-max_steps-fraction",
             lambda: lrs.from_transformers({"max_steps": 2.5}), ValueError, "max_steps", "2.5"),
    ]
    + family("from_transformers", "num_training_steps", lambda v: cosine(num_training_steps=v),
             BAD_COUNT, skip=("none",))
    + family("from_transformers", "num_warmup_steps", lambda v: cosine(num_warmup_steps=v),
             BAD_COUNT, skip=("none",))
    + family("from_transformers", "learning_rate", lambda v: cosine(learning_rate=v),
             BAD_POSITIVE, skip=("none",))
    + [
        case("from_timm-config-number", lambda: timm(config=3), TypeError, "config", "3"),
        case("from_timm-config-missing-file", lambda: timm(config="/no/such/args.yaml"),
             ValueError, "config", "'/no/such/args.yaml'"),
        case("from_timm-spelling-unknown", lambda: timm(spelling="v3"), ValueError, "spelling",
             "'v3'"),
        case("from_timm-spelling-ambiguous", lambda: timm(config={"sched": "cosine"}),
             ValueError, "spelling", "None"),
        case("from_timm-sched-unknown", lambda: timm(config={"sched": "sgdr", "num_epochs": 3}),
             ValueError, "sched", "'sgdr'"),
        case("from_timm-sched-plateau",
             lambda: timm(config={"sched": "plateau", "num_epochs": 3}), ValueError, "sched",
             "'plateau'"),
        case("from_timm-noise", lambda: timm(config={"num_epochs": 3, "noise": 0.5}),
             ValueError, "noise", "0.5"),
        case("from_timm-num_epochs-zero", lambda: timm(config={"num_epochs": 0}), ValueError,
             "num_epochs", "0"),
        case("from_timm-warmup_epochs-fraction",
             lambda: timm(config={"num_epochs": 3, "warmup_epochs": 1.5}), ValueError,
             "warmup_epochs", "1.5"),
        case("from_timm-cycle_mul-zero", lambda: timm(config={"num_epochs": 3, "cycle_mul": 0}),
             ValueError, "cycle_mul", "0"),
        case("from_timm-decay_fn-unknown",
             lambda: timm(config={"sched": "wsd", "num_epochs": 3, "decay_fn": "step"}),
             ValueError, "decay_fn", "'step'"),
        case("from_timm-unknown-key", lambda: timm(config={"num_epochs": 3, "epochz": 1}),
             ValueError, "epochz", "1"),
        case("from_timm-learning_rate-missing",
             lambda: lrs.from_timm({"num_epochs": 3}, steps_per_epoch=10), ValueError,
             "learning_rate", "None"),
    ]
    + family("from_timm", "steps_per_epoch", lambda v: timm(steps_per_epoch=v),
             BAD_COUNT + ZERO, skip=("numpy-zero",))
    + family("from_timm", "learning_rate", lambda v: timm(learning_rate=v), BAD_POSITIVE,
             skip=("none",))
    + [
        case("from_torch-scheduler-string", lambda: lrs.from_torch("StepLR"), TypeError,
             "scheduler", "'StepLR'"),
        case("from_torch-scheduler-none", lambda: lrs.from_torch(None), TypeError, "scheduler",
             "None"),
        case("from_torch-horizon-for-a-closed-form",
             lambda: lrs.from_torch(torch_scheduler(), horizon=10), ValueError, "horizon", "10"),
    ]
)

CASES = SCHEDULE_LR + PLATEAU + LOGGER + CONTROLLED + FIND_LR + INSPECTION + RESULT + RECIPES
API_OF = {"LRFinderResult.plot": "LRFinderResult", "plot": "values/plot",
          "values": "values/plot"}


def cases_per_api():
    counts = {}
    for name, *_ in CASES:
        api = name.split("-")[0]
        api = API_OF.get(api, api)
        counts[api] = counts.get(api, 0) + 1
    return counts


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# Every case but these refuses before anything reaches Keras's backend: find_lr() looks
# at its model and data first (TensorFlow's tf.data types whatever the backend, torch's
# pytrees on torch, a layer built for a case), and a nested schedule's config is
# rebuilt as Keras objects. They run on every backend; the rest once (conftest.py).
# (from_torch imports torch, the scheduler's library, which the guard counts as a backend)
REACHES_THE_BACKEND = ("find_lr-", "ControlledRate-schedule-nested", "from_torch-")


def marked(case):
    independent = not case[0].startswith(REACHES_THE_BACKEND)
    return pytest.param(*case[1:], id=case[0],
                        marks=pytest.mark.backend_independent if independent else ())


@pytest.mark.parametrize("call, error, arg, shown", [marked(c) for c in CASES])
def test_bad_argument_is_refused_naming_the_argument_and_the_value(call, error, arg, shown):
    figures = plt.get_fignums()
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert type(info.value) is error, message  # not a subclass such as KeyError
    assert f"Argument `{arg}` must be " in message, message
    assert f"Received: {arg}={shown}" in message, message
    # Refused before anything was drawn (a figure passed as `ax` is the test's own).
    assert len(plt.get_fignums()) <= len(figures) + (shown == "<Figure"), message


@pytest.mark.backend_independent
def test_the_table_is_systematic():
    counts = cases_per_api()
    assert sum(counts.values()) == len(CASES) >= 120
    assert len({c[0] for c in CASES}) == len(CASES)  # ids are unique
    for api in ("ScheduleLR", "ReduceLROnPlateau", "LRLogger", "ControlledRate", "find_lr",
                "values/plot", "LRFinderResult", "from_transformers", "from_timm"):
        assert counts[api] >= 5, api


@pytest.mark.backend_independent
def test_message_format_is_keras_exactly():
    with pytest.raises(ValueError) as info:
        ReduceLROnPlateau(factor=1.5)
    assert str(info.value) == "Argument `factor` must be < 1. Received: factor=1.5"
    with pytest.raises(TypeError) as info:
        ReduceLROnPlateau(patience=True)
    assert str(info.value) == (
        "Argument `patience` must be an integer. Received: patience=True (of type bool)"
    )


# --------------------------------------------------------------------------------------
# Valid edge values are accepted (and normalised to plain Python types)


@pytest.mark.parametrize(
    "kwargs, attribute, expected",
    [
        ({"patience": 0}, "patience", 0),
        ({"patience": np.int64(3)}, "patience", 3),
        ({"patience": 10.0}, "patience", 10),
        ({"patience": np.array(2)}, "patience", 2),
        ({"cooldown": 0}, "cooldown", 0),
        ({"cooldown": np.int32(2)}, "cooldown", 2),
        ({"min_lr": 0}, "min_lr", 0.0),
        ({"min_lr": np.float32(1e-6)}, "min_lr", float(np.float32(1e-6))),
        ({"min_delta": 0}, "min_delta", 0.0),
        ({"factor": np.float32(0.5)}, "factor", 0.5),
        ({"factor": 1e-9}, "factor", 1e-9),
        ({"factor": 0.999}, "factor", 0.999),
        ({"mode": "min"}, "mode", "min"),
        ({"mode": "max"}, "mode", "max"),
        ({"monitor": "loss"}, "monitor", "loss"),
        ({"verbose": np.int64(1)}, "verbose", 1),
    ],
    ids=lambda v: repr(v) if not isinstance(v, str) else v,
)
@pytest.mark.backend_independent
def test_plateau_accepts_valid_edge_values(kwargs, attribute, expected):
    callback = ReduceLROnPlateau(**kwargs)
    value = getattr(callback, attribute)
    assert value == expected and type(value) is type(expected)
    assert type(callback.get_config()[attribute]) is type(expected)


@pytest.mark.parametrize(
    "make, arity",
    [
        (lambda: ScheduleLR(one_argument_function), 1),
        (lambda: ScheduleLR(two_argument_function), 2),
        (lambda: ScheduleLR(varargs_function, arity=2.0), 2),
        (lambda: ScheduleLR(varargs_function, arity=np.int64(1)), 1),
        (lambda: ScheduleLR(GOOD, verbose=np.int32(0)), None),
        (lambda: ScheduleLR(GOOD, arity=None), None),
    ],
    ids=["one-argument", "two-arguments", "integral-float-arity", "numpy-arity",
         "schedule-numpy-verbose", "schedule-arity-none"],
)
def test_schedule_lr_accepts_valid_edge_values(make, arity):
    callback = make()
    assert callback._arity == arity
    config = callback.get_config()
    assert config["arity"] is None or type(config["arity"]) is int
    assert type(config["verbose"]) is int


@pytest.mark.backend_independent
def test_logger_accepts_both_choices():
    assert LRLogger("epoch").per == "epoch" and LRLogger(per="batch").per == "batch"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"learning_rate": 0.1, "min_lr": 0, "wait": 0, "cooldown_counter": 0},
        {"learning_rate": np.float32(0.1), "multiplier": np.float64(0.5)},
        {"learning_rate": np.array(0.1), "wait": 3.0, "cooldown_counter": np.int64(2)},
        {"learning_rate": 0.1, "best": -1.5, "name": "rate"},
        {"learning_rate": 0.1, "best": np.float32(0.25), "multiplier": 2.0},
        {"schedule": GOOD},
        {"schedule": GOOD, "learning_rate": None, "best": None},
        {"schedule": keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5), "min_lr": 1e-3},
    ],
    ids=["zeros", "numpy-floats", "0d-array-and-integral-float", "negative-best",
         "multiplier-above-one", "schedule", "schedule-explicit-nones", "keras-schedule"],
)
def test_controlled_rate_accepts_valid_edge_values(kwargs):
    rate = ControlledRate(**kwargs)
    config = rate.get_config()
    assert type(config["wait"]) is int and type(config["cooldown_counter"]) is int
    assert np.isfinite(float(keras.ops.convert_to_numpy(rate(0))))


@pytest.mark.parametrize(
    "steps, expected",
    [
        (0, 0),
        (3, 3),
        (np.int64(2), 2),
        (2.0, 2),
        (np.array(2), 2),
        pytest.param(2**62, 2**62, marks=pytest.mark.skipif(
            keras.backend.backend() != "tensorflow",
            reason="steps past 2**31 - 1 are exact on TensorFlow only (JAX computes steps in "
                   "int32 without x64; Keras makes Python ints int32 tensors on torch)")),
    ],
    ids=["zero", "int", "numpy-int", "integral-float", "0d-array", "2**62"],
)
def test_values_takes_a_number_as_one_step(steps, expected):
    schedule = lrs.StepDecay(1.0, step_size=2, gamma=0.5)
    rate = lrs.values(schedule, steps)
    assert np.ndim(rate) == 0
    assert rate == pytest.approx(0.5 ** (expected // 2) if expected < 2000 else 0.0)


@pytest.mark.parametrize(
    "steps, expected",
    [
        (range(3), [0, 1, 2]),
        (range(4, 0, -2), [4, 2]),
        ([], []),
        (range(0), []),
        ([4, 0, 4], [4, 0, 4]),
        (np.array([3.0, 1.0]), [3, 1]),
        ((5,), [5]),
        (np.array([2]), [2]),
    ],
    ids=["range", "reversed-range", "empty-list", "empty-range", "unsorted", "whole-floats",
         "tuple", "one-element-array"],
)
def test_values_and_plot_accept_valid_steps(steps, expected):
    schedule = lrs.StepDecay(1.0, step_size=2, gamma=0.5)
    rates = lrs.values(schedule, steps)
    assert rates.shape == (len(expected),)
    np.testing.assert_allclose(rates, [0.5 ** (s // 2) for s in expected])
    if len(expected) >= 2:
        ax = lrs.plot(schedule, steps, log=np.bool_(True))
        assert ax.get_yscale() == "log"
        np.testing.assert_array_equal(ax.lines[0].get_xdata(), expected)


@pytest.mark.parametrize("schedule", [0, 0.1, np.float32(0.1), np.array(0.1)],
                         ids=["zero", "float", "numpy-float", "0d-array"])
@pytest.mark.backend_independent
def test_values_accepts_a_number_as_a_constant_rate(schedule):
    np.testing.assert_allclose(lrs.values(schedule, range(3)), [float(schedule)] * 3)


def test_plot_draws_on_a_given_axes_with_log_false():
    _, ax = plt.subplots()
    assert lrs.plot(GOOD, range(4), ax=ax, log=False, color="red") is ax
    assert ax.get_yscale() == "linear"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_steps": 2.0, "batch_size": np.int64(8), "seed": 0, "shuffle": np.bool_(False)},
        {"num_steps": np.int32(3), "smoothing": 0, "diverge_factor": None, "verbose": 0.0},
        {"y": Y[:, 0], "sample_weight": np.ones(8), "batch_size": 100, "seed": np.int64(7),
         "start_lr": np.float32(1e-5), "end_lr": 1e-4},
        {"x": [(X[:4], Y[:4]), (X[4:], Y[4:], np.ones(4))], "y": None},
        {"x": {"inputs": X}, "smoothing": 0.999, "diverge_factor": 1.0001},
    ],
    ids=["integral-float-steps", "zero-smoothing-no-divergence", "weights-and-one-batch",
         "batches", "dict-input-and-extreme-factors"],
)
def test_find_lr_accepts_valid_edge_values(kwargs):
    if isinstance(kwargs.get("x"), dict):
        keras.utils.set_random_seed(0)
        inputs = {"inputs": keras.Input((2,), name="inputs")}
        model = keras.Model(inputs, keras.layers.Dense(1)(inputs["inputs"]))
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    else:
        model = tiny_model()
    run = dict(model=model, x=X, y=Y, num_steps=4, batch_size=4, verbose=0)
    run.update(kwargs)
    found = lrs.find_lr(**run)
    assert 1 <= len(found.rates) <= int(run["num_steps"])
    assert found.num_steps == int(run["num_steps"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"skip_end": 0},
        {"skip_end": np.int64(2), "suggestions": False},
        {"skip_end": 100.0, "suggestions": np.bool_(True)},
    ],
    ids=["defaults", "skip-none", "numpy-skip-no-marks", "skip-all-numpy-flag"],
)
@pytest.mark.backend_independent
def test_finder_result_plot_accepts_valid_edge_values(kwargs):
    ax = a_result().plot(**kwargs)
    assert ax.get_xscale() == "log"


@pytest.mark.backend_independent
def test_finder_result_accepts_what_find_lr_and_r_give_it():
    # numpy arrays, a diverged test ending on a non-finite loss, an empty test
    finder = LRFinderResult(np.float64(RATES[:2]), [1.0, INF], [1.0, INF], np.bool_(True),
                            np.int64(50), skip_start=5.0, skip_end=np.int32(5))
    assert finder.suggestions == {"steep": None, "minimum": None, "valley": None}
    assert finder.to_dict()["diverged"] is True and type(finder.skip_start) is int
    empty = LRFinderResult([], [], [], False, 0, 0, 0)
    assert repr(empty) == "LRFinderResult(no steps)"


# --------------------------------------------------------------------------------------
# Optimizer arguments Keras takes as given although they break training


@pytest.mark.parametrize("build, name, shown", [
    (lambda: lrs.optimizers.Adam(beta_1=1.0), "beta_1", "beta_1=1.0"),
    (lambda: lrs.optimizers.AdamW(beta_2=-0.1), "beta_2", "beta_2=-0.1"),
    (lambda: lrs.optimizers.SGD(clipnorm=-1.0), "clipnorm", "clipnorm=-1.0"),
    (lambda: lrs.optimizers.RMSprop(epsilon=-1e-7), "epsilon", "epsilon=-1e-07"),
    (lambda: lrs.optimizers.Nadam(gradient_accumulation_steps=1), "gradient_accumulation_steps",
     "gradient_accumulation_steps=1"),
    (lambda: lrs.optimizers.check_arguments(keras.optimizers.Adam(epsilon=-1e-7)), "epsilon",
     "epsilon=-1e-07"),
    (lambda: lrs.optimizers.check_arguments({"ema_momentum": 1.5}), "ema_momentum",
     "ema_momentum=1.5"),
    (lambda: lrs.optimizers.check_arguments(
        keras.optimizers.Adagrad(initial_accumulator_value=-0.1)),
     "initial_accumulator_value", "initial_accumulator_value=-0.1"),
    # the arguments that became schedulable (and their ranges)
    (lambda: lrs.optimizers.Ftrl(learning_rate_power=0.5), "learning_rate_power",
     "learning_rate_power=0.5"),
    (lambda: lrs.optimizers.Ftrl(l1_regularization_strength=-1.0), "l1_regularization_strength",
     "l1_regularization_strength=-1.0"),
    (lambda: lrs.optimizers.Ftrl(l2_regularization_strength=NAN), "l2_regularization_strength",
     "l2_regularization_strength=nan"),
    (lambda: lrs.optimizers.Ftrl(l2_shrinkage_regularization_strength=-0.1),
     "l2_shrinkage_regularization_strength", "l2_shrinkage_regularization_strength=-0.1"),
    (lambda: lrs.optimizers.Ftrl(beta=-1.0), "beta", "beta=-1.0"),
    (lambda: lrs.optimizers.Muon(adam_beta_1=1.0), "adam_beta_1", "adam_beta_1=1.0"),
    (lambda: lrs.optimizers.Muon(adam_beta_2=-0.5), "adam_beta_2", "adam_beta_2=-0.5"),
    (lambda: lrs.optimizers.Muon(adam_weight_decay=-0.1), "adam_weight_decay",
     "adam_weight_decay=-0.1"),
    (lambda: lrs.optimizers.Muon(adam_lr_ratio=0), "adam_lr_ratio", "adam_lr_ratio=0"),
    (lambda: lrs.optimizers.Muon(rms_rate=-0.2), "rms_rate", "rms_rate=-0.2"),
    (lambda: lrs.optimizers.Adafactor(beta_2_decay=0.1), "beta_2_decay", "beta_2_decay=0.1"),
    (lambda: lrs.optimizers.Adafactor(epsilon_1=-1e-30), "epsilon_1", "epsilon_1=-1e-30"),
    (lambda: lrs.optimizers.Adafactor(clip_threshold=0.0), "clip_threshold", "clip_threshold=0.0"),
    (lambda: lrs.optimizers.Lion(beta_2=INF), "beta_2", "beta_2=inf"),
    (lambda: lrs.optimizers.Adadelta(rho=1.5), "rho", "rho=1.5"),
    # the numbers that stay numbers, and the ranges one optimizer narrows
    (lambda: lrs.optimizers.Muon(muon_a=NAN), "muon_a", "muon_a=nan"),
    (lambda: lrs.optimizers.Muon(ns_steps=2**31 - 1), "ns_steps", "ns_steps=2147483647"),
    (lambda: lrs.optimizers.Muon(ns_steps=1.5), "ns_steps", "ns_steps=1.5"),
    (lambda: lrs.optimizers.Muon(exclude_layers=5), "exclude_layers", "exclude_layers=5"),
    (lambda: lrs.optimizers.Muon(exclude_layers=["("]), "exclude_layers",
     "exclude_layers=['(']"),
    (lambda: lrs.optimizers.Ftrl(learning_rate=1e-40), "learning_rate", "learning_rate=1e-40"),
    (lambda: lrs.optimizers.Adam(loss_scale_factor=1e-40), "loss_scale_factor",
     "loss_scale_factor=1e-40"),
    (lambda: lrs.optimizers.Muon(exclude_embeddings="x"), "exclude_embeddings",
     "exclude_embeddings='x'"),
    (lambda: lrs.optimizers.Adafactor(relative_step=1), "relative_step", "relative_step=1"),
    (lambda: lrs.optimizers.ScheduleFreeAdamW(warmup_steps=-5), "warmup_steps",
     "warmup_steps=-5"),
    (lambda: lrs.optimizers.ScheduleFreeAdamW(beta_1=0.0), "beta_1", "beta_1=0.0"),
    (lambda: lrs.optimizers.Lion(beta_1=0.0), "beta_1", "beta_1=0.0"),
    (lambda: lrs.optimizers.Ftrl(learning_rate=0.0), "learning_rate", "learning_rate=0.0"),
    (lambda: lrs.optimizers.Ftrl(learning_rate=lrs.Warmup(lrs.Constant(0.1), 5)),
     "learning_rate",
     "learning_rate=Warmup(schedule=Constant(learning_rate=0.1), warmup_steps=5, "
     "start_learning_rate=0.0)"),
    (lambda: lrs.optimizers.ScheduleFreeAdamW(weight_decay=-0.01), "weight_decay",
     "weight_decay=-0.01"),
    # a schedule where a number is needed, or whose stated values leave the range
    (lambda: lrs.optimizers.Adagrad(initial_accumulator_value=lrs.Constant(0.1)),
     "initial_accumulator_value", "initial_accumulator_value=Constant(learning_rate=0.1)"),
    (lambda: lrs.optimizers.SGD(clipnorm=lrs.Constant(1.0)), "clipnorm", "clipnorm=Constant(learning_rate=1.0)"),
    (lambda: lrs.optimizers.Muon(ns_steps=lrs.Constant(5.0)), "ns_steps", "ns_steps=Constant(learning_rate=5.0)"),
    (lambda: lrs.optimizers.Adam(ema_momentum=lrs.Constant(0.9)), "ema_momentum",
     "ema_momentum=Constant(learning_rate=0.9)"),
    (lambda: lrs.optimizers.AdamW(weight_decay=keras.optimizers.schedules.PiecewiseConstantDecay(
        [3], [-0.1, 0.1])), "weight_decay", "weight_decay=PiecewiseConstantDecay(...)"),
    (lambda: lrs.optimizers.Adam(beta_2=lrs.Linear(0.9, 1.0, 10)), "beta_2",
     "beta_2=Linear(initial_learning_rate=0.9, end_learning_rate=1.0, total_steps=10)"),
])
def test_optimizer_arguments_out_of_range_are_refused(build, name, shown):
    with pytest.raises(ValueError) as info:
        build()
    message = str(info.value)
    assert message.startswith(f"Argument `{name}` must be ")
    received = message[message.index("Received: "):]
    # (a Keras schedule, which has no repr of its own, shows as its class)
    assert received == f"Received: {shown}", message


def test_optimizer_arguments_in_range_pass():
    keras_adam = keras.optimizers.Adam(beta_1=0.0, epsilon=0.0, clipnorm=None)
    assert lrs.optimizers.check_arguments(keras_adam) is keras_adam
    lrs.optimizers.SGD(momentum=1.0, clipvalue=0.5, gradient_accumulation_steps=2)
    lrs.optimizers.Adam(beta_1=lrs.OneCycle(0.01, 10).momentum())  # a schedule is not judged
    assert lrs.optimizers.argument_problem("beta_1", 0.999) is None
    assert lrs.optimizers.argument_problem("beta_1", 1.0) == "a number in [0, 1)"
    with pytest.raises(TypeError, match="`arguments`"):
        lrs.optimizers.check_arguments(["beta_1", 1.0])
    # the new ranges' edges, and schedules starting at their edge
    lrs.optimizers.Ftrl(learning_rate_power=0.0, l1_regularization_strength=0.0, beta=0.0)
    lrs.optimizers.Muon(adam_beta_1=0.0, adam_weight_decay=None, rms_rate=None,
                        adam_lr_ratio=1e-3)
    lrs.optimizers.Adafactor(beta_2_decay=0.0, clip_threshold=1e-3, epsilon_1=0.0)
    lrs.optimizers.AdamW(weight_decay=lrs.Linear(0.1, 0.0, 10), beta_2=lrs.Linear(0.9, 0.999, 9))
    lrs.optimizers.SGD(momentum=lrs.Linear(0.0, 1.0, 10), use_ema=True,
                       ema_momentum=lrs.Constant(1.0))
    lrs.optimizers.Muon(muon_a=-3.0, ns_steps=1000, exclude_layers=["dense"])
    lrs.optimizers.Lion(beta_1=1.0)
    lrs.optimizers.ScheduleFreeAdamW(beta_1=1e-3, warmup_steps=0)
    lrs.optimizers.Ftrl(learning_rate=lrs.Warmup(lrs.Constant(0.1), 5, start_learning_rate=1e-3))
    lrs.optimizers.Adam(learning_rate=lrs.Linear(0.0, 0.1, 10))  # a rate of 0 is fine there


@pytest.mark.parametrize("build, name, error", [
    (lambda m: lrs.current(m, hyperparameter=3), "hyperparameter", TypeError),
    (lambda m: lrs.current(m, hyperparameter="betas"), "hyperparameter", ValueError),
    (lambda m: lrs.current(m, hyperparameter=None), "hyperparameter", TypeError),
    (lambda m: lrs.shaped_like(lrs.OneCycle(1e-3, 10), 0.0), "value", ValueError),
    (lambda m: lrs.shaped_like(lrs.OneCycle(1e-3, 10), NAN), "value", ValueError),
    (lambda m: lrs.shaped_like(lrs.OneCycle(1e-3, 10), 0.1, "last"), "reference", ValueError),
    (lambda m: lrs.shaped_like(lrs.OneCycle(1e-3, 10), 0.1, -1.0), "reference", ValueError),
    (lambda m: lrs.shaped_like(lrs.OneCycle(1e-3, 10), 0.1, [1.0]), "reference", TypeError),
    (lambda m: lrs.shaped_like("cosine", 0.1), "schedule", TypeError),
])
def test_hyperparameter_queries_and_shapes_refuse_bad_arguments(build, name, error):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=lrs.optimizers.AdamW(weight_decay=lrs.Constant(0.01)), loss="mse")
    with pytest.raises(error) as info:
        build(model)
    assert str(info.value).startswith(f"Argument `{name}` must be ")
    assert "Received: " in str(info.value)
