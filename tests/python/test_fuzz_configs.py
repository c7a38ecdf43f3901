"""Fuzzing of saved configs (#32): a damaged config of any serializable class of
lrschedule either loads to something that behaves, or is refused clearly.

For every schedule class of `lrschedule.schedules.__all__`, `ControlledRate`, the
callbacks (`ScheduleLR`, `ReduceLROnPlateau`, `LRLogger`, `HorizonCheck`) and the
fourteen optimizers of `lrschedule.optimizers` (`OPTIMIZERS`), a valid config (a real
instance, serialized; an optimizer's with numbers in their ranges and schedules,
lrschedule's and Keras's, for its hyperparameters, every one of them in one config)
is damaged by hypothesis (`fuzz_configs.py` holds the machinery): wrong types, NaN and
infinities, negative and huge numbers (1e308, 2**63), a schedule where a number goes
and the reverse, dicts that are no schedule, nests of wrappers around MAX_DEPTH, plain
containers nested hundreds deep, unknown and missing keys, a config read as another
class, a damaged header, and a table's `values` cut, flipped, mis-declared (lengths up
to a million: the huge ones are test_hostile_files.py's); an optimizer's arguments
also get numbers just in and out of their ranges (`ARGUMENT_RANGES`, narrowed for one
optimizer by `CLASS_RANGES`), flags and names of layers of their type and of others,
and its hyperparameters (and Ftrl's rate) schedules in their range, out of it as
stated, out of it only between (`fuzz_configs.hostile_mutation`). Each is loaded as a
`.keras` file is, `keras.saving.deserialize_keras_object(config, safe_mode=True)`, and
judged (`fuzz_configs.judge`):

* loaded: a schedule's rates at steps 0, 1, 10, 1000 and 10**6 are finite and inside
  the range `fuzz_configs.bounds()` states for its class from the config's own numbers
  (a schedule waiting for its length from fit() may raise its documented "not known
  yet" ValueError instead), and it saves and reloads to the same rates; a callback's
  settings lie in their documented domains; an optimizer's arguments in their ranges,
  each hyperparameter schedule's values at those steps too, and its first update keeps
  the weights finite;
* refused: a ValueError or TypeError whose message names an argument the damage
  touched, or one of Keras's own clear refusals (`fuzz_configs.KERAS_REFUSALS`).

Anything else fails, unless it is one of the bugs already reported (`KNOWN_BUGS`),
each of which has an xfail(strict=True) reproducer below: fix one, and its reproducer
passes, which strict xfail reports as a failure (remove the bug's id then). The
fourteen bugs the fuzz found earlier (huge step counts, numbers beyond float32, a Sequence piece
waiting for a length, the three-phase OneCycle product, optimizer arguments, a beta_1
schedule reaching 1, an infinite count, Keras's errors from a nested slot, deep plain
nesting, Muon's, Adafactor's and ScheduleFreeAdamW's arguments left unchecked,
ScheduleFreeAdamW's beta_1 at 0, Ftrl's rate at 0, "> 0" values float32 keeps but
TensorFlow flushes to 0 (1e-40), a Muon exclude_layers entry that is not a regular
expression) are fixed; their reproducers below
stay as regression tests. A formula that grows past float32 (a decay factor > 1
applied many times; an optimizer's first update with arguments of extreme magnitude,
each in its range: `fuzz_configs._overflow_expected`) overflows as the formula does:
that is documented, not refused. So is a hyperparameter schedule whose values leave
the argument's range only between the values the core checks when it builds the
optimizer (at step 0 and at its horizon's end): the core takes those as given
(`optimizers.schedule_problem`), and the judge accepts them, saying "between".

Runs on the TensorFlow backend (JAX compiles each new schedule, ~0.3 s, and counts
steps in int32 without x64; torch counts them in int32 too: the bounds and the bugs
here are TensorFlow's int64 steps'). Hypothesis draws the examples (the "ci" profile
of conftest.py makes them the same every run); each example has a deadline and a hard
time limit, so a hang fails instead of stalling the run.
"""

import contextlib
import datetime
import inspect
import re
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

K = keras.optimizers.schedules

pytestmark = [pytest.mark.tensorflow_only, pytest.mark.slow, pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="fuzzed on TensorFlow only: JAX compiles every new schedule (~0.3 s each) and "
           "JAX without x64 and torch count steps in int32, which the bounds and known "
           "bugs here do not describe")]

