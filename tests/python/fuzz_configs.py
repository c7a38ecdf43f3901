"""The machinery of test_fuzz_configs.py: valid configs of every serializable class of
lrschedule, the ways a saved config gets damaged, and the judge of what loading one did.

Kept apart from the test module so that a failing case can be replayed by hand:

    import fuzz_configs as fz
    case = fz.mutate("OneCycle", 0, [("replace", ("config", "max_lr"), float("inf"))])
    problem, kind = fz.judge(case)   # problem None when the outcome is acceptable
    fz.known_bug(case, problem, kind, fz.load(case))   # a bug already reported?

The damages are generic (`REPLACEMENTS`, deleted and unknown keys, headers, tables)
and, for an optimizer, aimed at its arguments (`hostile_mutation()`): numbers just in
and out of each range (the argument's, or its optimizer's where that narrows it:
ScheduleFreeAdamW's and Lion's beta_1, Ftrl's rate), schedules for each hyperparameter
(and Ftrl's rate) in its range (lrschedule's and Keras's), out of it as stated, out of
it only between, a schedule where only a number goes, flags and Muon's names of layers
of their type and of others, use_ema flipped under an ema_momentum schedule.

A case is the damaged config and what was done to it; `load()` deserializes it as a
`.keras` file is read (`keras.saving.deserialize_keras_object(config, safe_mode=True)`),
and `judge()` says whether the outcome is one the issue (#32) accepts:

* it loaded, and the object behaves: a schedule's rates at `STEPS` are finite and
  inside the range `bounds()` states for its class (written from each class's formula,
  from the config's own numbers); a callback's settings are in their documented
  domains; an optimizer's arguments are in their ranges (the core's `ARGUMENT_RANGES`
  and `CLASS_RANGES`, and the judge's own `OPTIMIZER_DOMAINS` and `CLASS_DOMAINS`),
  each hyperparameter schedule (and Ftrl's rate schedule) is judged as a schedule and
  its values at `STEPS` lie in its argument's range, and its first update keeps the
  weights finite (`judge_optimizer`). A hyperparameter schedule whose values leave the
  range only between the values the core checks (at step 0, at its horizon's end:
  `stated_values()`) is the documented limitation, accepted with kind "between";
* or it was refused with a ValueError or TypeError whose message names an argument
  the damage touched (in backticks, as lrschedule's checks write it, or quoted, as
  Python writes a missing or unexpected keyword) or is one of Keras's own clear
  refusals (`KERAS_REFUSALS`).

Anything else (another exception type, a RecursionError anywhere in the chain of
causes, a message naming nothing, rates out of range or not finite, a schedule that
does not save and reload to the same rates) is a problem; `known_bug()` tells the
ones already reported and not fixed yet (test_fuzz_configs.KNOWN_BUGS).
"""

import base64
import inspect
import json
import math
import re
import zlib

import keras
import numpy as np

import lrschedule as lrs
from lrschedule import _tables
from lrschedule import optimizers as O
from lrschedule import schedules as S

K = keras.optimizers.schedules
F32_MAX = float(np.finfo(np.float32).max)
# The steps a loaded schedule is evaluated at.
STEPS = [0, 1, 10, 1000, 10**6]
# Table lengths declared by damaged configs stay at most this (test_hostile_files.py
# declares the huge ones, in a subprocess under a memory limit).
MAX_DECLARED_LENGTH = 10**6


def _copy(value):
    """A deep copy through JSON, as a config is read from a file (in C: a plain
    container nested hundreds deep copies without Python's recursion)."""
    return json.loads(json.dumps(value))


def ser(obj):
    return keras.saving.serialize_keras_object(obj)


def _table_of(n):
    steps = np.arange(n)
    return lrs.Tabulated(0.05 * (1 + np.cos(np.pi * steps / n)) + 1e-4)


# --------------------------------------------------------------------------------------
# Valid configs: a real instance of every serializable class, serialized


def _instances():
    one_cycle = lrs.OneCycle(0.1, total_steps=50)
    return {
        "Constant": [lrs.Constant(0.05)],
        "Linear": [lrs.Linear(0.01, 0.2, total_steps=7), lrs.Linear(0.3, 0.0)],
        "StepDecay": [lrs.StepDecay(0.2, step_size=3, gamma=0.5)],
        "MultiStepDecay": [lrs.MultiStepDecay(0.2, milestones=[2, 5], gamma=0.3)],
        "OneCycle": [lrs.OneCycle(max_lr=0.3, total_steps=12),
                     lrs.OneCycle(0.3, 20, anneal_strategy="linear", three_phase=True,
                                  div_factor=10.0, final_div_factor=100.0),
                     lrs.OneCycle(0.1)],
        "Cyclic": [lrs.Cyclic(0.01, 0.2, step_size_up=3, step_size_down=2, mode="triangular2"),
                   lrs.Cyclic(0.01, 0.2, step_size_up=2, mode="exp_range", gamma=0.9)],
        "WarmupStableDecay": [lrs.WarmupStableDecay(0.2, 2, 2, 4, warmup_type="cosine",
                                                    decay_type="1-sqrt", min_lr_ratio=0.1),
                              lrs.WarmupStableDecay(0.2, 2, None, 0.25, num_cycles=1.5)],
        "InverseSqrt": [lrs.InverseSqrt(0.2, warmup_steps=3),
                        lrs.InverseSqrt(0.2, warmup_steps=0, timescale=5)],
        "Warmup": [lrs.Warmup(K.CosineDecay(0.2, decay_steps=10), warmup_steps=3,
                              start_learning_rate=0.01),
                   lrs.Warmup(lrs.OneCycle(0.1, 20), 2)],
        "Sequence": [lrs.Sequence([lrs.Linear(0.0, 0.2, 3), K.ExponentialDecay(0.2, 2, 0.5),
                                   0.02], boundaries=[3, 8])],
        "PerEpoch": [lrs.PerEpoch(lrs.StepDecay(0.2, step_size=1, gamma=0.5),
                                  steps_per_epoch=2)],
        "Scaled": [lrs.Scaled(one_cycle, 0.1)],
        "CycledMomentum": [one_cycle.momentum(), lrs.Cyclic(0.01, 0.2, 3).momentum()],
        "InUpdates": [lrs.InUpdates(lrs.OneCycle(0.01, 25), 4)],
        "InMicroBatches": [lrs.InMicroBatches(lrs.StepDecay(0.1, 3, 0.5))],
        "Extended": [lrs.Extended(lrs.OneCycle(0.01, 100), at_step=60, total_steps=150),
                     lrs.Extended(lrs.MultiStepDecay(0.1, [5, 9]), 3, 20)],
        "Tabulated": [lrs.Tabulated([0.2, 0.1, 0.15, 0.05]), _table_of(300)],
        "ControlledRate": [
            lrs.ControlledRate(lrs.StepDecay(0.1, 3)),
            lrs.ControlledRate(learning_rate=0.1, multiplier=0.5, min_lr=0.01, best=1.0,
                               wait=2, decay_type="cosine", decay_from=1.0, decay_start=4,
                               decay_steps=10),
        ],
        "ScheduleLR": [lrs.ScheduleLR(lrs.StepDecay(0.1, 3)),
                       lrs.ScheduleLR(lrs.OneCycle(0.1, 10), verbose=1, groups=["a"])],
        "ReduceLROnPlateau": [lrs.ReduceLROnPlateau(),
                              lrs.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2,
                                                    min_lr=1e-4, decay_steps=100,
                                                    decay_type="cosine", groups=["a", "b"])],
        "LRLogger": [lrs.LRLogger(per="batch")],
        "HorizonCheck": [lrs.HorizonCheck()],
        **_optimizer_instances(),
    }


