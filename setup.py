"""Build shim: the package version lives in one place, the R package's DESCRIPTION.

Building from a checkout reads `Version:` from DESCRIPTION beside this file; from the
copy the R package installs (`<R library>/lrschedule/python/`, what
install_lrschedule() builds from) the DESCRIPTION one folder up; from an sdist, PKG-INFO.
"""
import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).resolve().parent


def _version():
    for path in (HERE / "DESCRIPTION", HERE / "PKG-INFO", HERE.parent / "DESCRIPTION"):
        if path.exists():
            match = re.search(r"^Version:\s*(\S+)\s*$", path.read_text(), re.MULTILINE)
            if match:
                return match.group(1)
    raise RuntimeError(f"lrschedule: no Version found in DESCRIPTION or PKG-INFO near {HERE}")


# The layout lives here rather than in pyproject.toml (see the note there): the core and
# its subpackages, from python/, with py.typed (PEP 561: type checkers read the core's
# type hints) in the wheel and the sdist.
setup(
    version=_version(),
    package_dir={"": "python"},
    packages=find_packages(where="python"),
    package_data={"lrschedule": ["py.typed"]},
)
