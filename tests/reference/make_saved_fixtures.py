"""Writes the files a release saves, for tests/python/test_saved_files.py to load later.

Run once per release, with that release's core first on the path, e.g. for 0.1.0:

    git worktree add /tmp/lrschedule-0.1.0 <release commit>
    PYTHONPATH=/tmp/lrschedule-0.1.0/python:tests/python \
        .venv/bin/python tests/reference/make_saved_fixtures.py tests/python/fixtures/saved-0.1.0

Writes one `.keras` file per schedule of tests/python/catalogue.py (an Adam optimizer
trained 3 steps, so its moments and step count are saved too), files whose optimizer
holds lrschedule's callback state (plateau reductions over a schedule and over a
constant rate, ScheduleLR's held rate, a long schedule_function() table), a
`.weights.h5` with the plateau state, and `expected.json`: what that release computed
for each (its class, its rates at steps 0..39, its step count, the optimizer's variables
and the callback state). Later releases must load them and compute the same.
"""

import json
import pathlib
import sys

import keras
import numpy as np

import lrschedule as lrs
from catalogue import catalogue

STEPS = np.arange(40)


def probe(rate):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=rate), loss="mse")
    return model


def data(n):
    x = np.linspace(0.0, 1.0, n, dtype="float32").reshape(-1, 1)
    return x, 3 * x + 1


def record(model):
    optimizer = model.optimizer
    rate = optimizer._learning_rate
    entry = {
        "class": type(rate).__module__ + "." + type(rate).__qualname__,
        "rates": lrs.values(rate, STEPS).astype(float).tolist()
        if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule)
        else [float(keras.ops.convert_to_numpy(rate))] * len(STEPS),
        "iterations": int(keras.ops.convert_to_numpy(optimizer.iterations)),
        "optimizer_variables": [float(np.sum(keras.ops.convert_to_numpy(v)))
                                for v in optimizer.variables],
        "kernel": float(np.sum(model.get_weights()[0])),
    }
    if isinstance(rate, lrs.ControlledRate):
        entry["state"] = {k: getattr(rate, k) for k in
                          ("multiplier", "min_lr", "best", "wait", "cooldown_counter")}
        entry["held_rate"] = rate.learning_rate if rate.schedule is None else None
    return entry


def main(out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # The version of the tree whose core is imported (the installed metadata may be
    # another checkout's).
    description = pathlib.Path(lrs.__file__).resolve().parents[2] / "DESCRIPTION"
    release = next(line.split(":", 1)[1].strip() for line in description.read_text().splitlines()
                   if line.startswith("Version:"))
    expected = {"release": release, "keras": keras.__version__, "files": {}}
    x, y = data(3)
    for name, schedule in catalogue():
        model = probe(schedule)
        model.fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0)
        model.save(out / f"{name}.keras")
        expected["files"][f"{name}.keras"] = record(model)

    x, y = data(4)
    # Plateau over a schedule: "max" on a falling loss reduces after epochs 1 and 2.
    plateau = probe(lrs.StepDecay(0.1, step_size=3, gamma=0.5))
    plateau.fit(x, y, batch_size=2, epochs=3, shuffle=False, verbose=0, callbacks=[
        lrs.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=0, cooldown=1,
                              min_lr=1e-4)])
    plateau.save(out / "plateau-over-schedule.keras")
    plateau.save_weights(out / "plateau-over-schedule.weights.h5")
    expected["files"]["plateau-over-schedule.keras"] = record(plateau)
    # Plateau over a constant rate, patience 1: reductions after epochs 1 and 2.
    constant = probe(0.02)
    constant.fit(x, y, batch_size=2, epochs=3, shuffle=False, verbose=0, callbacks=[
        lrs.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.3, patience=1)])
    constant.save(out / "plateau-over-constant.keras")
    expected["files"]["plateau-over-constant.keras"] = record(constant)
    # ScheduleLR's held per-epoch rate, with a plateau on top.
    held = probe(lrs.OneCycle(0.1, 40))
    held.fit(x, y, batch_size=2, epochs=3, shuffle=False, verbose=0, callbacks=[
        lrs.ScheduleLR(lambda epoch: 0.05 / (1 + epoch)),
        lrs.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=0)])
    held.save(out / "schedule-lr-held.keras")
    expected["files"]["schedule-lr-held.keras"] = record(held)
    # A schedule_function() table of 1000 steps.
    table = probe(lrs.Tabulated.from_function(lambda step: 0.1 / (1.0 + 0.01 * step), 1000))
    table.fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0)
    table.save(out / "tabulated-1000.keras")
    expected["files"]["tabulated-1000.keras"] = record(table)

    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
