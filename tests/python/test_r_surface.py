"""The R package driven from pytest through rpy2: R-built objects are the core's objects.

One embedded R per process (rsupport.session()); R code is batched into few calls,
because each call ends with a full R garbage collection (see rsupport's docstring).
"""

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


# --------------------------------------------------------------------------------------
# Every reference case: the R function builds the very object the Python class builds


@pytest.fixture(scope="module")
def r_reference(r):
    """{case: (R-built schedule, R's lr_values at the table's steps)}, built in one R call."""
    lines = ["built <- list(); rates <- list()"]
    for case, (_, args, steps, _, _) in CASES.items():
        r_function = _r_function(case)
        lines.append(f"built[['{case}']] <- {rsupport.r_call(r_function, args)}")
        lines.append(f"rates[['{case}']] <- lr_values(built[['{case}']], "
                     f"{rsupport.r_string(steps)})")
    lines.append("to_python('r_built', reticulate::r_to_py(built))")
    lines.append("to_python('r_rates', reticulate::r_to_py(rates))")
    lines.append("rm(built, rates)")
    r.run("\n".join(lines))
    assert r.warnings == []
    built, rates = r.py("r_built"), r.py("r_rates")
    return {case: (built[case], np.asarray(rates[case], dtype=np.float64)) for case in CASES}


def _r_function(case):
    return rsupport.reference_r_functions()[case]


@pytest.mark.parametrize("case", list(CASES))
def test_r_builds_the_python_schedule(r_reference, case):
    python_class, args, steps, rates, rtol = CASES[case]
    from_r, r_rates = r_reference[case]
    from_python = build(python_class, args)
    assert type(from_r) is type(from_python)
    assert from_r.get_config() == from_python.get_config()
    # Same object, same numbers: exactly, not within a tolerance.
    np.testing.assert_array_equal(lrs.values(from_r, steps), lrs.values(from_python, steps))
    # R's lr_values() is the core's float32 result, widened to double without change.
    np.testing.assert_array_equal(r_rates, lrs.values(from_python, steps).astype(np.float64))
    np.testing.assert_allclose(r_rates, rates, rtol=rtol, atol=1e-12)


def test_reference_table_reaches_every_r_schedule_function(r):
    exported = r.run('grep("^schedule_", getNamespaceExports("lrschedule"), value = TRUE)')
    # the recipes build the classes the table covers from other libraries' configurations;
    # schedule_shaped_like() is a Scaled with a factor it computes (test_hyperparameters.py)
    exported = [e for e in exported if not e.startswith("schedule_from_")
                and e != "schedule_shaped_like"]
    assert sorted({_r_function(case) for case in CASES}) == sorted(exported)


# --------------------------------------------------------------------------------------
# R types become the Python types Keras expects


def test_r_numbers_arrive_as_the_python_types_keras_expects(r):
    r.run("""
      to_python('t_step', schedule_step_decay(0.1, step_size = 1000, gamma = 0.5))
      to_python('t_exp', schedule_exponential_decay(1, decay_steps = 10, decay_rate = 0.5,
                                                    staircase = TRUE))
      to_python('t_multi', schedule_multistep_decay(1, milestones = 30))
      to_python('t_piece', schedule_piecewise_constant(c(10, 20), c(1, 0.5, 0.25)))
      to_python('t_cyclic', schedule_cyclic(0.001, 0.01, step_size_up = 10))
      to_python('t_sqrt', schedule_inverse_sqrt(0.001, warmup_steps = 20L))
    """)
    step = r.py("t_step")
    assert type(step.step_size) is int and step.step_size == 1000
    assert type(step.initial_learning_rate) is float and step.initial_learning_rate == 0.1
    exp = r.py("t_exp").get_config()
    assert type(exp["decay_steps"]) is int and exp["decay_steps"] == 10
    assert exp["staircase"] is True
    assert type(exp["initial_learning_rate"]) is float  # R's 1 is a double
    assert r.py("t_multi").get_config()["milestones"] == [30]  # length 1 stays a list
    assert all(type(m) is int for m in r.py("t_multi").get_config()["milestones"])
    piece = r.py("t_piece").get_config()
    assert piece["boundaries"] == [10, 20] and all(type(b) is int for b in piece["boundaries"])
    assert piece["values"] == [1.0, 0.5, 0.25]
    assert r.py("t_cyclic").get_config()["step_size_down"] is None  # NULL is None
    assert r.py("t_sqrt").get_config()["timescale"] is None


