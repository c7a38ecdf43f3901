"""Fuzzing of saved configs (#32): a damaged config of any serializable class of
lrschedule either loads to something that behaves, or is refused clearly.

For every schedule class of `lrschedule.schedules.__all__`, `ControlledRate`, the
callbacks (`ScheduleLR`, `ReduceLROnPlateau`, `LRLogger`, `HorizonCheck`) and the
optimizers of `lrschedule.optimizers`, a valid config (a real instance, serialized) is
damaged by hypothesis (`fuzz_configs.py` holds the machinery): wrong types, NaN and
infinities, negative and huge numbers (1e308, 2**63), a schedule where a number goes
and the reverse, dicts that are no schedule, nests of wrappers around MAX_DEPTH, plain
containers nested hundreds deep, unknown and missing keys, a config read as another
class, a damaged header, and a table's `values` cut, flipped, mis-declared (lengths up
to a million: the huge ones are test_hostile_files.py's). Each is loaded as a `.keras`
file is, `keras.saving.deserialize_keras_object(config, safe_mode=True)`, and judged
(`fuzz_configs.judge`):

* loaded: a schedule's rates at steps 0, 1, 10, 1000 and 10**6 are finite and inside
  the range `fuzz_configs.bounds()` states for its class from the config's own numbers
  (a schedule waiting for its length from fit() may raise its documented "not known
  yet" ValueError instead), and it saves and reloads to the same rates; a callback's
  settings lie in their documented domains; an optimizer's too, and its first update
  keeps the weights finite;
* refused: a ValueError or TypeError whose message names an argument the damage
  touched, or one of Keras's own clear refusals (`fuzz_configs.KERAS_REFUSALS`).

Anything else fails. The nine bugs the fuzz found (huge step counts, numbers beyond
float32, a Sequence piece waiting for a length, the three-phase OneCycle product,
optimizer arguments, a beta_1 schedule reaching 1, an infinite count, Keras's errors
from a nested slot, deep plain nesting) are fixed; their reproducers below stay as
regression tests. A formula that grows past float32 (a decay factor > 1 applied many
times) overflows as the formula does: that is documented, not refused.

Runs on the TensorFlow backend (JAX compiles each new schedule, ~0.3 s, and counts
steps in int32 without x64; torch counts them in int32 too: the bounds and the bugs
here are TensorFlow's int64 steps'). Hypothesis draws the examples (the "ci" profile
of conftest.py makes them the same every run); each example has a deadline and a hard
time limit, so a hang fails instead of stalling the run.
"""

import contextlib
import datetime
import signal

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import fuzz_configs as fz
import lrschedule as lrs
from lrschedule import optimizers as O
from lrschedule import schedules as S


pytestmark = [pytest.mark.tensorflow_only, pytest.mark.slow, pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="fuzzed on TensorFlow only: JAX compiles every new schedule (~0.3 s each) and "
           "JAX without x64 and torch count steps in int32, which the bounds and known "
           "bugs here do not describe")]

