"""Property-based tests of ReduceLROnPlateau over a schedule, against Keras's rule.

For random valid parameters (factor, patience, cooldown, min_delta, min_lr, mode), a
random base rate (a constant, a StepDecay that falls below `min_lr`, a rising or
falling Linear) and a random sequence of monitored values, the callback is run
epoch by epoch next to `KerasRule`, an independent re-implementation of
`keras.callbacks.ReduceLROnPlateau.on_epoch_end` (its counters and decision only;
the reduction itself follows the documented `ControlledRate` formula). Checked:

* reductions happen at exactly the epochs Keras's rule gives (patience exhausted,
  not in cooldown, rate still above `min_lr`), with the same `best`, `wait` and
  cooldown counters after every epoch;
* the multiplier never increases, and each reduction multiplies it by `factor`;
* no reduction during cooldown: consecutive reductions are at least
  `max(patience, 1) + max(cooldown - 1, 0)` epochs apart;
* the rate is `max(base * multiplier, min(base, min_lr))` (the `_reduced` formula):
  never below `min_lr` where the base schedule is at or above it, and equal to the
  base where the base itself is below `min_lr` (a reduction never raises it), and
  never above the base.

The first test drives `on_epoch_end` directly (many examples, fast); the second
trains with `fit()` and reads the rate each step really used from the model's bias.
"""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keras import ops

import lrschedule as lrs
from lrschedule import ReduceLROnPlateau

pytestmark = pytest.mark.slow

MONITOR = "signal_loss"  # a name ending in _loss: mode "auto" minimizes it

# --------------------------------------------------------------------------------------
# The reference


class KerasRule:
    """`keras.callbacks.ReduceLROnPlateau.on_epoch_end`, rewritten from its source.

    Keras starts `best` at +inf (min) or -inf (max); a reduction needs
    `old_lr > np.float32(min_lr)`, where `old_lr` is the rate in force now.
    """

    def __init__(self, factor, patience, minimize, min_delta, cooldown, min_lr):
        self.factor, self.patience, self.min_delta = factor, patience, min_delta
        self.cooldown, self.min_lr, self.minimize = cooldown, min_lr, minimize
        self.best = np.inf if minimize else -np.inf
        self.wait = 0
        self.cooldown_counter = 0
        self.multiplier = np.float32(1.0)

    def _improved(self, current):
        if self.minimize:
            return np.less(current, self.best - self.min_delta)
        return np.greater(current, self.best + self.min_delta)

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, current, rate_now):
        """Returns True when this epoch reduces the rate."""
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                if rate_now > np.float32(self.min_lr):
                    # The multiplier is kept as float32, the product taken in float64.
                    self.multiplier = np.float32(float(self.multiplier) * self.factor)
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
                    return True
        return False


def documented_rate(base, multiplier, min_lr):
    """`max(base * multiplier, min(base, min_lr))` in float32, as ControlledRate computes it."""
    base = np.float32(base)
    return max(np.float32(base * np.float32(multiplier)), min(base, np.float32(min_lr)))


# --------------------------------------------------------------------------------------
# Random set-ups

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
FIT_SETTINGS = settings(max_examples=15, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow])

lrs_ = st.floats(1e-3, 1.0)
bases = st.one_of(
    st.tuples(st.just("constant"), lrs_),
    # Bounded so that no rate gets near float32's denormals (which TensorFlow may flush).
    st.tuples(st.just("step"), lrs_, st.integers(3, 6), st.floats(0.5, 0.9)),
    st.tuples(st.just("linear"), lrs_, st.floats(1e-4, 1.0), st.integers(1, 60)),
)
plateau_args = st.fixed_dictionaries({
    "factor": st.floats(0.1, 0.95),
    "patience": st.integers(0, 4),
    "cooldown": st.integers(0, 3),
    "min_delta": st.sampled_from([0.0, 1e-4, 0.5, 1.0]),
    "min_lr": st.one_of(st.just(0.0), st.floats(1e-4, 0.3)),
    "mode": st.sampled_from(["min", "max", "auto"]),
})
# Small integers give ties and plateaus; floats give everything else.
signals = st.lists(st.one_of(st.integers(0, 4).map(float), st.floats(-10.0, 10.0)),
                   min_size=1, max_size=20)


