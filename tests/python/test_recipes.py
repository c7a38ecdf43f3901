"""Recipes from transformers reproduced: `from_transformers()` against transformers' own
`get_scheduler()`, live.

transformers' scheduler is stepped as its Trainer steps it (the rate read before each
`scheduler.step()` is the rate used at that optimizer step), over the run it is built
for and its first step past it; ours must agree to a relative error of 1e-6, with an
absolute 1e-6 of the peak rate for the rates near 0 (float32 cosines and powers near 0
lose their relative precision), per scheduler where stated otherwise. Past the run,
ours holds its final rate.
"""

import types

import numpy as np
import pytest

import lrschedule as lrs
from probes import torch_trajectory

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

LR = 3e-4
RTOL, ATOL = 1e-6, 1e-12


def assert_rates(got, expected, rtol=RTOL):
    """Equal to rtol, and to 1e-6 of the peak rate where the rates come near 0."""
    expected = np.asarray(expected, dtype=np.float64)
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), expected, rtol=rtol,
                               atol=max(1e-6 * float(np.max(np.abs(expected))), ATOL))


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
    assert_rates(got[:total], expected[:total])
    if name in ("inverse_sqrt", "constant", "constant_with_warmup") or warmup > total:
        return  # no end (or a warmup past the run): they go on as transformers' do
    # past the run: the final rate holds
    after = np.asarray(lrs.values(ours, [total, total + 1, 10 * total]), dtype=np.float64)
    np.testing.assert_allclose(after, after[0], rtol=1e-6, atol=ATOL)


def test_training_arguments_make_the_trainers_schedule():
    # TrainingArguments' fields (building one needs accelerate, which a Trainer needs);
    # the warmup as the installed transformers spells a ratio (5: warmup_steps < 1)
    warmup_field = ({"warmup_steps": 0.03} if int(transformers.__version__.split(".")[0]) >= 5
                    else {"warmup_steps": 0, "warmup_ratio": 0.03})
    args = types.SimpleNamespace(learning_rate=2e-5, lr_scheduler_type="cosine_with_min_lr",
                                 lr_scheduler_kwargs={"min_lr_rate": 0.1}, max_steps=500,
                                 **warmup_field)
    # what the Trainer computes: ceil(500 * 0.03) = 15
    warmup = transformers.TrainingArguments.get_warmup_steps(args, 500)
    assert warmup == 15
    expected = reference("cosine_with_min_lr", 500, warmup, base_lr=2e-5, min_lr_rate=0.1)
    as_dict = dict({"learning_rate": 2e-5, "lr_scheduler_type": "cosine_with_min_lr",
                    "lr_scheduler_kwargs": {"min_lr_rate": 0.1}, "max_steps": 500},
                   **warmup_field)
    for given in (as_dict, args):
        ours = lrs.from_transformers(given)
        assert_rates(lrs.values(ours, range(500)), expected[:500])


def test_the_warmup_is_counted_as_the_installed_transformers_counts_it():
    """transformers 5 reads a warmup_steps in [0, 1) as a ratio of the run, rounded up
    (and has no warmup_ratio); 4.57 takes whole warmup_steps, else warmup_ratio."""
    major = int(transformers.__version__.split(".")[0])
    if major >= 5:
        fields = {"warmup_steps": 0.07}
    else:
        fields = {"warmup_steps": 0, "warmup_ratio": 0.07}
    for total in (100, 101, 250):
        args = types.SimpleNamespace(**fields)
        warmup = transformers.TrainingArguments.get_warmup_steps(args, total)
        ours = lrs.from_transformers(dict(fields, lr_scheduler_type="linear"),
                                     num_training_steps=total)
        np.testing.assert_allclose(lrs.values(ours, range(total)),
                                   reference("linear", total, warmup, base_lr=5e-5)[:total],
                                   rtol=RTOL, atol=ATOL)
    # whole warmup steps mean the same in both
    args = types.SimpleNamespace(warmup_steps=12, warmup_ratio=0.5)
    assert transformers.TrainingArguments.get_warmup_steps(args, 100) == 12