def _optimizer_instances():
    """Each optimizer of `lrschedule.optimizers`: written by hand (numbers within
    `ARGUMENT_RANGES`; schedules, lrschedule's and Keras's, for some hyperparameters,
    several at once), then one whose every hyperparameter (`HYPERPARAMETERS`) is a
    schedule, generated (`every_hyperparameter_scheduled`). The first of the first seven
    are the configs fuzzed before every hyperparameter could be a schedule."""
    one_cycle = lrs.OneCycle(0.1, total_steps=50)
    rate = lrs.OneCycle(1e-3, total_steps=100)
    by_hand = {
        "SGD": [O.SGD(0.1, momentum=one_cycle.momentum(), nesterov=True),
                O.SGD(0.05, momentum=0.9, weight_decay=K.CosineDecay(1e-3, 100), use_ema=True,
                      ema_momentum=lrs.Linear(0.9, 0.99, 50), ema_overwrite_frequency=3)],
        "RMSprop": [O.RMSprop(lrs.Warmup(lrs.StepDecay(0.01, 5), 3), momentum=0.9,
                              centered=True),
                    O.RMSprop(0.01, rho=lrs.Linear(0.8, 0.95, 30),
                              momentum=lrs.Cyclic(0.01, 0.1, 3).momentum(),
                              epsilon=K.ExponentialDecay(1e-6, 10, 0.5))],
        "Adam": [O.Adam(one_cycle, beta_1=one_cycle.momentum(), clipnorm=1.0),
                 O.Adam(0.001, beta_2=K.PolynomialDecay(0.99, 100, 0.999),
                        epsilon=lrs.Constant(1e-8), weight_decay=lrs.StepDecay(1e-3, 10, 0.5),
                        amsgrad=True)],
        "AdamW": [O.AdamW(0.001, weight_decay=0.01, gradient_accumulation_steps=2),
                  O.AdamW(rate, weight_decay=O.shaped_like(rate, 0.05),
                          beta_1=K.PiecewiseConstantDecay([10], [0.9, 0.95]))],
        "Adamax": [O.Adamax(0.002, use_ema=True, ema_momentum=0.9),
                   O.Adamax(0.002, beta_1=lrs.Tabulated([0.9, 0.85, 0.8]), use_ema=True,
                            ema_momentum=K.PolynomialDecay(0.9, 50, 0.999))],
        "Nadam": [O.Nadam(lrs.Tabulated([0.01, 0.005])),
                  O.Nadam(0.002, beta_1=lrs.Linear(0.95, 0.9, 20), beta_2=lrs.Constant(0.99),
                          loss_scale_factor=2.0)],
        "Lamb": [O.Lamb(0.001, global_clipnorm=2.0),
                 O.Lamb(0.001, beta_1=lrs.OneCycle(0.01, 30).momentum(),
                        weight_decay=K.InverseTimeDecay(0.01, 10, 0.5))],
        "Adagrad": [O.Adagrad(0.01, initial_accumulator_value=0.2, epsilon=1e-6, clipvalue=0.5),
                    O.Adagrad(lrs.StepDecay(0.01, 10), epsilon=K.ExponentialDecay(1e-6, 10, 0.9),
                              weight_decay=lrs.Constant(1e-4))],
        "Adadelta": [O.Adadelta(1.0, rho=0.9, epsilon=1e-6),
                     O.Adadelta(1.0, rho=K.PiecewiseConstantDecay([5], [0.9, 0.95]),
                                epsilon=lrs.Constant(1e-6))],
        "Ftrl": [O.Ftrl(0.01, learning_rate_power=-0.6, initial_accumulator_value=0.2,
                        l1_regularization_strength=0.01, l2_regularization_strength=0.01,
                        l2_shrinkage_regularization_strength=0.001, beta=0.1),
                 O.Ftrl(0.01, learning_rate_power=K.PolynomialDecay(-0.5, 30, -0.3),
                        l1_regularization_strength=lrs.Linear(0.0, 0.01, 10),
                        beta=lrs.Constant(0.1))],
        "Lion": [O.Lion(1e-4, beta_1=0.95, beta_2=0.98, weight_decay=0.1),
                 O.Lion(lrs.Warmup(lrs.Constant(1e-4), 5),
                        beta_1=lrs.Cyclic(0.01, 0.1, 3).momentum(),
                        beta_2=lrs.Linear(0.98, 0.99, 10))],
        "Adafactor": [O.Adafactor(0.01, beta_2_decay=-0.5, epsilon_2=1e-3, clip_threshold=2.0,
                                  relative_step=False),
                      O.Adafactor(0.01, beta_2_decay=K.CosineDecay(-0.8, 50, alpha=0.5),
                                  clip_threshold=lrs.Linear(1.0, 2.0, 10))],
        "Muon": [O.Muon(0.02, momentum=0.9, adam_lr_ratio=0.1, rms_rate=None, ns_steps=4),
                 O.Muon(one_cycle, momentum=one_cycle.momentum(),
                        adam_beta_1=K.PolynomialDecay(0.9, 30, 0.95),
                        adam_weight_decay=lrs.Constant(0.01), rms_rate=lrs.Linear(0.2, 0.3, 10))],
        "ScheduleFreeAdamW": [
            O.ScheduleFreeAdamW(0.0025, warmup_steps=5, weight_decay=0.01),
            O.ScheduleFreeAdamW(0.0025, beta_1=lrs.Linear(0.9, 0.95, 10),
                                beta_2=K.PolynomialDecay(0.99, 30, 0.999))],
    }
    assert set(by_hand) == {cls.__name__ for cls in O.OPTIMIZERS}
    return {name: objs + [every_hyperparameter_scheduled(getattr(O, name))]
            for name, objs in by_hand.items()}


SCHEDULE_CLASSES = [name for name in S.__all__
                    if isinstance(getattr(S, name), type) and name != "Schedule"]
CALLBACK_CLASSES = ["ControlledRate", "ScheduleLR", "ReduceLROnPlateau", "LRLogger",
                    "HorizonCheck"]
OPTIMIZER_CLASSES = [cls.__name__ for cls in O.OPTIMIZERS]
CLASSES = SCHEDULE_CLASSES + CALLBACK_CLASSES + OPTIMIZER_CLASSES
_BASES = None


def bases():
    """{class name: [valid serialized configs]}, built once."""
    global _BASES
    if _BASES is None:
        _BASES = {name: [json.loads(json.dumps(ser(obj))) for obj in objs]
                  for name, objs in _instances().items()}
    return _BASES


def is_serialized(value):
    return isinstance(value, dict) and "class_name" in value and "config" in value


def is_ours(value):
    return is_serialized(value) and str(value.get("module", "")).startswith("lrschedule")


# --------------------------------------------------------------------------------------
# Hostile values


NAN, INF = float("nan"), float("inf")
WRONG_TYPES = ["0.1", "", [], [0.1], [[1]], {}, {"a": 1}, None, True, False]
NUMBERS = [NAN, INF, -INF, -1, -0.5, -1e-300, 0, 0.0, 1e-300, 0.5, 1, 1.0, 1.5, 2, 3.5,
           1e30, 1e308, -1e308, 2**31, 2**31 - 1, 2**53 + 1, 2**62, 2**63 - 1, 2**63, 2**64,
           -(2**63), 10**30]


def _keras_function_config():
    return {"module": "keras.ops", "class_name": "function", "config": "exp",
            "registered_name": "exp"}


def schedules_pool():
    """Serialized schedules put where a number goes (and where another schedule goes)."""
    return [
        ser(lrs.Constant(0.1)),
        ser(lrs.OneCycle(0.1)),  # waits for its length from fit()
        ser(lrs.StepDecay(0.1, 2, 0.5)),
        ser(K.ExponentialDecay(0.1, 10, 0.5)),
        ser(K.PiecewiseConstantDecay([3], [0.1, 0.01])),
        ser(lrs.Tabulated([0.3, 0.1])),
        ser(lrs.ControlledRate(lrs.Constant(0.1))),
    ]


def non_schedules_pool():
    """Dicts that are not the config of a schedule."""
    return [
        {"class_name": "__numpy__", "config": {"value": [0.1, 0.2], "dtype": "float32"}},
        {"class_name": "__lambda__", "config": {"value": "xyz", "defaults": None,
                                                "closure": None}},
        _keras_function_config(),
        ser(keras.layers.Dense(1)),
        ser(lrs.HorizonCheck()),
        ser(keras.optimizers.SGD()),
        {"module": "lrschedule.schedules", "class_name": "Schedule", "config": {},
         "registered_name": "lrschedule>Schedule"},
        {"module": "lrschedule.schedules", "class_name": "Nope", "config": {},
         "registered_name": "lrschedule>Nope"},
        {"module": "lrschedule.schedules", "class_name": "OneCycle", "config": [0.1],
         "registered_name": "lrschedule>OneCycle"},
        {"class_name": "OneCycle", "config": {"max_lr": 0.1}},
        {"max_lr": 0.1, "total_steps": 10},
        # Keras's special objects and Keras classes, malformed: Keras's own errors
        {"class_name": "__keras_tensor__", "config": {}},
        {"class_name": "__tensor__", "config": {}},
        {"class_name": "__bytes__", "config": {"value": 3}},
        {"class_name": "__slice__", "config": {}},
        {"module": "keras.layers", "class_name": "Dense", "config": {"units": "x"},
         "registered_name": None},
    ]


def deep(kind, levels, leaf=0.1):
    """A plain dict or list nested `levels` deep (no serialized object in it): JSON
    reads one a few hundred levels deep."""
    for _ in range(levels):
        leaf = {"a": leaf} if kind == "dict" else [leaf]
    return leaf


def deep_nests():
    """Plain containers and wrappers nested deep, put where a schedule (or a number)
    goes: lrschedule refuses a nest of schedules deeper than MAX_DEPTH before building
    it; a plain container is no schedule at any depth."""
    warmups = ser(lrs.Constant(0.1))
    nests = []
    for levels in range(1, S.MAX_DEPTH + 2):
        warmups = {"module": "lrschedule.schedules", "class_name": "Warmup",
                   "registered_name": "lrschedule>Warmup",
                   "config": {"schedule": warmups, "warmup_steps": 1,
                              "start_learning_rate": 0.0}}
        if levels in (S.MAX_DEPTH - 2, S.MAX_DEPTH - 1, S.MAX_DEPTH, S.MAX_DEPTH + 1):
            nests.append(warmups)
    return nests + [deep("dict", 40), deep("list", 40), deep("dict", 600),
                    deep("list", 600)]