# --------------------------------------------------------------------------------------
# R errors: R-side refusals and the core's messages, the session alive after each

# (id, R call, argument the message must name, value text it must show)
R_REFUSALS = [
    ("fractional_count", "schedule_step_decay(0.1, step_size = 10.5)", "step_size", "10.5"),
    ("na_rate", "schedule_step_decay(NA, step_size = 10)", "initial_learning_rate", "NA"),
    ("na_count", "schedule_one_cycle(0.01, total_steps = NA)", "total_steps", "NA"),
    ("na_flag", "schedule_exponential_decay(0.1, 10, 0.5, staircase = NA)", "staircase", "NA"),
    ("vector_for_scalar", "schedule_constant(c(0.1, 0.2))", "learning_rate", "c(0.1, 0.2)"),
    ("string_for_number", 'schedule_linear("0.1", 0.2, total_steps = 10)',
     "initial_learning_rate", '"0.1"'),
    ("fractional_milestone", "schedule_multistep_decay(0.1, milestones = c(10, 20.5))",
     "milestones", "20.5"),
    ("na_in_values", "schedule_piecewise_constant(c(10, 20), c(0.1, NA, 0.01))", "values", "NA"),
    ("two_modes", 'schedule_cyclic(0.001, 0.01, mode = c("triangular", "exp_range"))', "mode",
     '"exp_range"'),
    ("function_as_schedule", "schedule_warmup(function(step) 0.1, warmup_steps = 10)",
     "schedule", "schedule_function"),
    ("function_as_learning_rate", "optimizer_adam(learning_rate = function(step) 0.1)",
     "learning_rate", "schedule_function(fn, total_steps)"),
    ("negative_learning_rate", "optimizer_sgd(learning_rate = -1)", "learning_rate", "-1"),
    ("fractional_steps", "lr_values(schedule_constant(0.1), steps = 2.5)", "steps", "2.5"),
    ("schedule_function_na", "schedule_function(function(step) c(0.1, NA), total_steps = 2)",
     "fn", "NA"),
]


@pytest.mark.parametrize("code,arg,value", [c[1:] for c in R_REFUSALS],
                         ids=[c[0] for c in R_REFUSALS])
def test_r_refuses_what_only_r_can_get_wrong(r, code, arg, value):
    message, classes = r.error(code)
    assert f"`{arg}`" in message
    assert value in message
    assert "lrschedule_argument_error" in classes  # refused in R, before Python
    assert "Traceback" not in message
    # The session still works after the error.
    assert r.run("lr_values(schedule_constant(0.25), 0:1)") == [0.25, 0.25]


# Every argument of every schedule_*() call of the reference table gets a bad value,
# the kinds taken in turn (an R error costs ~0.1 s, most of it cli's formatting, so not
# every kind for every argument): an error naming the argument and showing the value,
# all in one R call.
BAD_VALUES = [("NA", "NA"), ("Inf", "Inf"), ("string", '"a"'), ("NULL", "NULL"),
              ("pair", "c(1, 2)")]
NULL_ALLOWED = {"step_size_down", "warmup_target", "timescale"}
# Lengths that NULL leaves to fit() (the schedule takes the run's when training starts).
NULL_ALLOWED_IN = {"schedule_one_cycle": {"total_steps"}, "schedule_linear": {"total_steps"},
                   "schedule_warmup_stable_decay": {"stable_steps"}}


def _valid_r_arg(name, value):
    if isinstance(value, dict):
        return rsupport.r_call(value["r_function"], value["args"])
    if name == "fn":
        return "function(step) rep(0.1, length(step))"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "list(" + ", ".join(_valid_r_arg(None, v) for v in value) + ")"
    return rsupport.r_string(value)


