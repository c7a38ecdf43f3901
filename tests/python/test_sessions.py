"""What a user does first, each in a new process, where Python is the host.

R embedded in a Python that imported Keras before R started (rpy2, or any package that
imports Keras first): reticulate's import hook never sees Keras being imported, yet
`library(lrschedule)` then `load_model()` must find the core's classes. And R started in
a checkout's root, where pyproject.toml sits, must not warn on its first Python use.
(The R-hosted cases, R <-> R and R <-> Python, are in tests/testthat/test-sessions.R.)
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import lrschedule as lrs
import rsupport

pytestmark = [pytest.mark.r, pytest.mark.subprocess]

HERE = pathlib.Path(__file__).resolve().parent

if rsupport.r_available_reason():
    pytest.skip(rsupport.r_available_reason(), allow_module_level=True)


def probe(rate):
    model = keras.Sequential([
        keras.Input((1,)),
        keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=rate), loss="mean_absolute_error")
    return model


def test_r_embedded_after_keras_loads_a_saved_model_as_its_first_call(tmp_path):
    # Saved here; loaded in a new Python that imports Keras, never lrschedule, then
    # embeds R, attaches the package and loads the model through reticulate.
    x = np.ones((4, 1), "float32")
    y = np.full((4, 1), -1000.0, "float32")
    model = probe(lrs.Warmup(lrs.StepDecay(0.1, 2, 0.5), 4, start_learning_rate=0.02))
    model.fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "warmup.keras"
    model.save(path)
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(HERE)!r})
        import keras
        import rsupport
        assert "lrschedule" not in sys.modules
        r = rsupport.RSession()
        r.run('''
          keras <- reticulate::import("keras")
          m <- keras$models$load_model({str(path)!r}, safe_mode = TRUE)
          m$fit(matrix(1, 2, 1), matrix(-1000, 2, 1), batch_size = 1L, epochs = 1L,
                shuffle = FALSE, verbose = 0L)
          to_python("loaded", m)
        ''')
        m = r.py("loaded")
        print("RESULT", type(m.optimizer._learning_rate).__name__,
              float(m.get_weights()[0][0, 0]), int(m.optimizer.iterations), flush=True)
        os._exit(0)  # see rsupport._ExitWithoutFinalizing
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-3000:]
    name, kernel, iterations = lines[0].split()[1:]
    assert name == "Warmup"
    # Steps 0-3 warm up from 0.02 to 0.08, step 4 is the decay's first (0.1), step 5 too.
    expected = -sum([0.02, 0.04, 0.06, 0.08]) - 0.1 - 0.1
    assert float(kernel) == pytest.approx(expected, rel=1e-5)
    assert int(iterations) == 6


def test_r_started_in_the_checkout_root_does_not_warn(tmp_path):
    # A user whose lrschedule virtualenv was made by install_lrschedule() (here: a link
    # to this one, in a private WORKON_HOME) starts R in the checkout, where reticulate
    # 1.28 looks at pyproject.toml for a Poetry project before it uses that virtualenv.
    workon = tmp_path / "virtualenvs"
    workon.mkdir()
    (workon / "lrschedule").symlink_to(pathlib.Path(sys.prefix))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETICULATE_")}
    env.update(WORKON_HOME=str(workon), R_LIBS=str(rsupport.RLIB), TF_CPP_MIN_LOG_LEVEL="3")
    code = ("options(warn = 1); suppressPackageStartupMessages(library(lrschedule)); "
            "s <- schedule_constant(0.1); cat('PYTHON', reticulate::py_config()$python, '\\n'); "
            "cat('RATE', lr_values(s, 5), '\\n')")
    done = subprocess.run(["Rscript", "-e", code], cwd=rsupport.ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "RATE 0.1" in done.stdout, output[-3000:]
    assert f"PYTHON {sys.prefix}" in done.stdout  # the linked virtualenv, resolved
    assert "pyproject.toml" not in output and "Poetry" not in output, output[-3000:]
    assert "Warning" not in output, output[-3000:]
