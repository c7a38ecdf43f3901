"""Tests of `find_lr()` (the learning-rate range test) and `LRFinderResult`."""

import io
import sys

import keras
import numpy as np
import pytest
from keras import ops

import lrschedule
from lrschedule.lr_finder import (
    LRFinderResult,
    find_lr,
    suggest_minimum,
    suggest_steep,
    suggest_valley,
)


@keras.saving.register_keras_serializable(package="lrschedule_tests")
def mean_prediction_lr_finder(y_true, y_pred):
    """d loss / d bias = 1 when the inputs are zero: SGD moves the bias by -rate."""
    return ops.mean(y_pred, axis=-1)


def regression_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]]) + 0.1).astype("float32")
    return x, y


def regression_model(learning_rate, optimizer="adam"):
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(1),
        ]
    )
    opt = {
        "adam": lambda: keras.optimizers.Adam(learning_rate=learning_rate),
        "sgd": lambda: keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
    }[optimizer]()
    model.compile(optimizer=opt, loss="mse")
    return model


def bias_model(learning_rate):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros"),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss=mean_prediction_lr_finder)
    return model


def snapshot(model):
    return (
        [np.array(ops.convert_to_numpy(v), copy=True) for v in model.variables],
        [np.array(ops.convert_to_numpy(v), copy=True) for v in model.optimizer.variables],
    )


def assert_bitwise_equal(before, after):
    for group_before, group_after in zip(before, after):
        assert len(group_before) == len(group_after)
        for a, b in zip(group_before, group_after):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
            assert a.tobytes() == b.tobytes()


SCHEDULES = [
    (lambda: 1e-3, "constant"),
    (lambda: keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5), "keras_exponential_decay"),
    (lambda: lrschedule.OneCycle(max_lr=1e-2, total_steps=50), "ours_one_cycle"),
]


@pytest.mark.parametrize("make_rate", [s[0] for s in SCHEDULES], ids=[s[1] for s in SCHEDULES])
def test_find_lr_restores_weights_and_optimizer_bit_for_bit(make_rate):
    x, y = regression_data()
    model = regression_model(make_rate())
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # non-zero slots, iterations = 4
    twin = regression_model(make_rate())
    twin.fit(x, y, epochs=1, batch_size=16, verbose=0)
    rate_object = model.optimizer._learning_rate
    before = snapshot(model)
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == 4

    result = find_lr(model, x, y, num_steps=30, batch_size=16, end_lr=100.0, verbose=0)

    assert len(result.rates) >= 2
    assert_bitwise_equal(before, snapshot(model))
    assert model.optimizer._learning_rate is rate_object
    # Training afterwards is exactly what it would have been without the test (the
    # global seed is reset because some backends draw dropout masks from it).
    keras.utils.set_random_seed(5)
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    keras.utils.set_random_seed(5)
    twin.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert_bitwise_equal(snapshot(twin), snapshot(model))


def test_find_lr_builds_an_unbuilt_optimizer_and_leaves_it_fresh():
    x, y = regression_data()
    model = regression_model(1e-3, optimizer="sgd")
    assert not model.optimizer.built
    find_lr(model, x, y, num_steps=10, batch_size=16, verbose=0)
    assert model.optimizer.built
    twin = regression_model(1e-3, optimizer="sgd")
    twin.optimizer.build(twin.trainable_variables)
    assert_bitwise_equal(snapshot(twin), snapshot(model))  # iterations 0, momenta 0


