"""Momentum and beta_1 cycled with the rate (issue #19), against live PyTorch.

* The momentum schedules (`OneCycle(...).momentum()`, `Cyclic(...).momentum()`) equal
  the momentum PyTorch's `OneCycleLR`/`CyclicLR` set (cycle_momentum=True), for every
  anneal strategy and mode.
* The momentum an `lrschedule.optimizers.SGD` applies, read back from its weight
  updates, equals PyTorch's; Adam and AdamW train the weights PyTorch's do with the
  same schedulers; every optimizer uses, at update t, what Keras's own class uses
  with its hyperparameter set by hand to the schedule's value at t.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

import lrschedule as lrs
from lrschedule import optimizers as lro
from probes import kernel_probe, probe_data, run_here, torch_trajectory

BACKEND = keras.backend.backend()

# The hyperparameter that is each optimizer's momentum: what a momentum schedule
# (`OneCycle(...).momentum()`, `Cyclic(...).momentum()`) is given as.
MOMENTUM = {"SGD": "momentum", "RMSprop": "momentum", "Adam": "beta_1", "AdamW": "beta_1",
            "Adamax": "beta_1", "Nadam": "beta_1", "Lamb": "beta_1"}


def _torch():
    # Imported by the tests that compare with PyTorch only: the others also run where
    # torch is not installed (the NumPy 2 stack).
    return pytest.importorskip("torch")


class _Schedulers:
    """torch.optim.lr_scheduler, imported when a scheduler class is asked for (not when
    pytest looks the module's attributes over)."""

    def __getattr__(self, name):
        if not name[:1].isupper():
            raise AttributeError(name)
        return getattr(_torch().optim.lr_scheduler, name)


S = _Schedulers()


def torch_momenta(make_scheduler, steps, adam=False):
    """The momentum (SGD) or beta_1 (Adam) PyTorch's scheduler sets at each step."""
    _torch()
    return torch_trajectory(make_scheduler, steps, read="momentum",
                            optimizer="Adam" if adam else "SGD")


N = 60
ONE_CYCLE = [
    dict(max_lr=0.01, total_steps=N),
    dict(max_lr=0.01, total_steps=N, anneal_strategy="linear"),
    dict(max_lr=0.1, total_steps=N, pct_start=0.25, three_phase=True),
    dict(max_lr=0.1, total_steps=N, pct_start=0.4, anneal_strategy="linear", three_phase=True,
         base_momentum=0.7, max_momentum=0.99),
]
CYCLIC = [
    dict(base_lr=0.001, max_lr=0.01, step_size_up=7),
    dict(base_lr=0.001, max_lr=0.01, step_size_up=5, step_size_down=9, mode="triangular2"),
    dict(base_lr=0.001, max_lr=0.01, step_size_up=6, mode="exp_range", gamma=0.97,
         base_momentum=0.85, max_momentum=0.95),
]


# (our class, PyTorch's scheduler, arguments): every anneal strategy and mode
CASES = ([(lrs.OneCycle, "OneCycleLR", args) for args in ONE_CYCLE]
         + [(lrs.Cyclic, "CyclicLR", args) for args in CYCLIC])


@pytest.mark.parametrize("adam", [False, True], ids=["sgd", "adam"])
@pytest.mark.parametrize("ours, theirs, args", CASES,
                         ids=[f"{t}-{json.dumps(a, sort_keys=True)}" for _, t, a in CASES])
def test_the_momentum_schedule_is_pytorchs(ours, theirs, args, adam):
    _torch()  # compared with PyTorch
    expected = torch_momenta(lambda o: getattr(S, theirs)(o, **args), N, adam)
    values = lrs.values(ours(**args).momentum(), range(N))
    np.testing.assert_allclose(values, expected, rtol=1e-5)


# --------------------------------------------------------------------------------------
# The momentum applied, read back from the weights


def _kernels(model, epochs, batch_size=1, samples=N):
    """Trains the probe (gradient exactly 1 at every step); the kernel after each step."""
    x, y = probe_data(samples)
    kernels = [0.0]

    class Trace(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            kernels.append(float(ops.convert_to_numpy(self.model.layers[-1].kernel)[0, 0]))

    model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0,
              callbacks=[Trace()])
    return np.asarray(kernels)


@pytest.mark.parametrize("make", [
    lambda: (lrs.OneCycle(0.01, N), lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=N)),
    lambda: (lrs.Cyclic(0.001, 0.01, step_size_up=7),
             lambda o: S.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=7)),
], ids=["one_cycle", "cyclic"])
def test_sgd_applies_pytorchs_momentum(make):
    _torch()  # compared with PyTorch
    # Keras's SGD: velocity_t = mu_t velocity_{t-1} - lr_t g, w += velocity_t. With
    # g = 1, velocity_t is the kernel's change, so mu_t = (dw_t + lr_t) / dw_{t-1}.
    rate, scheduler = make()
    model = kernel_probe(0.01)
    model.compile(optimizer=lro.SGD(rate, momentum=rate.momentum()),
                  loss="mean_absolute_error")
    dw = np.diff(_kernels(model, 1))
    lr = torch_trajectory(scheduler, N)  # PyTorch's rates (ours equal them: reference table)
    applied = (dw[1:] + lr[1:]) / dw[:-1]
    expected = torch_momenta(scheduler, N)[1:]
    np.testing.assert_allclose(applied, expected, rtol=1e-5)