# -- optimizers' arguments: numbers and schedules in and out of their ranges -----------
#
# From the core's ranges (`ARGUMENT_RANGES` by argument name, narrowed for one
# optimizer by `CLASS_RANGES`; each (low, low_inclusive, high, high_inclusive, whole,
# expected), low or high None for an open end): numbers inside each range and just
# outside it; for each hyperparameter that may be a schedule (`SCHEDULABLE`, and the
# rate where its optimizer narrows its range: Ftrl's), schedules whose values lie in
# its range, schedules whose stated values (what `optimizers.schedule_problem()` reads:
# a CycledMomentum's bounds, a Constant's value, else the value at step 0 and at its
# horizon's end) leave it, which the core refuses, and schedules that leave it only
# between those, which it takes as given (documented). lrschedule's schedules take no
# negative rate: a range of numbers <= 0 (Ftrl's learning_rate_power, Adafactor's
# beta_2_decay) gets Keras's. The flags (`BOOLEANS`) and Muon's `exclude_layers` get
# values of their own type and others.

# A positive float32 TensorFlow computes with as 0: below float32's smallest normal
# number (~1.2e-38), it is flushed to zero on the CPU (1e-300 is 0 in float32 already).
SUBNORMAL = 1e-40
TINY = float(np.finfo(np.float32).tiny)


def range_entry(name, class_name=None):
    """The core's range of the argument `name` of an optimizer of `class_name`: its
    class's (`CLASS_RANGES`) where it narrows the name's (`ARGUMENT_RANGES`); None for
    an argument with no range."""
    return O.CLASS_RANGES.get((class_name, name)) or O.ARGUMENT_RANGES.get(name)


def _range(name, class_name=None):
    low, low_inclusive, high, high_inclusive, whole, _ = range_entry(name, class_name)
    return low, low_inclusive, high, high_inclusive, whole


def ranged_schedulable(class_name):
    """The arguments of `class_name` that may be schedules and have a range: its
    hyperparameters (`SCHEDULABLE`), and its rate where its class narrows the rate's
    range (Ftrl's, > 0)."""
    rate = ("learning_rate",) if (class_name, "learning_rate") in O.CLASS_RANGES else ()
    return O.SCHEDULABLE[class_name] + rate


def inside(name, class_name=None):
    """Numbers in the range of the optimizer argument `name`: its closed ends and points
    within it (for an open-ended range, some far from its end; for "a finite number",
    float32's largest of each sign)."""
    low, low_inclusive, high, high_inclusive, whole = _range(name, class_name)
    if whole:
        return [int(low), int(low) + 1, int(low) + 7] + ([int(high)] if high is not None else [])
    if low is not None and high is not None:
        span = high - low
        return ([low] if low_inclusive else []) + [low + 0.5 * span, low + 0.9 * span] + (
            [high] if high_inclusive else [low + 0.999 * span])
    if low is not None:
        return [low if low_inclusive else low + 1e-6, low + 1e-3, low + 0.5, low + 100.0]
    if high is not None:
        return [high if high_inclusive else high - 1e-6, high - 1e-3, high - 0.5, high - 3.0]
    return [-F32_MAX, -3.0, 0.0, 0.5, 3.0, F32_MAX]


def outside(name, class_name=None):
    """Numbers just outside the range of the optimizer argument `name`: past each end
    (by a little and by more; by one for a whole number), an open end itself (for
    "> 0", positive numbers that are 0 in float32, 1e-300, or as TensorFlow computes,
    `SUBNORMAL`), a fraction for a whole number, NaN, infinities and numbers beyond
    float32 for "a finite number"."""
    low, low_inclusive, high, high_inclusive, whole = _range(name, class_name)
    out = []
    if low is not None:
        out += [low - 1] if whole else [low - 1e-7, low - 0.25]
        if not low_inclusive:
            out += [low, 1e-300, SUBNORMAL] if low == 0 else [low]
    if high is not None:
        out += [high + 1] if whole else [high + 1e-7, high + 0.25]
        if not high_inclusive:
            out.append(high)
    if whole:
        out.append(low + 0.5)
    if low is None and high is None:
        out += [NAN, INF, -INF, 1e39, -1e39]
    return out


def _pair(name, class_name=None):
    """Two numbers a < b well inside the range of `name` (the values of schedules)."""
    low, _, high, _, _ = _range(name, class_name)
    if low is not None and high is not None:
        return low + 0.8 * (high - low), low + 0.95 * (high - low)
    if low is not None:
        return low + 0.01, low + 0.1
    if high is not None:
        return high - 0.8, high - 0.5
    return 0.5, 1.0


def _momentum_like(name, class_name=None):
    low, _, high, _, _ = _range(name, class_name)
    return low is not None and high is not None and 0 <= low and high <= 1


def valid_schedules(name, class_name=None):
    """Schedules, lrschedule's and Keras's alternately, whose values at every step lie
    in the range of the hyperparameter `name` (and are never 0 where it must be > 0)."""
    a, b = _pair(name, class_name)
    keras_own = [K.PolynomialDecay(b, 40, a), K.PiecewiseConstantDecay([10], [a, b]),
                 K.CosineDecay(b, 40, alpha=a / b)]
    ours = []
    if a >= 0:
        ours = [lrs.Linear(a, b, 20), lrs.Constant(b), lrs.Tabulated([b, a, b]),
                lrs.Warmup(lrs.Linear(b, a, 20), 5, start_learning_rate=a),
                lrs.Scaled(lrs.Linear(1.0, a / b, 10), b)]
    if _momentum_like(name, class_name):
        ours.insert(1, lrs.OneCycle(0.1, 30, base_momentum=a, max_momentum=b).momentum())
        ours.append(lrs.Cyclic(0.01, 0.1, 3, base_momentum=a, max_momentum=b).momentum())
    mixed = []
    for i in range(max(len(ours), len(keras_own))):
        mixed += ours[i:i + 1] + keras_own[i:i + 1]
    return mixed


def out_of_range_schedules(name, class_name=None):
    """Schedules of `name` whose stated values leave its range (at step 0, at the end
    of their horizon, a Constant's value, a CycledMomentum's bounds): refused."""
    a, _ = _pair(name, class_name)
    out = []
    for o in outside(name, class_name):
        out += [K.PolynomialDecay(a, 30, o), K.PiecewiseConstantDecay([5], [o, a])]
        if o >= 0:
            out.append(lrs.Constant(o))
        if o >= 0 and a >= 0:
            out += [lrs.Linear(o, a, 20), lrs.Tabulated([a, a, o])]
    low, low_inclusive, high, high_inclusive, _ = _range(name, class_name)
    if _momentum_like(name, class_name) and high == 1 and not high_inclusive:
        out.append(lrs.OneCycle(0.1, 30, max_momentum=1.0).momentum())  # beta_1 = 1
    if _momentum_like(name, class_name) and low == 0 and not low_inclusive:
        out.append(lrs.Warmup(lrs.Constant(a), 5))  # from 0 (Warmup's default start)
    if name == "learning_rate":
        out.append(lrs.Warmup(lrs.Constant(0.1), 5))  # from 0: Ftrl divides by the rate
    return out


def between_schedules(name, class_name=None):
    """Schedules of `name` whose stated values lie in its range, their values at some of
    `STEPS` between them not: the core takes them as given (documented)."""
    a, _ = _pair(name, class_name)
    out = []
    for o in [v for v in outside(name, class_name) if v != SUBNORMAL][-2:]:
        out.append(K.PiecewiseConstantDecay([0, 1], [a, o, a]))  # o at step 1 only
        if o >= 0 and a >= 0:
            out.append(lrs.Tabulated([a, o, a]))
    low, low_inclusive, high, _, _ = _range(name, class_name)
    if a > 0 and high is not None:
        out.append(lrs.StepDecay(a, 1, gamma=3.0))  # grows past the range (no horizon)
    if a > 0 and low == 0 and not low_inclusive:
        out.append(lrs.StepDecay(a, 1, gamma=0.5))  # reaches 0 in float32
    return out


def _a_schedule_for(name):
    """A schedule put where only a number goes: with values a number of that argument
    could have (so that only its being a schedule is wrong)."""
    if name in O.ARGUMENT_RANGES and inside(name)[1] >= 0:
        return lrs.Constant(float(inside(name)[1]))
    return K.ExponentialDecay(1.0, 10, 0.9)


