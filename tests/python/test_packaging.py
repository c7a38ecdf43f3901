"""The Python package says what it supports, and that is what the tests run on (#32).

* Its floors (`requires-python`, and each dependency's `>=` in pyproject.toml) are
  versions a test leg runs on: a dependency's floor is the lowest version the
  requirements files pin (each leg installs one of them), Python's the lowest Python of
  the legs' virtualenvs. A floor cannot drift below what is tested, nor a pin out of
  what the metadata allows.
* Its version is the R package's (DESCRIPTION, which setup.py reads), as the installed
  core reports it, and NEWS.md's first heading names it.
* Its public API is typed (py.typed, PEP 561): a user's `mypy --strict` accepts code
  that uses it well, with or without Keras's missing types ignored, sees the types of
  what it returns, and reports a wrong call.

Files, the installed package's metadata and two mypy runs: no backend, no model (2-3 s:
mypy starts cold, its cache in a tmp dir shared by the two runs). The wheel itself (built, checked, installed into a
fresh virtualenv where README's example runs) is `tools/check-wheel.sh` (`make
test-wheel`).
"""

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import lrschedule
from lrschedule import schedules

pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = sorted(ROOT.glob("requirements-*.txt"))
# the virtualenvs the Makefile's Python legs run in (.venv: test-python, test-backends;
# .venv-np2: test-numpy2), each made by `python3 -m venv`
LEG_VENVS = [ROOT / ".venv", ROOT / ".venv-np2"]


def project():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def floor(specifier):
    """The version of the one `>=` clause of a specifier set."""
    floors = [Version(s.version) for s in SpecifierSet(str(specifier)) if s.operator == ">="]
    assert len(floors) == 1, f"{specifier!r}: expected one >= clause (the floor)"
    return floors[0]


def pins():
    """{distribution name: {version: [files pinning it]}} from the requirements files."""
    found = {}
    for path in REQUIREMENTS:
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            requirement = Requirement(line)
            exact = [s.version for s in requirement.specifier if s.operator == "=="]
            if exact:
                name = re.sub(r"[-_.]+", "-", requirement.name).lower()
                found.setdefault(name, {}).setdefault(Version(exact[0]), []).append(path.name)
    return found


def description_version():
    text = (ROOT / "DESCRIPTION").read_text()
    return re.search(r"^Version:\s*(\S+)\s*$", text, re.MULTILINE).group(1)


def test_the_requirements_files_pin_keras_and_numpy():
    found = pins()
    assert REQUIREMENTS, "no requirements-*.txt beside pyproject.toml"
    for name in ("keras", "numpy"):
        assert found.get(name), f"no requirements file pins {name} (the legs must: see Makefile)"


@pytest.mark.parametrize("requirement", project()["dependencies"])
def test_each_dependency_floor_is_the_lowest_version_a_leg_pins(requirement):
    requirement = Requirement(requirement)
    name = re.sub(r"[-_.]+", "-", requirement.name).lower()
    pinned = pins().get(name, {})
    assert pinned, f"{requirement}: no requirements file pins {name}, so no leg tests a floor"
    lowest = min(pinned)
    assert floor(requirement.specifier) == lowest, (
        f"pyproject.toml says {requirement}, but the lowest {name} a leg runs on is {lowest} "
        f"({', '.join(pinned[lowest])}): the floor must be a version the tests run on")
    outside = {str(v): files for v, files in pinned.items()
               if not requirement.specifier.contains(v, prereleases=True)}
    assert not outside, f"legs run on {name} versions that {requirement} excludes: {outside}"


def leg_pythons():
    """{virtualenv: Python version (major, minor)} of the legs' virtualenvs found here."""
    found = {}
    for venv in LEG_VENVS:
        config = venv / "pyvenv.cfg"
        if config.exists():
            match = re.search(r"^version(?:_info)?\s*=\s*(\d+)\.(\d+)", config.read_text(),
                              re.MULTILINE)
            if match:
                found[venv.name] = (int(match.group(1)), int(match.group(2)))
    return found


def test_the_python_floor_is_the_lowest_python_a_leg_runs_on():
    python_floor = floor(project()["requires-python"])
    assert python_floor.release[:2] <= sys.version_info[:2], (
        f"this Python ({sys.version.split()[0]}) is below requires-python {python_floor}")
    # A floor below what the tested Keras needs would let pip install lrschedule where
    # no supported Keras installs.
    keras_python = importlib.metadata.metadata("keras")["Requires-Python"]
    assert python_floor >= floor(keras_python), (
        f"requires-python >={python_floor} is below what Keras "
        f"{importlib.metadata.version('keras')} requires ({keras_python})")
    legs = leg_pythons()
    if not legs:
        pytest.skip("no leg virtualenv here (.venv, .venv-np2: `make setup`) to read the "
                    "tested Pythons from")
    lowest = min(legs.values())
    assert python_floor.release[:2] == lowest, (
        f"requires-python >={python_floor}, but the lowest Python a leg runs on is "
        f"{lowest[0]}.{lowest[1]} ({legs}): the floor must be a Python the tests run on")


