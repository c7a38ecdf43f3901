"""Every public make target sets up what it uses before using it, on a clean clone.

`make demo` once failed as the first command on a fresh clone: it ran Rscript with
RETICULATE_PYTHON pointing at a virtualenv nothing had built, and every check had
started with `make test`, which built it. Here `make -n <target>` runs with the stamps,
the virtualenvs and the R library pointed at empty places (what a clone has), and each
command that uses Python, R or the R package must come after the commands that set
those up. Seconds, no downloads: make only prints.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.backend_independent, pytest.mark.tooling, pytest.mark.subprocess]

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ["demo", "test", "test-fast", "test-r", "test-r-current", "test-python", "test-backends",
           "test-backend-jax", "test-backend-torch", "test-numpy2", "test-numpy2-tf",
           "test-numpy2-jax", "test-install", "test-wheel", "test-legs", "bench", "site",
           "site-check", "check", "build", "install"]
# the stamps' own rules, each asked for alone: a rule that works only because a target
# listed another prerequisite first breaks under `make -j`
STAMP_RULES = ["venv", "venv-np2", "r-package", "site-assets", "site", "r-current-root",
               "install-routes", "wheel"]

if shutil.which("make") is None:  # pragma: no cover - make is on every machine here
    pytest.skip("make is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    base = tmp_path_factory.mktemp("clean-clone")
    return {"STAMPS": base / "stamps", "VENV": base / "venv", "RLIB": base / "rlib",
            "NP2_VENV": base / "venv-np2"}


def dry_run(target, places, makefile=ROOT / "Makefile"):
    overrides = [f"{k}={v}" for k, v in places.items()]
    run = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT), "-f",
                          str(makefile), *overrides, target],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"make -n {target} failed:\n{run.stderr}"
    return [line.strip() for line in run.stdout.splitlines() if line.strip()]


# the commands each set-up step must have run before its stamp is touched
SETUP = {
    "system": [r"^bash tools/setup-system\.sh$"],
    "venv": [r"python3 -m venv {VENV}$", r"^{VENV}/bin/python -m pip install .*-r requirements-dev\.txt",
             r"^{VENV}/bin/python -m pip install .* -e \.$"],
    "venv-np2": [r"python3 -m venv {NP2_VENV}$",
                 r"^{NP2_VENV}/bin/python -m pip install .*-r requirements-np2\.txt",
                 r"{NP2_VENV}/bin/python -m pip install .*--force-reinstall"],
    "r-package": [r"R CMD INSTALL .*--library={RLIB} "],
    "r-current-root": [r"^bash tools/r-current/root\.sh build "],
}


def needs(line, places):
    """What a printed command uses that a set-up step makes."""
    found = set()
    if f"{places['VENV']}/bin/python" in line and " -m pip install" not in line:
        found.add("venv")
    if f"{places['NP2_VENV']}/bin/python" in line and " -m pip install" not in line:
        found.add("venv-np2")
    if " -m pytest" in line and "tests/python" in line and not re.search(r"\bnot r\b", line):
        # the tests marked `r` drive the installed R package (rpy2, Rscript)
        found |= {"system", "r-package"}
    if re.search(r"\bRscript\b", line):
        # every Rscript of the Makefile loads the installed package, with reticulate
        # pointed at the virtualenv
        found |= {"system", "venv", "r-package"}
    if re.search(r"\bR CMD (build|check)\b", line):
        # building the vignette and running the examples start Python
        found |= {"system", "venv"}
    if re.search(r"\bR CMD INSTALL\b|tools/check-install-routes\.sh", line):
        found.add("system")
    if "tools/r-current/test.sh" in line:
        found.add("r-current-root")
    return found


def problems(target, places, makefile=ROOT / "Makefile", set_up_only=False):
    """Commands of `make -n target` that run before what they need is set up: a step is
    set up once its stamp is touched after the step's own commands were printed."""
    lines = dry_run(target, places, makefile)
    patterns = {step: [re.compile(p.format(**{k: re.escape(str(v)) for k, v in places.items()}))
                       for p in pats] for step, pats in SETUP.items()}
    found, done, seen, uses = [], set(), set(), 0
    for line in lines:
        setting_up = False
        for step, pats in patterns.items():
            for k, pattern in enumerate(pats):
                if pattern.search(line):
                    seen.add((step, k))
                    setting_up = step != "r-package"
        if setting_up:
            continue
        touched = re.search(rf"touch {re.escape(str(places['STAMPS']))}/([\w-]+)$", line)
        if touched and touched.group(1) in SETUP:
            step = touched.group(1)
            lacking = [SETUP[step][k] for k in range(len(SETUP[step])) if (step, k) not in seen]
            if lacking:
                found.append(f"make {target}: stamp {step} touched before {lacking} ran")
            done.add(step)
            continue
        wanted = needs(line, places)
        missing = wanted - done - ({"r-package"} if "R CMD INSTALL" in line else set())
        if missing:
            found.append(f"make {target}: {sorted(missing)} not set up before: {line}")
        uses += bool(wanted)
    if uses == 0 and not set_up_only:
        found.append(f"make {target}: no use of Python or R in `make -n` (nothing read):\n"
                     + "\n".join(lines))
    return found


@pytest.mark.parametrize("target", TARGETS)
def test_target_sets_up_before_it_uses(target, places):
    assert problems(target, places) == []


@pytest.mark.parametrize("stamp", STAMP_RULES)
def test_stamp_rule_sets_up_before_it_uses(stamp, places):
    # the virtualenvs' own rules only set up: nothing in them uses what they make
    assert problems(f"{places['STAMPS']}/{stamp}", places,
                    set_up_only=stamp.startswith("venv") or stamp == "r-current-root") == []


def test_the_check_sees_a_missing_prerequisite(places, tmp_path):
    """The original fault (demo without the virtualenv, its set-up left to chance) is
    found: the check above can fail."""
    text = (ROOT / "Makefile").read_text()
    assert "demo: $(STAMPS)/venv $(STAMPS)/r-package\n" in text
    broken = tmp_path / "Makefile"
    broken.write_text(text.replace("demo: $(STAMPS)/venv $(STAMPS)/r-package\n",
                                   "demo: $(STAMPS)/r-package\n"))
    found = problems("demo", places, broken)
    assert found == ["make demo: ['venv'] not set up before: Rscript inst/examples/demo.R"]


def test_ci_runs_both_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line.strip() for line in ci.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert "make demo" in " ".join(commands) and "make test" in " ".join(commands)
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