def bad_input_table():
    """{id: (R call, argument, value text)} built from the reference table's cases."""
    table, seen, turn = {}, set(), 0
    for case, (_, args, _, _, _) in CASES.items():
        r_function = _r_function(case)
        if r_function in seen:
            continue
        seen.add(r_function)
        if r_function == "schedule_function":
            args = {"fn": None, "total_steps": 5}
        for arg, valid in args.items():
            takes_vector = isinstance(valid, list) or arg in ("fn", "schedules")
            usable = [(kind, text) for kind, text in BAD_VALUES
                      if not (kind == "NULL" and (arg in NULL_ALLOWED or
                                                  arg in NULL_ALLOWED_IN.get(r_function, ())))
                      and not (kind == "pair" and takes_vector)]
            kind, text = usable[turn % len(usable)]
            turn += 1
            calls = {a: _valid_r_arg(a, v) for a, v in args.items()}
            calls[arg] = text
            body = ", ".join(f"{a} = {t}" for a, t in calls.items())
            table[f"{r_function}.{arg}.{kind}"] = (f"{r_function}({body})", arg, text)
    return table


def test_every_schedule_argument_refuses_bad_values_naming_argument_and_value(r):
    table = bad_input_table()
    assert len(table) >= 50
    assert {key.rsplit('.', 1)[1] for key in table} == {kind for kind, _ in BAD_VALUES}
    lines = ["bad_messages <- list()"]
    for key, (call, _, _) in table.items():
        lines.append(f"bad_messages[[{rsupport.r_string(key)}]] <- tryCatch("
                     f"{{ {call}; NA_character_ }}, error = function(e) conditionMessage(e))")
    lines += ["to_python('r_bad_messages', reticulate::r_to_py(bad_messages))",
              "rm(bad_messages)"]
    r.run("\n".join(lines))
    messages = r.py("r_bad_messages")
    problems = []
    for key, (call, arg, value) in table.items():
        message = messages[key]
        if not isinstance(message, str):
            problems.append(f"{call}: accepted")
            continue
        flat = " ".join(message.split())
        # The core shows values as Python does: 'a' for "a"; R passes NULL boundaries of
        # a sequence on as an empty list.
        shown = {value, value.replace('"', "'")} | ({"[]"} if value == "NULL" else set())
        if f"`{arg}`" not in flat or not any(v in flat for v in shown) or "Traceback" in flat:
            problems.append(f"{call}: {flat}")
    assert problems == []
    assert r.run("lr_values(schedule_constant(0.25), 0:1)") == [0.25, 0.25]


def test_learning_rate_refusals_say_what_to_do_instead(r):
    message, classes = r.error("optimizer_adam(learning_rate = function(step) 0.1)")
    assert "schedule_function(fn, total_steps)" in message
    assert "callback_schedule_lr(fn)" in message
    assert "lrschedule_argument_error" in classes
    if _exists_in_r(r, "callback_lr_logger"):
        message, classes = r.error("optimizer_sgd(learning_rate = callback_lr_logger())")
        assert "`learning_rate` cannot be a callback" in message and "callbacks" in message
        assert "lrschedule_argument_error" in classes
    assert r.run("lr_values(schedule_constant(0.25), 0:1)") == [0.25, 0.25]


# (id, R call, the same constructor called from Python)
CORE_ERRORS = [
    ("zero_step_size", "schedule_step_decay(0.1, step_size = 0)",
     lambda: lrs.StepDecay(0.1, step_size=0)),
    ("negative_max_lr", "schedule_one_cycle(-0.1, total_steps = 100)",
     lambda: lrs.OneCycle(-0.1, total_steps=100)),
    ("unknown_anneal_strategy", 'schedule_one_cycle(0.1, 100, anneal_strategy = "cubic")',
     lambda: lrs.OneCycle(0.1, 100, anneal_strategy="cubic")),
    ("unknown_cyclic_mode", 'schedule_cyclic(0.001, 0.01, mode = "sawtooth")',
     lambda: lrs.Cyclic(0.001, 0.01, mode="sawtooth")),
    ("unsorted_milestones", "schedule_multistep_decay(0.1, milestones = c(30, 20))",
     lambda: lrs.MultiStepDecay(0.1, milestones=[30, 20])),
    ("unknown_decay_type", 'schedule_warmup_stable_decay(0.001, 10, 10, 10, decay_type = "exp")',
     lambda: lrs.WarmupStableDecay(0.001, 10, 10, 10, decay_type="exp")),
    ("sequence_lengths", "schedule_sequence(list(schedule_constant(1), schedule_constant(2)), "
     "boundaries = c(10, 20))",
     lambda: lrs.Sequence([lrs.Constant(1.0), lrs.Constant(2.0)], boundaries=[10, 20])),
]


