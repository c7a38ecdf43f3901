"""Across languages and files: `.keras` models saved from R load in Python and back in R
(and the reverse) with identical learning-rate trajectories; configs hold no code.

Every reference-table case is compiled into a small model in R and saved; a fresh
Python process that only imports `lrschedule` loads them with `safe_mode=True`, this
process loads them too, and R loads them back. R code is batched into few calls.
"""

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.r

pytest.importorskip("rpy2", reason="rpy2 is not installed in this Python")

import lrschedule as lrs  # noqa: E402
import rsupport  # noqa: E402
from rsupport import r  # noqa: E402,F401  (the session-scoped fixture)
from reference_table import build, load  # noqa: E402

if rsupport.r_available_reason():
    pytest.skip(rsupport.r_available_reason(), allow_module_level=True)

CASES = load()
R_FUNCTIONS = rsupport.reference_r_functions()

TRAINED_STEPS = 5  # the one-cycle model is trained this many steps in R before saving


def horizon(case):
    """Steps 0..n-1 compared: the table's steps and well past its last one."""
    return max(CASES[case][2]) + 25


R_PROBE = """
keras <- reticulate::import("keras")
probe <- function(learning_rate) {
  model <- keras$Sequential(list(
    keras$Input(shape = list(1L)),
    keras$layers$Dense(1L, use_bias = FALSE, kernel_initializer = "zeros")))
  model$compile(optimizer = optimizer_sgd(learning_rate = learning_rate),
                loss = "mean_absolute_error")
  model
}
"""


def _has_r_callbacks(r):
    return bool(r.run('exists("callback_reduce_lr_on_plateau", '
                      'envir = asNamespace("lrschedule"), inherits = FALSE)'))


@pytest.fixture(scope="module")
def saved_in_r(r, tmp_path_factory):
    """{name: path} of models compiled and saved in R, and the R-built schedules."""
    folder = tmp_path_factory.mktemp("saved_in_r")
    paths = {case: str(folder / f"{case}.keras") for case in CASES}
    lines = [R_PROBE, "built <- list()"]
    for case, (_, args, _, _, _) in CASES.items():
        lines.append(f"built[['{case}']] <- {rsupport.r_call(R_FUNCTIONS[case], args)}")
        lines.append(f"probe(built[['{case}']])$save({rsupport.r_string(paths[case])})")
    # One model trained before saving: the step counter travels with the schedule.
    paths["trained"] = str(folder / "trained.keras")
    lines.append(f"""
      trained <- probe(schedule_one_cycle(0.1, total_steps = 20))
      trained$fit(matrix(1, {4 * TRAINED_STEPS}, 1), matrix(-1000, {4 * TRAINED_STEPS}, 1),
                  batch_size = 4L, epochs = 1L, shuffle = FALSE, verbose = 0L)
      trained$save({rsupport.r_string(paths["trained"])})
      to_python("r_trained", trained)
    """)
    if _has_r_callbacks(r):
        # min_delta = 1e6: only the first epoch improves; patience 1 then reduces at the
        # end of every later epoch (0.5 ** 3 after 4 epochs).
        paths["plateau"] = str(folder / "plateau.keras")
        lines.append(f"""
          plateau_model <- probe(schedule_step_decay(0.1, step_size = 10, gamma = 0.5))
          plateau_model$fit(matrix(1, 8, 1), matrix(-1000, 8, 1), batch_size = 4L,
                            epochs = 4L, shuffle = FALSE, verbose = 0L,
                            callbacks = list(callback_reduce_lr_on_plateau(
                              monitor = "loss", factor = 0.5, patience = 1, min_delta = 1e6)))
          plateau_model$save({rsupport.r_string(paths["plateau"])})
          to_python("r_plateau_model", plateau_model)
          rm(plateau_model)
        """)
    lines.append("to_python('r_saved_schedules', reticulate::r_to_py(built))")
    lines.append("rm(built, trained)")
    r.run("\n".join(lines))
    return paths, r.py("r_saved_schedules")


def _n_for(name):
    return horizon(name) if name in CASES else 40


def _state(rate):
    return (rate.multiplier, rate.best, rate.wait, rate.cooldown_counter, rate.min_lr)


def test_r_saves_every_case(saved_in_r):
    paths, schedules = saved_in_r
    assert set(CASES) <= set(paths) and sorted(schedules) == sorted(CASES)
    for path in paths.values():
        assert os.path.getsize(path) > 0


