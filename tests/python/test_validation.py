"""Every constructor argument is checked; the error names the argument and the value."""

import math

import keras
import numpy as np
import pytest

import lrschedule as lrs
from lrschedule import _validation as check

pytestmark = pytest.mark.backend_independent

K = keras.optimizers.schedules
GOOD = lrs.Constant(0.1)

# (id, constructor call, exception type, text the message must contain)
CASES = [
    ("constant-negative", lambda: lrs.Constant(-0.1), ValueError, "learning_rate=-0.1"),
    ("constant-nan", lambda: lrs.Constant(float("nan")), ValueError, "learning_rate=nan"),
    ("constant-string", lambda: lrs.Constant("0.1"), TypeError, "learning_rate='0.1'"),
    ("constant-none", lambda: lrs.Constant(None), TypeError, "learning_rate=None"),
    ("constant-bool", lambda: lrs.Constant(True), TypeError, "learning_rate=True"),
    ("constant-vector", lambda: lrs.Constant([0.1, 0.2]), TypeError, "learning_rate=[0.1, 0.2]"),
    ("linear-inf", lambda: lrs.Linear(math.inf, 0.1, 10), ValueError, "initial_learning_rate=inf"),
    ("linear-end-negative", lambda: lrs.Linear(0.1, -1, 10), ValueError, "end_learning_rate=-1"),
    ("linear-steps-zero", lambda: lrs.Linear(0.1, 0.2, 0), ValueError, "total_steps=0"),
    ("linear-steps-fraction", lambda: lrs.Linear(0.1, 0.2, 10.5), ValueError, "total_steps=10.5"),
    ("linear-steps-string", lambda: lrs.Linear(0.1, 0.2, "10"), TypeError, "total_steps='10'"),
    ("step-lr-zero", lambda: lrs.StepDecay(0, 10), ValueError, "initial_learning_rate=0"),
    ("step-size-negative", lambda: lrs.StepDecay(0.1, -3), ValueError, "step_size=-3"),
    ("step-gamma-zero", lambda: lrs.StepDecay(0.1, 3, gamma=0), ValueError, "gamma=0"),
    ("multistep-unsorted", lambda: lrs.MultiStepDecay(0.1, [30, 10]), ValueError,
     "milestones=[30, 10]"),
    ("multistep-repeated", lambda: lrs.MultiStepDecay(0.1, [10, 10]), ValueError,
     "milestones=[10, 10]"),
    ("multistep-empty", lambda: lrs.MultiStepDecay(0.1, []), ValueError, "milestones=[]"),
    ("multistep-fraction", lambda: lrs.MultiStepDecay(0.1, [1.5, 3]), ValueError,
     "milestones=[1.5, 3]"),
    ("multistep-zero", lambda: lrs.MultiStepDecay(0.1, [0, 3]), ValueError, "milestones=[0, 3]"),
    ("multistep-scalar", lambda: lrs.MultiStepDecay(0.1, 10), TypeError, "milestones=10"),
    ("multistep-string", lambda: lrs.MultiStepDecay(0.1, "10"), TypeError, "milestones='10'"),
    ("onecycle-max-negative", lambda: lrs.OneCycle(-1, 100), ValueError, "max_lr=-1"),
    ("onecycle-steps-one", lambda: lrs.OneCycle(0.1, 1), ValueError, "total_steps=1"),
    ("onecycle-pct-one", lambda: lrs.OneCycle(0.1, 100, pct_start=1.0), ValueError,
     "pct_start=1.0"),
    ("onecycle-pct-zero", lambda: lrs.OneCycle(0.1, 100, pct_start=0), ValueError, "pct_start=0"),
    ("onecycle-empty-phase", lambda: lrs.OneCycle(0.1, 10, pct_start=0.1), ValueError,
     "pct_start=0.1"),
    ("onecycle-three-phase-empty", lambda: lrs.OneCycle(0.1, 10, pct_start=0.6, three_phase=True),
     ValueError, "pct_start=0.6"),
    ("onecycle-anneal", lambda: lrs.OneCycle(0.1, 100, anneal_strategy="cosine"), ValueError,
     "anneal_strategy='cosine'"),
    ("onecycle-div", lambda: lrs.OneCycle(0.1, 100, div_factor=0), ValueError, "div_factor=0"),
    ("onecycle-final-div", lambda: lrs.OneCycle(0.1, 100, final_div_factor=-2), ValueError,
     "final_div_factor=-2"),
    ("onecycle-three-phase-type", lambda: lrs.OneCycle(0.1, 100, three_phase="yes"), TypeError,
     "three_phase='yes'"),
    ("cyclic-max-below-base", lambda: lrs.Cyclic(0.1, 0.01), ValueError, "max_lr=0.01"),
    ("cyclic-base-negative", lambda: lrs.Cyclic(-0.1, 0.01), ValueError, "base_lr=-0.1"),
    ("cyclic-up-zero", lambda: lrs.Cyclic(0.01, 0.1, step_size_up=0), ValueError,
     "step_size_up=0"),
    ("cyclic-down-fraction", lambda: lrs.Cyclic(0.01, 0.1, step_size_down=2.5), ValueError,
     "step_size_down=2.5"),
    ("cyclic-mode", lambda: lrs.Cyclic(0.01, 0.1, mode="exp"), ValueError, "mode='exp'"),
    ("cyclic-gamma", lambda: lrs.Cyclic(0.01, 0.1, gamma=1.5), ValueError, "gamma=1.5"),
    ("onecycle-base-momentum", lambda: lrs.OneCycle(0.1, 100, base_momentum=1.5), ValueError,
     "base_momentum=1.5"),
    ("onecycle-max-momentum", lambda: lrs.OneCycle(0.1, 100, max_momentum=-0.1), ValueError,
     "max_momentum=-0.1"),
    ("cyclic-base-momentum", lambda: lrs.Cyclic(0.01, 0.1, base_momentum="high"), TypeError,
     "base_momentum='high'"),
    ("cyclic-max-momentum", lambda: lrs.Cyclic(0.01, 0.1, max_momentum=2), ValueError,
     "max_momentum=2"),
    ("momentum-of-step-decay", lambda: lrs.CycledMomentum(lrs.StepDecay(0.1, 10)), TypeError,
     "schedule=StepDecay"),
    ("momentum-of-one-cycle-without-length", lambda: lrs.CycledMomentum(lrs.OneCycle(0.1)),
     ValueError, "total_steps"),
    ("wsd-lr", lambda: lrs.WarmupStableDecay(0, 1, 1, 1), ValueError, "learning_rate=0"),
    ("wsd-warmup-negative", lambda: lrs.WarmupStableDecay(0.1, -1, 1, 1), ValueError,
     "warmup_steps=-1"),
    ("wsd-stable-fraction", lambda: lrs.WarmupStableDecay(0.1, 1, 0.5, 1), ValueError,
     "stable_steps=0.5"),
    ("wsd-decay-none", lambda: lrs.WarmupStableDecay(0.1, 1, 1, None), TypeError,
     "decay_steps=None"),
    ("wsd-warmup-type", lambda: lrs.WarmupStableDecay(0.1, 1, 1, 1, warmup_type="sqrt"),
     ValueError, "warmup_type='sqrt'"),
    ("wsd-decay-type", lambda: lrs.WarmupStableDecay(0.1, 1, 1, 1, decay_type="exp"),
     ValueError, "decay_type='exp'"),
    ("wsd-min-ratio", lambda: lrs.WarmupStableDecay(0.1, 1, 1, 1, min_lr_ratio=1.5), ValueError,
     "min_lr_ratio=1.5"),
    ("wsd-cycles", lambda: lrs.WarmupStableDecay(0.1, 1, 1, 1, num_cycles=0), ValueError,
     "num_cycles=0"),
    ("invsqrt-lr", lambda: lrs.InverseSqrt(-1, 10), ValueError, "learning_rate=-1"),
    ("invsqrt-warmup", lambda: lrs.InverseSqrt(0.1, 1.5), ValueError, "warmup_steps=1.5"),
    ("invsqrt-timescale", lambda: lrs.InverseSqrt(0.1, 10, timescale=0), ValueError,
     "timescale=0"),
    ("warmup-not-schedule", lambda: lrs.Warmup(0.1, 10), TypeError, "schedule=0.1"),
    ("warmup-function", lambda: lrs.Warmup(lambda s: 0.1, 10), TypeError, "schedule=<function"),
    ("warmup-steps", lambda: lrs.Warmup(GOOD, -1), ValueError, "warmup_steps=-1"),
    ("warmup-start", lambda: lrs.Warmup(GOOD, 10, start_learning_rate=-0.1), ValueError,
     "start_learning_rate=-0.1"),
    ("sequence-one-schedule", lambda: lrs.Sequence(GOOD, []), TypeError, "schedules=Constant"),
    ("sequence-empty", lambda: lrs.Sequence([], []), ValueError, "schedules=[]"),
    ("sequence-bad-piece", lambda: lrs.Sequence([GOOD, "cosine"], [5]), TypeError,
     "schedules[1]='cosine'"),
    ("sequence-length", lambda: lrs.Sequence([GOOD, GOOD], [5, 10]), ValueError,
     "boundaries=[5, 10]"),
    ("sequence-unsorted", lambda: lrs.Sequence([GOOD, GOOD, GOOD], [10, 5]), ValueError,
     "boundaries=[10, 5]"),
    ("sequence-negative", lambda: lrs.Sequence([GOOD, GOOD], [-1]), ValueError,
     "boundaries=[-1]"),
    ("per-epoch-schedule", lambda: lrs.PerEpoch("step", 10), TypeError, "schedule='step'"),
    ("per-epoch-steps", lambda: lrs.PerEpoch(GOOD, 0), ValueError, "steps_per_epoch=0"),
    ("tabulated-empty", lambda: lrs.Tabulated([]), ValueError, "values=[]"),
    ("tabulated-nan", lambda: lrs.Tabulated([0.1, float("nan")]), ValueError,
     "values=[0.1, nan]"),
    ("tabulated-negative", lambda: lrs.Tabulated([0.1, -0.1]), ValueError, "values=[0.1, -0.1]"),
    ("tabulated-scalar", lambda: lrs.Tabulated(0.1), TypeError, "values=0.1"),
    ("tabulated-2d", lambda: lrs.Tabulated(np.ones((2, 2))), ValueError, "values="),
    ("from-function-not-callable", lambda: lrs.Tabulated.from_function(0.1, 10), TypeError,
     "fn=0.1"),
    ("from-function-steps", lambda: lrs.Tabulated.from_function(lambda s: s, 0), ValueError,
     "total_steps=0"),
    ("from-function-nan", lambda: lrs.Tabulated.from_function(lambda s: np.nan * s, 3),
     ValueError, "at step 0 it returned nan"),
    ("from-function-negative", lambda: lrs.Tabulated.from_function(lambda s: 1.0 - s, 4),
     ValueError, "at step 2 it returned -1.0"),
    ("from-function-not-number", lambda: lrs.Tabulated.from_function(lambda s: "x", 2),
     ValueError, "returned 'x'"),
]