@pytest.mark.parametrize("code,python_call", [c[1:] for c in CORE_ERRORS],
                         ids=[c[0] for c in CORE_ERRORS])
def test_core_validation_errors_reach_r_with_the_core_message(r, code, python_call):
    with pytest.raises((ValueError, TypeError)) as python_error:
        python_call()
    python_message = str(python_error.value)
    assert python_message.startswith("Argument `")
    message, classes = r.error(code)
    assert python_message in message
    assert f"python.builtin.{type(python_error.value).__name__}" in classes
    assert "Traceback" not in message and "py_last_error" not in message
    assert r.run("lr_values(schedule_constant(0.25), 0:1)") == [0.25, 0.25]


def test_session_survives_many_errors_and_garbage(r):
    # Errors interleaved with Python objects that become garbage: no crash, no leak of
    # one call's error into the next.
    for i in range(5):
        r.error(f"schedule_step_decay(0.1, step_size = {i}.5)")
        assert r.run(f"schedule_step_decay(0.1, step_size = {i + 1})$step_size") == i + 1
    assert r.last_error_class is None


# --------------------------------------------------------------------------------------
# Optimizers built in R take any schedule and train a Keras model

OPTIMIZERS = {
    "adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop",
    "adagrad": "Adagrad", "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam",
    "ftrl": "Ftrl", "lion": "Lion", "lamb": "Lamb", "adafactor": "Adafactor",
}


def test_every_r_optimizer_is_the_keras_optimizer_holding_the_schedule(r):
    lines = ["s <- schedule_one_cycle(0.01, total_steps = 100); to_python('opt_schedule', s)",
             "opts <- list()"]
    for name in OPTIMIZERS:
        lines.append(f"opts[['{name}']] <- optimizer_{name}(learning_rate = s)")
    lines.append("to_python('r_optimizers', reticulate::r_to_py(opts))")
    lines.append("to_python('r_counts', optimizer_adam(0.5, gradient_accumulation_steps = 4, "
                 "ema_overwrite_frequency = 100, use_ema = TRUE))")
    lines.append("rm(s, opts)")
    r.run("\n".join(lines))
    schedule = r.py("opt_schedule")
    optimizers = r.py("r_optimizers")
    assert sorted(optimizers) == sorted(OPTIMIZERS)
    for name, class_name in OPTIMIZERS.items():
        opt = optimizers[name]
        assert type(opt) is getattr(keras.optimizers, class_name), name
        assert opt._learning_rate is schedule, name  # the very object, not a copy
    counts = r.py("r_counts")
    assert type(counts.gradient_accumulation_steps) is int
    assert counts.gradient_accumulation_steps == 4
    assert counts.ema_overwrite_frequency == 100 and counts.use_ema is True
    assert float(counts.learning_rate) == 0.5


class KernelTrace(keras.callbacks.Callback):
    """The probe's kernel after every batch (with SGD, each step moves it by -lr)."""

    def __init__(self):
        super().__init__()
        self.kernels = []

    def on_train_batch_end(self, batch, logs=None):
        self.kernels.append(float(keras.ops.convert_to_numpy(self.model.layers[-1].kernel)[0, 0]))


def kernels_for_rates(rates):
    # kernel_{k+1} = kernel_k - lr_k, in float32 as Keras computes it: MAE on a batch of 4
    # with x = 1 and y = -1000 gives a gradient of exactly 1.
    kernel, out = np.float32(0.0), []
    for lr in rates:
        kernel = np.float32(kernel - np.float32(lr))
        out.append(float(kernel))
    return out