@pytest.mark.parametrize("case", list(CASES))
def test_saved_in_r_loads_in_this_python_with_the_same_trajectory(saved_in_r, case):
    paths, schedules = saved_in_r
    loaded = keras.models.load_model(paths[case], safe_mode=True)
    original = schedules[case]
    rate = loaded.optimizer._learning_rate
    assert type(rate) is type(original)
    assert rate.get_config() == original.get_config()
    n = horizon(case)
    np.testing.assert_array_equal(lrs.values(rate, range(n)), lrs.values(original, range(n)))
    # And the Python-built schedule of the table: the R file holds the same schedule.
    python_class, args = CASES[case][:2]
    np.testing.assert_array_equal(lrs.values(rate, range(n)),
                                  lrs.values(build(python_class, args), range(n)))


@pytest.mark.subprocess
def test_saved_in_r_loads_in_a_fresh_python_that_only_imports_lrschedule(saved_in_r, r):
    paths, schedules = saved_in_r
    script = textwrap.dedent("""
        import json, sys
        import keras
        import lrschedule
        jobs = json.loads(sys.argv[1])
        out = {}
        for name, (path, n) in jobs.items():
            model = keras.models.load_model(path, safe_mode=True)
            rate = model.optimizer._learning_rate
            out[name] = {
                "class": type(rate).__module__ + "." + type(rate).__qualname__,
                "values": lrschedule.values(rate, range(n)).tolist(),
                "iterations": int(model.optimizer.iterations),
            }
        print(json.dumps(out))
    """)
    jobs = {name: (path, _n_for(name)) for name, path in paths.items()}
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", script, json.dumps(jobs)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(results) == sorted(paths)
    for case in CASES:
        original = schedules[case]
        got = results[case]
        assert got["class"] == type(original).__module__ + "." + type(original).__qualname__
        np.testing.assert_array_equal(np.asarray(got["values"], np.float32),
                                      lrs.values(original, range(_n_for(case))), err_msg=case)
        assert got["iterations"] == 0
    trained = r.py("r_trained").optimizer
    assert results["trained"]["iterations"] == TRAINED_STEPS == int(trained.iterations)
    np.testing.assert_array_equal(np.asarray(results["trained"]["values"], np.float32),
                                  lrs.values(trained._learning_rate, range(40)))
    if "plateau" in results:
        assert results["plateau"]["class"] == "lrschedule.callbacks.ControlledRate"
        np.testing.assert_array_equal(
            np.asarray(results["plateau"]["values"], np.float32),
            lrs.values(r.py("r_plateau_model").optimizer._learning_rate, range(40)))


def test_trained_model_saved_in_r_resumes_at_its_step(saved_in_r, r):
    paths, _ = saved_in_r
    trained = r.py("r_trained")
    loaded = keras.models.load_model(paths["trained"], safe_mode=True)
    assert int(loaded.optimizer.iterations) == TRAINED_STEPS
    schedule = loaded.optimizer._learning_rate
    assert type(schedule) is lrs.OneCycle
    # The rate the next step uses is the schedule's at step TRAINED_STEPS.
    assert float(loaded.optimizer.learning_rate) == float(lrs.values(schedule, [TRAINED_STEPS])[0])
    np.testing.assert_array_equal(loaded.layers[-1].get_weights()[0],
                                  trained.layers[-1].get_weights()[0])


def test_plateau_state_saved_in_r_loads_in_python(saved_in_r, r):
    paths, _ = saved_in_r
    if "plateau" not in paths:
        pytest.skip("the R package has no callback_reduce_lr_on_plateau() yet")
    in_r = r.py("r_plateau_model").optimizer._learning_rate
    assert type(in_r) is lrs.ControlledRate and in_r.multiplier == 0.125
    loaded = keras.models.load_model(paths["plateau"], safe_mode=True)
    rate = loaded.optimizer._learning_rate
    assert type(rate) is lrs.ControlledRate
    assert type(rate.schedule) is lrs.StepDecay
    assert _state(rate) == _state(in_r)
    np.testing.assert_array_equal(lrs.values(rate, range(40)), lrs.values(in_r, range(40)))


def test_saved_in_r_loads_back_in_r(saved_in_r, r):
    paths, schedules = saved_in_r
    lines = ["loaded <- list(); rates <- list()"]
    for name, path in paths.items():
        lines.append(f"m <- keras$models$load_model({rsupport.r_string(path)}, safe_mode = TRUE)")
        lines.append(f"loaded[['{name}']] <- m$optimizer")
        lines.append(f"rates[['{name}']] <- lr_values("
                     f"reticulate::py_get_attr(m$optimizer, '_learning_rate'), 0:{_n_for(name) - 1})")
    lines += ["to_python('r_reloaded', reticulate::r_to_py(loaded))",
              "to_python('r_reloaded_rates', reticulate::r_to_py(rates))",
              "rm(loaded, rates, m)"]
    r.run("\n".join(lines))
    optimizers, rates = r.py("r_reloaded"), r.py("r_reloaded_rates")
    for case in CASES:
        original = schedules[case]
        rate = optimizers[case]._learning_rate
        assert type(rate) is type(original), case
        assert rate.get_config() == original.get_config(), case
        expected = lrs.values(original, range(_n_for(case))).astype(np.float64)
        np.testing.assert_array_equal(np.asarray(rates[case], np.float64), expected, err_msg=case)
    assert int(optimizers["trained"].iterations) == TRAINED_STEPS
    if "plateau" in paths:
        in_r = r.py("r_plateau_model").optimizer._learning_rate
        assert _state(optimizers["plateau"]._learning_rate) == _state(in_r)
        np.testing.assert_array_equal(np.asarray(rates["plateau"], np.float64),
                                      lrs.values(in_r, range(40)).astype(np.float64))