# Examples per class: about 25 s for the module on a 2-core machine.
EXAMPLES = 80
TABLE_EXAMPLES = 150
HANG = 20  # seconds: an example taking this long is a hang
FUZZ = settings(max_examples=EXAMPLES, deadline=datetime.timedelta(seconds=5),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

@contextlib.contextmanager
def time_limit(seconds):
    """Raises TimeoutError in the test after `seconds`: a hung example fails."""
    def interrupt(signum, frame):
        raise TimeoutError(f"no outcome after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def chooser(data):
    """`choose(options)` for fuzz_configs, drawing an index (hypothesis prints the
    index, never a config hundreds of levels deep)."""
    def choose(options):
        options = list(options)
        return options[data.draw(st.integers(0, len(options) - 1))]
    return choose


def check(case):
    """Fails unless loading `case` did something acceptable; returns the outcome."""
    with time_limit(HANG):
        outcome = fz.load(case)
        problem, kind = fz.judge(case, outcome)
    event("refused" if outcome.error is not None else "loaded")
    assert problem is None, f"{problem}\n{fz.describe(case)}"
    return outcome


# --------------------------------------------------------------------------------------
# Coverage and the oracle itself


def test_every_serializable_class_is_fuzzed():
    """The classes fuzzed are every schedule class of schedules.__all__, ControlledRate,
    the four callbacks and the seven optimizers, each from at least one valid config."""
    schedule_classes = {name for name in S.__all__ if isinstance(getattr(S, name), type)}
    assert schedule_classes - {"Schedule"} <= set(fz.CLASSES)
    assert {"ControlledRate", "ScheduleLR", "ReduceLROnPlateau", "LRLogger",
            "HorizonCheck"} <= set(fz.CLASSES)
    assert {"SGD", "RMSprop", "Adam", "AdamW", "Adamax", "Nadam", "Lamb"} <= set(fz.CLASSES)
    assert set(O.SCHEDULED) <= set(fz.CLASSES)
    assert set(fz.bases()) == set(fz.CLASSES)
    assert all(fz.bases()[name] for name in fz.CLASSES)


@pytest.mark.parametrize("name", fz.CLASSES)
def test_each_valid_config_loads_and_passes_the_judge(name):
    """The undamaged configs load, to the class they name, and pass the judge: their
    rates lie in the bounds stated for their class (the oracle accepts what is right)."""
    for index in range(len(fz.bases()[name])):
        case = fz.mutate(name, index, [])
        outcome = fz.load(case)
        assert outcome.error is None, outcome.error
        assert type(outcome.obj).__name__ == name
        assert fz.judge(case, outcome) == (None, None), fz.describe(case)


def test_the_bounds_table_is_the_formulas():
    """A few bounds from the table, checked by hand against each class's formula."""
    b = lambda obj: fz.bounds(fz.ser(obj))  # noqa: E731
    assert b(lrs.Linear(0.3, 0.1, 10)) == (0.1, 0.3)
    assert b(lrs.OneCycle(0.3, 100, div_factor=25, final_div_factor=1e4)) == pytest.approx(
        (0.3 / 25 / 1e4, 0.3))
    assert b(lrs.OneCycle(0.3, 100, div_factor=0.5)) == pytest.approx((0.6 / 1e4, 0.6))
    assert b(lrs.Scaled(lrs.Linear(0.1, 0.2, 5), 3.0)) == pytest.approx((0.3, 0.6))
    assert b(lrs.Warmup(lrs.Constant(0.1), 5, start_learning_rate=0.5)) == (0.1, 0.5)
    # gamma > 1: lr * gamma ** (10**6 // step_size), inf where gamma ** k leaves float32
    assert b(lrs.StepDecay(0.1, 10**5, gamma=2.0)) == (0.1, 0.1 * 2**10)
    assert b(lrs.StepDecay(0.1, 10, gamma=2.0)) == (0.1, float("inf"))
    assert b(lrs.StepDecay(0.1, 10, gamma=0.5)) == (0.0, 0.1)
    assert b(lrs.ControlledRate(lrs.Constant(0.2), multiplier=0.5, min_lr=0.01)) == (
        0.1, 0.2)
    assert b(lrs.WarmupStableDecay(0.2, 1, 1, 1, min_lr_ratio=0.25)) == (0.05, 0.2)


def test_the_judge_refuses_a_message_that_names_nothing():
    """A refusal must name an argument the damage touched: the text Keras repeats
    (the whole config) and the value received do not count."""
    case = fz.mutate("OneCycle", 0, [("replace", ("config", "max_lr"), "x")])
    assert fz.judge_error(case, TypeError("Argument `max_lr` must be a number.")) is None
    assert fz.judge_error(case, TypeError("unexpected keyword argument 'max_lr'")) is None
    assert fz.judge_error(case, TypeError("bad value. Received: max_lr='x'")) is not None
    # Keras's wrapper: the config it repeats is not the refusal
    assert fz.judge_error(case, TypeError(
        "<class 'OneCycle'> could not be deserialized properly. Please ensure ...\n\n"
        "config={'max_lr': 'x'}.\n\nException encountered: '>=' not supported")) is not None
    assert fz.judge_error(case, TypeError(
        "<class 'OneCycle'> could not be deserialized properly. Please ensure ...\n\n"
        "config={'max_lr': 'x'}.\n\nException encountered: Argument `max_lr` must be a "
        "number. Received: max_lr='x'")) is None
    assert fz.judge_error(case, KeyError("max_lr")) is not None
    wrapped = ValueError("Argument `max_lr` must be a number")
    wrapped.__context__ = RecursionError("maximum recursion depth exceeded")
    assert fz.judge_error(case, wrapped) is not None


# --------------------------------------------------------------------------------------
# The fuzz tests


@pytest.mark.parametrize("name", fz.CLASSES)
@FUZZ
@given(data=st.data())
def test_a_damaged_config_loads_to_something_sane_or_is_refused_clearly(name, data):
    """One to three damages of a valid config of `name`: loaded, it behaves (finite
    rates within its class's bounds, settings in their domains); refused, the
    ValueError/TypeError names what was damaged."""
    check(fz.draw_case(name, chooser(data)))


TABLE_HOLDERS = [("Tabulated", 0), ("Tabulated", 1), ("Nadam", 0)]


@pytest.mark.parametrize("holder", TABLE_HOLDERS, ids=lambda h: f"{h[0]}-{h[1]}")
@settings(FUZZ, max_examples=TABLE_EXAMPLES)
@given(data=st.data())
def test_a_damaged_table_is_read_exactly_or_refused_naming_values(holder, data):
    """A `Tabulated` table (alone, or an optimizer's rate) damaged one to three times
    (cut, characters flipped or added, length, dtype and codec mis-declared, keys
    dropped or added, rates NaN/inf/negative, the list form of 0.1.0): it loads to
    exactly the table an independent decoder reads from the config, or is refused
    naming `values`."""
    name, index = holder
    choose = chooser(data)
    config = fz.bases()[name][index]
    tables = [site for site in fz.sites(config) if site[0] == "table"]
    mutations = []
    for _ in range(choose([1, 1, 2, 3])):
        _, path = choose(tables)
        op = choose(sorted(fz.TABLE_ARGS))
        mutations.append(("table", path, op, choose(fz.TABLE_ARGS[op])))
    case = fz.mutate(name, index, mutations)
    outcome = check(case)
    if outcome is not None and outcome.error is None:
        table = outcome.obj if name == "Tabulated" else outcome.obj._learning_rate
        entry = fz.get(case["config"], tables[0][1])
        # the rates are kept, and used, in float32 (a 0.1.0 list is rounded to it)
        np.testing.assert_array_equal(table._table,
                                      fz.independent_table(entry).astype(np.float32))


# --------------------------------------------------------------------------------------
# The bugs the fuzz found, fixed: one regression test each (their reproducers)


def load(config):
    return keras.saving.deserialize_keras_object(config, safe_mode=True)


def loads_sanely_or_is_refused_naming(config, argument):
    """What every damaged config must do: be refused with a ValueError/TypeError naming
    `argument`, or load to a schedule whose rates at fz.STEPS are finite."""
    try:
        obj = load(config)
    except (ValueError, TypeError) as error:
        assert f"`{argument}`" in fz._own_text(str(error)), error
        return
    rates = np.asarray(lrs.values(obj, fz.STEPS), dtype=np.float64)
    assert np.all(np.isfinite(rates)), rates


def with_entry(obj, path, value):
    config = fz._copy(fz.ser(obj))
    parent, key = fz._parent(config, path)
    parent[key] = value
    return config


@pytest.mark.parametrize("config, argument", [
    (with_entry(lrs.Linear(0.1, 0.2, 7), ("config", "total_steps"), 2**63), "total_steps"),
    (with_entry(lrs.StepDecay(0.1, 3), ("config", "step_size"), 1e308), "step_size"),
    (with_entry(lrs.MultiStepDecay(0.1, [3]), ("config", "milestones"), [2**64]),
     "milestones"),
    (with_entry(lrs.InverseSqrt(0.1, 3, 5), ("config", "timescale"), 1e308), "timescale"),
    (with_entry(lrs.Warmup(lrs.Constant(0.1), 3), ("config", "warmup_steps"), 2**63),
     "warmup_steps"),
], ids=["Linear-total_steps", "StepDecay-step_size", "MultiStepDecay-milestones",
        "InverseSqrt-timescale", "Warmup-warmup_steps"])
def test_bug_huge_step_counts(config, argument):
    """Reproducer: `Linear(0.1, 0.2, total_steps=2**63)` builds, and `values(s, 0)` raises
    "Can't convert Python sequence with out-of-range integer to Tensor"."""
    loads_sanely_or_is_refused_naming(config, argument)


@pytest.mark.parametrize("config, argument", [
    (with_entry(lrs.Constant(0.1), ("config", "learning_rate"), 1e308), "learning_rate"),
    (with_entry(lrs.Scaled(lrs.Constant(0.1), 2.0), ("config", "factor"), 1e308), "factor"),
    (with_entry(lrs.OneCycle(0.1, 20), ("config", "div_factor"), 1e-300), "div_factor"),
    (with_entry(lrs.WarmupStableDecay(0.1, 2, 2, 4, num_cycles=1.5),
                ("config", "num_cycles"), 1e308), "num_cycles"),
], ids=["Constant", "Scaled", "OneCycle-div_factor", "WarmupStableDecay-num_cycles"])
def test_bug_beyond_float32(config, argument):
    """Reproducer: `values(Constant(1e308), 0)` was inf. (`StepDecay(0.1, 1, gamma=2.0)`
    is inf from step 131 on: the formula grows past float32, documented.)"""
    loads_sanely_or_is_refused_naming(config, argument)


def test_bug_sequence_piece_length():
    """Reproducer: `Sequence([Linear(0.0, 0.2), 0.1], boundaries=[3])` builds; its first
    piece never gets a length (fit() raises "The length of this Linear is not known
    yet", with_length() refuses the Sequence)."""
    try:
        s = lrs.Sequence([lrs.Linear(0.0, 0.2), 0.1], boundaries=[3])
    except ValueError as error:
        assert "`schedules[0]`" in str(error)
        return
    # or the piece takes its length from the boundaries: 3 steps
    np.testing.assert_allclose(lrs.values(s, range(5)), [0.0, 0.2 / 3, 0.4 / 3, 0.1, 0.1],
                               rtol=1e-6)


@pytest.mark.parametrize("max_lr, div_factor", [(1e20, 1.0), (1e-6, 1e13)])
def test_bug_one_cycle_three_phase_product(max_lr, div_factor):
    """Reproducer: `OneCycle(1e20, 20, three_phase=True, div_factor=1.0)` is inf at step
    0 (its rate there is initial = 1e20); `OneCycle(1e-6, 20, three_phase=True,
    div_factor=1e13)` is 0 at step 0 (initial = 1e-19)."""
    s = lrs.OneCycle(max_lr, 20, three_phase=True, div_factor=div_factor,
                     final_div_factor=100.0)
    initial = np.float32(max_lr / div_factor)
    assert lrs.values(s, 0) == pytest.approx(initial, rel=1e-6, abs=0)


@pytest.mark.parametrize("name, argument, value", [
    ("Adam", "learning_rate", float("nan")),
    ("Adam", "learning_rate", -1.0),
    ("AdamW", "weight_decay", float("inf")),
    ("RMSprop", "clipnorm", float("inf")),
    ("Adam", "epsilon", "x"),
    ("Nadam", "beta_2", {"a": 1}),
    ("Adam", "amsgrad", "x"),
    ("Lamb", "gradient_accumulation_steps", 2**63),
])
def test_bug_optimizer_arguments(name, argument, value):
    """Reproducer: `lrschedule.optimizers.Adam(learning_rate=float("nan"))` builds (as
    does its saved config), and its first update makes the weights NaN."""
    config = with_entry(getattr(O, name)(), ("config", argument), value)
    with pytest.raises((ValueError, TypeError), match=f"`{argument}`"):
        load(config)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "Lamb"])  # Nadam stays finite