def assert_trained_at(kernels, rates):
    # The compiled train step may round a schedule's float32 arithmetic differently from
    # values() (TensorFlow's graph optimizer folds constant products: Linear(0.1, 0.01, 5)
    # gives 0.1 + 1 ulp at step 0 inside fit()), so the rates agree to a few ulps; a step
    # taken at the wrong rate, or the right rate at the wrong step, is far outside that.
    np.testing.assert_allclose(kernels, kernels_for_rates(rates), rtol=1e-6, atol=0)


def probe_model():
    model = keras.Sequential([
        keras.Input((1,)),
        keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros"),
    ])
    return model


STEPS = 12
BATCH = 4


def test_r_optimizer_trains_a_python_model_at_the_schedule_rates(r):
    r.run("to_python('r_sgd', optimizer_sgd(learning_rate = "
          "schedule_one_cycle(0.1, total_steps = 10, pct_start = 0.4)))")
    opt = r.py("r_sgd")
    model = probe_model()
    model.compile(optimizer=opt, loss="mean_absolute_error")
    trace = KernelTrace()
    x = np.ones((STEPS * BATCH, 1), "float32")
    y = np.full((STEPS * BATCH, 1), -1000.0, "float32")
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[trace])
    assert_trained_at(trace.kernels, lrs.values(opt._learning_rate, range(STEPS)))
    assert int(opt.iterations) == STEPS
    # Past total_steps the one-cycle holds its final rate: the last steps move it too.
    assert trace.kernels[-1] < trace.kernels[-2]


def test_r_optimizer_trains_an_r_model_fed_r_matrices(r):
    r.to_r("trace", KernelTrace())
    r.run(f"""
      keras <- reticulate::import("keras")
      model <- keras$Sequential(list(
        keras$Input(shape = list(1L)),
        keras$layers$Dense(1L, use_bias = FALSE, kernel_initializer = "zeros")))
      opt <- optimizer_sgd(learning_rate = schedule_warmup(
        schedule_cosine_decay(0.05, decay_steps = 6, alpha = 0.1), warmup_steps = 4))
      model$compile(optimizer = opt, loss = "mean_absolute_error")
      history <- model$fit(x = matrix(1, {STEPS * BATCH}, 1), y = matrix(-1000, {STEPS * BATCH}, 1),
                           batch_size = {BATCH}L, epochs = 1L, shuffle = FALSE, verbose = 0L,
                           callbacks = list(from_python("trace")))
      to_python("r_model", model)
      rm(model, opt, history)
    """)
    model = r.py("r_model")
    schedule = model.optimizer._learning_rate
    assert type(schedule) is lrs.Warmup
    assert type(schedule.schedule) is keras.optimizers.schedules.CosineDecay
    assert_trained_at(r.py("trace").kernels, lrs.values(schedule, range(STEPS)))


# --------------------------------------------------------------------------------------
# Callbacks from R (skipped while the R package has none)


def _has_r_callbacks(r):
    return bool(r.run('exists("callback_reduce_lr_on_plateau", '
                      'envir = asNamespace("lrschedule"), inherits = FALSE)'))


def test_r_plateau_callback_is_the_core_callback_and_reduces_a_schedule(r):
    if not _has_r_callbacks(r):
        pytest.skip("the R package has no callback_reduce_lr_on_plateau() yet")
    r.run("""
      to_python('r_plateau', callback_reduce_lr_on_plateau(monitor = "loss", factor = 0.5,
                                                           patience = 1, min_delta = 1e6))
      to_python('r_step_sgd', optimizer_sgd(learning_rate = schedule_step_decay(0.1, 10, 0.5)))
    """)
    plateau = r.py("r_plateau")
    assert type(plateau) is lrs.ReduceLROnPlateau
    assert (plateau.monitor, plateau.factor, plateau.patience, plateau.min_delta) == (
        "loss", 0.5, 1, 1e6)
    assert type(plateau.patience) is int and type(plateau.cooldown) is int
    model = probe_model()
    model.compile(optimizer=r.py("r_step_sgd"), loss="mean_absolute_error")
    x = np.ones((2 * BATCH, 1), "float32")
    y = np.full((2 * BATCH, 1), -1000.0, "float32")
    # min_delta = 1e6: only the first epoch counts as an improvement; with patience 1
    # each later epoch ends with a reduction: 0.5 ** 3 after 4 epochs.
    model.fit(x, y, batch_size=BATCH, epochs=4, shuffle=False, verbose=0, callbacks=[plateau])
    rate = model.optimizer._learning_rate
    assert type(rate) is lrs.ControlledRate
    assert type(rate.schedule) is lrs.StepDecay
    assert rate.multiplier == 0.125
    assert (rate.wait, rate.cooldown_counter) == (0, 0)
    np.testing.assert_array_equal(
        lrs.values(rate, range(30)), lrs.values(lrs.StepDecay(0.1, 10, 0.5), range(30)) * np.float32(0.125))


