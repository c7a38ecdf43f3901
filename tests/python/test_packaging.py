"""The Python package says what it supports, and that is what the tests run on (#32).

* Its floors (`requires-python`, and each dependency's `>=` in pyproject.toml) are
  versions a test leg runs on: a dependency's floor is the lowest version the
  requirements files pin (each leg installs one of them), Python's the lowest Python of
  the legs' virtualenvs. A floor cannot drift below what is tested, nor a pin out of
  what the metadata allows.
* Its version is the R package's (DESCRIPTION, which setup.py reads), as the installed
  core reports it, and NEWS.md's first heading names it.

Files only and the installed package's metadata: no backend, no model (a second).
The wheel itself (built, checked, installed into a fresh virtualenv where README's
example runs) is `tools/check-wheel.sh` (`make test-wheel`).
"""

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import lrschedule

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