def test_bug_scheduled_beta_1(name):
    """Reproducer: `lrschedule.optimizers.Adam(0.01, beta_1=OneCycle(0.1, 100,
    max_momentum=1.0).momentum())` builds, and its first update makes the weights NaN."""
    beta_1 = lrs.OneCycle(0.1, 100, max_momentum=1.0).momentum()
    try:
        optimizer = getattr(O, name)(0.01, beta_1=beta_1)
    except ValueError as error:
        assert "`beta_1`" in str(error)
        return
    variable = keras.Variable(np.ones(3, dtype="float32"))
    optimizer.apply([keras.ops.ones(3) * 0.5], [variable])
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(variable)))


@pytest.mark.parametrize("argument", ["gradient_accumulation_steps",
                                      "ema_overwrite_frequency"])
def test_bug_optimizer_infinite_count(argument):
    """Reproducer: `lrschedule.optimizers.SGD(gradient_accumulation_steps=float("inf"))`
    raises OverflowError: cannot convert float infinity to integer."""
    with pytest.raises(ValueError, match=f"`{argument}`"):
        O.SGD(**{argument: float("inf")})


@pytest.mark.parametrize("config, argument", [
    (with_entry(lrs.Warmup(lrs.Constant(0.1), 2), ("config", "schedule"),
                {"class_name": "__keras_tensor__", "config": {}}), "schedule"),
    (with_entry(lrs.Sequence([0.1, 0.2], [3]), ("config", "schedules", 1),
                {"class_name": "__bytes__", "config": {"value": 3}}), "schedules[1]"),
    (with_entry(lrs.PerEpoch(lrs.Constant(0.1), 2), ("config", "schedule"),
                {"module": "keras.layers", "class_name": "Dense", "config": {"units": "x"},
                 "registered_name": None}), "schedule"),
    (with_entry(O.SGD(momentum=lrs.Constant(0.9)), ("config", "momentum"),
                {"class_name": "__slice__", "config": {}}), "momentum"),
    (with_entry(O.Adam(), ("config", "learning_rate"),
                {"class_name": "__tensor__", "config": {}}), "learning_rate"),
], ids=["Warmup-keras_tensor", "Sequence-bytes", "PerEpoch-Dense", "SGD-slice",
        "Adam-tensor"])
