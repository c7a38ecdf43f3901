"""The learning-rate range test: `find_lr()` and its `LRFinderResult`.

Leslie Smith's range test as fastai's `lr_find` runs it: train for a number of
steps while the rate grows exponentially from `start_lr` to `end_lr`, record the
loss of every step and its exponentially smoothed, bias-corrected value, stop early
once the smoothed loss exceeds `diverge_factor` times its best value, then put the
model back exactly as it was (weights, optimizer variables, the optimizer's rate or
schedule).
"""

import math
import sys
from typing import Any

import keras
import numpy as np
from keras import ops

from lrschedule import _validation as check
from lrschedule._keras import (
    groups_of,
    invalidate_train_function,
    print_message,
    rate_object,
    set_rate_object,
    step_count,
)
from lrschedule._queries import current
from lrschedule.inspection import check_axes, require_pyplot

__all__ = ["find_lr", "LRFinderResult"]

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


class _Sweep(_LearningRateSchedule):
    """start * (end / start) ** ((step - first_step) / (num_steps - 1)), for the test only.

    A function of the optimizer step, so it runs inside the compiled train step on
    every backend; not registered for saving (the optimizer gets its own rate back
    before `find_lr` returns).
    """

    def __init__(self, start_lr, end_lr, num_steps, first_step):
        self.start_lr = start_lr
        self.log_ratio = math.log(end_lr / start_lr)
        self.span = float(max(num_steps - 1, 1))
        self.first_step = first_step

    def __call__(self, step):
        position = (ops.cast(step, "float32") - float(self.first_step)) / self.span
        return self.start_lr * ops.exp(self.log_ratio * position)

    def get_config(self):  # pragma: no cover - never serialized
        raise NotImplementedError("the find_lr sweep is not serializable")


def _sweep_groups(model):
    """(optimizer, its rate object, its ratio to the primary group's rate now) for each
    optimizer owning a rate: one, or each of a MultiOptimizer's."""
    groups = groups_of(model)
    now = [current(g.optimizer) for g in groups]
    primary = now[0]
    out = []
    for group, rate in zip(groups, now):
        ratio = rate / primary if primary > 0 and math.isfinite(primary) else 1.0
        if not (ratio > 0 and math.isfinite(ratio)):
            ratio = 1.0
        out.append((group.optimizer, rate_object(group.optimizer), ratio))
    return out


def sweep_rates(start_lr, end_lr, num_steps):
    """The rates of the sweep: `start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))`."""
    i = np.arange(num_steps, dtype=np.float64)
    return start_lr * (end_lr / start_lr) ** (i / max(num_steps - 1, 1))


# --------------------------------------------------------------------------------------
# Suggestions (fastai's rules, on the smoothed losses)


def suggest_minimum(rates, losses):
    """One tenth of the rate with the lowest loss (fastai's "minimum")."""
    return float(rates[int(np.argmin(losses))]) / 10.0


def suggest_steep(rates, losses):
    """The rate where the loss falls fastest against log(rate) (fastai's "steep").

    The slope between points i and i+1 is attributed to point i.
    """
    slopes = np.diff(losses) / np.diff(np.log(rates))
    return float(rates[int(np.argmin(slopes))])


def suggest_valley(rates, losses):
    """fastai's "valley": about two thirds down the longest run of decreasing losses.

    The run is the longest subsequence of strictly decreasing losses; the suggestion
    is the point `start + floor(len/3) + floor(len/6)` of the span it covers.
    """
    n = len(losses)
    run = [1] * n
    end = 0
    start = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and run[i] < run[j] + 1:
                run[i] = run[j] + 1
            if run[end] < run[i]:
                end = i
                start = end - run[end]
    third = (end - start) / 3
    index = start + int(third) + int(third / 2)
    return float(rates[index])


_SUGGESTERS = {"steep": suggest_steep, "minimum": suggest_minimum, "valley": suggest_valley}


