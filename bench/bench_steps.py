"""What scheduling costs per training step, and what inspecting a schedule costs.

Not a test: it prints figures. Every variant trains the same model in this one
process and is compiled and warmed up by a first fit. Then, round after round, each
variant runs a short fit paired with a fit of the constant-rate model, the two back to
back in alternating order, and the variant's steps/s is divided by its partner's: a
ratio taken over a fraction of a second, so the drift of a shared machine between
rounds cancels out. Steps/s is timed inside fit(), from on_train_begin to
on_train_end (per-epoch callback work included, data set-up excluded), by a
callback that only reads the clock. Reported: median steps/s, and the median of the
per-round ratios with their min-max and interquartile range. "constant (a second
model)" is the same constant-rate setup as the reference: its spread is the noise
floor of the run.

    .venv/bin/python bench/bench_steps.py [--rounds 1.0] [--quick]
"""

import argparse
import functools
import os
import platform
import statistics
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import lrschedule as lrs  # noqa: E402

K = keras.optimizers.schedules
TOTAL = 100_000  # schedules are sized for a long run; the benchmark sees their start


def our_schedules():
    return {
        "Constant": lambda: lrs.Constant(1e-3),
        "Linear": lambda: lrs.Linear(1e-4, 1e-3, TOTAL),
        "StepDecay": lambda: lrs.StepDecay(1e-3, 100, 0.9),
        "MultiStepDecay": lambda: lrs.MultiStepDecay(1e-3, [100, 200, 300, 400], 0.5),
        "OneCycle": lambda: lrs.OneCycle(1e-2, TOTAL),
        "Cyclic": lambda: lrs.Cyclic(1e-4, 1e-3, step_size_up=50, mode="triangular2"),
        "WarmupStableDecay": lambda: lrs.WarmupStableDecay(1e-3, 100, 1000, 1000, "cosine",
                                                           "1-sqrt", 0.1),
        "InverseSqrt": lambda: lrs.InverseSqrt(1e-3, 100),
        "Warmup(CosineDecay)": lambda: lrs.Warmup(K.CosineDecay(1e-3, TOTAL), 100),
        "Sequence": lambda: lrs.Sequence([lrs.Linear(0.0, 1e-3, 100), K.CosineDecay(1e-3, TOTAL)],
                                         [100]),
        "PerEpoch": lambda: lrs.PerEpoch(lrs.StepDecay(1e-3, 1, 0.9), 100),
        "Tabulated(100k)": lambda: lrs.Tabulated((1e-3 * 0.99999 ** np.arange(TOTAL)).tolist()),
    }


def keras_schedules():
    return {
        "ExponentialDecay": lambda: K.ExponentialDecay(1e-3, 100, 0.9),
        "PiecewiseConstantDecay": lambda: K.PiecewiseConstantDecay([100, 200], [1e-3, 5e-4, 1e-4]),
        "PolynomialDecay": lambda: K.PolynomialDecay(1e-3, TOTAL),
        "InverseTimeDecay": lambda: K.InverseTimeDecay(1e-3, 100, 0.5),
        "CosineDecay(warmup)": lambda: K.CosineDecay(0.0, TOTAL, warmup_target=1e-3,
                                                     warmup_steps=100),
        "CosineDecayRestarts": lambda: K.CosineDecayRestarts(1e-3, 100),
    }


# Keras's schedules timed in training (all six are in the inspection table).
TRAINED_KERAS = ("ExponentialDecay", "CosineDecay(warmup)")