@pytest.mark.parametrize("make, error, text", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_argument_is_refused_with_a_clear_message(make, error, text):
    with pytest.raises(error) as info:
        make()
    message = str(info.value)
    assert text in message
    assert message.startswith("Argument `")


def test_message_format_matches_keras():
    with pytest.raises(ValueError) as info:
        lrs.StepDecay(0.1, step_size=0)
    assert str(info.value) == "Argument `step_size` must be > 0. Received: step_size=0"


@pytest.mark.parametrize(
    "value, expected",
    [(1000.0, 1000), (np.int32(7), 7), (np.float64(3.0), 3), (np.array(5), 5)],
    ids=["whole-float", "numpy-int", "numpy-whole-float", "0d-array"],
)
def test_whole_numbers_are_accepted_as_counts_and_stored_as_int(value, expected):
    schedule = lrs.StepDecay(0.1, step_size=value)
    assert schedule.step_size == expected
    assert type(schedule.get_config()["step_size"]) is int


def test_numpy_values_are_stored_as_python_floats():
    schedule = lrs.OneCycle(np.float32(0.5), np.int64(100))
    config = schedule.get_config()
    assert type(config["max_lr"]) is float and type(config["total_steps"]) is int


@pytest.mark.parametrize(
    "value, text",
    [
        (np.float64("nan"), "nan"),
        (np.float32(0.5), "0.5"),
        (np.int64(-3), "-3"),
        ([np.float64(1.5), np.float64("nan")], "[1.5, nan]"),
        ((np.int64(1), 2), "(1, 2)"),
        (np.array([1.0, 2.0]), "[1.0, 2.0]"),
    ],
    ids=["float64-nan", "float32", "int64", "list-of-scalars", "tuple", "array"],
)
def test_messages_show_numpy_values_as_python_does_on_numpy_1_and_2(value, text):
    # NumPy 2's scalar reprs read np.float64(nan); messages must not carry them.
    assert check.shown(value) == text
    with pytest.raises(ValueError) as info:
        check.fail_value("x", value, "something else")
    assert str(info.value).endswith(f"Received: x={text}")
    assert "np." not in str(info.value)


def test_a_long_list_is_checked_whole_and_shown_in_120_characters():
    """A 0.1.0-style table (a JSON list) of millions of rates: every element checked,
    the first bad one named by index and value, the message cut at 120 characters
    without a repr of the whole list."""
    from lrschedule import _validation as check

    values = [0.1] * 2_000_000 + [-1.0] + [0.2] * 10
    with pytest.raises(ValueError) as caught:
        check.numbers_list("values", values, minimum=0.0)
    message = str(caught.value)
    assert "(element 2000000 is -1.0)" in message
    received = message.split("Received: ")[1]
    assert received == "values=" + repr(values[:40])[:117] + "..."
    assert len(received) == len("values=") + 120
    # the same for an array, a tuple, NaN and ints (shown as given)
    for bad, shown_bad in ((np.r_[np.full(100, 0.5), np.nan], "nan"),
                           (tuple([1] * 100 + [-3]), "-3")):
        with pytest.raises(ValueError, match=rf"\(element 100 is {shown_bad}\)"):
            check.numbers_list("values", bad, minimum=0.0)
    # what is not a number stays a TypeError, wherever it is
    with pytest.raises(TypeError):
        check.numbers_list("values", [0.1] * 100 + [True])
    with pytest.raises(TypeError):
        check.numbers_list("values", [0.1] * 100 + ["0.2"])
    assert check.numbers_list("values", [1, 0.5] * 50) == [1.0, 0.5] * 50