@pytest.mark.parametrize(
    "make_rate",
    [lambda: 0.5, lambda: keras.optimizers.schedules.ExponentialDecay(0.5, 1, 0.5)],
    ids=["constant_variable", "schedule_replaced_during_the_test"],
)
def test_find_lr_sweeps_exponentially_and_the_optimizer_uses_those_rates(make_rate):
    # Loss = bias; each step moves the bias by exactly -rate, so the loss recorded at
    # step i is -(rate_0 + ... + rate_{i-1}).
    model = bias_model(make_rate())
    x = np.zeros((8, 1), "float32")
    result = find_lr(
        model, x, x, start_lr=1e-3, end_lr=1.0, num_steps=12, batch_size=4, diverge_factor=None, verbose=0
    )
    i = np.arange(12)
    expected_rates = 1e-3 * (1.0 / 1e-3) ** (i / 11)
    np.testing.assert_allclose(result.rates, expected_rates, rtol=1e-12)
    np.testing.assert_allclose(result.rates[[0, -1]], [1e-3, 1.0], rtol=1e-12)
    expected_losses = -np.concatenate([[0.0], np.cumsum(expected_rates)[:-1]])
    np.testing.assert_allclose(result.losses, expected_losses, rtol=1e-5, atol=1e-6)
    assert not result.diverged
    bias = float(ops.convert_to_numpy(model.layers[0].bias)[0])
    assert bias == 0.0


def test_find_lr_smoothed_loss_is_fastais_debiased_average():
    x, y = regression_data()
    model = regression_model(1e-3)
    result = find_lr(model, x, y, num_steps=25, batch_size=16, smoothing=0.9, diverge_factor=None, verbose=0)
    beta = 0.9
    losses = result.losses
    expected = []
    for i in range(len(losses)):
        weights = (1 - beta) * beta ** np.arange(i, -1, -1)  # weight of loss_j: (1-b) b^(i-j)
        expected.append(np.sum(weights * losses[: i + 1]) / (1 - beta ** (i + 1)))
    np.testing.assert_allclose(result.smoothed_losses, expected, rtol=1e-10)
    assert len(result.losses) == 25


def test_find_lr_stops_early_on_divergence():
    x, y = regression_data()
    model = regression_model(1e-3, optimizer="sgd")
    model.optimizer.build(model.trainable_variables)
    before = snapshot(model)
    result = find_lr(model, x, y, start_lr=1e-4, end_lr=1e4, num_steps=100, batch_size=16, verbose=0)
    assert result.diverged
    assert 2 <= len(result.rates) < 100
    smoothed = result.smoothed_losses
    best_so_far = np.minimum.accumulate(smoothed)
    stop = (smoothed > 4 * best_so_far) | ~np.isfinite(result.losses)
    # It stopped at the first step meeting the rule, and not before.
    assert stop[-1] and not stop[:-1].any()
    assert_bitwise_equal(before, snapshot(model))


def test_find_lr_without_early_stop_runs_every_step():
    x, y = regression_data()
    model = regression_model(1e-3, optimizer="sgd")
    result = find_lr(
        model, x, y, start_lr=1e-4, end_lr=1e-2, num_steps=40, batch_size=16, diverge_factor=None, verbose=0
    )
    assert len(result.rates) == 40 and not result.diverged


def test_find_lr_accepts_batches_and_cycles_through_them():
    x, y = regression_data(n=32)
    batches = [(x[:16], y[:16]), (x[16:], y[16:])]
    model = regression_model(1e-3)
    result = find_lr(model, batches, num_steps=7, verbose=0, diverge_factor=None)
    assert len(result.rates) == 7


def test_find_lr_refuses_an_empty_source_of_batches():
    with pytest.raises(ValueError, match="Argument `x` must be a source of at least one batch"):
        find_lr(regression_model(1e-3), [], verbose=0)