class LRFinderResult:
    """What `find_lr()` measured: rates, losses, smoothed losses and suggestions.

    Attributes:
        rates: numpy array, the rate used at each step of the test.
        losses: numpy array, the training loss of each step.
        smoothed_losses: numpy array, the smoothed, bias-corrected losses.
        suggestions: dict of suggested rates, by rule: "steep" (steepest descent of
            the smoothed loss), "minimum" (rate of the lowest smoothed loss / 10,
            fastai's rule) and "valley" (fastai's default). Computed, as fastai
            does, on the smoothed losses without the first `num_steps // 10` and the
            last 5 points (and none after a non-finite loss); None when fewer than
            2 points remain.
        diverged: bool, whether the test stopped early on divergence.
        num_steps: Integer, the steps requested (`len(rates)` may be smaller).
    """

    rates: check.FloatArray
    losses: check.FloatArray
    smoothed_losses: check.FloatArray
    suggestions: dict[str, float | None]
    diverged: bool
    num_steps: int
    skip_start: int
    skip_end: int

    def __init__(self, rates: check.RealList, losses: check.RealList,
                 smoothed_losses: check.RealList, diverged: bool, num_steps: check.Integer,
                 skip_start: check.Integer, skip_end: check.Integer) -> None:
        self.rates = _curve("rates", rates, positive=True)
        self.losses = _curve("losses", losses, length=len(self.rates))
        self.smoothed_losses = _curve("smoothed_losses", smoothed_losses, length=len(self.rates))
        self.diverged = check.boolean("diverged", diverged)
        self.num_steps = check.integer("num_steps", num_steps, minimum=0)
        if self.num_steps < len(self.rates):
            check.fail_value("num_steps", num_steps, f">= the number of rates ({len(self.rates)})")
        self.skip_start = check.integer("skip_start", skip_start, minimum=0)
        self.skip_end = check.integer("skip_end", skip_end, minimum=0)
        self.suggestions = self._suggest()

    def _window(self):
        rates, losses = self.rates, self.smoothed_losses
        finite = np.isfinite(losses)
        if not finite.all():
            first_bad = int(np.argmin(finite))
            rates, losses = rates[:first_bad], losses[:first_bad]
        stop = len(losses) - self.skip_end
        if stop - self.skip_start >= 2:
            return rates[self.skip_start:stop], losses[self.skip_start:stop]
        return rates, losses

    def _suggest(self):
        rates, losses = self._window()
        if len(losses) < 2:
            return {name: None for name in _SUGGESTERS}
        return {name: rule(rates, losses) for name, rule in _SUGGESTERS.items()}

    @property
    def steep(self) -> float | None:
        return self.suggestions["steep"]

    @property
    def minimum(self) -> float | None:
        return self.suggestions["minimum"]

    @property
    def valley(self) -> float | None:
        return self.suggestions["valley"]

    def to_dict(self) -> dict[str, Any]:
        """Plain Python lists and floats (for R, JSON, data frames)."""
        return {
            "rates": self.rates.tolist(),
            "losses": self.losses.tolist(),
            "smoothed_losses": self.smoothed_losses.tolist(),
            "suggestions": dict(self.suggestions),
            "diverged": self.diverged,
        }

    def __repr__(self):
        shown = ", ".join(
            f"{k}={v:.3g}" if v is not None else f"{k}=None" for k, v in self.suggestions.items()
        )
        return (
            f"LRFinderResult({len(self.rates)} steps from {self.rates[0]:.3g} to "
            f"{self.rates[-1]:.3g}{', diverged' if self.diverged else ''}; "
            f"suggestions: {shown})"
            if len(self.rates)
            else "LRFinderResult(no steps)"
        )

    def plot(self, ax: check.Axes | None = None, skip_end: check.Integer | None = None,
             suggestions: bool = True) -> check.Axes:
        """Plots the smoothed loss against the rate (log scale) and marks the suggestions.

        Args:
            ax: A matplotlib Axes to draw on, or None for a new figure.
            skip_end: Integer >= 0 or None: points left out at the end (where the loss
                explodes); None uses the same 5 as the suggestions.
            suggestions: Boolean, whether to mark the suggested rates.

        Returns:
            The matplotlib Axes.
        """
        plt = require_pyplot("LRFinderResult.plot()")
        check_axes("ax", ax)
        skip_end = self.skip_end if skip_end is None else check.integer("skip_end", skip_end, minimum=0)
        suggestions = check.boolean("suggestions", suggestions)
        stop = max(len(self.rates) - skip_end, min(len(self.rates), 2))
        rates, losses = self.rates[:stop], self.smoothed_losses[:stop]
        if ax is None:
            _, ax = plt.subplots()
        ax.plot(rates, losses, label="smoothed loss")
        ax.set_xscale("log")
        ax.set_xlabel("Learning rate")
        ax.set_ylabel("Loss")
        ax.set_title("Learning-rate range test")
        if suggestions:
            colors = plt.rcParams["axes.prop_cycle"].by_key()["color"][1:]
            marked = marked_losses(rates, losses, list(self.suggestions.values()))
            for (name, rate), loss, color in zip(self.suggestions.items(), marked, colors):
                if rate is None or loss is None:
                    continue
                ax.axvline(rate, color=color, linestyle=":", linewidth=1)
                ax.plot([rate], [loss], "o", color=color, label=f"{name}: {rate:.2e}")
            ax.legend(loc="best")
        return ax