# Examples per class: about 20 s for the module on a 2-core machine, more than half of
# it the fourteen optimizers' fuzz (each loaded one is judged by a first update).
EXAMPLES = 80
TABLE_EXAMPLES = 150
HANG = 20  # seconds: an example taking this long is a hang
FUZZ = settings(max_examples=EXAMPLES, deadline=datetime.timedelta(seconds=5),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# The bugs found and not fixed yet, by the id `fuzz_configs.known_bug()` gives them:
# each has a reproducer below (test_bug_<id>), marked xfail(strict=True) with this
# reason.
KNOWN_BUGS: dict[str, str] = {}


def known(bug):
    return pytest.mark.xfail(strict=True, reason=f"{bug}: {KNOWN_BUGS[bug]}")


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
    """Fails unless loading `case` did something acceptable or a known bug; returns
    the outcome, or None for a known bug."""
    with time_limit(HANG):
        outcome = fz.load(case)
        problem, kind = fz.judge(case, outcome)
        bug = problem and fz.known_bug(case, problem, kind, outcome)
    if problem and bug:
        event(f"known bug: {bug}")
        return None
    event("refused" if outcome.error is not None else
          "loaded, out of range between its stated values" if kind == "between" else "loaded")
    assert problem is None, f"{problem}\n{fz.describe(case)}"
    return outcome


# --------------------------------------------------------------------------------------
# Coverage and the oracle itself


def test_every_serializable_class_is_fuzzed():
    """The classes fuzzed are every schedule class of schedules.__all__, ControlledRate,
    the four callbacks and the fourteen optimizers, each from at least one valid
    config."""
    schedule_classes = {name for name in S.__all__ if isinstance(getattr(S, name), type)}
    assert schedule_classes - {"Schedule"} <= set(fz.CLASSES)
    assert {"ControlledRate", "ScheduleLR", "ReduceLROnPlateau", "LRLogger",
            "HorizonCheck"} <= set(fz.CLASSES)
    assert {"SGD", "RMSprop", "Adam", "AdamW", "Adamax", "Nadam", "Lamb", "Adagrad",
            "Adadelta", "Ftrl", "Lion", "Adafactor", "Muon", "ScheduleFreeAdamW"} <= set(
        fz.CLASSES)
    assert set(O.SCHEDULABLE) <= set(fz.CLASSES)
    assert {cls.__name__ for cls in O.OPTIMIZERS} <= set(fz.CLASSES)
    assert set(fz.bases()) == set(fz.CLASSES)
    assert all(fz.bases()[name] for name in fz.CLASSES)


def _scheduled(config):
    """The hyperparameters a valid optimizer config holds schedules for."""
    return {key for key, value in config["config"].items()
            if key != "learning_rate" and fz.is_serialized(value)}


def test_every_hyperparameter_is_a_schedule_in_a_valid_config():
    """Each hyperparameter of each optimizer (`HYPERPARAMETERS`) is a schedule in one
    of its valid configs, all of them at once in one; lrschedule's schedules and
    Keras's both hold hyperparameters; and each hyperparameter has schedules of each
    kind the fuzz puts there (in its range, out of it as stated, out only between)."""
    modules = set()
    for cls in O.OPTIMIZERS:
        configs = fz.bases()[cls.__name__]
        assert set().union(*map(_scheduled, configs)) == set(cls.HYPERPARAMETERS)
        assert max(len(_scheduled(config)) for config in configs) == len(cls.HYPERPARAMETERS)
        modules |= {config["config"][key]["module"].split(".")[0]
                    for config in configs for key in _scheduled(config)}
    assert modules == {"lrschedule", "keras"}
    for class_name, name in _ranged_schedulable():
        assert fz.valid_schedules(name, class_name), (class_name, name)
        assert fz.out_of_range_schedules(name, class_name), (class_name, name)
        assert fz.between_schedules(name, class_name), (class_name, name)


def _ranged_schedulable():
    """(class name, argument) of each argument that may be a schedule and has a range
    (`fuzz_configs.ranged_schedulable`), once per range: the class name None where its
    range is the argument's (`ARGUMENT_RANGES`), not its class's (`CLASS_RANGES`)."""
    return sorted({(cls if (cls, name) in O.CLASS_RANGES else None, name)
                   for cls in fz.OPTIMIZER_CLASSES for name in fz.ranged_schedulable(cls)},
                  key=repr)


def _a_known_bug(bug):
    """Whether `bug` is still reported (`KNOWN_BUGS`): where it is, the core and the
    judge disagree on the values it is about."""
    return bug in KNOWN_BUGS


def test_the_judges_domains_are_the_ranges():
    """The judge's own domains of the optimizers' arguments (`OPTIMIZER_DOMAINS` and
    `CLASS_DOMAINS`, from Keras's documentation) agree with the core's `ARGUMENT_RANGES`
    and `CLASS_RANGES` (the same optimizers narrow the same arguments) on the numbers the
    fuzz puts there: each number in a range, its closed ends included, is in both, each
    number just out of it in neither; on the flags and Muon's names of layers the fuzz
    puts there; each schedule meant to stay in a hyperparameter's range does at every
    step of the judge's, and each meant to leave it there does (the rate's where its
    optimizer narrows it, Ftrl's, too). The known bugs are the disagreements left."""
    assert set(fz.CLASS_DOMAINS) == set(O.CLASS_RANGES)
    ranges = [(None, name) for name in O.ARGUMENT_RANGES] + [
        (cls, name) for cls, name in O.CLASS_RANGES]
    for cls, name in ranges:
        domain = fz.CLASS_DOMAINS.get((cls, name)) or fz.OPTIMIZER_DOMAINS[name]
        for value in fz.inside(name, cls):
            assert domain(value) and O.argument_problem(name, value, cls) is None, (
                cls, name, value)
        for value in fz.outside(name, cls):
            assert not domain(value), (cls, name, value)
            assert O.argument_problem(name, value, cls), (cls, name, value)
    for name in O.BOOLEANS:
        for value in fz.FLAGS:
            fine = fz.OPTIMIZER_DOMAINS[name](value)
            assert fine == (O.argument_problem(name, value) is None), (name, value)
    for value in fz.LAYER_NAMES:
        fine = fz.OPTIMIZER_DOMAINS["exclude_layers"](value)
        assert fine == (O.argument_problem("exclude_layers", value) is None), value
    for cls, name in _ranged_schedulable():
        for schedule in fz.valid_schedules(name, cls):
            assert all(fz.range_problem(name, float(v), cls) is None
                       for v in lrs.values(schedule, fz.STEPS)), (cls, name, schedule)
        for schedule in fz.out_of_range_schedules(name, cls):
            assert any(fz.range_problem(name, v, cls) for v in fz.stated_values(schedule)), (
                cls, name, schedule)
        for schedule in fz.between_schedules(name, cls):
            assert not any(fz.range_problem(name, v, cls) for v in fz.stated_values(schedule))
            assert any(fz.range_problem(name, float(v), cls)
                       for v in lrs.values(schedule, fz.STEPS)), (cls, name, schedule)


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


def test_the_judge_finds_optimizer_settings_out_of_range():
    """The judge of a loaded optimizer (here built, then set past the core's checks)
    finds a hyperparameter schedule whose stated values leave the range, a number or a
    flag out of its range, a schedule where only a number goes, an ema_momentum
    schedule without use_ema; it accepts, saying "between", a schedule out of the range
    only between its stated values."""
    def judged(cls=O.Adam, **settings):
        optimizer = cls(0.01)
        for key, value in settings.items():
            setattr(optimizer, key, value)
        return fz.judge_optimizer(optimizer, fz._copy(fz.ser(optimizer)))

    assert judged() == (None, None)
    assert judged(beta_1=lrs.Constant(1.0))[1] == "setting"
    assert judged(beta_2=K.PolynomialDecay(0.9, 10, 1.5))[1] == "setting"
    assert judged(O.Ftrl, learning_rate_power=K.PiecewiseConstantDecay([5], [0.5, -0.5]))[
        1] == "setting"
    assert judged(beta_1=lrs.Tabulated([0.5, 1.5, 0.5])) == (None, "between")
    assert judged(O.Muon, rms_rate=K.PiecewiseConstantDecay([0, 1], [0.2, -1.0, 0.2])) == (
        None, "between")
    assert judged(epsilon=-1.0)[1] == "setting"
    assert judged(O.Ftrl, learning_rate_power=0.5)[1] == "setting"
    assert judged(amsgrad="x")[1] == "setting"
    assert judged(ema_momentum=lrs.Constant(0.9))[1] == "setting"  # use_ema=False
    assert judged(clipnorm=lrs.Constant(1.0))[1] == "setting"
    # the ranges one optimizer narrows, and the flags and names of layers
    assert judged(O.ScheduleFreeAdamW, beta_1=0.0)[1] == "setting"
    assert judged(O.ScheduleFreeAdamW, beta_1=fz.SUBNORMAL)[1] == "setting"  # 0 to TensorFlow
    assert judged(O.ScheduleFreeAdamW, beta_1=lrs.Warmup(lrs.Constant(0.9), 5))[1] == "setting"
    assert judged(O.Lion, beta_1=1.0) == (None, None)
    assert judged(O.Lion, beta_1=0.0)[1] == "setting"
    assert judged(O.Ftrl, learning_rate=0.0)[1] == "setting"
    assert judged(O.Ftrl, learning_rate=lrs.Warmup(lrs.Constant(0.1), 5))[1] == "setting"
    assert judged(O.Ftrl, learning_rate=lrs.Tabulated([0.1, 0.0, 0.1])) == (None, "between")
    assert judged(learning_rate=lrs.Warmup(lrs.Constant(0.1), 5)) == (None, None)  # Adam's
    assert judged(O.Muon, ns_steps=1.5)[1] == "setting"
    assert judged(O.Muon, muon_a=float("nan"))[1] == "setting"
    assert judged(O.Muon, exclude_layers=[5])[1] == "setting"
    assert judged(O.Muon, exclude_layers=["("])[1] == "setting"  # no regular expression
    assert judged(O.Muon, exclude_layers=["dense$"]) == (None, None)
    assert judged(O.Adafactor, relative_step="x")[1] == "setting"
    assert judged(O.ScheduleFreeAdamW, warmup_steps=-5)[1] == "setting"


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


# --------------------------------------------------------------------------------------
# The optimizers' ranges and hyperparameter schedules, case by case (the fuzz draws
# these too, among the rest: fuzz_configs.hostile_mutation)


def _must_be_refused(name):
    """(base, argument, words, mutation): each damage of a valid config of `name` that
    must be refused with an error naming `argument` and saying `words`: a number just
    out of an argument's range (its class's), a flag or names of layers not of their
    type, a schedule where only a number goes (NOT_SCHEDULABLE, flags, lists: not
    deserialized, so not a number) in its first valid config; a schedule whose stated
    values leave a hyperparameter's range (or the rate's, where its class narrows it:
    Ftrl's), use_ema=False under an ema_momentum schedule in its config with every
    hyperparameter scheduled (its last)."""
    last = len(fz.bases()[name]) - 1
    out = []
    for key in fz.bases()[name][last]["config"]:
        if key == "name":
            continue
        if fz.range_entry(key, name) is not None:
            out += [(0, key, "", ("replace", ("config", key), v))
                    for v in fz.outside(key, name)]
        if key in fz.ranged_schedulable(name):
            out += [(last, key, "a schedule whose values", ("replace", ("config", key),
                                                           fz.ser(s)))
                    for s in fz.out_of_range_schedules(key, name)]
        elif key != "learning_rate":
            out.append((0, key, "", ("replace", ("config", key),
                                     fz.ser(fz._a_schedule_for(key)))))
        if key in O.BOOLEANS:
            out += [(0, key, "True or False", ("replace", ("config", key), v))
                    for v in fz.FLAGS if not isinstance(v, bool)]
        if key == "exclude_layers":
            out += [(0, key, "", ("replace", ("config", key), v))
                    for v in fz.LAYER_NAMES if not fz._patterns(v)]
    out.append((last, "ema_momentum", "use_ema", ("replace", ("config", "use_ema"), False)))
    return out


@pytest.mark.parametrize("name", fz.OPTIMIZER_CLASSES)
def test_optimizer_arguments_out_of_range_are_refused_naming_them(name):
    """Each optimizer: each number just out of an argument's range (`ARGUMENT_RANGES`,
    `CLASS_RANGES`), a flag not True or False, names of layers that are not a list of
    strings, each schedule of a hyperparameter (or of Ftrl's rate) whose stated values
    (at step 0, at its horizon's end, a Constant's, a momentum cycle's bounds) leave its
    range, a schedule for each argument that stays a number (`NOT_SCHEDULABLE`, the
    flags) and an ema_momentum schedule with use_ema=False are refused, with a
    ValueError or TypeError naming the argument (and saying why)."""
    for index, argument, words, mutation in _must_be_refused(name):
        case = fz.mutate(name, index, [mutation])
        with time_limit(HANG):
            outcome = fz.load(case)
            if outcome.error is None and fz.known_bug(case, *fz.judge(case, outcome), outcome):
                continue
        assert outcome.error is not None, f"loaded\n{fz.describe(case)}"
        message = fz._own_text(str(outcome.error))
        assert type(outcome.error) in (ValueError, TypeError) and f"`{argument}`" in message \
            and words in message, f"{outcome.error!r}\n{fz.describe(case)}"


@pytest.mark.parametrize("name", fz.OPTIMIZER_CLASSES)
def test_schedules_out_of_range_between_their_stated_values_load(name):
    """Each hyperparameter of each optimizer (and Ftrl's rate): a schedule whose stated
    values lie in its range and whose values at some of the judge's steps between them
    do not loads (the core takes values between as given: documented); the judge finds
    no problem with it, and says "between" (the fuzz draws every such schedule of
    `between_schedules`)."""
    for i, key in enumerate(fz.ranged_schedulable(name)):
        # Keras's PiecewiseConstantDecay and, in turn, the last of them (lrschedule's
        # Tabulated or StepDecay where the range allows one)
        between = fz.between_schedules(key, name)
        schedule = between[0] if i % 2 == 0 else between[-1]
        case = fz.mutate(name, 0, [("replace", ("config", "use_ema"), True),
                                   ("replace", ("config", key), fz.ser(schedule))])
        with time_limit(HANG):
            outcome = fz.load(case)
            problem, kind = fz.judge(case, outcome)
            bug = problem and fz.known_bug(case, problem, kind, outcome)
        assert outcome.error is None, f"{outcome.error!r}\n{fz.describe(case)}"
        loaded = (outcome.obj._learning_rate if key == "learning_rate"
                  else outcome.obj.hyperparameter_schedules[key])
        assert type(loaded) is type(schedule)
        assert bug or (problem, kind) == (None, "between"), (
            f"{problem}, {kind}\n{fz.describe(case)}")


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


@pytest.mark.parametrize("name, argument, value", [
    ("Muon", "muon_a", float("nan")),
    ("Muon", "muon_b", "x"),
    ("Muon", "muon_c", fz.ser(lrs.Constant(2.0))),
    ("Muon", "muon_a", 1e39),
    ("Muon", "ns_steps", 2**31 - 1),
    ("Muon", "ns_steps", 1.5),
    ("Muon", "ns_steps", -1),
    ("Muon", "exclude_layers", 5),
    ("Muon", "exclude_layers", [5]),
    ("Muon", "exclude_embeddings", "x"),
    ("Adafactor", "relative_step", "x"),
    ("ScheduleFreeAdamW", "warmup_steps", float("nan")),
    ("ScheduleFreeAdamW", "warmup_steps", -5),
    ("ScheduleFreeAdamW", "warmup_steps", 2**63),
])
def test_bug_unchecked_arguments(name, argument, value):
    """Reproducer: `lrschedule.optimizers.Muon(muon_a=float("nan"))` built, and its
    first update of a matrix made it NaN; `Muon(ns_steps=2**31 - 1)` built, and its
    first update of a matrix ran 2**31 - 1 Newton-Schulz iterations."""
    config = with_entry(getattr(O, name)(), ("config", argument), value)
    with pytest.raises((ValueError, TypeError), match=f"`{argument}`"):
        load(config)


def _first_update_finite_or_refused(make, argument):
    try:
        optimizer = make()
    except ValueError as error:
        assert f"`{argument}`" in str(error)
        return
    variable = keras.Variable(np.ones(3, dtype="float32"))
    optimizer.apply([keras.ops.ones(3) * 0.5], [variable])
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(variable)))