def test_bug_nested_keras_errors(config, argument):
    """Reproducer: a Warmup config whose schedule is {"class_name": "__keras_tensor__",
    "config": {}} raises KeyError: 'shape'."""
    with pytest.raises((ValueError, TypeError)) as error:
        load(config)
    assert f"`{argument}`" in fz._own_text(str(error.value)), error.value


@pytest.mark.parametrize("config, argument", [
    (with_entry(lrs.Constant(0.1), ("config", "learning_rate"), fz.deep("list", 600)),
     "learning_rate"),
    (with_entry(lrs.Warmup(lrs.Constant(0.1), 2), ("config", "schedule"),
                fz.deep("dict", 600)), "schedule"),
    (with_entry(lrs.Sequence([0.1, 0.2], [3]), ("config", "schedules", 1),
                fz.deep("list", 600)), "schedules[1]"),
    (with_entry(O.SGD(momentum=lrs.Constant(0.9)), ("config", "momentum"),
                fz.deep("dict", 600)), "momentum"),
], ids=["Constant", "Warmup", "Sequence", "SGD-momentum"])
def test_bug_deep_plain_nesting(config, argument):
    """Reproducer: `lrs.Constant(x)` with x a list nested 600 deep raises RecursionError
    (in _validation.shown); a Warmup config whose schedule is a dict nested 600 deep
    raises RecursionError (in Keras's deserializer)."""
    try:
        load(config)
    except RecursionError as error:  # reported without its thousand frames
        pytest.fail(f"RecursionError: {error}", pytrace=False)
    except (ValueError, TypeError) as error:
        assert f"`{argument}`" in str(error) and "Recursion" not in str(error), str(error)[:300]
    else:
        pytest.fail("loaded", pytrace=False)