def test_the_floor_check_fails_for_a_floor_no_leg_runs_on():
    """The check above fails for what pyproject.toml said before 0.2.0 (keras>=3.0, numpy
    with no floor)."""
    with pytest.raises(AssertionError, match="must be a version the tests run on"):
        test_each_dependency_floor_is_the_lowest_version_a_leg_pins("keras>=3.0")
    with pytest.raises(AssertionError, match="one >= clause"):
        test_each_dependency_floor_is_the_lowest_version_a_leg_pins("numpy")


def test_the_installed_core_has_the_r_packages_version():
    version = description_version()
    assert importlib.metadata.version("lrschedule") == version, (
        "the installed core was built from another DESCRIPTION: reinstall it (make setup)")
    assert lrschedule.__version__ == version


def test_news_names_the_version_in_its_first_heading():
    version = description_version()
    first = next(line for line in (ROOT / "NEWS.md").read_text().splitlines()
                 if line.startswith("# "))
    assert first in (f"# lrschedule {version}", f"# lrschedule {version} (development version)")


# ---------------------------------------------------------------------------------------
# The typed API, as a user's `mypy --strict` sees it

# Code a user writes: every public constructor and function the hints cover, used as the
# docs show. It is only type-checked, never run.
USER_CODE = textwrap.dedent("""\
    from typing import Any

    import numpy as np
    import numpy.typing as npt

    import lrschedule as lrs
    import lrschedule.callbacks
    import lrschedule.optimizers
    import lrschedule.warnings


    def schedules() -> list[lrs.Schedule]:
        one_cycle = lrs.OneCycle(max_lr=1e-2, total_steps=1000)
        return [
            lrs.Constant(0.01),
            lrs.Linear(0.0, 1e-3, total_steps=500),
            lrs.StepDecay(1.0, step_size=2, gamma=0.5),
            lrs.MultiStepDecay(1.0, milestones=[2, 4]),
            one_cycle,
            lrs.OneCycle(np.float32(0.01), np.int64(100), anneal_strategy="linear"),
            lrs.Cyclic(1e-4, 1e-2, step_size_up=200, mode="triangular2"),
            lrs.WarmupStableDecay(3e-4, warmup_steps=100, stable_steps=800, decay_steps=100),
            lrs.WarmupStableDecay(3e-4, 100, decay_steps=0.1),
            lrs.InverseSqrt(1e-3, warmup_steps=4000),
            lrs.Warmup(one_cycle, warmup_steps=100),
            lrs.Sequence([lrs.Linear(0.0, 1e-3, 100), 1e-3], boundaries=[100]),
            lrs.PerEpoch(lrs.StepDecay(0.1, step_size=10), steps_per_epoch=100),
            lrs.Scaled(one_cycle, factor=0.1),
            one_cycle.momentum(),
            lrs.Cyclic(0.1, 1.0).momentum(),
            lrs.CycledMomentum(one_cycle),
            lrs.InUpdates(one_cycle, gradient_accumulation_steps=4),
            lrs.InMicroBatches(one_cycle),
            lrs.Extended(one_cycle, at_step=600, total_steps=1500),
            lrs.extend(one_cycle, 600, 1500),
            lrs.with_length(lrs.OneCycle(0.01), 1000),
            lrs.Tabulated([0.1, 0.05]),
            lrs.Tabulated(np.linspace(0.1, 0.0, 10)),
            lrs.Tabulated.from_function(lambda s: 1e-3 * 0.5 ** (s // 100), total_steps=1000),
        ]


    def look(schedule: lrs.Schedule) -> float:
        one: np.floating[Any] = lrs.values(schedule, 1000)
        many: npt.NDArray[np.floating[Any]] = lrs.values(schedule, range(1000))
        more = lrs.values(schedule, [0, 500, 999]) + lrs.values(schedule, np.arange(3))
        ends = lrs.horizon(schedule)
        steps = ends[0] if ends is not None and ends[1] == "ends" else 0
        config: dict[str, Any] = schedule.get_config()
        said = (schedule.horizon(), schedule.display_span(), schedule.is_stepwise(),
                schedule.lengths_wanted(), schedule.name, schedule(3), config, more)
        table: list[float] = lrs.Tabulated([0.1]).values
        print(said, table, lrs.schedules.evaluate(schedule, np.arange(3)))
        ax = lrs.plot(schedule, log=True)
        lrs.plot(schedule, range(100), ax=ax, color="C1")
        ax.set_title("a schedule")
        return float(one) + float(many.sum()) + steps


    def train(model: Any, x: Any, y: Any) -> float:
        callbacks = [
            lrs.ScheduleLR(lambda epoch: 0.01 * 0.5 ** (epoch // 10)),
            lrs.ScheduleLR(lambda epoch, lr: lr * 0.9, verbose=1, groups=["dense"]),
            lrs.ScheduleLR(lrs.StepDecay(0.1, 10), groups="dense"),
            lrs.ReduceLROnPlateau("loss", 0.5, 2, 1, min_lr=1e-6, decay_steps=100,
                                  min_delta_mode="rel"),
            lrs.LRLogger(per="batch"),
            lrs.HorizonCheck(),
        ]
        rate = lrs.ControlledRate(lrs.StepDecay(0.1, 100), min_lr=1e-5)
        model.fit(x, y, callbacks=callbacks)
        result = lrs.find_lr(model, x, y, start_lr=1e-6, num_steps=50, verbose=0)
        best: float | None = result.suggestions["valley"]
        chosen = result.steep if result.steep is not None else 1e-3
        curve: npt.NDArray[np.float64] = result.rates + result.losses + result.smoothed_losses
        print(result.minimum, result.valley, result.to_dict(), result.diverged, best, curve, rate)
        result.plot(skip_end=3).set_xlabel("rate")
        now: float = lrs.current(model) + lrs.callbacks.current(model.optimizer, group="dense")
        used: float = lrschedule.callbacks.rate_used(model)
        return chosen + now + used


    def optimizers(model: Any) -> list[Any]:
        rate = lrs.OneCycle(1e-3, total_steps=1000)
        adam = lrschedule.optimizers.Adam(learning_rate=rate, beta_1=rate.momentum())
        sgd = lrschedule.optimizers.SGD(rate, momentum=0.9, nesterov=True)
        for optimizer in (adam, sgd, lrschedule.optimizers.AdamW(), lrschedule.optimizers.RMSprop(),
                          lrschedule.optimizers.Adamax(), lrschedule.optimizers.Nadam(),
                          lrschedule.optimizers.Lamb()):
            print(optimizer.hyperparameter_schedules, optimizer.get_config())
        multi = lrs.per_layer(adam, model, decay=0.5)
        grouped = lrs.per_layer(sgd, model, factors=[0.1, 1.0],
                                groups={"body": ["a", "b"], "head": "c"})
        lrschedule.optimizers.check_arguments({"epsilon": 1e-7})
        problem: str | None = lrschedule.optimizers.argument_problem("beta_1", 1.0)
        print(problem, lrs.HorizonWarning, lrs.AccumulationWarning, lrs.__version__)
        lrschedule.warnings.set_warning_handler(lambda message, category: print(message))
        lrschedule.warnings.set_warning_handler(None)
        return [lrs.count_updates(adam), multi, grouped]


    def recipes(torch_scheduler: Any) -> list[Any]:
        return [
            lrs.from_transformers("cosine", num_training_steps=1000, num_warmup_steps=100,
                                  learning_rate=1e-3, num_cycles=0.5),
            lrs.from_transformers({"lr_scheduler_type": "linear", "max_steps": 100}),
            lrs.from_torch(torch_scheduler),
            lrs.from_torch(torch_scheduler, horizon=1000),
            lrs.from_timm({"sched": "cosine", "epochs": 10, "lr": 0.1}, steps_per_epoch=100),
        ]
""")