def make_base(spec):
    kind, *args = spec
    if kind == "constant":
        return args[0]
    if kind == "step":
        lr, step_size, gamma = args
        return lrs.StepDecay(lr, step_size=step_size, gamma=gamma)
    start, end, total = args
    return lrs.Linear(start, end, total)


def base_at(spec, base, step):
    """The base rate at `step`, in float32: the held constant, or the schedule's value."""
    if spec[0] == "constant":
        return np.float32(base)
    return np.float32(ops.convert_to_numpy(base(ops.convert_to_tensor(step))))


def rate_at(model, step):
    """The rate at `step`: Keras's variable (a constant base, which the callback
    assigns) or the ControlledRate the callback installed over a schedule."""
    rate = model.optimizer._learning_rate
    if isinstance(rate, keras.Variable):
        return np.float32(ops.convert_to_numpy(rate))
    return np.float32(ops.convert_to_numpy(rate(ops.convert_to_tensor(step))))


class StateView:
    """The callback's rate state as it stands (optimizer/_lrschedule_state)."""

    def __init__(self, model):
        self.model = model

    def _values(self):
        return self.model.optimizer._lrschedule_state.read_all()

    @property
    def multiplier(self):
        return self._values()["multiplier"]

    @property
    def wait(self):
        return int(self._values()["wait"])

    @property
    def cooldown_counter(self):
        return int(self._values()["cooldown_counter"])

    @property
    def best(self):
        best = self._values()["best"]
        return None if np.isnan(best) else best


@keras.saving.register_keras_serializable(package="lrschedule_tests")
def mean_prediction_properties(y_true, y_pred):
    """d loss / d bias = 1 when the inputs are zero: SGD moves the bias by -rate."""
    return ops.mean(y_pred, axis=-1)


def bias_model(base):
    model = keras.Sequential([
        keras.Input((1,)),
        keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=base),
                  loss=mean_prediction_properties)
    return model


def reference_for(args):
    return KerasRule(args["factor"], args["patience"], args["mode"] != "max",
                     args["min_delta"], args["cooldown"], args["min_lr"])


def check_rate(rate, base, multiplier, min_lr):
    """The documented bounds of the rate, then its exact value."""
    floor = np.float32(min_lr)
    assert rate <= base  # a reduction never raises the rate
    if base >= floor:
        assert rate >= floor  # never below min_lr ...
    else:
        assert rate == base  # ... unless the base is: then it is left alone
    np.testing.assert_allclose(rate, documented_rate(base, multiplier, min_lr), rtol=1e-6)


def check_reduction_epochs(reduced_at, args):
    """No reduction in cooldown: the gap after a reduction, whatever the signal."""
    gap = max(args["patience"], 1) + max(args["cooldown"] - 1, 0)
    assert all(b - a >= gap for a, b in zip(reduced_at, reduced_at[1:])), (reduced_at, gap)


# --------------------------------------------------------------------------------------
# The properties