@pytest.mark.parametrize("beta_1", [0.0, 1e-300, "Linear(0.0, 0.9, 10)",
                                    "Warmup(Constant(0.9), 5)"])
def test_bug_schedule_free_beta_1_zero(beta_1):
    """Reproducer: `lrschedule.optimizers.ScheduleFreeAdamW(0.01, beta_1=0.0)` built, and
    its first update made the weights NaN."""
    if beta_1 == "Linear(0.0, 0.9, 10)":
        beta_1 = lrs.Linear(0.0, 0.9, 10)
    elif isinstance(beta_1, str):
        beta_1 = lrs.Warmup(lrs.Constant(0.9), 5)
    _first_update_finite_or_refused(lambda: O.ScheduleFreeAdamW(0.01, beta_1=beta_1),
                                    "beta_1")


@pytest.mark.parametrize("rate", [0.0, 1e-300, "Warmup(Constant(0.1), 5)", "Constant(0.0)"])
def test_bug_ftrl_zero_rate(rate):
    """Reproducer: `lrschedule.optimizers.Ftrl(learning_rate=0.0)` and
    `Ftrl(learning_rate=Warmup(Constant(0.1), 5))` built, and their first update made
    the weights NaN."""
    if rate == "Constant(0.0)":
        rate = lrs.Constant(0.0)
    elif isinstance(rate, str):
        rate = lrs.Warmup(lrs.Constant(0.1), 5)
    _first_update_finite_or_refused(lambda: O.Ftrl(learning_rate=rate), "learning_rate")


