"""The shared reference table, the same numbers testthat and the rpy2 tests check."""

import numpy as np
import pytest

import lrschedule as lrs
from reference_table import build, load

CASES = load()


SCHEDULE_CLASSES = [
    "Constant", "Linear", "StepDecay", "MultiStepDecay", "OneCycle", "Cyclic",
    "WarmupStableDecay", "InverseSqrt", "Warmup", "Sequence", "PerEpoch", "Tabulated",
    "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay", "InverseTimeDecay",
    "CosineDecay", "CosineDecayRestarts",
]


def test_table_covers_every_schedule_class():
    assert sorted({c[0] for c in CASES.values()}) == sorted(SCHEDULE_CLASSES)


@pytest.mark.parametrize("case", list(CASES))
def test_python_core_matches_reference_table(case):
    python_class, args, steps, rates, rtol = CASES[case]
    schedule = build(python_class, args)
    np.testing.assert_allclose(lrs.values(schedule, steps), rates, rtol=rtol, atol=1e-12)