@SETTINGS
@given(spec=bases, args=plateau_args, signal=signals, steps_per_epoch=st.integers(1, 4))
def test_plateau_follows_keras_rule_over_any_base_rate(spec, args, signal, steps_per_epoch):
    base = make_base(spec)
    model = bias_model(base)
    callback = ReduceLROnPlateau(monitor=MONITOR, **args)
    callback.set_model(model)
    callback.on_train_begin()
    controlled = StateView(model)
    reference = reference_for(args)
    iterations = model.optimizer.iterations
    multipliers = [controlled.multiplier]
    reduced_at = []

    for epoch, value in enumerate(signal):
        step = (epoch + 1) * steps_per_epoch  # the optimizer's counter after the epoch
        iterations.assign(step)
        cooldown_at_entry = controlled.cooldown_counter
        rate_now = documented_rate(base_at(spec, base, step), reference.multiplier,
                                   args["min_lr"])
        expected = reference.on_epoch_end(value, rate_now)
        logs = {MONITOR: value}
        callback.on_epoch_end(epoch, logs)

        # The logged rate is the one the epoch's last step used, before any reduction.
        last = step - 1
        np.testing.assert_allclose(
            logs["learning_rate"],
            documented_rate(base_at(spec, base, last), multipliers[-1], args["min_lr"]),
            rtol=1e-6)
        multiplier = controlled.multiplier
        reduced = multiplier != multipliers[-1]
        assert reduced == expected, (epoch, value, multiplier, multipliers[-1])
        if reduced:
            reduced_at.append(epoch)
            assert cooldown_at_entry <= 1  # not in cooldown
            assert multiplier == np.float32(multipliers[-1] * args["factor"])  # by `factor`
        assert multiplier <= multipliers[-1]  # never increases
        assert multiplier == reference.multiplier
        assert controlled.wait == reference.wait
        assert controlled.cooldown_counter == reference.cooldown_counter
        assert controlled.best == np.float32(reference.best)
        multipliers.append(multiplier)

        # The rate of the next epoch's steps, from the callback's ControlledRate.
        for s in (step, step + steps_per_epoch - 1):
            check_rate(rate_at(model, s), base_at(spec, base, s), multiplier, args["min_lr"])

    check_reduction_epochs(reduced_at, args)
    np.testing.assert_allclose(multipliers[-1], args["factor"] ** len(reduced_at), rtol=1e-5)


class SetSignal(keras.callbacks.Callback):
    """Puts the drawn value in the epoch logs (listed before the plateau callback) and
    records the rate each step used: the bias moves by exactly -rate, then is reset."""

    def __init__(self, signal):
        super().__init__()
        self.signal = signal
        self.rates = []

    def on_train_batch_end(self, batch, logs=None):
        bias = self.model.layers[0].bias
        self.rates.append(-float(ops.convert_to_numpy(bias)[0]))
        bias.assign(np.zeros(1, "float32"))

    def on_epoch_end(self, epoch, logs=None):
        logs[MONITOR] = self.signal[epoch]


@FIT_SETTINGS
@given(spec=bases, args=plateau_args,
       signal=st.lists(st.integers(0, 3).map(float), min_size=2, max_size=8),
       batch_size=st.sampled_from([2, 4]))
def test_plateau_in_fit_applies_the_rates_of_keras_rule(spec, args, signal, batch_size):
    base = make_base(spec)
    model = bias_model(base)
    setter = SetSignal(signal)
    x = np.zeros((4, 1), "float32")
    model.fit(x, x, batch_size=batch_size, epochs=len(signal), shuffle=False, verbose=0,
              callbacks=[setter, ReduceLROnPlateau(monitor=MONITOR, **args)])

    steps_per_epoch = 4 // batch_size
    reference = reference_for(args)
    expected_rates, reduced_at = [], []
    for epoch, value in enumerate(signal):
        for k in range(epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch):
            expected_rates.append(documented_rate(base_at(spec, base, k), reference.multiplier,
                                                  args["min_lr"]))
        step = (epoch + 1) * steps_per_epoch
        rate_now = documented_rate(base_at(spec, base, step), reference.multiplier,
                                   args["min_lr"])
        if reference.on_epoch_end(value, rate_now):
            reduced_at.append(epoch)

    np.testing.assert_allclose(setter.rates, expected_rates, rtol=1e-6)
    for k, rate in enumerate(setter.rates):
        base_k = base_at(spec, base, k)
        assert rate <= base_k * (1 + 1e-6)
        if base_k >= np.float32(args["min_lr"]):
            assert rate >= np.float32(args["min_lr"]) * (1 - 1e-6)
    check_reduction_epochs(reduced_at, args)
    assert StateView(model).multiplier == reference.multiplier