def test_lion_beta_1_is_one_of_its_range():
    """Lion's beta_1 is in (0, 1] (Keras's Lion checks so): 1.0, refused while every
    beta_1 was [0, 1), builds, as a number and as a schedule's value, and trains finitely;
    0 is refused."""
    for beta_1 in (1.0, lrs.OneCycle(0.1, 30, max_momentum=1.0).momentum()):
        optimizer = O.Lion(0.01, beta_1=beta_1)
        variable = keras.Variable(np.ones(3, dtype="float32"))
        optimizer.apply([keras.ops.ones(3) * 0.5], [variable])
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(variable)))
    with pytest.raises(ValueError, match="`beta_1`"):
        O.Lion(0.01, beta_1=0.0)


# --------------------------------------------------------------------------------------
# The bugs the fuzz found: one reproducer each (xfail strict until fixed, then a
# regression test)


def test_every_known_bug_has_its_reproducer():
    """Each id `fuzz_configs.known_bug()` may give is listed here with a reproducer."""
    ids = set(re.findall(r'return "([a-z0-9-]+)"', inspect.getsource(fz.known_bug)))
    assert ids == set(KNOWN_BUGS)
    for bug in KNOWN_BUGS:
        assert f"test_bug_{bug.replace('-', '_')}" in globals(), bug


