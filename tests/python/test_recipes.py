"""Recipes from transformers reproduced: `from_transformers()` against transformers' own
`get_scheduler()`, live.

transformers' scheduler is stepped as its Trainer steps it (the rate read before each
`scheduler.step()` is the rate used at that optimizer step), over the run it is built
for and its first step past it; ours must agree to a relative error of 1e-5 (atol 1e-12
for the rates near 0), as the other reference comparisons do. Past the run, ours holds
its final rate (checked against the formula's value at the last step).
"""

import types

import numpy as np
import pytest

import lrschedule as lrs
from probes import torch_trajectory

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

LR = 3e-4
RTOL, ATOL = 1e-5, 1e-12


def reference(name, total, warmup, base_lr=LR, **kwargs):
    return torch_trajectory(
        lambda opt: transformers.get_scheduler(name, opt, num_warmup_steps=warmup,
                                               num_training_steps=total,
                                               scheduler_specific_kwargs=kwargs or None),
        total + 1, base_lr=base_lr)


CASES = [
    ("linear", 200, 20, {}),
    ("linear", 200, 0, {}),
    ("linear", 50, 60, {}),  # warmup longer than the run: transformers' max(1, ...) edge
    ("cosine", 300, 30, {}),
    ("cosine", 300, 0, {"num_cycles": 1.5}),
    ("cosine", 257, 13, {"num_cycles": 0.25}),
    ("cosine_with_restarts", 300, 30, {}),
    ("cosine_with_restarts", 301, 7, {"num_cycles": 3}),
    ("polynomial", 200, 20, {}),
    ("polynomial", 200, 10, {"lr_end": 1e-5, "power": 2.0}),
    ("constant", 100, 0, {}),
    ("constant_with_warmup", 100, 25, {}),
    ("inverse_sqrt", 400, 40, {}),
    ("inverse_sqrt", 400, 0, {}),
    ("cosine_with_min_lr", 300, 30, {"min_lr_rate": 0.1}),
    ("cosine_with_min_lr", 300, 0, {"min_lr": 1e-5, "num_cycles": 0.75}),
    ("cosine_warmup_with_min_lr", 300, 30, {"min_lr_rate": 0.05}),
    ("cosine_warmup_with_min_lr", 300, 12, {"min_lr": 2e-5, "warmup_lr_rate": 0.1}),
    ("warmup_stable_decay", 300, 30, {"num_decay_steps": 60}),
    ("warmup_stable_decay", 300, 30, {"num_decay_steps": 90, "num_stable_steps": 100,
                                      "warmup_type": "cosine", "decay_type": "1-sqrt",
                                      "min_lr_ratio": 0.1}),
    ("warmup_stable_decay", 300, 0, {"num_decay_steps": 120, "decay_type": "cosine",
                                     "num_cycles": 1.0}),
]


