"""The guard of `backend_independent` (conftest.py) can fail, and fails only what it
should: pytest runs here, in a new process, on small generated modules with this
directory's conftest.py and the project's pytest.ini. A marked test that reaches
`keras.ops` fails naming itself and what it reached (also when it catches the error,
also from a thread it starts); a marked test that stays on the host passes; an unmarked
test may reach anything; a misspelt marker fails the run (--strict-markers).
"""

import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = [pytest.mark.backend_independent, pytest.mark.subprocess]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

GUARDED = textwrap.dedent("""
    import threading

    import keras
    import numpy as np
    import pytest

    pytestmark = pytest.mark.backend_independent


    def test_reaches_keras_ops():
        keras.ops.add(1, 2)


    def test_catches_what_it_reached():
        try:
            keras.ops.add(1, 2)
            raise ValueError("caught below")
        except ValueError:
            pass


    def test_reaches_it_from_a_thread():
        worker = threading.Thread(target=lambda: keras.ops.add(1, 2))
        worker.start()
        worker.join()


    def test_reaches_the_backend_itself():
        keras.src.backend.convert_to_tensor(1.0)


    def test_stays_on_the_host():
        # Keras's configuration and NumPy are not the backend
        assert keras.backend.backend() and keras.backend.floatx() == "float32"
        assert np.add(1, 2) == 3


    def test_fails_by_itself():
        assert 1 == 2, "its own failure"
""")

UNMARKED = textwrap.dedent("""
    import keras


    def test_reaches_keras_ops_unmarked():
        assert float(keras.ops.convert_to_numpy(keras.ops.add(1.0, 2.0))) == 3.0
""")

MISSPELT = textwrap.dedent("""
    import pytest


    @pytest.mark.backend_independant
    def test_misspelt():
        pass
""")


def run_pytest(tmp_path, modules):
    for name, text in modules.items():
        (tmp_path / name).write_text(text)
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    shutil.copy(ROOT / "pytest.ini", tmp_path / "pytest.ini")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONDONTWRITEBYTECODE="1")
    report = tmp_path / "report.xml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), "-c", str(tmp_path / "pytest.ini"), f"--junitxml={report}",
         *modules],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    outcomes = {}
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            failure = case.find("failure")
            outcomes[case.get("name")] = ("passed" if failure is None
                                          else failure.get("message", "") + (failure.text or ""))
    return run, outcomes


def test_the_guard_fails_a_marked_test_that_reaches_the_backend(tmp_path):
    run, outcomes = run_pytest(tmp_path, {"test_guarded.py": GUARDED,
                                          "test_unmarked.py": UNMARKED})
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert set(outcomes) == {"test_reaches_keras_ops", "test_catches_what_it_reached",
                             "test_reaches_it_from_a_thread", "test_reaches_the_backend_itself",
                             "test_stays_on_the_host", "test_fails_by_itself",
                             "test_reaches_keras_ops_unmarked"}, run.stdout[-3000:]
    for name in ("test_reaches_keras_ops", "test_catches_what_it_reached",
                 "test_reaches_it_from_a_thread"):
        message = outcomes[name]
        assert f"test_guarded.py::{name} is marked backend_independent" in message, message
        assert "keras.src.ops.numpy.add" in message, message
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    assert f"keras.src.backend.{backend}." in outcomes["test_reaches_the_backend_itself"]
    assert outcomes["test_stays_on_the_host"] == "passed"
    assert outcomes["test_reaches_keras_ops_unmarked"] == "passed"
    # a test's own failure is reported as it is, not as the guard's
    assert "its own failure" in outcomes["test_fails_by_itself"]
    assert "marked backend_independent" not in outcomes["test_fails_by_itself"]


def test_a_misspelt_marker_fails_the_run(tmp_path):
    run, _ = run_pytest(tmp_path, {"test_misspelt.py": MISSPELT})
    assert run.returncode != 0
    assert "'backend_independant' not found in `markers` configuration option" in run.stdout