def _torch_weights(make_optimizer, make_scheduler, x, y, epochs, batch):
    torch = _torch()
    w = torch.zeros(x.shape[1], 1, requires_grad=True)
    optimizer = make_optimizer([w])
    scheduler = make_scheduler(optimizer)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(epochs):
        for i in range(0, len(x), batch):
            optimizer.zero_grad()
            loss = ((xt[i:i + batch] @ w - yt[i:i + batch]) ** 2).mean()
            loss.backward()
            optimizer.step()
            scheduler.step()
    return w.detach().numpy().ravel()


def _regression():
    rng = np.random.RandomState(0)
    x = rng.randn(40, 3).astype("float32")
    return x, (x @ np.array([[1.0], [2.0], [-1.0]], dtype="float32")).astype("float32")


@pytest.mark.parametrize("family", ["Adam", "AdamW"])
@pytest.mark.parametrize("cycle", ["one_cycle", "cyclic"])
def test_adam_family_trains_the_weights_pytorch_trains(family, cycle):
    _torch()  # compared with PyTorch
    # Keras's Adam and PyTorch's differ only in where epsilon sits: with epsilon 1e-12
    # both are m_hat / sqrt(v_hat) to float32 rounding.
    x, y = _regression()
    epochs, batch = 4, 4
    steps = epochs * len(x) // batch
    if cycle == "one_cycle":
        rate = lrs.OneCycle(0.1, steps)
        scheduler = lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=steps)  # noqa: E731
    else:
        rate = lrs.Cyclic(0.01, 0.1, step_size_up=6)
        scheduler = lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6)  # noqa: E731
    decay = 0.01 if family == "AdamW" else None
    model = keras.Sequential([keras.Input((3,)),
                              keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=getattr(lro, family)(rate, beta_1=rate.momentum(), epsilon=1e-12,
                                                 weight_decay=decay), loss="mse")
    model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0)
    torch = _torch()
    make = {"Adam": lambda p: torch.optim.Adam(p, lr=0.1, eps=1e-12),
            "AdamW": lambda p: torch.optim.AdamW(p, lr=0.1, eps=1e-12, weight_decay=0.01)}[family]
    expected = _torch_weights(make, scheduler, x, y, epochs, batch)
    np.testing.assert_allclose(ops.convert_to_numpy(model.layers[0].kernel).ravel(), expected,
                               rtol=2e-5, atol=1e-6)