def test_training_arguments_defaults_are_the_trainers():
    # learning_rate 5e-5, linear, no warmup; the run's length from the caller
    ours = lrs.from_transformers({}, num_training_steps=100)
    np.testing.assert_allclose(lrs.values(ours, range(101)),
                               reference("linear", 100, 0, base_lr=5e-5), rtol=RTOL, atol=ATOL)
    # warmup_steps wins over warmup_ratio, as in TrainingArguments.get_warmup_steps()
    ours = lrs.from_transformers({"warmup_steps": 7, "warmup_ratio": 0.5}, num_training_steps=100)
    np.testing.assert_allclose(lrs.values(ours, range(101)),
                               reference("linear", 100, 7, base_lr=5e-5), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("threshold_mode, threshold", [("abs", 0.005), ("rel", 0.01)])
def test_the_plateau_scheduler_reduces_at_pytorchs_epochs(threshold_mode, threshold):
    """transformers' reduce_lr_on_plateau is PyTorch's ReduceLROnPlateau: ours, driven by
    the same metric, reduces at the same epochs (patience and cooldown as PyTorch counts
    them; improvement by PyTorch's "abs" or its default "rel" rule)."""
    import keras

    metric = [1.0, 0.9, 0.9, 0.95, 0.92, 0.91, 0.89, 0.9, 0.9, 0.9, 0.9, 0.88, 0.9, 0.9, 0.9,
              0.9, 0.9, 0.9]
    kwargs = {"patience": 2, "cooldown": 2, "threshold_mode": threshold_mode,
              "threshold": threshold, "factor": 0.5}
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
    (dict(name="reduce_lr_on_plateau", learning_rate=1.0, threshold_mode="relative"),
     "threshold_mode"),
    (dict(name={"lr_scheduler_type": "cosine", "epochs": 3}), "name"),
    (dict(name={"lr_scheduler_type": "cosine"}), "num_training_steps"),
])
def test_what_cannot_be_reproduced_is_refused_naming_the_argument(call, argument):
    with pytest.raises((ValueError, TypeError), match=f"`{argument}`"):
        lrs.from_transformers(**call)


# --------------------------------------------------------------------------------------
# from_torch(): a live PyTorch scheduler, stepped as a training loop steps it

def sched(name, **kwargs):
    return lambda opt: getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)


TORCH = [
    ("StepLR", sched("StepLR", step_size=7, gamma=0.5)),
    ("MultiStepLR", sched("MultiStepLR", milestones=[5, 20, 21, 60], gamma=0.3)),
    ("ExponentialLR", sched("ExponentialLR", gamma=0.97)),
    ("LinearLR", sched("LinearLR", start_factor=0.1, end_factor=1.0, total_iters=30)),
    ("ConstantLR", sched("ConstantLR", factor=0.25, total_iters=12)),
    ("CosineAnnealingLR", sched("CosineAnnealingLR", T_max=90, eta_min=1e-4)),
    ("CosineAnnealingWarmRestarts", sched("CosineAnnealingWarmRestarts", T_0=10, T_mult=2,
                                          eta_min=1e-4)),
    ("PolynomialLR", sched("PolynomialLR", total_iters=60, power=2.0)),
    ("OneCycleLR", sched("OneCycleLR", max_lr=0.3, total_steps=90, pct_start=0.25)),
    ("OneCycleLR-3", sched("OneCycleLR", max_lr=0.3, total_steps=101, three_phase=True,
                           anneal_strategy="linear", div_factor=10, final_div_factor=100)),
    ("CyclicLR", sched("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=7, step_size_down=3,
                       mode="triangular2", cycle_momentum=False)),
    ("SequentialLR", lambda opt: torch.optim.lr_scheduler.SequentialLR(
        opt, [torch.optim.lr_scheduler.LinearLR(opt, 0.01, 1.0, total_iters=10),
              torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=80)], milestones=[10])),
]


# ExponentialLR: PyTorch multiplies by gamma at each step in float64; Keras's
# ExponentialDecay holds gamma in float32, whose rounding (up to 3e-8 of it) the power
# gamma ** t carries t times: 90 steps, 2.7e-6.
TOLERANCE = {"ExponentialLR": 5e-6}


@pytest.mark.parametrize("name, make", TORCH, ids=[t[0] for t in TORCH])
def test_from_torch_matches_the_scheduler_step_by_step(name, make):
    expected = torch_trajectory(make, 90, base_lr=0.1)
    param = torch.nn.Parameter(torch.zeros(1))
    ours = lrs.from_torch(make(torch.optim.SGD([param], lr=0.1)))
    assert_rates(lrs.values(ours, range(90)), expected, rtol=TOLERANCE.get(name, RTOL))


def test_a_torch_scheduler_stepped_k_times_continues_with_its_next_rates():
    """A run half done in PyTorch, converted: the schedule is the whole recipe from step
    0, so the Keras optimizer continues from PyTorch's count (as Adam's bias correction
    needs too): `optimizer.iterations.assign(k)`."""
    import keras

    make = sched("OneCycleLR", max_lr=0.3, total_steps=80)
    expected = torch_trajectory(make, 80, base_lr=0.1)
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    scheduler = make(opt)
    for _ in range(25):
        opt.step()
        scheduler.step()
    keras_opt = keras.optimizers.SGD(learning_rate=lrs.from_torch(scheduler))
    keras_opt.build([keras.Variable(np.zeros(1, "float32"))])
    keras_opt.iterations.assign(scheduler.last_epoch)
    continued = []
    for _ in range(55):
        continued.append(lrs.current(keras_opt))
        keras_opt.iterations.assign_add(1)
    assert_rates(continued, expected[25:])