def _exists_in_r(r, name):
    return bool(r.run(f'exists("{name}", envir = asNamespace("lrschedule"), inherits = FALSE)'))


def fit_probe(optimizer, epochs, callbacks, steps_per_epoch=2):
    model = probe_model()
    model.compile(optimizer=optimizer, loss="mean_absolute_error")
    trace = KernelTrace()
    n = steps_per_epoch * BATCH
    history = model.fit(np.ones((n, 1), "float32"), np.full((n, 1), -1000.0, "float32"),
                        batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0,
                        callbacks=list(callbacks) + [trace])
    return model, trace, history


def test_r_function_callbacks_set_the_rate_of_each_epoch(r):
    if not _exists_in_r(r, "callback_schedule_lr"):
        pytest.skip("the R package has no callback_schedule_lr() yet")
    r.run("""
      to_python('r_by_epoch', callback_schedule_lr(function(epoch) 0.1 * 0.5^epoch))
      to_python('r_by_lr', callback_schedule_lr(function(epoch, lr) if (epoch == 0) lr else lr / 2))
      to_python('r_by_schedule', callback_schedule_lr(schedule_step_decay(0.1, 1, 0.5)))
    """)
    expected = kernels_for_rates([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    for name in ("r_by_epoch", "r_by_lr", "r_by_schedule"):
        callback = r.py(name)
        assert type(callback) is lrs.ScheduleLR, name
        # The R function runs inside fit(), called from Python through reticulate.
        _, trace, history = fit_probe(keras.optimizers.SGD(0.1), 3, [callback])
        assert trace.kernels == expected, name
        np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.025],
                                   rtol=1e-7)


def test_r_function_failing_inside_fit_names_the_epoch_and_leaves_the_model_usable(r):
    if not _exists_in_r(r, "callback_schedule_lr"):
        pytest.skip("the R package has no callback_schedule_lr() yet")
    r.run("to_python('r_failing', callback_schedule_lr("
          "function(epoch) if (epoch >= 1) stop('no rate for this epoch') else 0.1))")
    model = probe_model()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mean_absolute_error")
    x, y = np.ones((2 * BATCH, 1), "float32"), np.full((2 * BATCH, 1), -1000.0, "float32")
    with pytest.raises(Exception) as failure:
        model.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
                  callbacks=[r.py("r_failing")])
    message = str(failure.value)
    assert "epoch 1" in message and "no rate for this epoch" in message
    # Epoch 0 ran (two steps at 0.1); nothing of epoch 1 was applied.
    assert model.layers[-1].get_weights()[0][0, 0] == kernels_for_rates([0.1, 0.1])[-1]
    assert int(model.optimizer.iterations) == 2
    # The next fit() works, and so does R.
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    assert int(model.optimizer.iterations) == 4
    assert r.run("lr_values(schedule_constant(0.25), 0:1)") == [0.25, 0.25]


def test_r_lr_logger_records_the_rates_used(r):
    if not _exists_in_r(r, "callback_lr_logger"):
        pytest.skip("the R package has no callback_lr_logger() yet")
    r.run("""
      to_python('r_logger', callback_lr_logger(per = "batch"))
      to_python('r_logged_sgd', optimizer_sgd(learning_rate = schedule_linear(0.1, 0.01, 5)))
    """)
    logger = r.py("r_logger")
    assert type(logger) is lrs.LRLogger
    optimizer = r.py("r_logged_sgd")
    _, trace, history = fit_probe(optimizer, 3, [logger])
    rates = lrs.values(optimizer._learning_rate, range(6))
    # LRLogger evaluates the schedule compiled (as the train step does), values() eagerly:
    # equal up to float32 rounding, as LRLogger's documentation says.
    np.testing.assert_allclose(np.asarray(logger.batch_rates, np.float32), rates, rtol=3e-7)
    assert_trained_at(trace.kernels, rates)
    np.testing.assert_allclose(np.asarray(history.history["learning_rate"], np.float32),
                               rates[1::2], rtol=3e-7)