# --------------------------------------------------------------------------------------
# The reverse: saved in Python, loaded in R


def test_saved_in_python_loads_in_r_with_the_same_trajectory(r, tmp_path):
    paths, originals = {}, {}
    for case, (python_class, args, _, _, _) in CASES.items():
        originals[case] = build(python_class, args)
        model = keras.Sequential([
            keras.Input((1,)),
            keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros"),
        ])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=originals[case]),
                      loss="mean_absolute_error")
        paths[case] = str(tmp_path / f"{case}.keras")
        model.save(paths[case])
    lines = ["loaded <- list(); rates <- list(); keras <- reticulate::import('keras')"]
    for case, path in paths.items():
        lines.append(f"m <- keras$models$load_model({rsupport.r_string(path)}, safe_mode = TRUE)")
        lines.append(f"s <- reticulate::py_get_attr(m$optimizer, '_learning_rate')")
        lines.append(f"loaded[['{case}']] <- s")
        lines.append(f"rates[['{case}']] <- lr_values(s, 0:{horizon(case) - 1})")
    lines += ["to_python('py_saved_in_r', reticulate::r_to_py(loaded))",
              "to_python('py_saved_in_r_rates', reticulate::r_to_py(rates))",
              "rm(loaded, rates, m, s)"]
    r.run("\n".join(lines))
    loaded, rates = r.py("py_saved_in_r"), r.py("py_saved_in_r_rates")
    for case, original in originals.items():
        assert type(loaded[case]) is type(original), case
        assert loaded[case].get_config() == original.get_config(), case
        expected = lrs.values(original, range(horizon(case))).astype(np.float64)
        np.testing.assert_array_equal(np.asarray(rates[case], np.float64), expected, err_msg=case)
    for path in paths.values():
        assert_no_code(path)


# --------------------------------------------------------------------------------------
# Configs hold numbers and names, never code

CODE_KEYS = {"function", "lambda", "code", "bytecode"}
CODE_CLASS_NAMES = {"__lambda__", "function", "Lambda", "__function__"}


def code_entries(node, where="config"):
    """Paths in a saved config where code could hide (a lambda, a function, bytecode)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CODE_KEYS:
                found.append(f"{where}.{key}")
            if key == "class_name" and value in CODE_CLASS_NAMES:
                found.append(f"{where}.class_name={value}")
            if key == "module" and value in ("builtins", "__main__") and \
                    node.get("class_name") == "function":
                found.append(f"{where}.module={value}")
            found += code_entries(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += code_entries(value, f"{where}[{i}]")
    elif isinstance(node, str) and ("lambda" in node or "<function" in node):
        found.append(f"{where}={node[:40]!r}")
    return found


def assert_no_code(path):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    assert code_entries(config) == [], path
    text = json.dumps(config)
    assert '"lambda"' not in text and '"function"' not in text


def test_configs_saved_in_r_hold_no_code(saved_in_r):
    paths, _ = saved_in_r
    for path in paths.values():
        assert_no_code(path)


def test_code_detector_finds_a_lambda(tmp_path):
    # The check above can fail: a Keras Lambda layer's saved config is caught.
    model = keras.Sequential([keras.Input((1,)), keras.layers.Lambda(lambda x: x * 2.0)])
    path = str(tmp_path / "lambda.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    assert code_entries(config) != []
    with pytest.raises(AssertionError):
        assert_no_code(path)


def test_r_refuses_to_load_code_with_safe_mode(r, tmp_path):
    # Loading never executes code: a file whose config holds a lambda is refused in R.
    model = keras.Sequential([keras.Input((1,)), keras.layers.Lambda(lambda x: x * 2.0)])
    path = str(tmp_path / "lambda.keras")
    model.save(path)
    message, _ = r.error(f"reticulate::import('keras')$models$load_model("
                         f"{rsupport.r_string(path)}, safe_mode = TRUE)")
    assert "safe_mode" in message and "lambda" in message
    assert r.run("lr_values(schedule_constant(0.25), 0:1)") == [0.25, 0.25]