# What README's example does with Keras itself (mypy sees Keras's objects as Any).
WITH_KERAS = textwrap.dedent("""\
    import keras


    def readme() -> None:
        cosine = keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=900)
        schedule = lrs.Warmup(cosine, warmup_steps=100)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss="mse")
        print(lrs.values(schedule, [0, 50, 100, 550, 1000]), lrs.current(model))
""")

# The types a user's code gets back: the hints are seen (not silently Any).
REVEALED = {
    "lrs.values(lrs.Constant(0.1), 3)": r"numpy\.floating\[Any\]",
    "lrs.values(lrs.Constant(0.1), range(3))": r"numpy\.ndarray\[.*numpy\.floating\[Any\].*\]",
    "lrs.horizon(lrs.Constant(0.1))": r"tuple\[(builtins\.)?int, .*'ends'.*'steps'.*\] \| None",
    "lrs.current(None)": r"(builtins\.)?float",
    "lrs.OneCycle(0.1, 10).momentum()": r"lrschedule\.schedules\.CycledMomentum",
    "lrs.with_length(lrs.OneCycle(0.1), 10)": r"lrschedule\.schedules\.OneCycle",
    "lrs.find_lr(None, None)": r"lrschedule\.lr_finder\.LRFinderResult",
    "lrschedule.optimizers.SGD()": r"lrschedule\.optimizers\.SGD",
    # matplotlib's Axes where matplotlib (an optional dependency) is installed
    "lrs.plot(lrs.Constant(0.1))": (r"matplotlib\.axes\._axes\.Axes"
                                    if importlib.util.find_spec("matplotlib") else r"Any"),
}