def test_from_torch_keeps_the_momentum_cycle():
    make = sched("OneCycleLR", max_lr=0.3, total_steps=60, base_momentum=0.8, max_momentum=0.95)
    expected = torch_trajectory(make, 60, base_lr=0.1, read="momentum")
    param = torch.nn.Parameter(torch.zeros(1))
    ours = lrs.from_torch(make(torch.optim.SGD([param], lr=0.1, momentum=0.9)))
    assert_rates(lrs.values(ours.momentum(), range(60)), expected)


def test_from_torch_tabulates_a_lambda_over_the_horizon_it_is_given():
    make = sched("LambdaLR", lr_lambda=lambda t: 0.95 ** t if t < 40 else 0.1)
    expected = torch_trajectory(make, 60, base_lr=0.1)
    param = torch.nn.Parameter(torch.zeros(1))
    ours = lrs.from_torch(make(torch.optim.SGD([param], lr=0.1)), horizon=60)
    assert_rates(lrs.values(ours, range(60)), expected)
    make = sched("MultiplicativeLR", lr_lambda=lambda t: 0.9)
    expected = torch_trajectory(make, 30, base_lr=0.1)
    ours = lrs.from_torch(make(torch.optim.SGD([param], lr=0.1)), horizon=30)
    assert_rates(lrs.values(ours, range(30)), expected)
    with pytest.raises(ValueError, match="`horizon`"):
        lrs.from_torch(make(torch.optim.SGD([param], lr=0.1)))


def test_a_chained_scheduler_is_the_product_of_its_schedulers_tabulated():
    make = lambda opt: torch.optim.lr_scheduler.ChainedScheduler([  # noqa: E731
        torch.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=10),
        torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95),
        torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[20, 40], gamma=0.3)])
    expected = torch_trajectory(make, 60, base_lr=0.1)
    param = torch.nn.Parameter(torch.zeros(1))
    ours = lrs.from_torch(make(torch.optim.SGD([param], lr=0.1)), horizon=60)
    assert_rates(lrs.values(ours, range(60)), expected, rtol=TOLERANCE["ExponentialLR"])


def test_from_torch_refuses_what_it_cannot_reproduce():
    p1, p2 = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p1], lr=0.1)
    chained = torch.optim.lr_scheduler.ChainedScheduler(
        [torch.optim.lr_scheduler.StepLR(opt, 3), torch.optim.lr_scheduler.ExponentialLR(opt, 0.9)])
    with pytest.raises(ValueError, match="`horizon`"):
        lrs.from_torch(chained)
    two = torch.optim.SGD([{"params": [p1], "lr": 0.1}, {"params": [p2], "lr": 0.01}])
    with pytest.raises(ValueError, match="2 parameter groups"):
        lrs.from_torch(torch.optim.lr_scheduler.StepLR(two, 3))
    custom = torch.optim.lr_scheduler.CyclicLR(torch.optim.SGD([p1], lr=0.1), 0.01, 0.1,
                                               scale_fn=lambda x: 1.0, cycle_momentum=False)
    with pytest.raises(ValueError, match="scale_fn"):
        lrs.from_torch(custom)
    with pytest.raises(TypeError, match="`scheduler`"):
        lrs.from_torch("StepLR")
    same = torch.optim.SGD([{"params": [p1]}, {"params": [p2]}], lr=0.1)
    assert lrs.from_torch(torch.optim.lr_scheduler.StepLR(same, 3)) == lrs.StepDecay(0.1, 3, 0.1)


def test_a_torch_plateau_in_mid_run_continues_with_its_state():
    """A PyTorch plateau scheduler stepped through part of a run, converted: ours, on a
    model compiled with the base rate, reduces at the epochs PyTorch's does from there
    (its best value, bad epochs, cooldown and reductions carried over)."""
    import keras

    metric = [1.0, 0.9, 0.9, 0.9, 0.9, 0.88, 0.9, 0.9, 0.9, 0.9, 0.87, 0.9, 0.9, 0.9, 0.9, 0.9,
              0.9, 0.9, 0.86, 0.9, 0.9, 0.9, 0.9, 0.9]
    for split in (3, 4, 7, 12):
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=0.1)
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, patience=2, cooldown=2, threshold=0.01, factor=0.5)  # "rel", PyTorch's default
        for value in metric[:split]:
            plateau.step(value)
        callback = lrs.from_torch(plateau)
        theirs = []
        for value in metric[split:]:
            plateau.step(value)
            theirs.append(opt.param_groups[0]["lr"])
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        callback.set_model(model)
        callback.on_train_begin()
        ours = []
        for epoch, value in enumerate(metric[split:]):
            callback.on_epoch_end(epoch, {"val_loss": value})
            ours.append(lrs.current(model))
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, err_msg=f"converted after {split}")
        assert min(theirs) < 0.1
