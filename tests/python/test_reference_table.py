"""The shared reference table, the same numbers testthat and the rpy2 tests check.

The table is also the catalogue of schedules: the tests below fail when a schedule
class has no rows, when a class or an R function is in it under two names, or when
an R schedule_*() function and the table disagree.
"""

import re

import keras
import numpy as np
import pytest

import lrschedule as lrs
from lrschedule import schedules
from reference_table import ROOT, build, load, name_pairs

CASES = load()
ADD_ROWS = ("add cases to tests/reference/make_reference_rates.py (rates from the system "
            "whose semantics the schedule matches) and run it")
LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


def schedule_classes(namespace, base):
    """{name: class} of the subclasses of `base` in `namespace` (a dict).

    Ours derive from lrschedule.Schedule (ControlledRate, the callbacks' rate control,
    is a Keras schedule but not one users build); Keras's own from LearningRateSchedule.
    """
    return {name: value for name, value in namespace.items()
            if isinstance(value, type) and issubclass(value, base) and value is not base}


def r_schedule_exports():
    """The schedule_*() functions the R package exports (its NAMESPACE, from roxygen)."""
    text = (ROOT / "NAMESPACE").read_text()
    return set(re.findall(r"^export\((schedule_\w+)\)$", text, flags=re.MULTILINE))


@pytest.mark.backend_independent
def test_every_schedule_class_of_ours_is_exported():
    # lrschedule.__all__ takes the schedule classes from lrschedule.schedules.__all__
    defined = {name for name, cls in schedule_classes(vars(schedules), schedules.Schedule).items()
               if cls.__module__ == schedules.__name__}
    assert defined - set(schedules.__all__) == set(), "missing from lrschedule.schedules.__all__"
    not_imported = {name for name in lrs.__all__ if not hasattr(lrs, name)}
    assert not_imported == set(), "missing from the imports of lrschedule/__init__.py"


@pytest.mark.backend_independent
def test_every_schedule_class_has_reference_rows():
    ours = schedule_classes({n: getattr(lrs, n) for n in lrs.__all__}, lrs.Schedule)
    keras_own = schedule_classes(vars(keras.optimizers.schedules), LearningRateSchedule)
    in_table = {python_class for python_class, *_ in CASES.values()}
    without_rows = (set(ours) | set(keras_own)) - in_table
    assert without_rows == set(), f"schedule classes without reference rows: {ADD_ROWS}"
    assert in_table - set(ours) - set(keras_own) == set(), "rows for a class nobody exports"


@pytest.mark.backend_independent
def test_each_schedule_class_has_one_r_function_and_each_r_function_one_class():
    pairs = name_pairs()
    for position, what in ((0, "Python class"), (1, "R function")):
        names = [pair[position] for pair in pairs]
        twice = {name for name in names if names.count(name) > 1}
        assert twice == set(), f"a {what} paired with two names in R_NAMES: {sorted(pairs)}"


@pytest.mark.backend_independent
def test_the_table_names_every_exported_r_schedule_function():
    in_table = {r_function for _, r_function in name_pairs()}
    # recipes build the classes above from other libraries' configurations (test_recipes.py);
    # schedule_shaped_like() is a Scaled (its rows are Scaled's) with a factor it computes
    # (test_hyperparameters.py checks the factor against the rate's peak and start)
    exported = r_schedule_exports() - {"schedule_from_transformers", "schedule_from_torch",
                                       "schedule_from_timm", "schedule_shaped_like"}
    assert in_table - exported == set(), "rows name an R function the R package does not export"
    assert exported - in_table == set(), f"exported R schedule functions without rows: {ADD_ROWS}"


@pytest.mark.parametrize("case", list(CASES))
def test_python_core_matches_reference_table(case):
    python_class, args, steps, rates, rtol = CASES[case]
    schedule = build(python_class, args)
    np.testing.assert_allclose(lrs.values(schedule, steps), rates, rtol=rtol, atol=1e-12)