@pytest.mark.parametrize("name, argument, value", [
    ("Ftrl", "learning_rate", 1e-40),
    ("Ftrl", "learning_rate", "Constant(1e-40)"),
    ("ScheduleFreeAdamW", "beta_1", 1e-40),
    ("Adam", "loss_scale_factor", 1e-40),
    ("SGD", "loss_scale_factor", 1e-40),
])
def test_bug_subnormal_positive(name, argument, value):
    """Reproducer: `lrschedule.optimizers.Ftrl(learning_rate=1e-40)` builds (1e-40 is
    not 0 in float32, but TensorFlow flushes it to 0), and its first update makes the
    weights NaN; so does `ScheduleFreeAdamW(beta_1=1e-40)`, and `SGD(loss_scale_factor=
    1e-40)` makes them -inf. (1.2e-38, a normal float32, trains finitely.)"""
    if isinstance(value, str):
        value = lrs.Constant(1e-40)
    _first_update_finite_or_refused(lambda: getattr(O, name)(**{argument: value}), argument)


def test_bug_exclude_layers_pattern():
    """Reproducer: `lrschedule.optimizers.Muon(exclude_layers=["("])` builds (as does its
    saved config), and its first update of a matrix raises re.error: missing ),
    unterminated subpattern at position 0."""
    config = with_entry(O.Muon(), ("config", "exclude_layers"), ["("])
    try:
        optimizer = load(config)
    except (ValueError, TypeError) as error:
        assert "`exclude_layers`" in str(error)
        return
    variable = keras.Variable(np.ones((2, 3), dtype="float32"))
    optimizer.apply([keras.ops.ones((2, 3)) * 0.5], [variable])