def every_hyperparameter_scheduled(cls):
    """An optimizer of class `cls` whose every hyperparameter is a schedule (in its
    range), the schedules of `valid_schedules()` taken in turn: several at once,
    lrschedule's and Keras's."""
    arguments = {}
    for i, name in enumerate(cls.HYPERPARAMETERS):
        schedules = valid_schedules(name, cls.__name__)
        arguments[name] = schedules[i % len(schedules)]
    return cls(lrs.OneCycle(0.01, 100), use_ema=True, **arguments)


# Values of the arguments that are neither numbers nor schedules: Muon's names of layers
# (None, or a list of strings, each a regular expression Keras searches in a variable's
# path) and the flags (True or False).
LAYER_NAMES = [None, [], ["dense"], ["dense", "output"], ["dense$", "^out"], ["("], "dense", 5,
               [5], ["dense", None], [["dense"]], {"a": "dense"}]
FLAGS = [True, False, "x", 1, 0, None, [True]]

_HOSTILE = {}


def hostile_values(class_name, key):
    """The values put in place of the argument `key` of an optimizer of `class_name`
    (serialized, built once): numbers in and just out of its range (its class's), and
    for a hyperparameter (or a rate whose range its class narrows) schedules in it,
    leaving it as stated, or only between; a schedule where only a number goes; flags
    and names of layers of their type and of others."""
    if (class_name, key) not in _HOSTILE:
        values = []
        if range_entry(key, class_name) is not None:
            values += inside(key, class_name) + outside(key, class_name)
        if key in ranged_schedulable(class_name):
            values += [ser(s) for s in valid_schedules(key, class_name)
                       + out_of_range_schedules(key, class_name)
                       + between_schedules(key, class_name)]
        elif key == "learning_rate":  # >= 0 (a warmup starts at 0)
            values += [0.0, 0.5, -1e-7, ser(lrs.Warmup(lrs.Constant(0.1), 5))]
        else:
            values.append(ser(_a_schedule_for(key)))
        if key in O.BOOLEANS:
            values += FLAGS
        if key == "exclude_layers":
            values += LAYER_NAMES
        _HOSTILE[class_name, key] = values
    return _HOSTILE[class_name, key]


def hostile_mutation(config, choose):
    """A mutation of the optimizer config `config` aimed at its arguments' ranges and
    hyperparameter schedules: ("replace", ("config", key), a hostile value)."""
    keys = [key for key in (config.get("config") or {}) if key != "name"]
    key = choose(keys)
    return ("replace", ("config", key), choose(hostile_values(resolved_name(config), key)))


class _Replacements:
    """The values put in place of a config entry (built on first use: it serializes
    schedules)."""

    _values = None

    def __getitem__(self, i):
        return self._all()[i]

    def __len__(self):
        return len(self._all())

    def _all(self):
        if _Replacements._values is None:
            _Replacements._values = (WRONG_TYPES + NUMBERS + schedules_pool()
                                     + non_schedules_pool() + deep_nests())
        return _Replacements._values


REPLACEMENTS = _Replacements()


# --------------------------------------------------------------------------------------
# Where a config can be damaged, and how


def sites(node, path=()):
    """(kind, path) of every place of the serialized object `node` a mutation can hit:
    the object itself ("object"), each entry of its config ("key"), each element of a
    list in it ("item"), a table ("table"); nested objects of lrschedule recursively
    (Keras's own nested schedules are replaced whole, never edited: their checks are
    Keras's)."""
    out = [("object", path)]
    config = node.get("config")
    if not isinstance(config, dict):
        return out
    for key, value in config.items():
        here = path + ("config", key)
        out.append(("key", here))
        if is_ours(value):
            out.extend(sites(value, here))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                out.append(("item", here + (i,)))
                if is_ours(item):
                    out.extend(sites(item, here + (i,)))
        elif key == "values" and isinstance(value, dict) and node.get("class_name") == "Tabulated":
            out.append(("table", here))
    return out


def get(node, path):
    for part in path:
        node = node[part]
    return node


def _parent(node, path):
    return get(node, path[:-1]), path[-1]


def exists(node, path):
    """Whether `path` leads through dicts and lists to something."""
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False
    return True


def applies(config, mutation):
    """Whether `mutation` can still be applied to `config` (an earlier one may have
    replaced what it targets)."""
    op, path = mutation[0], tuple(mutation[1])
    if not exists(config, path):
        return False
    # never inside one of Keras's own objects (an earlier mutation may have put one
    # where one of ours was): their checks are Keras's
    for i in range(len(path)):
        node = get(config, path[:i])
        if is_serialized(node) and not is_ours(node):
            return False
    target = get(config, path)
    if op in ("unknown", "swap", "header"):
        return is_serialized(target)
    if op == "table":
        return isinstance(target, dict) and isinstance(target.get("data"), str)
    return len(path) > 0


FLIP_CHARS = ["0", "~", "A", "z", '"', " ", "\u00e9", "\x00", "\\", ","]


def encoded(values):
    """What `Tabulated.get_config()` writes for these float32 values."""
    return _tables.encode(np.asarray(values, dtype=np.float32))


def apply(config, mutation):
    """`config` (a serialized object, modified in place) with one mutation applied:
    ("replace", path, value), ("delete", path), ("unknown", path, key),
    ("swap", path, class name), ("header", path, field, value), ("table", path, op, arg)."""
    op, path = mutation[0], tuple(mutation[1])
    if op == "replace":
        parent, key = _parent(config, path)
        parent[key] = _copy(mutation[2])
    elif op == "delete":
        parent, key = _parent(config, path)
        del parent[key]
    elif op == "unknown":
        obj = get(config, path)
        if not isinstance(obj.get("config"), dict):
            obj["config"] = {}
        obj["config"][mutation[2]] = 1
    elif op == "swap":
        obj = get(config, path)
        name = mutation[2]
        target = bases()[name][0]
        obj["class_name"] = target["class_name"]
        obj["module"] = target["module"]
        obj["registered_name"] = target["registered_name"]
    elif op == "header":
        obj = get(config, path)
        field, value = mutation[2], mutation[3]
        if value is _DROP:
            obj.pop(field, None)
        else:
            obj[field] = _copy(value)
    elif op == "table":
        _damage_table(get(config, path), mutation[2], mutation[3])
    else:  # pragma: no cover - a mistake in the generator
        raise AssertionError(f"unknown mutation {mutation!r}")
    return config


_DROP = "<dropped>"
HEADERS = [("config", None), ("config", []), ("config", "x"), ("config", {}),
           ("registered_name", "lrschedule>Nope"), ("registered_name", _DROP),
           ("registered_name", None), ("module", "keras.layers"), ("module", None),
           ("module", "os"), ("class_name", "Dense")]


def _damage_table(entry, op, arg):
    data = entry.get("data")
    if op == "cut":  # arg: fraction of the text kept
        entry["data"] = data[: int(len(data) * arg)]
    elif op == "flip":  # arg: (fraction of the position, character)
        i = min(int(len(data) * arg[0]), len(data) - 1)
        entry["data"] = data[:i] + arg[1] + data[i + 1:]
    elif op == "append":
        entry["data"] = data + arg
    elif op == "length":
        entry["length"] = arg
    elif op == "dtype":
        entry["dtype"] = arg
    elif op == "codec":
        entry["codec"] = arg
    elif op == "drop":
        entry.pop(arg, None)
    elif op == "extra":
        entry[arg] = 1
    elif op == "data":
        entry["data"] = arg
    elif op == "bad_values":  # a well-formed table of rates that are not rates
        entry.clear()
        entry.update(encoded(arg))
    elif op == "other_data":  # the data of a table of another length
        entry["data"] = encoded(np.full(arg, 0.1))["data"]
    elif op == "as_list":  # the list form of lrschedule 0.1.0, with these values
        entry.clear()
        entry["__list__"] = arg


TABLE_ARGS = {
    "cut": [0.0, 0.1, 0.5, 0.9, 0.99],
    "flip": [(p, c) for p in (0.0, 0.3, 0.7, 0.99) for c in FLIP_CHARS],
    "append": ["0", "~~~~~", "00000", " ", "\u00e9"],
    "length": [0, -1, 1, 3, 5, 299, 301, 600, MAX_DECLARED_LENGTH, _tables.MAX_LENGTH + 1,
               2**63, 4.0, "4", None, True, [4]],
    "dtype": ["float64", "float16", "<f4", "", None, 4, ["float32"]],
    "codec": ["zlib", "", None, "byteplanes-zlib-base64", 0],
    "drop": list(_tables._KEYS),
    "extra": ["shape", "version"],
    "data": ["", None, 0, ["abc"], {"a": 1}, "!!!!!", "0" * 10],
    "bad_values": [[NAN], [0.1, INF], [-0.1, 0.2], [0.1, -INF], [3e38, 0.1], [0.0]],
    "other_data": [1, 3, 5, 1000],
    "as_list": [[0.1, NAN], [0.1, -1.0], [], [0.1, "a"], [0.1, None], [[0.1]], [True],
                [1e308], [0.2, 0.1]],
}