class NaivePerBatch(keras.callbacks.Callback):
    """What users write today: assign the rate from Python before every batch."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.step = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(self.fn(self.step))
        self.step += 1


class Clock(keras.callbacks.Callback):
    """Reads the clock around training and around its steps; nothing else.

    `steps_seconds` runs from the first batch's start to the last batch's end (the
    train steps and every per-batch callback); `epoch_seconds` is the rest of fit()'s
    training loop: per-epoch callback work. The same Clock is passed first and last
    in the callbacks list, so it brackets the other callbacks' work.
    """

    def on_train_begin(self, logs=None):
        if getattr(self, "begin", None) is None:
            self.begin = time.perf_counter()
            self.first = None

    def on_train_batch_begin(self, batch, logs=None):
        if self.first is None:
            self.first = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.last = time.perf_counter()

    def on_train_end(self, logs=None):
        total = time.perf_counter() - self.begin  # the second call (last in the list) wins
        self.steps_seconds = self.last - self.first
        self.epoch_seconds = total - self.steps_seconds


def variants():
    out = {"constant": lambda: (1e-3, []), "constant (a second model)": lambda: (1e-3, [])}
    for name in TRAINED_KERAS:
        out[f"keras {name}"] = lambda make=keras_schedules()[name]: (make(), [])
    for name, make in our_schedules().items():
        out[f"lrschedule {name}"] = lambda make=make: (make(), [])
    out["ScheduleLR(python fn)"] = lambda: (1e-3, [lrs.ScheduleLR(lambda e: 1e-3 * 0.9 ** e)])
    out["ReduceLROnPlateau(OneCycle)"] = lambda: (
        lrs.OneCycle(1e-2, TOTAL), [lrs.ReduceLROnPlateau(monitor="loss", patience=2)])
    out["ReduceLROnPlateau(OneCycle, decay_steps)"] = lambda: (
        lrs.OneCycle(1e-2, TOTAL),
        [lrs.ReduceLROnPlateau(monitor="loss", patience=2, decay_steps=500, decay_type="cosine")])
    out["OneCycle + beta_1 OneCycle.momentum()"] = lambda: (
        lrs.OneCycle(1e-2, TOTAL), [], lambda rate: lrs.optimizers.Adam(rate, rate.momentum()))
    for name, make in hyperparameter_optimizers().items():
        out[name] = lambda make=make: (None, [], lambda rate: make())
    out["LRLogger(per batch)"] = lambda: (lrs.OneCycle(1e-2, TOTAL), [lrs.LRLogger(per="batch")])
    out["naive per-batch python callback"] = lambda: (
        1e-3, [NaivePerBatch(lambda s: 1e-3 * 0.99999 ** s)])
    return out


MODELS = {
    "tiny: Dense(1) on 4 features, batch 32": dict(inputs=4, hidden=[], outputs=1, batch=32,
                                                   steps=40, rounds=40),
    "MLP 32-256-256-10, batch 64": dict(inputs=32, hidden=[256, 256], outputs=10, batch=64,
                                        steps=40, rounds=12),
}


def build(spec, learning_rate, optimizer=None):
    layers = [keras.Input((spec["inputs"],))]
    layers += [keras.layers.Dense(h, activation="relu") for h in spec["hidden"]]
    layers.append(keras.layers.Dense(spec["outputs"]))
    model = keras.Sequential(layers)
    optimizer = (optimizer or keras.optimizers.Adam)(learning_rate)
    model.compile(optimizer=optimizer, loss="mse")
    return model


def bench_training(spec, rounds):
    """Per variant: steps/s and ratios to the paired constant run, per round, and the
    per-epoch callback time beyond the constant run's (ms)."""
    rng = np.random.default_rng(0)
    steps = spec["steps"]
    n = steps * spec["batch"]
    x = rng.normal(size=(n, spec["inputs"])).astype("float32")
    y = rng.normal(size=(n, spec["outputs"])).astype("float32")
    runs = {}
    for name, make in variants().items():
        rate, callbacks, *optimizer = make()
        model = build(spec, rate, *optimizer)
        model.fit(x, y, batch_size=spec["batch"], epochs=1, verbose=0, callbacks=callbacks)
        runs[name] = (model, callbacks)

    def timed_fit(name):
        model, callbacks = runs[name]
        clock = Clock()
        model.fit(x, y, batch_size=spec["batch"], epochs=1, verbose=0,
                  callbacks=[clock, *callbacks, clock], shuffle=False)
        return steps / clock.steps_seconds, clock.epoch_seconds

    others = [name for name in runs if name != "constant"]
    speed = {name: [] for name in runs}
    ratios = {name: [1.0] for name in runs}
    epoch_ms = {name: [0.0] for name in runs}
    for name in others:
        ratios[name], epoch_ms[name] = [], []
    for r in range(rounds):
        shift = r % len(others)
        for name in others[shift:] + others[:shift]:
            pair = ("constant", name) if r % 2 == 0 else (name, "constant")
            measured = {member: timed_fit(member) for member in pair}
            (v_speed, v_epoch), (c_speed, c_epoch) = measured[name], measured["constant"]
            speed[name].append(v_speed)
            speed["constant"].append(c_speed)
            ratios[name].append(v_speed / c_speed)
            epoch_ms[name].append(1000 * (v_epoch - c_epoch))
    return speed, ratios, epoch_ms