def test_find_lr_progress_off_a_terminal_is_plain_lines(capsys):
    # pytest's captured stdout is not a terminal, as a log, a pipe, knitr or R's console
    # under reticulate are not: plain lines, no escape codes, no carriage returns.
    x, y = regression_data()
    find_lr(regression_model(1e-3), x, y, num_steps=20, batch_size=4, verbose=1,
            diverge_factor=None)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "\x1b" not in out and "\r" not in out
    # the first step, every second (about ten lines over 20 steps), the last
    assert [line.split(":")[0] for line in lines] == \
        [f"find_lr step {s}/20" for s in [1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]]
    assert all(" lr " in line and " loss " in line and "smoothed_loss" in line for line in lines)
    find_lr(regression_model(1e-3), x, y, num_steps=8, batch_size=16, verbose=0)
    assert capsys.readouterr().out == ""


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.backend_independent
def test_find_lr_progress_on_a_terminal_is_one_live_line():
    from lrschedule.lr_finder import Progress

    terminal = _Terminal()
    progress = Progress(4, stream=terminal)
    for step in range(1, 5):
        progress.update(step, 0.1 * step, 1.0, 1.0)
    progress.close(4, diverged=False)
    out = terminal.getvalue()
    assert out.count("\r") == 4 and out.endswith("\n") and out.count("\n") == 1
    assert "4/4 [==============================]" in out
    stopped = _Terminal()
    progress = Progress(10, stream=stopped)
    progress.update(1, 0.1, 1.0, 1.0)
    progress.close(1, diverged=True)
    assert stopped.getvalue().endswith("\nfind_lr stopped after 1 of 10 steps: the loss diverged\n")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(start_lr=0), ValueError, "Argument `start_lr` must be > 0. Received: start_lr=0"),
        (dict(start_lr=1e-2, end_lr=1e-3), ValueError, "Argument `end_lr` must be > start_lr (0.01)"),
        (dict(num_steps=1), ValueError, "Argument `num_steps` must be >= 2. Received: num_steps=1"),
        (dict(batch_size=0), ValueError, "Argument `batch_size` must be > 0"),
        (dict(smoothing=1.0), ValueError, "Argument `smoothing` must be < 1"),
        (dict(diverge_factor=1.0), ValueError, "Argument `diverge_factor` must be > 1"),
        (dict(verbose="loud"), TypeError, "Argument `verbose` must be an integer"),
    ],
    ids=["start_lr", "end_lr", "num_steps", "batch_size", "smoothing", "diverge_factor", "verbose"],
)
def test_find_lr_validates_arguments(kwargs, error, message):
    x, y = regression_data(n=8)
    with pytest.raises(error) as info:
        find_lr(regression_model(1e-3), x, y, **kwargs)
    assert message in str(info.value)


def test_find_lr_needs_a_compiled_model():
    x, y = regression_data(n=8)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="needs a compiled model"):
        find_lr(model, x, y)


# --------------------------------------------------------------------------------------
# Suggestions


@pytest.mark.backend_independent
def test_suggest_minimum_is_a_tenth_of_the_best_rate():
    rates = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    losses = np.array([3.0, 2.0, 0.5, 1.0, 9.0])
    assert suggest_minimum(rates, losses) == pytest.approx(1e-3)


@pytest.mark.backend_independent
def test_suggest_steep_is_the_steepest_fall_against_log_rate():
    rates = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    # Falls per decade: 0.1, 1.5, 0.3, then rises.
    losses = np.array([3.0, 2.9, 1.4, 1.1, 4.0])
    assert suggest_steep(rates, losses) == pytest.approx(1e-3)


@pytest.mark.backend_independent
def test_suggest_valley_hand_example():
    # The longest strictly decreasing run is 6, 5, 4, 3, 2, 1 (indices 0..5, length 6).
    # fastai's bookkeeping: end = 5, start = end - length = -1; (end - start) / 3 = 2,
    # index = -1 + int(2) + int(2 / 2) = 2.
    losses = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 7.0, 8.0])
    rates = 10.0 ** np.arange(-8, 0)
    assert suggest_valley(rates, losses) == pytest.approx(rates[2])