def _fix_lists(config):
    # ("table", "as_list") marks the entry; the list itself replaces the dict here.
    def walk(node):
        if isinstance(node, dict):
            for key, value in list(node.items()):
                if isinstance(value, dict) and set(value) == {"__list__"}:
                    node[key] = value["__list__"]
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(config)
    return config


def mutate(class_name, base_index, mutations):
    """The case: the `base_index`-th valid config of `class_name` with `mutations`
    applied in turn (one whose path no longer exists is skipped)."""
    config = _copy(bases()[class_name][base_index])
    done = []
    for mutation in mutations:
        if not applies(config, mutation):
            continue
        apply(config, mutation)
        done.append(mutation)
    return {"class": class_name, "base": base_index, "config": _fix_lists(config),
            "mutations": done}


# --------------------------------------------------------------------------------------
# Loading and judging


class Outcome:
    def __init__(self, obj=None, error=None):
        self.obj, self.error = obj, error


def load(case):
    try:
        return Outcome(obj=keras.saving.deserialize_keras_object(
            _copy(case["config"]), safe_mode=True))
    except BaseException as error:  # noqa: BLE001 - judged below (KeyboardInterrupt aside)
        if isinstance(error, KeyboardInterrupt):
            raise
        return Outcome(error=error)


# Keras's own refusals of a config it cannot read at all: clear, though they name the
# class or the kind of object rather than an argument.
KERAS_REFUSALS = (
    "Could not locate class",
    "Could not locate function",
    "Requested the deserialization of a Python lambda",
    "Expected 'config' to be a dict",
    "Could not deserialize",
    "Cannot deserialize",
    "Unable to reconstruct an instance",
)


def _chain(error):
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _own_text(message):
    """The part of an error message that is the refusal itself: Keras's wrapper
    ("... could not be deserialized properly ...\n\nconfig={...}.\n\nException
    encountered: ...") repeats the whole config, every key in quotes, and lrschedule's
    messages end with the value received (a dict shows its keys): both are left out."""
    message = re.sub(r"\n\nconfig=.*?\.\n\nException encountered:", " Exception encountered:",
                     message, flags=re.DOTALL)
    return message.split("Received:", 1)[0]


def names_touched(case):
    """The argument names a refusal of `case` may name: every key on the path of a
    mutation (the argument damaged and the ones holding it), every argument of the
    object whose entry was damaged (a damaged entry may break a rule between two of
    them: OneCycle's pct_start and total_steps), a key added, and for a damaged or
    swapped object every argument of its class."""
    names, unknown = set(), set()
    config = case["config"]
    for mutation in case["mutations"]:
        path = mutation[1]
        names.update(p for p in path if isinstance(p, str) and p != "config")
        if mutation[0] == "unknown":
            unknown.add(mutation[2])
        if mutation[0] == "table":
            names.add("values")
        # the innermost object holding the damaged entry (or the damaged object)
        holder = path if mutation[0] in ("unknown", "swap", "header") else path[:-1]
        while holder and not (exists(config, holder) and is_serialized(get(config, holder))):
            holder = holder[:-1]
        obj = get(config, holder) if exists(config, holder) else None
        if is_serialized(obj):
            if isinstance(obj["config"], dict):
                names.update(map(str, obj["config"]))
            for cls in _classes_named(resolved_name(obj)):
                names.update(inspect.signature(cls).parameters)
    names.discard("")
    return names | unknown  # an unknown key may be "" (Python quotes it: '')


def resolved_name(node):
    """The class Keras deserializes `node` as: its registered name first."""
    registered = node.get("registered_name")
    if isinstance(registered, str) and keras.saving.get_registered_object(registered):
        return registered.split(">", 1)[1]
    return node.get("class_name")


def _classes_named(name):
    for module in (S, O, lrs):
        cls = getattr(module, str(name), None)
        if isinstance(cls, type):
            yield cls


def names_in(message, names):
    """Whether the refusal itself (`_own_text`) names one of `names`: in backticks or
    quotes, as `name=...`, or (for a name no English word looks like, with an
    underscore) as a word."""
    text = _own_text(message)
    for name in names:
        quoted = r"[`']" + re.escape(name) + r"(\[\d+\])?[`']"
        if re.search(quoted, text) or re.search(r"\b" + re.escape(name) + "=", text):
            return True
        if "_" in name and re.search(r"\b" + re.escape(name) + r"\b", text):
            return True
    return False


def judge_error(case, error):
    """None when `error` is an acceptable refusal of `case`, else what is wrong."""
    for link in _chain(error):
        if isinstance(link, (RecursionError, MemoryError, SystemError)):
            return f"{type(link).__name__} in the chain of causes: {link!r}"[:600]
    if type(error) not in (ValueError, TypeError):
        return f"raised {type(error).__module__}.{type(error).__name__}: {error}"[:600]
    message = str(error)
    if "RecursionError" in message or "maximum recursion depth" in message:
        return f"a RecursionError wrapped in {type(error).__name__}: {message}"[:600]
    if names_in(message, names_touched(case)):
        return None
    if any(refusal in message for refusal in KERAS_REFUSALS):
        return None
    return (f"{type(error).__name__} naming none of {sorted(names_touched(case))}: "
            f"{message}")[:600]


# -- the per-class table of rate bounds ------------------------------------------------
#
# bounds(config, max_step) -> (low, high): the range every rate of the schedule that
# `config` describes lies in, at steps 0..max_step, in float64, written from each
# class's formula (docstrings; Keras's from its documentation), from the config's own
# numbers. A rate a formula states may exceed float32: the judge then says so.


def _num(config, key, default=None):
    value = config.get(key, default)
    return default if value is None else float(value)


def _growth(base, factor, times):
    """base * factor ** times in float64, inf when it overflows."""
    if factor <= 0:
        return 0.0
    try:
        return base * factor ** times
    except OverflowError:
        return INF


def _schedule_bounds(node, max_step):
    if not is_serialized(node):  # a number in a Sequence: a Constant
        value = float(node)
        return value, value
    name, c = resolved_name(node), node["config"] or {}
    if name == "Constant":
        lr = _num(c, "learning_rate")
        return lr, lr
    if name == "Linear":
        a, b = _num(c, "initial_learning_rate"), _num(c, "end_learning_rate")
        return min(a, b), max(a, b)
    if name in ("StepDecay", "MultiStepDecay"):
        # lr * gamma ** k, k decays so far: at most max_step // step_size, or the
        # number of milestones. gamma ** k is a quantity of its own (a float32 power):
        # where it exceeds float32 the rate is not representable as computed.
        lr, gamma = _num(c, "initial_learning_rate"), _num(c, "gamma", 0.1)
        if gamma <= 1:
            return 0.0, lr
        decays = (max_step // int(c["step_size"]) if name == "StepDecay"
                  else len(c["milestones"]))
        power = _growth(1.0, gamma, decays)
        return lr, (INF if power > F32_MAX else lr * power)
    if name == "OneCycle":
        # interpolations between initial, max_lr and min (each phase between two)
        peak = _num(c, "max_lr")
        initial = peak / _num(c, "div_factor", 25.0)
        final = initial / _num(c, "final_div_factor", 1e4)
        return min(initial, peak, final), max(initial, peak, final)
    if name == "Cyclic":
        return _num(c, "base_lr"), _num(c, "max_lr")  # base + amplitude * [0, 1]
    if name == "WarmupStableDecay":
        lr, m = _num(c, "learning_rate"), _num(c, "min_lr_ratio", 0.0)
        return lr * m, lr  # lr * (m + (1 - m) * shape), shape in [0, 1]
    if name == "InverseSqrt":
        return 0.0, _num(c, "learning_rate")  # lr * min(ramp, sqrt(ts / (...))) <= lr
    if name == "Warmup":
        low, high = _schedule_bounds(c["schedule"], max_step)
        start = _num(c, "start_learning_rate", 0.0)
        return min(low, start), max(high, start)  # a ramp from start to schedule(0)
    if name == "Sequence":
        parts = [_schedule_bounds(p, max_step) for p in c["schedules"]]
        return min(p[0] for p in parts), max(p[1] for p in parts)
    if name in ("PerEpoch", "InUpdates", "InMicroBatches", "Extended"):
        # the inner schedule at steps <= step (Extended: interpolated between them)
        return _schedule_bounds(c["schedule"], max_step)
    if name == "Scaled":
        low, high = _schedule_bounds(c["schedule"], max_step)
        factor = _num(c, "factor")
        return low * factor, high * factor
    if name == "CycledMomentum":
        inner = c["schedule"]
        defaults = (0.85, 0.95) if resolved_name(inner) == "OneCycle" else (0.8, 0.9)
        low = _num(inner["config"] or {}, "base_momentum", defaults[0])
        high = _num(inner["config"] or {}, "max_momentum", defaults[1])
        return min(low, high), max(low, high)  # max - (max - base) * [0, 1]
    if name == "Tabulated":
        table = independent_table(c["values"])
        return float(np.min(table)), float(np.max(table))
    if name == "ControlledRate":
        if c.get("schedule") is None:
            low = high = _num(c, "learning_rate")
        else:
            low, high = _schedule_bounds(c["schedule"], max_step)
        multiplier = _num(c, "multiplier", 1.0)
        factors = [multiplier]
        if c.get("decay_type") is not None:
            factors.append(_num(c, "decay_from", multiplier))
        # reduced(m) = max(base * m, min(base, min_lr)) lies in
        # [base * min(1, m), base * max(1, m)]; a smooth reduction between two of them
        return low * min([1.0] + factors), high * max([1.0] + factors)
    # Keras's own six (from their documentation; a hyperparameter's schedule, Ftrl's
    # learning_rate_power or Adafactor's beta_2_decay, may hold numbers < 0)
    if name == "ExponentialDecay":
        lr, rate = _num(c, "initial_learning_rate"), _num(c, "decay_rate")
        if rate <= 1:
            return min(0.0, lr), max(0.0, lr)
        grown = _growth(abs(lr), rate, max_step / _num(c, "decay_steps"))
        return (lr, grown) if lr >= 0 else (-grown, lr)
    if name == "PiecewiseConstantDecay":
        return min(map(float, c["values"])), max(map(float, c["values"]))
    if name == "PolynomialDecay":
        a, b = _num(c, "initial_learning_rate"), _num(c, "end_learning_rate", 1e-4)
        return min(a, b), max(a, b)
    if name == "InverseTimeDecay":
        lr = _num(c, "initial_learning_rate")
        return min(0.0, lr), max(0.0, lr)
    if name == "CosineDecay":
        # a ramp from the initial rate to the target, then the target times a factor
        # from 1 to alpha
        a = _num(c, "initial_learning_rate")
        target = _num(c, "warmup_target", a)
        ends = [a, target, target * _num(c, "alpha", 0.0)]
        return min(ends), max(ends)
    if name == "CosineDecayRestarts":
        return 0.0, _num(c, "initial_learning_rate")
    raise AssertionError(f"no bounds for {name}")  # pragma: no cover


