"""What the callbacks' rate state costs on JAX, and what saving a table costs.

Not a test: it prints figures.

1. JAX fits (run with KERAS_BACKEND=jax; `make bench` does): an MLP 32-256-256-1 on
   512 rows, batch 32, 12 epochs. Each variant is paired with its Keras or
   no-callback counterpart; every model is compiled by a first fit, then each round
   times one 12-epoch fit of both members of each pair, back to back in alternating
   order, and divides the variant's time by its partner's. Reported: the median
   ratio over the rounds with its min-max, and the train-step traces (compiles) of
   the first fit and of all the timed fits. Before 0.2.0 the rate state was outside
   the optimizer's variables and JAX rebuilt the step after every change: 6.7x and
   7.2x for the first two pairs.
2. Tables: a `Tabulated` schedule of n steps in a model of five weights, saved to a
   `.keras` file and loaded back: time and file size, in the binary format and in
   0.1.0's JSON list (written here by hand; both load).

    KERAS_BACKEND=jax .venv/bin/python bench/bench_rate_state.py [--rounds 7]
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lrschedule as lrs  # noqa: E402

EPOCHS, BATCH, ROWS = 12, 32, 512
STEPS = EPOCHS * ROWS // BATCH


def mlp(rate):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((32,)),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="mse")
    return model


class Flat(keras.callbacks.Callback):
    """A monitored value that never improves: the plateau reduces at every epoch end."""

    def on_epoch_end(self, epoch, logs=None):
        logs["flat"] = 1.0


def decay(epoch):
    return 1e-3 * 0.9**epoch


PAIRS = {
    "ScheduleLR(fn) vs keras LearningRateScheduler(fn)": (
        lambda: (1e-3, [lrs.ScheduleLR(decay)]),
        lambda: (1e-3, [keras.callbacks.LearningRateScheduler(decay)]),
    ),
    "ReduceLROnPlateau(OneCycle), a reduction per epoch, vs OneCycle": (
        lambda: (lrs.OneCycle(1e-2, STEPS),
                 [Flat(), lrs.ReduceLROnPlateau("flat", factor=0.9, patience=0, mode="min")]),
        lambda: (lrs.OneCycle(1e-2, STEPS), []),
    ),
    "ScheduleLR + ReduceLROnPlateau vs keras LearningRateScheduler": (
        lambda: (1e-3, [lrs.ScheduleLR(decay), Flat(),
                        lrs.ReduceLROnPlateau("flat", factor=0.9, patience=0, mode="min")]),
        lambda: (1e-3, [keras.callbacks.LearningRateScheduler(decay)]),
    ),
    "LRLogger(per='batch') over OneCycle vs OneCycle": (
        lambda: (lrs.OneCycle(1e-2, STEPS), [lrs.LRLogger(per="batch")]),
        lambda: (lrs.OneCycle(1e-2, STEPS), []),
    ),
}


class Member:
    """One model and its callbacks; counts the Python calls of its train step (traces)."""

    def __init__(self, make):
        rate, self.callbacks = make()
        self.model = mlp(rate)
        self.traces = 0
        original = self.model.train_step

        def train_step(*args, **kwargs):
            self.traces += 1
            return original(*args, **kwargs)

        self.model.train_step = train_step

    def fit(self, x, y):
        start = time.perf_counter()
        self.model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, shuffle=False,
                       callbacks=self.callbacks)
        return time.perf_counter() - start


def bench_fits(rounds):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 32)).astype("float32")
    y = rng.normal(size=(ROWS, 1)).astype("float32")
    rows = []
    for name, (make_ours, make_theirs) in PAIRS.items():
        ours, theirs = Member(make_ours), Member(make_theirs)
        first = (ours.fit(x, y), theirs.fit(x, y))
        first_traces = (ours.traces, theirs.traces)
        ratios = []
        for r in range(rounds):
            order = (ours, theirs) if r % 2 == 0 else (theirs, ours)
            seconds = {id(member): member.fit(x, y) for member in order}
            ratios.append(seconds[id(ours)] / seconds[id(theirs)])
        later = (ours.traces - first_traces[0], theirs.traces - first_traces[1])
        rows.append((name, ratios, first, first_traces, later))
    return rows


def saved(schedule, path, as_json_list=False):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])  # five weights
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    model.fit(np.zeros((2, 4)), np.zeros((2, 1)), verbose=0)
    if as_json_list:  # what 0.1.0 wrote
        schedule.get_config = lambda: {"values": schedule.values}
    start = time.perf_counter()
    model.save(path)
    save_s = time.perf_counter() - start
    start = time.perf_counter()
    keras.models.load_model(path, safe_mode=True)
    load_s = time.perf_counter() - start
    return save_s, load_s, os.path.getsize(path)


def bench_tables(repeats=3):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        saved(lrs.Tabulated([1e-3]), os.path.join(tmp, "warm.keras"))
        for n in (10_000, 100_000, 1_000_000):
            steps = np.arange(n)
            # A warmup then a cosine decay, as a user's function would give.
            rates = np.where(steps < n // 100, 1e-3 * steps / (n // 100),
                             5e-4 * (1 + np.cos(np.pi * steps / n)))
            for label, as_list in (("binary (now)", False), ("JSON list (0.1.0)", True)):
                runs = [saved(lrs.Tabulated(rates), os.path.join(tmp, f"t{n}.keras"), as_list)
                        for _ in range(repeats)]
                save_s = statistics.median(r[0] for r in runs)
                load_s = statistics.median(r[1] for r in runs)
                rows.append((n, label, save_s, load_s, runs[0][2]))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7, help="timed fits per member (>= 5)")
    args = parser.parse_args()
    print(f"# lrschedule {lrs.__version__}, keras {keras.__version__} "
          f"({keras.backend.backend()}), {os.cpu_count()} cores")
    print(f"\n## Fits on {keras.backend.backend()}: MLP 32-256-256-1, {ROWS} rows, batch {BATCH}, "
          f"{EPOCHS} epochs; {args.rounds} rounds, paired")
    print(f"{'pair':66s} {'ratio':>6s} {'(min-max)':>13s} {'first fit s':>12s} "
          f"{'traces: first fit':>18s} {'timed fits':>11s}")
    for name, ratios, first, first_traces, later in bench_fits(args.rounds):
        print(f"{name:66s} {statistics.median(ratios):6.3f} ({min(ratios):.3f}-{max(ratios):.3f}) "
              f"{first[0]:5.2f} / {first[1]:4.2f} {first_traces[0]:>9d} / {first_traces[1]:<6d} "
              f"{later[0]:>4d} / {later[1]}")
    print("\n## Tables: a Tabulated schedule in a model of five weights, .keras save and load "
          "(median of 3)")
    print(f"{'steps':>9s} {'format':18s} {'save s':>7s} {'load s':>7s} {'file bytes':>11s} "
          f"{'bytes/step':>10s}")
    for n, label, save_s, load_s, size in bench_tables():
        print(f"{n:9d} {label:18s} {save_s:7.3f} {load_s:7.3f} {size:11d} {size / n:10.2f}")


if __name__ == "__main__":
    main()
