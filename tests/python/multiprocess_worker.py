"""One process of a multi-process JAX training job (or the single-process reference).

Usage: python multiprocess_worker.py SCENARIO PROCESS_ID NUM_PROCESSES PORT OUT_DIR [KILL_AT]

Every process joins the job through `jax.distributed.initialize` (a coordinator on
127.0.0.1:PORT hosted by process 0, gloo collectives between the CPU processes, one
CPU device each) and trains under Keras's distribution API. NUM_PROCESSES=1 is the
single-process reference: the same global batches, no distribution. Writes
OUT_DIR/<scenario>-<process>.json.

The model is the probe of probes.py (y = w x with x = 1 and the mean absolute error:
every plain-SGD step moves w by exactly -lr, as long as w is above every target), so
the rate of every step is read back from the weights. Process p holds targets
-1000 + 500 p: the loss is the mean over the global batch, w + 750 with two
processes, which no process could compute from its own data alone.

Scenarios:
  callbacks      schedules and every callback, DataParallel (one job runs all cases)
  model_parallel a layout map sharding the Dense kernel over the processes' devices
  backup         ReduceLROnPlateau over a schedule with BackupAndRestore (each process
                 its own folder); with KILL_AT, process 1 kills itself (SIGKILL) after
                 that global step, in the middle of an epoch
"""

import json
import os
import signal
import sys

SCENARIO, PROCESS, PROCESSES, PORT, OUT = sys.argv[1:6]
PROCESS, PROCESSES = int(PROCESS), int(PROCESSES)
KILL_AT = int(sys.argv[6]) if len(sys.argv) > 6 else None

os.environ["KERAS_BACKEND"] = "jax"
os.environ["JAX_PLATFORMS"] = "cpu"
os.environ.pop("XLA_FLAGS", None)  # one CPU device per process
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402

if PROCESSES > 1:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{PORT}",
                               num_processes=PROCESSES, process_id=PROCESS,
                               initialization_timeout=120)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lrschedule as lrs  # noqa: E402

LOCAL_BATCH = 2
TARGETS = [-1000.0, -500.0]


def local_data(samples, replicated=False):
    """This process's share: x = 1, its own target. The reference (one process) gets
    the global batches: each process's local batch in turn. `replicated`: every
    process passes the same batches (ModelParallel with the batch axis not split over
    the processes), target -1000."""
    x = np.ones((samples, 1), "float32")
    if replicated:
        return x, np.full_like(x, TARGETS[0])
    if PROCESSES > 1:
        return x, np.full_like(x, TARGETS[PROCESS])
    y = np.concatenate([np.full((LOCAL_BATCH, 1), t, "float32") for t in TARGETS])
    y = np.tile(y, (samples // LOCAL_BATCH, 1))
    return np.ones_like(y), y


def batch_size(replicated=False):
    return LOCAL_BATCH if PROCESSES > 1 or replicated else LOCAL_BATCH * len(TARGETS)


def local_value(variable):
    """This process's copy of a variable (a replicated one spans other processes)."""
    value = variable.value
    if not value.is_fully_addressable:
        return np.asarray(value.addressable_data(0))
    return np.asarray(value)


def distribute(model_parallel=False):
    if PROCESSES == 1:
        keras.distribution.set_distribution(None)
        return
    devices = jax.devices()
    if model_parallel:
        mesh = keras.distribution.DeviceMesh((1, len(devices)), ["batch", "model"], devices)
        layout_map = keras.distribution.LayoutMap(mesh)
        layout_map[".*probe/kernel"] = (None, "model")  # the kernel's columns split
        keras.distribution.set_distribution(
            keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch",
                                             auto_shard_dataset=False))
    else:
        # Each process passes its own share (local_data): no auto-sharding.
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False))


def probe(learning_rate, units=1, optimizer=None):
    model = keras.Sequential([
        keras.Input((1,)),
        keras.layers.Dense(units, use_bias=False, kernel_initializer="zeros", name="probe"),
    ])
    model.compile(optimizer=optimizer or keras.optimizers.SGD(learning_rate),
                  loss="mean_absolute_error")
    return model


class Record(keras.callbacks.Callback):
    """The kernel after every step (this process's copy or shard), and the epoch logs;
    with `path`, each step's kernel is also appended to a file as it happens (a killed
    process leaves the steps it made)."""

    def __init__(self, path=None, kill_at=None):
        super().__init__()
        self.path, self.kill_at = path, kill_at
        self.kernels, self.logs = None, []

    def _kernel(self):
        return local_value(self.model.get_layer("probe").kernel).ravel().tolist()

    def on_train_begin(self, logs=None):
        self.kernels = [self._kernel()]

    def on_train_batch_end(self, batch, logs=None):
        self.kernels.append(self._kernel())
        step = int(local_value(self.model.optimizer.iterations))
        if self.path:
            with open(self.path, "a") as handle:
                handle.write(json.dumps({"step": step, "kernel": self.kernels[-1]}) + "\n")
        if self.kill_at is not None and step == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append({k: float(v) for k, v in (logs or {}).items()})

    def rates(self, units=1):
        kernels = np.asarray(self.kernels, dtype=np.float64)
        return (-np.diff(kernels, axis=0) * units).tolist()


def state_of(model):
    rate = model.optimizer._lrschedule_state.numbers()
    return {k: rate[k] for k in ("multiplier", "best", "wait", "cooldown_counter")}