def summary(values):
    """median, min, max, first and third quartile."""
    if len(values) == 1:
        return values[0], values[0], values[0], values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4)
    return statistics.median(values), min(values), max(values), q1, q3


def print_training(title, speed, ratios, epoch_ms):
    print(f"\n## {title}")
    print(f"{'variant':40s} {'steps/s':>8s} {'ratio vs constant':>18s} {'(min-max)':>13s} "
          f"{'IQR':>12s} {'+ms/epoch':>10s}")
    for name in speed:
        med, low, high, q1, q3 = summary(ratios[name])
        print(f"{name:40s} {statistics.median(speed[name]):8.0f} {med:18.3f} "
              f"({low:.3f}-{high:.3f}) {q1:.3f}-{q3:.3f} {statistics.median(epoch_ms[name]):10.1f}")


def bench_compiled_step(calls=500, repeats=9):
    """Microseconds a schedule adds to the compiled optimizer step.

    Adam's `apply()` on the tiny model's two variables, inside one tf.function per
    rate, called `calls` times per repeat in rotating order; median per call, minus
    the constant rate's. This isolates the schedule's own cost from fit()'s noise.
    """
    rates = {"constant": lambda: 1e-3}
    rates.update({f"lrschedule {k}": v for k, v in our_schedules().items()})
    rates["ControlledRate(OneCycle) (ReduceLROnPlateau's)"] = lambda: lrs.ControlledRate(
        lrs.OneCycle(1e-2, TOTAL), multiplier=0.1)
    rates["ControlledRate(OneCycle), smooth reduction"] = lambda: lrs.ControlledRate(
        lrs.OneCycle(1e-2, TOTAL), multiplier=0.1, decay_type="cosine", decay_from=1.0,
        decay_start=0, decay_steps=TOTAL)
    rates.update({f"keras {k}": v for k, v in keras_schedules().items()})
    optimizers = {name: lambda make=make: keras.optimizers.Adam(make())
                  for name, make in rates.items()}
    one_cycle = lrs.OneCycle(1e-2, TOTAL)
    optimizers["lrschedule OneCycle + beta_1 OneCycle.momentum()"] = (
        lambda: lrs.optimizers.Adam(one_cycle, beta_1=one_cycle.momentum()))
    optimizers["constant + beta_1 OneCycle.momentum()"] = (
        lambda: lrs.optimizers.Adam(1e-3, beta_1=one_cycle.momentum()))
    times = time_compiled_steps(optimizers, calls, repeats)
    base = statistics.median(times["constant"])
    return base, {name: statistics.median(t) - base for name, t in times.items()}


def hyperparameter_optimizers():
    """AdamW with a scheduled rate alone, then with one and three hyperparameters
    scheduled too (weight decay; weight decay, beta_1, beta_2)."""
    def rate():
        return lrs.OneCycle(1e-2, TOTAL)

    def weight_decay():
        return K.CosineDecay(0.05, TOTAL)

    return {
        "AdamW, OneCycle rate alone": lambda: lrs.optimizers.AdamW(rate(), weight_decay=0.05),
        "AdamW, + weight_decay CosineDecay": lambda: lrs.optimizers.AdamW(
            rate(), weight_decay=weight_decay()),
        "AdamW, + weight_decay, beta_1, beta_2": lambda: lrs.optimizers.AdamW(
            rate(), weight_decay=weight_decay(), beta_1=rate().momentum(),
            beta_2=lrs.Linear(0.99, 0.999, TOTAL)),
    }


def bench_hyperparameters(calls=500, repeats=9):
    """Microseconds per compiled AdamW.apply() with 1 and 3 scheduled hyperparameters
    beside the scheduled rate alone, and the ratios."""
    times = time_compiled_steps(hyperparameter_optimizers(), calls, repeats)
    medians = {name: statistics.median(t) for name, t in times.items()}
    base = medians["AdamW, OneCycle rate alone"]
    # per-repeat ratios to the rate alone (the same repeat: the drift cancels)
    alone = times["AdamW, OneCycle rate alone"]
    ratios = {name: summary([a / b for a, b in zip(t, alone)]) for name, t in times.items()}
    return base, medians, ratios


