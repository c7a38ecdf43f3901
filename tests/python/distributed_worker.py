"""Runs in its own process: the same training on one device and data-parallel on two.

Usage: python distributed_worker.py tensorflow|jax OUTPUT.json

TensorFlow: MirroredStrategy over two logical CPU devices. JAX: Keras's DataParallel
over two host devices (--xla_force_host_platform_device_count=2). For every case it
records the learning rate each optimizer step used, read back from the weights of a
linear probe (y = w x with x = 1, target -1000, mean absolute error: each SGD step moves
w by exactly -lr),
once on a single device and once distributed, and writes both to OUTPUT.json.
"""

import faulthandler
import json
import os
import sys

# A crash inside the framework (a signal) prints the Python stack of every thread.
faulthandler.enable()

BACKEND = sys.argv[1]
OUTPUT = sys.argv[2]
os.environ["KERAS_BACKEND"] = BACKEND
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if BACKEND == "jax":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
if BACKEND == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )

import contextlib
import tempfile

import keras
import numpy as np
from keras import ops

import lrschedule as lrs
from probes import RateTrace, count_traces, kernel_probe, probe_data

STEPS = 12


EPOCHS_WITH_CALLBACKS, STEPS_PER_EPOCH = 4, 3


def cases():
    """name -> (schedule factory, callbacks factory, epochs, steps per epoch, expected rates)."""
    K = keras.optimizers.schedules
    plain = {
        "OneCycle": lambda: lrs.OneCycle(0.5, total_steps=STEPS),
        "Warmup-Keras-cosine": lambda: lrs.Warmup(K.CosineDecay(0.4, 8), warmup_steps=4),
        "Cyclic": lambda: lrs.Cyclic(0.05, 0.3, step_size_up=3, mode="triangular2"),
        "Sequence": lambda: lrs.Sequence([lrs.Linear(0.0, 0.3, 4), lrs.StepDecay(0.3, 2, 0.5)],
                                         [4]),
        "Tabulated": lambda: lrs.Tabulated([0.3, 0.2, 0.1]),
    }
    out = {name: (make, list, 1, STEPS, lrs.values(make(), range(STEPS)).tolist())
           for name, make in plain.items()}
    n = EPOCHS_WITH_CALLBACKS * STEPS_PER_EPOCH
    step_decay = lambda: lrs.StepDecay(0.4, step_size=2, gamma=0.8)  # noqa: E731
    # The loss falls every epoch, so in "max" mode each epoch after the first is a
    # plateau: Keras's rule halves the rate after epochs 1 and 2 (cooldown 0, patience 0).
    plateau = lambda: [lrs.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5,  # noqa: E731
                                             patience=0)]
    multiplier = np.repeat([1.0, 1.0, 0.5, 0.25], STEPS_PER_EPOCH)
    out["ReduceLROnPlateau-over-StepDecay"] = (
        step_decay, plateau, EPOCHS_WITH_CALLBACKS, STEPS_PER_EPOCH,
        (lrs.values(step_decay(), range(n)) * multiplier).tolist())
    epoch_rate = lambda epoch: 0.3 / (1 + epoch)  # noqa: E731
    out["ScheduleLR"] = (
        lambda: 0.01, lambda: [lrs.ScheduleLR(epoch_rate)], EPOCHS_WITH_CALLBACKS,
        STEPS_PER_EPOCH,
        np.repeat([epoch_rate(e) for e in range(EPOCHS_WITH_CALLBACKS)], STEPS_PER_EPOCH).tolist())
    return out


def scope(distributed):
    if distributed and BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope()
    return contextlib.nullcontext()


def set_distribution(distributed):
    if BACKEND == "jax":
        import jax

        if distributed:
            keras.distribution.set_distribution(
                keras.distribution.DataParallel(devices=jax.devices())
            )
        else:
            keras.distribution.set_distribution(None)


def run(make_schedule, make_callbacks, epochs, steps_per_epoch, distributed):
    set_distribution(distributed)
    with scope(distributed):
        model = kernel_probe(make_schedule())
    traces = count_traces(model)
    trace = RateTrace()
    x, y = probe_data(2 * steps_per_epoch)
    model.fit(x, y, batch_size=2, epochs=epochs, shuffle=False, verbose=0,
              callbacks=make_callbacks() + [trace])
    rates = trace.rates.tolist()
    # save and load with the distribution in place
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with scope(distributed):
            loaded = keras.models.load_model(path, safe_mode=True)
        restored = lrs.values(loaded.optimizer._learning_rate, range(epochs * steps_per_epoch)).tolist()
        iterations = int(ops.convert_to_numpy(loaded.optimizer.iterations))
    set_distribution(False)
    return {"rates": rates, "restored": restored, "iterations": iterations,
            "traces": traces["n"]}


def main():
    if BACKEND == "tensorflow":
        import tensorflow as tf

        devices = len(tf.config.list_logical_devices("CPU"))
    else:
        import jax

        devices = len(jax.devices())
    result = {"devices": devices, "cases": {}}
    for name, (make, callbacks, epochs, steps, expected) in cases().items():
        result["cases"][name] = {
            "expected": expected,
            "single": run(make, callbacks, epochs, steps, distributed=False),
            "distributed": run(make, callbacks, epochs, steps, distributed=True),
        }
    with open(OUTPUT, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