def fit(model, epochs, callbacks, samples=8, initial_epoch=0, replicated=False):
    x, y = local_data(samples, replicated)
    return model.fit(x, y, batch_size=batch_size(replicated), epochs=epochs, shuffle=False,
                     verbose=0, callbacks=callbacks, initial_epoch=initial_epoch)


def plateau(**kwargs):
    # The loss (w + 750) falls every epoch: in "max" mode each epoch after the first is
    # a plateau, decided from the loss of the global batches.
    args = dict(monitor="loss", mode="max", factor=0.5, patience=0)
    args.update(kwargs)
    return lrs.ReduceLROnPlateau(**args)


def scenario_callbacks():
    distribute()
    out = {}
    cases = {
        "OneCycle+LRLogger": (lambda: lrs.OneCycle(0.2, 16), lambda: [lrs.LRLogger("batch")]),
        "ReduceLROnPlateau-over-StepDecay": (lambda: lrs.StepDecay(0.4, 3, 0.8),
                                             lambda: [plateau()]),
        "ReduceLROnPlateau-smooth": (lambda: lrs.Cyclic(0.05, 0.3, step_size_up=3),
                                     lambda: [plateau(decay_steps=3, decay_type="cosine")]),
        "ScheduleLR": (lambda: 0.01, lambda: [lrs.ScheduleLR(lambda e: 0.3 / (1 + e))]),
        "ScheduleLR+ReduceLROnPlateau": (
            lambda: 0.01, lambda: [lrs.ScheduleLR(lambda e, lr: 0.3 * 0.9 ** e), plateau()]),
        # the kernel's steps are momentum-weighted here: equal kernels, equal momentum
        "OneCycle+momentum": (lambda: lrs.OneCycle(0.2, 16), lambda: [plateau()],
                              lambda rate: lrs.optimizers.SGD(rate, momentum=rate.momentum())),
    }
    for name, (make_rate, make_callbacks, *make_optimizer) in cases.items():
        rate = make_rate()
        model = probe(rate, optimizer=make_optimizer[0](rate) if make_optimizer else None)
        record = Record()
        callbacks = make_callbacks()
        fit(model, 4, callbacks + [record])
        logger = [c for c in callbacks if isinstance(c, lrs.LRLogger)]
        out[name] = {
            "rates": record.rates(), "logs": record.logs,
            "kernels": record.kernels,
            "batch_rates": logger[0].batch_rates if logger else None,
            "state": state_of(model) if any(isinstance(c, lrs.ReduceLROnPlateau)
                                            for c in callbacks) else None,
        }
    # find_lr: every process runs the same sweep on the global batches.
    model = probe(0.01)
    x, y = local_data(40)
    result = lrs.find_lr(model, x, y, start_lr=1e-3, end_lr=1.0, num_steps=20,
                         batch_size=batch_size(), diverge_factor=None, shuffle=False,
                         verbose=0)
    out["find_lr"] = {"rates": np.asarray(result.rates).tolist(),
                      "losses": np.asarray(result.losses).tolist(),
                      "kernel_after": local_value(model.get_layer("probe").kernel).ravel().tolist(),
                      "iterations_after": int(local_value(model.optimizer.iterations))}
    return out


def scenario_model_parallel():
    distribute(model_parallel=True)
    model = probe(lrs.OneCycle(0.2, 16), units=2)
    record = Record()
    callbacks = [plateau(), lrs.LRLogger()]
    # The batch axis of the mesh has one device: every process passes the same batches.
    fit(model, 4, callbacks + [record], replicated=True)
    kernel = model.get_layer("probe").kernel.value
    return {"rates": record.rates(units=2), "logs": record.logs, "state": state_of(model),
            "shards": [[[sl.start, sl.stop] for sl in s.index] for s in kernel.addressable_shards],
            # the partition spec's axes ([None, "model"]): its repr changed in JAX 0.10
            "spec": list(getattr(kernel.sharding, "spec", None) or [])}


def scenario_backup():
    distribute()
    folder = os.path.join(OUT, f"backup-{PROCESS}")  # each process its own backup
    steps_file = os.path.join(OUT, f"steps-{PROCESS}.jsonl")
    model = probe(lrs.StepDecay(0.4, 3, 0.8))
    record = Record(path=steps_file, kill_at=KILL_AT if PROCESS == 1 else None)
    callbacks = [plateau(cooldown=1, decay_steps=2), keras.callbacks.BackupAndRestore(folder),
                 record]
    history = fit(model, 6, callbacks, samples=8)
    return {"rates": record.rates(), "kernels": record.kernels, "logs": record.logs,
            "epochs_run": len(history.history.get("loss", [])), "state": state_of(model)}


def main():
    result = {"process": PROCESS, "processes": PROCESSES, "devices": len(jax.devices()),
              "local_devices": len(jax.local_devices())}
    result.update({"callbacks": scenario_callbacks, "model_parallel": scenario_model_parallel,
                   "backup": scenario_backup}[SCENARIO]())
    with open(os.path.join(OUT, f"{SCENARIO}-{PROCESS}.json"), "w") as handle:
        json.dump(result, handle)
    if PROCESSES > 1:
        # leave together (a barrier): a process that exits first takes the coordination
        # service down under one still polling it, which then aborts
        jax.distributed.shutdown()


if __name__ == "__main__":
    main()