def test_r_lr_find_runs_the_range_test_and_restores_the_model(r):
    if not _exists_in_r(r, "lr_find"):
        pytest.skip("the R package has no lr_find() yet")
    r.run("""
      keras <- reticulate::import("keras")
      model <- keras$Sequential(list(
        keras$Input(shape = list(1L)),
        keras$layers$Dense(1L, use_bias = FALSE, kernel_initializer = "zeros")))
      model$compile(optimizer = optimizer_sgd(learning_rate = 0.01),
                    loss = "mean_absolute_error")
      found <- lr_find(model, matrix(1, 16, 1), matrix(-1000, 16, 1), start_lr = 1e-3,
                       end_lr = 1, num_steps = 20, batch_size = 4, shuffle = FALSE, verbose = 0)
      stopifnot(inherits(found, "lrschedule_lr_find"))
      to_python("r_found_rates", found$learning_rate)
      to_python("r_found_losses", found$loss)
      to_python("r_found_model", model)
      rm(model, found)
    """)
    rates = np.asarray(r.py("r_found_rates"), np.float64)
    expected = 1e-3 * (1.0 / 1e-3) ** (np.arange(20) / 19)
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    # The probe's loss before step i is 1000 - (sum of the rates of steps < i).
    losses = np.asarray(r.py("r_found_losses"), np.float64)
    np.testing.assert_allclose(losses, 1000.0 - np.concatenate([[0.0], np.cumsum(rates)[:-1]]),
                               rtol=1e-6)
    model = r.py("r_found_model")
    assert model.layers[-1].get_weights()[0][0, 0] == 0.0  # restored
    assert int(model.optimizer.iterations) == 0
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01, rel=1e-7)


def test_r_per_layer_and_accumulating_optimizers_are_the_cores(r):
    # Built in R (model included), trained from Python: the rates applied per layer,
    # read back from the weights, are the schedule counted in updates times the factor.
    r.run("""
      keras <- reticulate::import("keras")
      inp <- keras$Input(shape = list(1L))
      outs <- lapply(c("low", "top"), function(n) keras$layers$Dense(
        1L, use_bias = FALSE, kernel_initializer = "zeros", name = n)(inp))
      model <- keras$Model(inp, outs)
      opt <- optimizer_per_layer(
        optimizer_sgd(schedule_linear(0.02, 0.2, total_steps = 4), gradient_accumulation_steps = 2),
        model, decay = 0.5)
      model$compile(optimizer = opt, loss = list("mean_absolute_error", "mean_absolute_error"))
      to_python('r_per_layer_model', model)
      to_python('r_multi', optimizer_multi(optimizer_sgd(0.1, name = "head"),
                                           "low/.*" = optimizer_sgd(0.01, name = "body")))
      rm(keras, inp, outs, model, opt)
    """)
    model = r.py("r_per_layer_model")
    assert type(model.optimizer) is keras.optimizers.MultiOptimizer
    assert [type(o._learning_rate) for o in model.optimizer.optimizers] == [lrs.InUpdates] * 2
    from probes import Kernels

    trace = Kernels(("low", "top"))
    x = np.ones((8, 1), "float32")
    y = np.full((8, 1), -1000.0, "float32")
    model.fit(x, [y, y], batch_size=1, epochs=1, shuffle=False, verbose=0, callbacks=[trace])
    linear = [0.02 + 0.18 * u / 4 for u in range(4)]
    for name, factor in (("low", 0.5), ("top", 1.0)):
        applied = np.asarray(trace.rates[name])
        np.testing.assert_allclose(applied[0::2], 0.0, atol=1e-7)
        np.testing.assert_allclose(applied[1::2], [factor * v for v in linear], rtol=1e-5)
    multi = r.py("r_multi")
    assert [o.name for o in multi.optimizers] == ["body", "head"]