def bounds(config, max_step=max(STEPS)):
    return _schedule_bounds(config, max_step)


def independent_table(entry):
    """The table a `values` entry holds, decoded from the format's description (as
    test_tables.py does) rather than by lrschedule's reader."""
    if isinstance(entry, list):
        return np.asarray(entry, dtype=np.float64)
    raw = zlib.decompress(base64.b85decode(entry["data"]))
    n = entry["length"]
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(4, n)
    return np.frombuffer(planes.T.tobytes(), dtype="<f4").astype(np.float64)


def _close_below(value, low):
    return value >= low - 2**-20 * abs(low) - 1e-30


def _close_above(value, high):
    return value <= high + 2**-20 * abs(high) + 1e-30


def judge_schedule(obj, config, what="rates", seen=None):
    """None when `obj`'s rates at STEPS are finite and within `bounds(config)` (and
    the list `seen`, if given, gets the rates)."""
    low, high = bounds(config)
    if not (math.isfinite(high) and abs(high) <= F32_MAX and abs(low) <= F32_MAX):
        # Arguments beyond float32 are refused at construction: what is left is a
        # formula that grows (a decay factor > 1 applied many times), whose float32
        # rate overflows where the formula's does. That is the formula, documented.
        return None, None
    try:
        rates = np.asarray(lrs.values(obj, STEPS), dtype=np.float64)
    except ValueError as error:
        if "not known yet" in str(error) and S.takes_length(obj):
            return None, None  # documented: its length comes from fit()
        return f"{what} at {STEPS} raised {type(error).__name__}: {error}"[:600], "evaluate"
    except Exception as error:  # noqa: BLE001 - reported
        return f"{what} at {STEPS} raised {type(error).__name__}: {error}"[:600], "evaluate"
    if seen is not None:
        seen.extend(rates.tolist())
    if not np.all(np.isfinite(rates)):
        return f"{what} at {STEPS} are {rates.tolist()}: not finite", "nonfinite"
    if not all(_close_below(r, low) and _close_above(r, high) for r in rates):
        return (f"{what} at {STEPS} are {rates.tolist()}, outside [{low!r}, {high!r}] "
                "stated for its class"), "range"
    return _saves_again(obj, rates, what)


def _saves_again(obj, rates, what):
    """A schedule that loaded saves again, and loads to the same rates."""
    try:
        again = keras.saving.deserialize_keras_object(_copy(ser(obj)), safe_mode=True)
        same = np.asarray(lrs.values(again, STEPS), dtype=np.float64)
    except Exception as error:  # noqa: BLE001 - reported
        return (f"saved again and reloaded, it raised {type(error).__name__}: "
                f"{error}")[:600], "resave"
    if not np.array_equal(same, rates):
        return (f"saved again and reloaded, its {what} at {STEPS} are {same.tolist()}, "
                f"not {rates.tolist()}"), "resave"
    return None, None


# -- callbacks and optimizers -----------------------------------------------------------

def _is_int(value, minimum=None):
    return (isinstance(value, int) and not isinstance(value, bool)
            and (minimum is None or value >= minimum))


def _finite(value, low=None, high=None, low_open=False, high_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    value = float(value)
    if not math.isfinite(value):
        return False
    if low is not None and (value <= low if low_open else value < low):
        return False
    if high is not None and (value >= high if high_open else value > high):
        return False
    return True


def _groups_ok(groups):
    return groups is None or (isinstance(groups, list) and groups
                              and all(isinstance(g, str) for g in groups))


def judge_callback(obj, config):
    c = config["config"] or {}
    if isinstance(obj, lrs.ControlledRate):
        return judge_schedule(obj, config)
    if isinstance(obj, lrs.ScheduleLR):
        problems = []
        if isinstance(obj.schedule, K.LearningRateSchedule):
            found, kind = judge_schedule(obj.schedule, c["schedule"])
            if found:
                return f"its schedule: {found}", kind
        elif not callable(obj.schedule):
            problems.append(f"schedule={obj.schedule!r}")
        if obj.arity not in (None, 1, 2) or isinstance(obj.arity, bool):
            problems.append(f"arity={obj.arity!r}")
        if not _is_int(obj.verbose, 0):
            problems.append(f"verbose={obj.verbose!r}")
        if not _groups_ok(obj.groups):
            problems.append(f"groups={obj.groups!r}")
        return (f"loaded with {', '.join(problems)}", "setting") if problems else (None, None)
    if isinstance(obj, lrs.ReduceLROnPlateau):
        checks = {
            "monitor": isinstance(obj.monitor, str) and obj.monitor != "",
            "factor": _finite(obj.factor, 0.0, 1.0, low_open=True, high_open=True),
            "patience": _is_int(obj.patience, 0),
            "verbose": _is_int(obj.verbose, 0),
            "mode": obj.mode in ("auto", "min", "max"),
            "min_delta": _finite(obj.min_delta, 0.0),
            "cooldown": _is_int(obj.cooldown, 0),
            "min_lr": _finite(obj.min_lr, 0.0),
            "decay_steps": _is_int(obj.decay_steps, 0),
            "decay_type": obj.decay_type in ("linear", "cosine", "1-sqrt"),
            "groups": _groups_ok(obj.groups),
        }
        bad = [f"{k}={getattr(obj, k)!r}" for k, ok in checks.items() if not ok]
        return (f"loaded with {', '.join(bad)}", "setting") if bad else (None, None)
    if isinstance(obj, lrs.LRLogger):
        if obj.per not in ("epoch", "batch"):
            return f"loaded with per={obj.per!r}", "setting"
        return None, None
    if isinstance(obj, lrs.HorizonCheck):
        return None, None
    return f"loaded as {type(obj).__name__}, not a callback", "type"


def _callback_saves_again(obj):
    """A callback that loaded saves again, to the same config."""
    try:
        again = keras.saving.deserialize_keras_object(_copy(ser(obj)), safe_mode=True)
        same = again.get_config() == obj.get_config()
    except Exception as error:  # noqa: BLE001 - reported
        return (f"saved again and reloaded, it raised {type(error).__name__}: "
                f"{error}")[:600], "resave"
    return (None, None) if same else (
        f"saved again and reloaded, its config is {again.get_config()!r}", "resave")


# The documented domains of the optimizers' arguments (Keras's documentation, and
# PyTorch's checks where Keras has none), written here apart from the core's
# `ARGUMENT_RANGES` and `CLASS_RANGES`: a loaded optimizer's settings, and a scheduled
# hyperparameter's values at STEPS, must lie in both (`range_problem()`). None is
# accepted where Keras documents it ("or None").
def _in(low, high, low_open=False, high_open=False, nullable=False):
    def ok(value):
        if value is None:
            return nullable
        if low_open and low == 0 and _finite(value) and abs(value) < 1 and abs(
                np.float32(value)) < TINY:
            # > 0, but 0 in the float32 Keras computes with (1e-300), or as TensorFlow
            # computes with it (a subnormal float32, 1e-40, is flushed to zero)
            return False
        return _finite(value, low, high, low_open, high_open)
    return ok


def _whole(low, high=None, nullable=False):
    def ok(value):
        if value is None:
            return nullable
        return _finite(value, low, high) and float(value) == int(value)
    return ok


def _boolean(value):
    return isinstance(value, bool)


def _patterns(value):
    """None or a list of strings, each a regular expression (Keras's Muon searches each
    in a variable's path: `re.search(keyword, variable.path)`)."""
    if value is None:
        return True
    if not (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)):
        return False
    try:
        for pattern in value:
            re.compile(pattern)
    except re.error:
        return False
    return True