KERAS_BY_HAND = [
    ("SGD", dict(learning_rate=0.05)),
    ("SGD", dict(learning_rate=0.05, nesterov=True)),
    ("RMSprop", dict(learning_rate=0.01)),
    ("RMSprop", dict(learning_rate=0.01, centered=True)),
    ("Adam", dict(learning_rate=0.01, amsgrad=True)),
    ("AdamW", dict(learning_rate=0.01)),
    ("Adamax", dict(learning_rate=0.01)),
    ("Nadam", dict(learning_rate=0.01)),
    ("Lamb", dict(learning_rate=0.01)),
]


@pytest.mark.parametrize("name,args", KERAS_BY_HAND, ids=[f"{n}-{a}" for n, a in KERAS_BY_HAND])
def test_each_update_uses_the_scheduled_value_as_keras_would(name, args):
    # The reference: Keras's own class, its momentum/beta_1 set by hand to the
    # schedule's value before each update (Keras reads it as a number each time).
    hyper = MOMENTUM[name]
    momentum = lrs.Cyclic(0.001, 0.01, step_size_up=3).momentum()
    values = [float(v) for v in lrs.values(momentum, range(12))]
    grads = np.random.RandomState(1).randn(12, 4).astype("float32")
    ours_w = keras.Variable(np.ones(4, dtype="float32"))
    ref_w = keras.Variable(np.ones(4, dtype="float32"))
    ours = getattr(lro, name)(**args, **{hyper: momentum})
    reference = getattr(keras.optimizers, name)(**args, **{hyper: values[0]})
    for t in range(12):
        setattr(reference, hyper, values[t])
        ours.apply([ops.convert_to_tensor(grads[t])], [ours_w])
        reference.apply([ops.convert_to_tensor(grads[t])], [ref_w])
        np.testing.assert_allclose(ops.convert_to_numpy(ours_w), ops.convert_to_numpy(ref_w),
                                   rtol=1e-6, atol=1e-7, err_msg=f"update {t}")


@pytest.mark.parametrize("name", sorted(MOMENTUM))
def test_a_number_is_kerass_optimizer(name):
    hyper = MOMENTUM[name]
    ours = getattr(lro, name)(learning_rate=0.01, name="opt", **{hyper: 0.5})
    theirs = getattr(keras.optimizers, name)(learning_rate=0.01, name="opt", **{hyper: 0.5})
    assert isinstance(ours, getattr(keras.optimizers, name))
    assert ours.get_config() == theirs.get_config()
    grads = np.random.RandomState(2).randn(5, 3).astype("float32")
    a, b = keras.Variable(np.ones(3, "float32")), keras.Variable(np.ones(3, "float32"))
    for g in grads:
        ours.apply([ops.convert_to_tensor(g)], [a])
        theirs.apply([ops.convert_to_tensor(g)], [b])
    # Equal; on torch to a rounding (Keras swaps in its torch-specific classes for its
    # own optimizers only, which order a few operations differently).
    np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), rtol=3e-7)


def test_the_signature_and_positional_arguments_are_kerass():
    import inspect

    for name in MOMENTUM:
        ours = inspect.signature(getattr(lro, name))
        assert ours == inspect.signature(getattr(keras.optimizers, name))
    schedule = lrs.OneCycle(0.01, 100).momentum()
    opt = lro.Adam(0.01, schedule, 0.99)  # Keras's order: learning_rate, beta_1, beta_2
    assert opt.beta_1 is schedule and opt.beta_2 == 0.99
    opt = lro.SGD(0.01, schedule, True)  # learning_rate, momentum, nesterov
    assert opt.momentum is schedule and opt.nesterov is True


# --------------------------------------------------------------------------------------
# Logging, accumulation, find_lr