def marked_losses(rates, losses, points):
    """The smoothed loss at each rate of `points` (the suggestions), where the plots of
    Python and R mark them: interpolated linearly in log(rate) between the finite
    losses, held beyond the ends; None for a point that is None, or when fewer than
    two losses are finite."""
    rates = np.asarray(rates, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    finite = np.isfinite(losses)
    if finite.sum() < 2:
        return [None] * len(points)
    x, y = np.log(rates[finite]), losses[finite]
    return [None if p is None else float(np.interp(np.log(float(p)), x, y)) for p in points]


def _curve(name, value, *, positive=False, length=None):
    """A 1-D float64 array (finite and > 0 if `positive`) of `length` values if given.

    Losses may be non-finite: a test stops on a non-finite loss, and records it.
    """
    what = "a 1-D list or array of " + ("finite numbers > 0" if positive else "numbers")
    array = check.real_array(name, value, what).astype(np.float64)
    if positive and not np.all(np.isfinite(array) & (array > 0)):
        check.fail_value(name, value, what)
    if length is not None and len(array) != length:
        check.fail_value(name, value, f"{what}, as many as `rates` ({length})")
    return array


# --------------------------------------------------------------------------------------
# Data

_ARRAYS = "a numpy array (or a tensor), or a list/dict of them"


def _leaf_shape(leaf):
    if leaf is None or isinstance(leaf, (str, bytes)):
        return ()
    shape = getattr(leaf, "shape", None)
    try:
        return tuple(np.shape(leaf) if shape is None else shape)
    except Exception:  # noqa: BLE001 - not array-like
        return ()


def _length(name, data):
    """The number of samples of `data`: arrays, or a list/dict of arrays as long.

    Everything that would only fail once training has started (no data, a scalar,
    a string, arrays of different lengths) is refused here, naming `name`.
    """
    if data is None or isinstance(data, (str, bytes)):
        check.fail_type(name, data, _ARRAYS)
    leaves = keras.tree.flatten(data)
    if not leaves:
        check.fail_value(name, data, "arrays with at least one sample")
    lengths = []
    for leaf in leaves:
        shape = _leaf_shape(leaf)
        if not shape:
            check.fail_type(name, data, _ARRAYS)
        lengths.append(shape[0])
    if len(set(lengths)) > 1:
        check.fail_value(name, data, f"arrays with the same number of samples (they have {lengths})")
    if not lengths[0]:
        check.fail_value(name, data, "arrays with at least one sample")
    return int(lengths[0])


def _take(data, index):
    if data is None:
        return None
    return keras.tree.map_structure(lambda a: np.asarray(a)[index], data)


def _array_batches(x, y, sample_weight, n, batch_size, shuffle, seed):
    """Endless batches over the arrays (of `n` samples, n > 0): a new pass (reshuffled)
    whenever one ends."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n) if shuffle else np.arange(n)
        for begin in range(0, n, batch_size):
            index = order[begin:begin + batch_size]
            yield _take(x, index), _take(y, index), _take(sample_weight, index)


_BATCHES = "a source of batches `(x, y)` or `(x, y, sample_weight)` when `y` is None"


def _is_batch(item):
    return isinstance(item, (tuple, list)) and len(item) in (2, 3)


def _dataset_batches(dataset):
    """Batches from an iterable of `(x, y)` or `(x, y, sample_weight)`, re-iterated when it ends."""
    while True:
        produced = False
        for item in dataset:
            produced = True
            if not _is_batch(item):
                check.fail_value("x", dataset, f"{_BATCHES}; it yielded {type(item).__name__}")
            yield item[0], item[1], item[2] if len(item) == 3 else None
        if not produced or iter(dataset) is dataset:
            return


def _yields_batches(x):
    """With `y=None`: whether `x` is a source of batches rather than input arrays."""
    return (
        not isinstance(x, (np.ndarray, dict, str, bytes))
        and not hasattr(x, "__array__")
        and hasattr(x, "__iter__")
    )


# --------------------------------------------------------------------------------------
# find_lr


class Progress:
    """find_lr's progress: a live bar on a terminal, plain lines anywhere else.

    Keras's `Progbar` writes terminal escape codes and carriage returns whenever Python
    runs on a POSIX system, so a log, a pipe, knitr or R's console under reticulate
    gets them as text. Here a stream that is not a terminal gets plain lines: about
    ten over the test, each with the step, the rate and the losses, and the last one.
    With Keras's interactive logging off (`keras.config.disable_interactive_logging()`)
    the lines go to Keras's logging instead (absl), as Keras's own messages do.
    """

    def __init__(self, total, stream=None):
        self.total = total
        self.stream = stream
        self.every = max(1, -(-total // 10))  # about ten lines
        self.last_line = 0
        self.live_open = False

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _live(self):
        out = self._out()
        try:
            return bool(out.isatty()) and keras.config.is_interactive_logging_enabled()
        except (AttributeError, ValueError):
            return False

    @staticmethod
    def _fields(rate, loss, smooth):
        return f"lr {rate:.3g} - loss {loss:.4g} - smoothed_loss {smooth:.4g}"

    def update(self, step, rate, loss, smooth):
        if self._live():
            width = 30
            done = int(width * step / self.total)
            bar = "=" * max(done - 1, 0) + (">" if done < width else "=") + "." * (width - done)
            text = f"\r{step:>{len(str(self.total))}}/{self.total} [{bar}] {self._fields(rate, loss, smooth)}"
            self._out().write(text)
            self._out().flush()
            self.live_open = True
        elif step == 1 or step % self.every == 0 or step == self.total:
            self._line(f"find_lr step {step}/{self.total}: {self._fields(rate, loss, smooth)}")
            self.last_line = step

    def _line(self, text):
        if self.stream is None and not keras.config.is_interactive_logging_enabled():
            print_message(text)
            return
        self._out().write(text + "\n")
        self._out().flush()

    def close(self, steps, diverged):
        if self.live_open:
            self._out().write("\n")
            self.live_open = False
        if diverged or steps < self.total:
            why = "the loss diverged" if diverged else "the batches ran out"
            self._line(f"find_lr stopped after {steps} of {self.total} steps: {why}")
        self._out().flush()


def find_lr(
    model: check.KerasModel,
    x: Any,
    y: Any = None,
    start_lr: check.Real = 1e-7,
    end_lr: check.Real = 10.0,
    num_steps: check.Integer = 100,
    batch_size: check.Integer = 32,
    smoothing: check.Real = 0.98,
    diverge_factor: check.Real | None = 4.0,
    *,
    sample_weight: Any = None,
    shuffle: bool = True,
    seed: check.Integer | None = None,
    verbose: check.Integer = 1,
) -> LRFinderResult:
    """Runs a learning-rate range test on a compiled model and restores it afterwards.

    Step `i` (of `num_steps`) trains one batch at
    `rate_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))`.
    The loss of each step is smoothed as fastai does:
    `avg_i = smoothing * avg_{i-1} + (1 - smoothing) * loss_i`, reported as
    `avg_i / (1 - smoothing ** (i + 1))`. The test stops early when the smoothed loss
    exceeds `diverge_factor` times the lowest smoothed loss so far, or a loss is not
    finite (the ratio rule applies while the best smoothed loss is positive).
    Batches cycle through the data (reshuffled at each pass) for as many steps as
    needed.

    Afterwards every model variable and every optimizer variable (slots, the
    iteration counter, a learning-rate variable) is set back to its value before the
    test, bit for bit, and the optimizer gets back its own rate or schedule, even when
    the test fails. The model is built first if needed, and so is the optimizer, so
    that its state before the test exists to be restored.

    With a `keras.optimizers.MultiOptimizer` (per-layer rates), the rates of the test
    are those of its default optimizer, and every other optimizer sweeps the same rates
    times its ratio to the default's rate before the test (one common multiplier), so
    the suggestions are rates for the default optimizer and keep the per-layer ratios.
    Under gradient accumulation every batch is a micro-batch: the rates change per
    batch, and the weights only at every update.

    Args:
        model: A compiled Keras model.
        x: Input arrays (a numpy array, or a list/dict of them), or, with `y=None`, an
            iterable of batches `(x, y)` or `(x, y, sample_weight)` (a list of
            batches, a `tf.data.Dataset`...), re-iterated when it ends.
        y: Target arrays (as many samples as `x`), or None when `x` yields batches.
        start_lr: A float > 0, the first rate. Defaults to 1e-7.
        end_lr: A float > start_lr, the last rate. Defaults to 10.
        num_steps: Integer >= 2, the number of steps (batches). Defaults to 100.
        batch_size: Integer > 0, used with arrays. Defaults to 32.
        smoothing: A float in [0, 1), the smoothing factor of the loss. Defaults to 0.98.
        diverge_factor: A float > 1, or None to never stop early. Defaults to 4.
        sample_weight: Optional sample weights (as many as the samples), with arrays
            only: batches carry their own.
        shuffle: Boolean, whether to shuffle arrays at each pass. Defaults to True.
        seed: Integer or None, seed of the shuffling. Defaults to None.
        verbose: Integer >= 0. 1 shows the progress: a live bar on a terminal, plain
            lines (about ten, and the last step) when the output goes to a file, a pipe,
            a notebook, R's console or a log. Defaults to 1.

    Returns:
        An `LRFinderResult` with `rates`, `losses`, `smoothed_losses`, `suggestions`
        (`steep`, `minimum`, `valley`) and `plot()`.

    Example:

        model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
        result = lrschedule.find_lr(model, x_train, y_train, num_steps=100)
        result.suggestions["steep"]; result.plot()
    """
    start_lr = check.positive("start_lr", start_lr)
    end_lr = check.positive("end_lr", end_lr)
    if end_lr <= start_lr:
        check.fail_value("end_lr", end_lr, f"> start_lr ({start_lr:g})")
    num_steps = check.integer("num_steps", num_steps, minimum=2)
    batch_size = check.count("batch_size", batch_size)
    smoothing = check.number("smoothing", smoothing, minimum=0.0, maximum=1.0, max_inclusive=False)
    if diverge_factor is not None:
        diverge_factor = check.number("diverge_factor", diverge_factor, minimum=1.0, min_inclusive=False)
    shuffle = check.boolean("shuffle", shuffle)
    if seed is not None:
        seed = check.integer("seed", seed, minimum=0)
    verbose = check.integer("verbose", verbose, minimum=0)
    if not isinstance(model, keras.Model):
        check.fail_type("model", model, "a compiled keras.Model")
    if getattr(model, "optimizer", None) is None:
        check.fail_value(
            "model", model, "a compiled model (find_lr() needs a compiled model: call "
            "model.compile(optimizer=..., loss=...) first)",
        )

    # The data is checked before anything is built or trained.
    if y is None and _yields_batches(x):
        if sample_weight is not None:
            check.fail_value(
                "sample_weight", sample_weight,
                "None when `x` yields batches (give each batch as `(x, y, sample_weight)`)",
            )
        if isinstance(x, (list, tuple)):
            for i, item in enumerate(x):
                if not _is_batch(item):
                    check.fail_value("x", x, f"{_BATCHES}; item {i} is a {type(item).__name__}")
        batches = _dataset_batches(x)
    else:
        n = _length("x", x)
        if y is None:
            check.fail_value(
                "y", y, "target arrays when `x` holds input arrays (None only when `x` "
                "yields batches `(x, y)`)",
            )
        if _length("y", y) != n:
            check.fail_value("y", y, f"arrays with as many samples as x ({n})")
        if sample_weight is not None and _length("sample_weight", sample_weight) != n:
            check.fail_value("sample_weight", sample_weight, f"arrays with as many samples as x ({n})")
        batches = _array_batches(x, y, sample_weight, n, batch_size, shuffle, seed)

    first = next(batches, None)
    if first is None:
        check.fail_value("x", x, "a source of at least one batch")
    if not model.built:
        model(first[0])
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)

    model_values = [np.array(ops.convert_to_numpy(v), copy=True) for v in model.variables]
    optimizer_values = [np.array(ops.convert_to_numpy(v), copy=True) for v in model.optimizer.variables]
    # Every optimizer of a MultiOptimizer sweeps: the primary group the rates of the
    # test, the others the same rates times their ratio to it now (a common multiplier).
    groups = _sweep_groups(model)
    rates = sweep_rates(start_lr, end_lr, num_steps)

    used, losses, smoothed = [], [], []
    diverged = False
    progbar = Progress(num_steps) if verbose else None
    try:
        for optimizer, original, ratio in groups:
            if not isinstance(original, keras.Variable):
                set_rate_object(optimizer, _Sweep(start_lr * ratio, end_lr * ratio, num_steps,
                                                 step_count(optimizer)))
        invalidate_train_function(model)
        average = 0.0
        best = math.inf
        batch = first
        for i in range(num_steps):
            if i:
                batch = next(batches, None)
                if batch is None:
                    break
            for _, original, ratio in groups:
                if isinstance(original, keras.Variable):
                    original.assign(rates[i] * ratio)
            xb, yb, wb = batch
            # The returned loss is the loss tracker's running mean; reset it so that it
            # is this batch's loss (train_on_batch's own reset is not applied everywhere).
            model.reset_metrics()
            logs = model.train_on_batch(xb, yb, sample_weight=wb, return_dict=True)
            loss = float(ops.convert_to_numpy(logs["loss"]))
            average = smoothing * average + (1.0 - smoothing) * loss
            smooth = average / (1.0 - smoothing ** (i + 1))
            used.append(rates[i])
            losses.append(loss)
            smoothed.append(smooth)
            if progbar is not None:
                progbar.update(i + 1, rates[i], loss, smooth)
            best = min(best, smooth)
            # The ratio rule assumes a positive loss (as fastai's does); with a loss
            # that can be <= 0 only a non-finite loss stops the test.
            if not math.isfinite(loss) or (
                diverge_factor is not None and best > 0 and smooth > diverge_factor * best
            ):
                diverged = True
                break
    finally:
        for optimizer, original, _ in groups:
            if not isinstance(original, keras.Variable):
                set_rate_object(optimizer, original)
        invalidate_train_function(model)
        for variable, value in zip(model.variables, model_values):
            variable.assign(value)
        for variable, value in zip(model.optimizer.variables, optimizer_values):
            variable.assign(value)
        if progbar is not None:
            progbar.close(len(used), diverged)
    return LRFinderResult(
        used, losses, smoothed, diverged, num_steps, skip_start=num_steps // 10, skip_end=5
    )
