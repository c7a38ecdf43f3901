"""A model that shows the learning rate each optimizer step used.

y = w x with x = 1, target -1000 and the mean absolute error: the gradient in w is
exactly 1 while w > -1000, so every plain-SGD step moves w by exactly -lr, and the
rates used inside the compiled train step can be read back from the weights.
"""

import keras
import numpy as np
from keras import ops

TARGET = -1000.0


def kernel_probe(learning_rate):
    """The probe model, compiled with plain SGD at `learning_rate` (a rate or a schedule)."""
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mean_absolute_error")
    return model


def probe_data(samples):
    x = np.ones((samples, 1), dtype="float32")
    return x, np.full_like(x, TARGET)


class RateTrace(keras.callbacks.Callback):
    """Records the probe's weight after every batch; `rates` are the rates used."""

    def __init__(self):
        super().__init__()
        self.kernels = None

    def _w(self):
        return float(ops.convert_to_numpy(self.model.layers[-1].kernel)[0, 0])

    def on_train_begin(self, logs=None):
        self.kernels = [self._w()]

    def on_train_batch_end(self, batch, logs=None):
        self.kernels.append(self._w())

    @property
    def rates(self):
        return -np.diff(self.kernels)


class Kernels(keras.callbacks.Callback):
    """The kernels of the layers `names` (one-kernel probes) after every batch;
    `rates[name]` are the rates applied per batch."""

    def __init__(self, names):
        super().__init__()
        self.names = names
        self.kernels = None

    def _now(self):
        return [float(ops.convert_to_numpy(self.model.get_layer(n).kernel)[0, 0])
                for n in self.names]

    def on_train_begin(self, logs=None):
        self.kernels = [self._now()]

    def on_train_batch_end(self, batch, logs=None):
        self.kernels.append(self._now())

    @property
    def rates(self):
        steps = -np.diff(np.array(self.kernels), axis=0)
        return {n: steps[:, i] for i, n in enumerate(self.names)}


class Flat(keras.callbacks.Callback):
    """Logs a monitored value (`flat`) that never improves after the first epoch."""

    def on_epoch_end(self, epoch, logs=None):
        logs["flat"] = 1.0


class StopAt(keras.callbacks.Callback):
    """Interrupts training at the start of epoch `epoch` (a crash to resume from)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("interrupted")


def torch_trajectory(make_scheduler, steps, base_lr=1.0, read="lr", optimizer="SGD"):
    """What a PyTorch scheduler sets at steps 0..steps-1, stepped once per optimizer
    step: the rate (`read="lr"`), or the momentum it cycles (`"momentum"`: SGD's
    momentum, or with `optimizer="Adam"` beta_1). torch is imported here: only the
    tests that compare with it need it."""
    import torch

    param = torch.nn.Parameter(torch.zeros(1))
    if optimizer == "Adam":
        optimizer = torch.optim.Adam([param], lr=base_lr)
    else:
        optimizer = torch.optim.SGD([param], lr=base_lr, momentum=0.9 if read == "momentum" else 0)
    scheduler = make_scheduler(optimizer)
    values = []
    for _ in range(steps):
        group = optimizer.param_groups[0]
        if read == "lr":
            values.append(group["lr"])
        else:
            values.append(group["betas"][0] if "betas" in group else group["momentum"])
        optimizer.step()
        scheduler.step()
    return np.asarray(values)


def count_traces(model):
    """Counts the Python calls of `model.train_step` in `["n"]`: one per trace of a
    compiled train step (eager torch calls it every step)."""
    calls = {"n": 0}
    original = model.train_step

    def train_step(*args, **kwargs):
        calls["n"] += 1
        return original(*args, **kwargs)

    model.train_step = train_step
    return calls


def run_here(script, *args):
    """Runs a script's text in this process, in a namespace of its own, with `sys.argv`
    set to `args`: the saving half of a save-here, load-in-a-new-process test (only
    the loading must be a new process's first call; a process of its own for the
    saving cost each backend leg about 5 s per test)."""
    import sys

    saved = sys.argv
    sys.argv = ["-c", *map(str, args)]
    try:
        exec(compile(script, "<script>", "exec"), {"__name__": "__main__"})
    finally:
        sys.argv = saved


def run_worker_process(command, env, timeout=600):
    """Runs a worker process that trains on two devices and returns its
    CompletedProcess. Killed by a signal inside the framework (TensorFlow's
    MirroredStrategy over two logical CPUs segfaulted once in about a hundred runs on a
    loaded machine: CI, 2026-12-06; not reproduced in 40 runs since), it is run once
    more, the first run's stderr (the stack faulthandler printed) kept as a warning: a
    second crash, or any failure of lrschedule's, fails the test."""
    import subprocess
    import warnings

    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode < 0:
        warnings.warn(f"the worker died with signal {-proc.returncode}; repeating it once. "
                      f"Its stderr ends:\n{proc.stderr[-3000:]}")
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    return proc