@pytest.mark.backend_independent
def test_suggestions_use_fastais_window():
    # 100 requested steps: the first 10 and the last 5 points are left out.
    rates = 1e-7 * (1e8) ** (np.arange(100) / 99)
    smoothed = np.linspace(5.0, 1.0, 100)
    smoothed[3] = 0.1  # a minimum in the first 10%: ignored
    smoothed[97] = 0.0  # a minimum in the last 5: ignored
    result = LRFinderResult(rates, smoothed, smoothed, False, 100, skip_start=10, skip_end=5)
    assert result.minimum == pytest.approx(rates[94] / 10)
    assert result.suggestions["minimum"] == result.minimum
    assert set(result.suggestions) == {"steep", "minimum", "valley"}


@pytest.mark.backend_independent
def test_suggestions_stop_at_the_first_non_finite_loss():
    rates = 1e-7 * (1e8) ** (np.arange(40) / 39)
    smoothed = np.linspace(5.0, 1.0, 40)
    smoothed[20] = np.nan
    result = LRFinderResult(rates, smoothed, smoothed, True, 40, skip_start=4, skip_end=5)
    # Window: indices 4..14 (20 points kept, minus the last 5); minimum at 14.
    assert result.minimum == pytest.approx(rates[14] / 10)


def test_suggestions_on_a_real_run_are_rates_inside_the_sweep():
    x, y = regression_data()
    result = find_lr(regression_model(1e-3), x, y, num_steps=60, batch_size=16, verbose=0)
    for name in ("steep", "minimum", "valley"):
        value = result.suggestions[name]
        assert value is not None and 1e-8 <= value <= 10.0, name
    as_dict = result.to_dict()
    assert as_dict["suggestions"] == result.suggestions
    assert len(as_dict["rates"]) == len(result.rates)
    assert "suggestions" in repr(result)


@pytest.mark.backend_independent
def test_too_few_points_give_no_suggestion():
    result = LRFinderResult([1e-3], [1.0], [1.0], True, 100, skip_start=10, skip_end=5)
    assert result.suggestions == {"steep": None, "minimum": None, "valley": None}


# --------------------------------------------------------------------------------------
# plot()


@pytest.mark.backend_independent
def test_plot_marks_the_suggestions():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = 1e-6 * (1e6) ** (np.arange(50) / 49)
    smoothed = 2.0 + np.cos(np.linspace(0, 3, 50))
    result = LRFinderResult(rates, smoothed, smoothed, False, 50, skip_start=5, skip_end=5)
    ax = result.plot()
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("steep:") for label in labels)
    assert any(label.startswith("minimum:") for label in labels)
    assert any(label.startswith("valley:") for label in labels)
    curve = ax.get_lines()[0]
    np.testing.assert_allclose(curve.get_xdata(), rates[:45])
    plt.close("all")


@pytest.mark.backend_independent
def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    result = LRFinderResult([1e-3, 1e-2, 1e-1], [1.0, 0.5, 2.0], [1.0, 0.5, 2.0], False, 3, 0, 0)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        result.plot()


def test_divergence_ratio_rule_is_not_applied_to_a_negative_loss():
    # Loss = bias, negative from the second step on: 4 * best is then below any later
    # smoothed value, and the ratio rule would stop the test at once.
    model = bias_model(0.5)
    x = np.zeros((8, 1), "float32")
    result = find_lr(model, x, x, start_lr=1e-3, end_lr=1.0, num_steps=12, batch_size=4, verbose=0)
    assert len(result.rates) == 12 and not result.diverged


@pytest.mark.backend_independent
def test_marked_losses_interpolate_in_log_rate_between_finite_losses():
    from lrschedule.lr_finder import marked_losses

    rates, losses = [1e-3, 1e-2, 1e-1], [1.0, float("nan"), 3.0]
    # 1e-2 is halfway between 1e-3 and 1e-1 in log(rate); beyond the ends the loss holds
    assert marked_losses(rates, losses, [1e-2, 1e-4, 1.0, None]) == [2.0, 1.0, 3.0, None]
    assert marked_losses(rates, [float("nan")] * 3, [1e-2]) == [None]