def test_the_logger_logs_the_momentum_used():
    _torch()  # compared with PyTorch
    rate = lrs.OneCycle(0.01, N)
    model = kernel_probe(0.01)
    model.compile(optimizer=lro.SGD(rate, momentum=rate.momentum()),
                  loss="mean_absolute_error")
    logger = lrs.LRLogger(per="batch")
    x, y = probe_data(N)
    history = model.fit(x, y, batch_size=6, epochs=6, shuffle=False, verbose=0,
                        callbacks=[logger])
    expected = torch_momenta(lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=N), N)
    # 60 samples in batches of 6: 10 updates per epoch, 60 in all
    np.testing.assert_allclose(logger.batch_momenta, expected, rtol=1e-5)
    # the epoch logs: the momentum of each epoch's last update
    np.testing.assert_allclose(history.history["momentum"], expected[9::10], rtol=1e-5)


def test_count_updates_counts_the_momentum_in_updates_too():
    rate = lrs.OneCycle(0.01, 10)
    opt = lrs.count_updates(lro.Adam(rate, beta_1=rate.momentum(), gradient_accumulation_steps=3))
    assert isinstance(opt.beta_1, lrs.InUpdates) and opt.beta_1.gradient_accumulation_steps == 3
    np.testing.assert_allclose(lrs.values(opt.beta_1, [0, 2, 3, 29]),
                               lrs.values(rate.momentum(), [0, 0, 1, 9]), rtol=1e-6)


def test_find_lr_leaves_the_momentum_alone():
    rate = lrs.OneCycle(0.01, 100)
    momentum = rate.momentum()
    model = kernel_probe(0.01)
    model.compile(optimizer=lro.SGD(rate, momentum=momentum), loss="mean_absolute_error")
    x, y = probe_data(64)
    before = [ops.convert_to_numpy(v).copy() for v in model.optimizer.variables]
    lrs.find_lr(model, x, y, start_lr=1e-4, end_lr=1e-1, num_steps=10, batch_size=4,
                diverge_factor=None)
    assert model.optimizer.momentum is momentum
    for a, b in zip(before, model.optimizer.variables):
        np.testing.assert_array_equal(a, ops.convert_to_numpy(b))


# --------------------------------------------------------------------------------------
# Saved models, loaded in a new process

SAVE_AND_GO_ON = textwrap.dedent("""
    import sys, numpy as np, keras, lrschedule as lrs
    from lrschedule import optimizers as lro
    path, name, hyper = sys.argv[1], sys.argv[2], sys.argv[3]
    rate = lrs.Cyclic(0.001, 0.01, step_size_up=5)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer=getattr(lro, name)(rate, **{hyper: rate.momentum()}), loss="mse")
    x = np.random.RandomState(0).randn(32, 3).astype("float32"); y = x.sum(axis=1, keepdims=True)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    model.save(path)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.save(path + ".npy", model.get_weights()[0])
""")
LOAD_AND_GO_ON = textwrap.dedent("""
    import sys, numpy as np, keras
    import lrschedule  # registers lrschedule's classes
    path, name, hyper = sys.argv[1], sys.argv[2], sys.argv[3]
    model = keras.models.load_model(path, safe_mode=True)
    opt = model.optimizer
    assert type(opt).__module__ == "lrschedule.optimizers" and type(opt).__name__ == name
    assert type(getattr(opt, hyper)).__name__ == "CycledMomentum", getattr(opt, hyper)
    x = np.random.RandomState(0).randn(32, 3).astype("float32"); y = x.sum(axis=1, keepdims=True)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(model.get_weights()[0], np.load(path + ".npy"), rtol=1e-5, atol=1e-6)
    print("ok")
""")


@pytest.mark.parametrize("name", ["SGD", "Adam"])
@pytest.mark.subprocess
def test_a_saved_model_loads_in_a_new_process_and_trains_on(tmp_path, name):
    path = str(tmp_path / "model.keras")
    run_here(SAVE_AND_GO_ON, path, name, MOMENTUM[name])
    env = dict(os.environ, KERAS_BACKEND=BACKEND)
    done = subprocess.run([sys.executable, "-c", LOAD_AND_GO_ON, path, name, MOMENTUM[name]], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