@pytest.mark.parametrize("name, total, warmup, kwargs", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_from_transformers_matches_get_scheduler(name, total, warmup, kwargs):
    expected = reference(name, total, warmup, **kwargs)
    ours = lrs.from_transformers(name, num_training_steps=total, num_warmup_steps=warmup,
                                 learning_rate=LR, **kwargs)
    got = np.asarray(lrs.values(ours, range(total + 1)), dtype=np.float64)
    np.testing.assert_allclose(got[:total], expected[:total], rtol=RTOL, atol=ATOL)
    if name in ("inverse_sqrt", "constant", "constant_with_warmup") or warmup > total:
        return  # no end (or a warmup past the run): they go on as transformers' do
    # past the run: the final rate holds
    after = np.asarray(lrs.values(ours, [total, total + 1, 10 * total]), dtype=np.float64)
    np.testing.assert_allclose(after, after[0], rtol=1e-6, atol=ATOL)


def test_training_arguments_make_the_trainers_schedule():
    # TrainingArguments' fields (building one needs accelerate, which a Trainer needs)
    args = types.SimpleNamespace(learning_rate=2e-5, lr_scheduler_type="cosine_with_min_lr",
                                 warmup_ratio=0.03, warmup_steps=0,
                                 lr_scheduler_kwargs={"min_lr_rate": 0.1}, max_steps=500)
    # what the Trainer computes: ceil(500 * 0.03) = 15
    warmup = transformers.TrainingArguments.get_warmup_steps(args, 500)
    assert warmup == 15
    expected = reference("cosine_with_min_lr", 500, warmup, base_lr=2e-5, min_lr_rate=0.1)
    as_dict = {"learning_rate": 2e-5, "lr_scheduler_type": "cosine_with_min_lr",
               "warmup_ratio": 0.03, "lr_scheduler_kwargs": {"min_lr_rate": 0.1},
               "max_steps": 500}
    for given in (as_dict, args):
        ours = lrs.from_transformers(given)
        np.testing.assert_allclose(lrs.values(ours, range(500)), expected[:500], rtol=RTOL,
                                   atol=ATOL)


def test_training_arguments_defaults_are_the_trainers():
    # learning_rate 5e-5, linear, no warmup; the run's length from the caller
    ours = lrs.from_transformers({}, num_training_steps=100)
    np.testing.assert_allclose(lrs.values(ours, range(101)),
                               reference("linear", 100, 0, base_lr=5e-5), rtol=RTOL, atol=ATOL)
    # warmup_steps wins over warmup_ratio, as in TrainingArguments.get_warmup_steps()
    ours = lrs.from_transformers({"warmup_steps": 7, "warmup_ratio": 0.5}, num_training_steps=100)
    np.testing.assert_allclose(lrs.values(ours, range(101)),
                               reference("linear", 100, 7, base_lr=5e-5), rtol=RTOL, atol=ATOL)


def test_the_plateau_scheduler_reduces_at_pytorchs_epochs():
    """transformers' reduce_lr_on_plateau is PyTorch's ReduceLROnPlateau: ours, driven by
    the same metric, reduces at the same epochs (patience and cooldown as PyTorch counts
    them; improvement by PyTorch's "abs" rule)."""
    import keras

    metric = [1.0, 0.9, 0.9, 0.95, 0.92, 0.91, 0.89, 0.9, 0.9, 0.9, 0.9, 0.88, 0.9, 0.9, 0.9,
              0.9, 0.9, 0.9]
    kwargs = {"patience": 2, "cooldown": 2, "threshold_mode": "abs", "threshold": 0.005,
              "factor": 0.5}
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.1)
    torch_plateau = transformers.get_scheduler("reduce_lr_on_plateau", opt,
                                               scheduler_specific_kwargs=kwargs)
    theirs = []
    for value in metric:
        torch_plateau.step(value)
        theirs.append(opt.param_groups[0]["lr"])

    callback = lrs.from_transformers("reduce_lr_on_plateau", learning_rate=0.1, **kwargs)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    callback.set_model(model)
    callback.on_train_begin()
    ours = []
    for epoch, value in enumerate(metric):
        callback.on_epoch_end(epoch, {"val_loss": value})
        ours.append(lrs.current(model))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert min(theirs) < 0.1  # the run does reduce


@pytest.mark.parametrize("call, argument", [
    (dict(name="greedy"), "name"),
    (dict(name="cosine_hard"), "name"),
    (dict(name="cosine", num_training_steps=10, num_warmup_steps=0, learning_rate=1.0,
          lr_end=0.1), "lr_end"),
    (dict(name="inverse_sqrt", num_warmup_steps=5, learning_rate=1.0, timescale=10), "timescale"),
    (dict(name="cosine", num_training_steps=10, learning_rate=1.0), "num_warmup_steps"),
    (dict(name="cosine", num_training_steps=10, num_warmup_steps=0), "learning_rate"),
    (dict(name="polynomial", num_training_steps=10, num_warmup_steps=0, learning_rate=1e-3,
          lr_end=1e-2), "lr_end"),
    (dict(name="cosine_with_min_lr", num_training_steps=10, num_warmup_steps=0,
          learning_rate=1.0), "min_lr_rate"),
    (dict(name="reduce_lr_on_plateau", learning_rate=1.0), "threshold_mode"),
    (dict(name={"lr_scheduler_type": "cosine", "epochs": 3}), "name"),
    (dict(name={"lr_scheduler_type": "cosine"}), "num_training_steps"),
])
def test_what_cannot_be_reproduced_is_refused_naming_the_argument(call, argument):
    with pytest.raises((ValueError, TypeError), match=f"`{argument}`"):
        lrs.from_transformers(**call)