_UNIT = _in(0.0, 1.0)
_UNIT_OPEN = _in(0.0, 1.0, high_open=True)  # Adam's bias correction divides by 1 - beta ** t
_AT_LEAST_0 = _in(0.0, None)
_AT_MOST_0 = _in(None, 0.0)
_ABOVE_0 = _in(0.0, None, low_open=True)

OPTIMIZER_DOMAINS = {
    "learning_rate": _AT_LEAST_0,  # a number (a schedule's values: see CLASS_DOMAINS)
    "beta_1": _UNIT_OPEN, "beta_2": _UNIT_OPEN, "adam_beta_1": _UNIT_OPEN,
    "adam_beta_2": _UNIT_OPEN,
    "rho": _UNIT, "momentum": _UNIT, "ema_momentum": _UNIT,
    "epsilon": _AT_LEAST_0, "epsilon_1": _AT_LEAST_0, "epsilon_2": _AT_LEAST_0,
    "initial_accumulator_value": _AT_LEAST_0,
    "weight_decay": _in(0.0, None, nullable=True),
    "adam_weight_decay": _in(0.0, None, nullable=True),
    "rms_rate": _in(0.0, None, nullable=True),
    "clipnorm": _in(0.0, None, low_open=True, nullable=True),
    "clipvalue": _in(0.0, None, low_open=True, nullable=True),
    "global_clipnorm": _in(0.0, None, low_open=True, nullable=True),
    "loss_scale_factor": _in(0.0, None, low_open=True, nullable=True),
    "clip_threshold": _ABOVE_0, "adam_lr_ratio": _ABOVE_0,
    # Ftrl's (TensorFlow's documentation: "less or equal to zero", the rest >= 0)
    "learning_rate_power": _AT_MOST_0, "l1_regularization_strength": _AT_LEAST_0,
    "l2_regularization_strength": _AT_LEAST_0,
    "l2_shrinkage_regularization_strength": _AT_LEAST_0, "beta": _AT_LEAST_0,
    # Adafactor's: the second moment decays by 1 - t ** beta_2_decay
    "beta_2_decay": _AT_MOST_0,
    "ema_overwrite_frequency": _whole(1.0, nullable=True),
    "gradient_accumulation_steps": _whole(2.0, 2.0**31, nullable=True),
    "use_ema": _boolean, "amsgrad": _boolean, "nesterov": _boolean, "centered": _boolean,
    "relative_step": _boolean, "exclude_embeddings": _boolean,
    # The numbers that stay numbers (NOT_SCHEDULABLE) and the names of layers, from
    # Keras's documentation: Muon's coefficients ("Float": finite, in the float32 it
    # computes with), its Newton-Schulz iterations ("Integer": at least one, or it is no
    # Muon; at most a thousand, which a 2x3 weight runs in well under a second), its
    # "keywords of layer names" (regular expressions: `_patterns`); ScheduleFreeAdamW's
    # warmup ("Number of warmup steps").
    "muon_a": _in(-F32_MAX, F32_MAX), "muon_b": _in(-F32_MAX, F32_MAX),
    "muon_c": _in(-F32_MAX, F32_MAX), "ns_steps": _whole(1.0, 1000.0),
    "exclude_layers": _patterns, "warmup_steps": _whole(0.0, 2.0**31 - 1),
}

# Where one optimizer's formula needs a narrower domain than the argument's name gives
# (each replaces the name's for that class).
CLASS_DOMAINS = {
    # Keras's ScheduleFreeAdamW: x = (y - (1 - beta_1) z) / beta_1
    ("ScheduleFreeAdamW", "beta_1"): _in(0.0, 1.0, low_open=True, high_open=True),
    # Keras's Lion: "Argument `beta_1` must be in the [0, 1] range. Otherwise, the
    # optimizer degenerates to SignSGD", checked as 0 < beta_1 <= 1
    ("Lion", "beta_1"): _in(0.0, 1.0, low_open=True),
    # Ftrl: sigma = (n_new ** -p - n ** -p) / learning_rate, at every step
    ("Ftrl", "learning_rate"): _ABOVE_0,
}


def range_problem(name, value, class_name=None):
    """None when `value` of the optimizer argument `name` of an optimizer of
    `class_name` lies in its range: the core's (`optimizers.argument_problem()`:
    `ARGUMENT_RANGES`, `CLASS_RANGES`, its flags and names of layers) and this judge's
    own (`CLASS_DOMAINS`, else `OPTIMIZER_DOMAINS`); else what it should be."""
    expected = O.argument_problem(name, value, class_name)
    if expected is not None:
        return expected
    domain = CLASS_DOMAINS.get((class_name, name)) or OPTIMIZER_DOMAINS.get(name)
    if domain is not None and not domain(value):
        return "a value of its documented domain (fuzz_configs.OPTIMIZER_DOMAINS)"
    return None


def stated_values(schedule):
    """The values of a hyperparameter schedule (or of a rate schedule whose range its
    optimizer narrows) that the core checks against the argument's range when it
    builds the optimizer (as `optimizers.schedule_problem()` documents): a
    CycledMomentum's bounds, a Constant's value, else its values at step 0 and at the
    end of its horizon (`horizon()`). Values between are taken as given."""
    if isinstance(schedule, S.CycledMomentum):
        inner = schedule.schedule
        return [float(inner.base_momentum), float(inner.max_momentum)]
    if isinstance(schedule, S.Constant):
        return [float(schedule.learning_rate)]
    steps = [0]
    end = S.horizon(schedule)
    if end is not None and 0 < end[0] <= 2**53:
        steps.append(end[0])
    try:
        return [float(v) for v in lrs.values(schedule, steps)]
    except Exception:  # noqa: BLE001 - the core takes as given what it cannot evaluate
        return []


def _first(obj, name, default=0.0):
    """The value the first update uses of the optimizer's argument `name`: the number,
    or its schedule's at step 0 (`default` for None, a flag or an argument it lacks)."""
    value = obj.hyperparameter_schedules.get(name, getattr(obj, name, None))
    if isinstance(value, K.LearningRateSchedule):
        return float(lrs.values(value, 0))
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return float(value)


_MUON_COEFFICIENTS = {name: inspect.signature(keras.optimizers.Muon).parameters[name].default
                      for name in ("muon_a", "muon_b", "muon_c")}


def _overflow_expected(obj, rate_high):
    """Why the first update of `obj` may leave float32 by its formula, with arguments
    each within its range (None when it may not): the ranges bound no magnitude."""
    name = type(obj).__name__
    # Decoupled weight decay subtracts variable * lr * weight_decay: with both large the
    # weights leave float32, as the formula says (Lamb and Adafactor square them too,
    # for a norm and a mean square).
    decay = max(_first(obj, "weight_decay"), _first(obj, "adam_weight_decay"))
    if rate_high * decay >= (1e18 if name in ("Lamb", "Adafactor") else F32_MAX / 4):
        return "weight decay"
    if name == "Ftrl":
        # accumulator ** -learning_rate_power, divided by: it leaves float32 for an
        # accumulator (initial value, plus the gradient's square 0.25) far from 1 to a
        # large power
        power = -_first(obj, "learning_rate_power")
        for accumulator in {_first(obj, "initial_accumulator_value"),
                            _first(obj, "initial_accumulator_value") + 0.25} - {0.0}:
            try:
                value = accumulator ** power
            except OverflowError:
                value = INF
            if not 1e-37 <= value <= 1e37:
                return "learning_rate_power"
    if name == "Muon" and any(getattr(obj, key) != value
                              for key, value in _MUON_COEFFICIENTS.items()):
        # "tuned together": other coefficients make the Newton-Schulz iteration diverge
        return "Newton-Schulz coefficients"
    return None


def _scheduled_problem(obj, hyper, schedule, config):
    """(problem, kind) of a loaded hyperparameter schedule (or a rate schedule whose
    range its class narrows: Ftrl's): judged as a schedule (finite rates within its
    class's bounds, saved again to the same), then its values at STEPS in the
    argument's range. Values out of it between the stated ones (at step 0, the
    horizon's end...) are the documented limitation: kind "between", no problem."""
    name = type(obj).__name__
    values = []
    found, kind = judge_schedule(schedule, config, what=hyper, seen=values)
    if found:
        return f"its {hyper} schedule: {found}", kind
    if S.takes_length(schedule):
        return None, None  # its first update raises the documented "not known yet"
    if not values:  # bounds beyond float32: judge_schedule did not evaluate it
        values = [float(v) for v in lrs.values(schedule, STEPS)]
    expected = next(filter(None, (range_problem(hyper, v, name) for v in values)), None)
    if expected is None:
        return None, None
    stated = stated_values(schedule)
    if any(range_problem(hyper, v, name) for v in stated):
        return (f"its {hyper} schedule gives {values} at {STEPS}, and states {stated}: "
                f"outside {expected}"), "setting"
    return None, "between"