# One wrong call, on the script's last line: mypy must report it, and only it.
WRONG = 'lrs.OneCycle(max_lr="a", total_steps=10)'


def mypy_run(tmp_path, name, code, config, cache):
    """mypy's (line, kind, message) for `code` in tmp_path (the installed core, the
    Python running the tests), with the settings file `config`."""
    script = tmp_path / f"{name}.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "MYPY_CACHE_DIR")}
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir", str(cache),
         "--no-error-summary", "--show-error-codes", script.name],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode in (0, 1), f"mypy failed to run:\n{run.stdout}\n{run.stderr}"
    found = []
    for line in run.stdout.splitlines():
        match = re.match(rf"{re.escape(script.name)}:(\d+): (error|note): (.*)", line)
        assert match or not line.strip(), f"unexpected mypy output: {line}"
        if match:
            found.append((int(match.group(1)), match.group(2), match.group(3)))
    return found


def checked(tmp_path, name, code, config, cache):
    """Runs mypy on `code` + the reveal_type() lines + the wrong call; returns the
    revealed types by expression, after checking that the wrong call is the one error."""
    lines = code.splitlines()
    reveal_at = {}
    for expression in REVEALED:
        lines.append(f"reveal_type({expression})")
        reveal_at[len(lines)] = expression
    lines.append(WRONG)
    found = mypy_run(tmp_path, name, "\n".join(lines) + "\n", config, cache)
    errors = [(n, message) for n, kind, message in found if kind == "error"]
    assert [n for n, _ in errors] == [len(lines)], (
        f"mypy --strict ({config.name}) should report the wrong call on line {len(lines)} "
        f"and nothing else:\n" + "\n".join(f"{n}: {m}   <- {lines[n - 1].strip()}"
                                           for n, m in errors))
    assert '"max_lr"' in errors[0][1] and '"str"' in errors[0][1], errors[0][1]
    notes = {reveal_at[n]: message for n, kind, message in found
             if kind == "note" and n in reveal_at}
    return {expression: re.sub(r'^Revealed type is "(.*)"$', r"\1", note)
            for expression, note in notes.items()}


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory):
    """A mypy cache for this module's runs (NumPy's and matplotlib's types, read once)."""
    pytest.importorskip("mypy", reason="mypy is not installed (requirements-dev.txt pins it)")
    root = Path(lrschedule.__file__).parent  # not inspect.getfile: torch patches it
    assert (root / "py.typed").exists(), (
        f"the installed core ({root}) has no py.typed: type checkers ignore its hints")
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.mark.parametrize("settings", ["mypy.ini", "strict only"])
def test_a_users_strict_mypy_accepts_the_typed_api_and_reports_a_wrong_call(
        tmp_path, mypy_cache, settings):
    if settings == "mypy.ini":
        # the project's settings: Keras's missing types ignored, as most users' are
        config, code = ROOT / "mypy.ini", USER_CODE + "\n\n" + WITH_KERAS
    else:
        # nothing but --strict: a user who does not ignore Keras (and so does not import
        # it here) gets no error from the core's own `import keras`
        config = tmp_path / "strict.ini"
        config.write_text("[mypy]\npython_version = 3.11\nstrict = True\n")
        code = USER_CODE
    revealed = checked(tmp_path, "user_code", code, config, mypy_cache)
    wrong = {e: (revealed.get(e), pattern) for e, pattern in REVEALED.items()
             if not re.fullmatch(pattern, revealed.get(e, ""))}
    assert not wrong, f"types a user gets back ({settings}): {wrong}"


def test_the_public_schedule_classes_are_exported_to_type_checkers():
    """`lrschedule.__all__` is a literal list (mypy reads nothing else, and under --strict
    a name outside it is not exported); it must hold every schedule class of
    lrschedule.schedules.__all__, as the comprehension it replaced did."""
    classes = [n for n in schedules.__all__ if isinstance(getattr(schedules, n), type)]
    assert [n for n in lrschedule.__all__ if n in classes] == classes
    # the module's file read directly: torch, once imported, patches inspect.getfile
    source = Path(lrschedule.__file__).read_text()
    assert re.search(r"^__all__ = \[\n(    \"\w+\",\n)+\]$", source, re.MULTILINE), (
        "lrschedule/__init__.py: __all__ must stay a literal list of strings for type checkers")