def time_compiled_steps(optimizers, calls, repeats):
    """{name: [microseconds per call, per repeat]} of each optimizer's apply() on the
    tiny model's two variables, in one tf.function each, in rotating order."""
    import tensorflow as tf

    steps = {}
    for name, make in optimizers.items():
        optimizer = make()
        variables = [keras.Variable(np.zeros((4, 1), "float32")),
                     keras.Variable(np.zeros((1,), "float32"))]
        optimizer.build(variables)
        grads = [tf.ones((4, 1)), tf.ones((1,))]
        step = tf.function(functools.partial(optimizer.apply, grads, variables))
        step()
        steps[name] = step
    times = {name: [] for name in steps}
    names = list(steps)
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            start = time.perf_counter()
            for _ in range(calls):
                steps[name]()
            times[name].append((time.perf_counter() - start) / calls * 1e6)
    return times


def bench_inspection(n=1_000_000, sample=200):
    rows = []
    schedules = {**{f"lrschedule {k}": v for k, v in our_schedules().items()},
                 **{f"keras {k}": v for k, v in keras_schedules().items()}}
    steps = np.arange(n)
    for name, make in schedules.items():
        schedule = make()
        lrs.values(schedule, range(10))
        times = []
        for _ in range(3):
            start = time.perf_counter()
            lrs.values(schedule, steps)
            times.append(time.perf_counter() - start)
        picks = np.linspace(0, n - 1, sample).astype(int)
        start = time.perf_counter()
        for s in picks:
            ops.convert_to_numpy(schedule(int(s)))
        per_call = (time.perf_counter() - start) / sample
        rows.append((name, min(times) * 1000, per_call * 1000, per_call * n))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=float, default=1.0,
                        help="multiplies each model's number of rounds (40 tiny, 12 MLP)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the rounds")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 0.1
    began = time.perf_counter()
    # The schedules are sized for a long run that the short fits only start.
    warnings.filterwarnings("ignore", category=lrs.HorizonWarning)
    print(f"# lrschedule {lrs.__version__}, keras {keras.__version__} "
          f"({keras.backend.backend()}), {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    tiny_step_us = None
    for label, spec in MODELS.items():
        rounds = max(2, round(spec["rounds"] * args.rounds))
        speed, ratios, epoch_ms = bench_training(spec, rounds)
        tiny_step_us = tiny_step_us or 1e6 / statistics.median(speed["constant"])
        print_training(f"Training step time, Python — {label}; {rounds} rounds, "
                       f"fits of {spec['steps']} steps paired with constant",
                       speed, ratios, epoch_ms)
    base, added = bench_compiled_step()
    print(f"\n## Inside the compiled step: microseconds a rate adds to Adam.apply() "
          f"(tf.function; constant rate {base:.0f} us/call)")
    print(f"{'rate':52s} {'+us/step':>9s} {'% of a tiny-model step':>23s}")
    for name, us in added.items():
        print(f"{name:52s} {us:9.1f} {100 * us / tiny_step_us:22.1f}%")
    base, medians, ratios = bench_hyperparameters()
    print(f"\n## Scheduled hyperparameters inside the compiled step: AdamW.apply() "
          f"(tf.function), against the scheduled rate alone ({base:.0f} us/call)")
    print(f"{'optimizer':40s} {'us/call':>8s} {'time ratio':>10s} {'(min-max)':>13s} {'IQR':>12s}")
    for name, us in medians.items():
        med, low, high, q1, q3 = ratios[name]
        print(f"{name:40s} {us:8.0f} {med:10.3f} ({low:.3f}-{high:.3f}) {q1:.3f}-{q3:.3f}")
    print("\n## Inspection: 1,000,000 steps, lrschedule.values() vs one call per step")
    print(f"{'schedule':42s} {'values() ms':>12s} {'per call ms':>12s} {'loop of 1e6 s':>14s}")
    for name, vec_ms, call_ms, loop_s in bench_inspection():
        print(f"{name:42s} {vec_ms:12.1f} {call_ms:12.3f} {loop_s:14.0f}")
    print(f"\n(Python benchmark: {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