def judge_optimizer(obj, config):
    """(problem, kind) of a loaded optimizer: its class, its rate (a schedule judged as
    one, a number in its range: finite and >= 0, > 0 for Ftrl), each scheduled
    hyperparameter (`_scheduled_problem`, and so the rate where its class narrows its
    range: kind "between", no problem, when its values leave the range only between
    those the core checks), each other argument in its range (`range_problem`, its
    class's), no schedule where only a number goes, an ema_momentum schedule only with
    use_ema=True, and the first update of a vector and a matrix keeping them finite."""
    c = config["config"] or {}
    name = type(obj).__name__
    if not isinstance(obj, getattr(O, resolved_name(config), type(None))):
        return f"loaded as {name}", "type"
    between = []
    rate = obj._learning_rate
    if isinstance(rate, K.LearningRateSchedule):
        if "learning_rate" in ranged_schedulable(name):
            found, kind = _scheduled_problem(obj, "learning_rate", rate, c["learning_rate"])
            if kind == "between":
                between.append("learning_rate")
        else:
            found, kind = judge_schedule(rate, c["learning_rate"])
            found = found and f"its learning_rate schedule: {found}"
        if found:
            return found, kind
    elif callable(rate):
        pass  # Keras calls it with no argument at each update: judged by the update
    else:
        value = float(keras.ops.convert_to_numpy(rate))
        if range_problem("learning_rate", value, name) is not None:
            return f"loaded with learning_rate {value!r}", "setting"
    schedules = obj.hyperparameter_schedules
    if set(schedules) - set(O.SCHEDULABLE[resolved_name(config)]):
        return f"loaded with schedules for {sorted(schedules)}", "setting"
    for hyper, schedule in schedules.items():
        found, kind = _scheduled_problem(obj, hyper, schedule, c[hyper])
        if found:
            return found, kind
        if kind == "between":
            between.append(hyper)
    if "ema_momentum" in schedules and obj.use_ema is not True:
        return f"loaded with an ema_momentum schedule and use_ema={obj.use_ema!r}", "setting"
    bad = []
    for key in inspect.signature(type(obj)).parameters:
        if key in ("learning_rate", "name", "kwargs") or key in schedules:
            continue
        value = getattr(obj, key, None)
        if isinstance(value, K.LearningRateSchedule):
            bad.append(f"{key}={type(value).__name__}(...), a schedule where only a number goes")
        elif range_problem(key, value, name) is not None:
            bad.append(f"{key}={value!r}")
    if bad:
        return f"loaded with {', '.join(bad)}", "setting"
    kind = "between" if between else None
    if S.takes_length(rate) or any(S.takes_length(s) for s in schedules.values()):
        return None, kind  # its first update raises the documented "not known yet"
    # the first update keeps the weights finite: a matrix, and for Muon and Adafactor a
    # vector too (their updates of a matrix, Newton-Schulz's and the factored one, are
    # their own)
    shapes = ((3,), (2, 3)) if name in ("Muon", "Adafactor") else ((2, 3),)
    variables = [keras.Variable(np.ones(shape, dtype="float32")) for shape in shapes]
    try:
        obj.apply([keras.ops.ones(v.shape) * 0.5 for v in variables], variables)
        after = np.concatenate([keras.ops.convert_to_numpy(v).ravel() for v in variables])
    except Exception as error:  # noqa: BLE001 - reported
        return f"its first update raised {type(error).__name__}: {error}"[:600], "update"
    rate_high = (bounds(c["learning_rate"])[1] if isinstance(rate, K.LearningRateSchedule)
                 else float(keras.ops.convert_to_numpy(rate)) if not callable(rate) else 0.0)
    if not np.all(np.isfinite(after)) and _overflow_expected(obj, rate_high) is None:
        return f"its first update gave the weights {after.tolist()}", "update"
    return None, kind


def judge(case, outcome=None):
    """(problem, kind): problem None when loading `case` did something acceptable (kind
    None, or "between" for an optimizer with a hyperparameter schedule out of its range
    only between the values the core checks: the documented limitation)."""
    outcome = load(case) if outcome is None else outcome
    if outcome.error is not None:
        found = judge_error(case, outcome.error)
        return (found, "refusal") if found else (None, None)
    obj, config = outcome.obj, case["config"]
    expected = resolved_name(config)
    if type(obj).__name__ != expected:
        return f"loaded as {type(obj).__name__!r} from a {expected!r} config", "type"
    if isinstance(obj, K.LearningRateSchedule) and not isinstance(obj, lrs.ControlledRate):
        return judge_schedule(obj, config)
    if isinstance(obj, lrs.ControlledRate):
        return judge_callback(obj, config)
    if isinstance(obj, keras.callbacks.Callback):
        found = judge_callback(obj, config)
        return found if found[0] else _callback_saves_again(obj)
    if isinstance(obj, keras.optimizers.Optimizer):
        return judge_optimizer(obj, config)
    return f"loaded as {type(obj).__name__}", "type"


UNKNOWN_KEYS = ["bogus", "max_lr", "schedule", "name", ""]


def draw_mutation(config, choose):
    """One mutation of the serialized object `config`, each choice made by
    `choose(options)` (hypothesis's draw, or a seeded generator's choice)."""
    if resolved_name(config) in OPTIMIZER_CLASSES and choose([False, True]):
        return hostile_mutation(config, choose)
    kind, path = choose(sites(config))
    if kind == "object":
        op = choose(["unknown", "swap", "header"])
        if op == "unknown":
            return ("unknown", path, choose(UNKNOWN_KEYS))
        if op == "swap":
            return ("swap", path, choose(CLASSES))
        field, value = choose(HEADERS)
        return ("header", path, field, value)
    if kind == "table":
        op = choose(sorted(TABLE_ARGS))
        return ("table", path, op, choose(TABLE_ARGS[op]))
    if kind == "key" and choose([False, False, False, True]):
        return ("delete", path)
    return ("replace", path, choose(REPLACEMENTS))


def draw_case(class_name, choose):
    """A damaged config of `class_name`: one of its valid configs, one to three
    mutations."""
    index = choose(range(len(bases()[class_name])))
    config = bases()[class_name][index]
    mutations = [draw_mutation(config, choose) for _ in range(choose([1, 1, 1, 2, 3]))]
    return mutate(class_name, index, mutations)


# --------------------------------------------------------------------------------------
# Problems already reported, each with its reproducer in test_fuzz_configs.py (an
# xfail(strict=True) test named test_bug_<id>): `known_bug()` recognizes a problem as
# one of them, so the fuzz fails only on new ones. Remove an id once its bug is fixed
# (its reproducer then passes, and strict xfail fails, saying so), with its branch
# below. A branch tells its bug by the kind of problem and the arguments it is about,
# and makes sure that the problem goes away when those are as in the valid config the
# case was damaged from (`goes_away()`).


def _restored(case, keys):
    """`case` with the arguments `keys` of its optimizer as in the valid config it was
    damaged from (None when it is no longer a config of that class)."""
    config = case["config"]
    if not (is_serialized(config) and isinstance(config["config"], dict)
            and resolved_name(config) == case["class"]):
        return None
    base = bases()[case["class"]][case["base"]]["config"]
    restored = _copy(config)
    for key in keys:
        if key in base:
            restored["config"][key] = _copy(base[key])
        else:
            restored["config"].pop(key, None)
    return dict(case, config=restored)


def _same(a, b):
    return json.dumps(a, sort_keys=True, default=repr) == json.dumps(b, sort_keys=True,
                                                                      default=repr)


def goes_away(case, keys):
    """Whether the problem of `case` goes away (or leaves only another known bug) when
    the arguments `keys` of its optimizer are as in its valid config."""
    restored = _restored(case, keys)
    if restored is None or _same(restored["config"], case["config"]):
        return False  # nothing to restore (True == 1 in Python, not in JSON)
    outcome = load(restored)
    problem, kind = judge(restored, outcome)
    return problem is None or known_bug(restored, problem, kind, outcome) is not None


def known_bug(case, problem, kind, outcome=None):
    """The id of the reported bug `problem` is an instance of, or None: a problem of
    the kind the bug gives, which goes away (or leaves only another known bug) when the
    arguments it is about are as in the valid config."""
    return None


def describe(case):
    return (f"{case['class']}: mutations {case['mutations']!r}\nconfig = "
            f"{json.dumps(case['config'], default=repr)[:1500]}")
