"""Recipes from timm reproduced: `from_timm()` against timm's own schedulers, live.

timm's scheduler is driven as its train.py drives it: the rate of each optimizer
update is read before the update, `step_update(num_updates)` follows each update and
`step(epoch + 1)` each epoch; the run lasts the epochs `create_scheduler_v2()` returns.
Ours must agree at every update to a relative error of 1e-6 (1e-6 of the peak rate where
the rates come near 0).

timm needs torchvision to import as a package, which these machines do not have; its
scheduler modules need only torch, so they are loaded under a stub `timm` package.
"""

import pathlib
import sys
import types

import numpy as np
import pytest

import lrschedule as lrs

torch = pytest.importorskip("torch")


def load_timm_scheduler():
    try:
        import timm.scheduler as scheduler  # a full timm, where torchvision is there
        return scheduler
    except Exception:  # noqa: BLE001 - no timm, or no torchvision
        pass
    for entry in sys.path:
        package = pathlib.Path(entry) / "timm"
        if (package / "scheduler" / "scheduler_factory.py").exists():
            stub = types.ModuleType("timm")
            stub.__path__ = [str(package)]
            sys.modules["timm"] = stub
            import timm.scheduler as scheduler
            return scheduler
    pytest.skip("timm is not installed", allow_module_level=True)


timm_scheduler = load_timm_scheduler()

LR, UPDATES = 0.1, 4


def timm_rates(updates_per_epoch=UPDATES, base_lr=LR, **kwargs):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base_lr)
    sched, epochs = timm_scheduler.create_scheduler_v2(opt, updates_per_epoch=updates_per_epoch,
                                                       **kwargs)
    rates, num_updates = [], 0
    for epoch in range(epochs):
        for _ in range(updates_per_epoch):
            rates.append(opt.param_groups[0]["lr"])
            num_updates += 1
            sched.step_update(num_updates=num_updates)
        sched.step(epoch + 1)
    return np.asarray(rates)


V2 = [
    dict(sched="cosine", num_epochs=20, warmup_epochs=3, min_lr=1e-4),
    dict(sched="cosine", num_epochs=20, warmup_epochs=3, warmup_prefix=True, cooldown_epochs=4),
    dict(sched="cosine", num_epochs=10, cycle_limit=3, cycle_mul=1.5, cycle_decay=0.5,
         k_decay=1.5, min_lr=1e-4),
    dict(sched="cosine", num_epochs=12, warmup_epochs=2, step_on_epochs=False, cycle_limit=2),
    dict(sched="tanh", num_epochs=15, warmup_epochs=3),
    dict(sched="tanh", num_epochs=8, cycle_limit=2, cycle_decay=0.5, step_on_epochs=False),
    dict(sched="poly", num_epochs=16, decay_rate=2.0, warmup_epochs=2, min_lr=1e-5),
    dict(sched="poly", num_epochs=10, decay_rate=0.5, k_decay=0.7, cycle_limit=2, cycle_mul=2.0),
    dict(sched="step", num_epochs=20, decay_epochs=6, decay_rate=0.5, warmup_epochs=2),
    dict(sched="step", num_epochs=20, decay_epochs=6, step_on_epochs=False),
    dict(sched="multistep", num_epochs=20, decay_milestones=[4, 9, 15], decay_rate=0.3,
         warmup_epochs=3, warmup_prefix=True),
    dict(sched="constant", num_epochs=10, warmup_epochs=4, warmup_lr=1e-3),
    dict(sched="wsd", num_epochs=20, warmup_epochs=3, decay_epochs=0.3),
    dict(sched="wsd", num_epochs=20, warmup_epochs=3, decay_epochs=5, decay_fn="cosine",
         warmup_prefix=True, step_on_epochs=False, cooldown_epochs=2),
    dict(sched="rsqrt", num_epochs=20, warmup_epochs=4, min_lr=1e-3),
    dict(sched="rsqrt", num_epochs=20, warmup_epochs=0, stable_timescale=3, decay_fn="exp"),
]


@pytest.mark.parametrize("kwargs", V2, ids=[f"{k['sched']}-{i}" for i, k in enumerate(V2)])
def test_from_timm_matches_create_scheduler_v2(kwargs):
    expected = timm_rates(**kwargs)
    ours = lrs.from_timm(dict(kwargs), steps_per_epoch=UPDATES, learning_rate=LR)
    got = np.asarray(lrs.values(ours, range(len(expected))), dtype=np.float64)
    # rtol 1e-6, and 1e-6 of the peak where the rates come near 0
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6 * float(np.max(expected)))


def test_train_py_args_take_train_py_defaults(tmp_path):
    """An args.yaml as timm's train.py writes it: its names, scheduler_kwargs()' defaults
    (warmup_epochs 5, epochs 100, lr_cycle_decay...), and every other field ignored."""
    args = {"model": "resnet50", "batch_size": 128, "lr": 0.05, "sched": "cosine",
            "epochs": 30, "min_lr": 1e-5, "lr_cycle_limit": 1, "sched_on_updates": True,
            "seed": 42, "opt": "sgd"}
    namespace = types.SimpleNamespace(**args)
    kwargs = timm_scheduler.scheduler_kwargs(namespace)  # timm's own reading of them
    kwargs.pop("sched"), kwargs.pop("num_epochs")
    expected = timm_rates(base_lr=0.05, sched="cosine", num_epochs=30, **kwargs)
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "args.yaml"
    path.write_text(yaml.safe_dump(args))
    for config in (args, namespace, str(path)):
        ours = lrs.from_timm(config, steps_per_epoch=UPDATES)
        np.testing.assert_allclose(lrs.values(ours, range(len(expected))), expected,
                                   rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("config, argument", [
    (dict(sched="plateau", num_epochs=5), "sched"),
    (dict(sched="cosine", noise=0.5), "noise"),
    (dict(sched="cosine", epochs=5, num_epochs=5), "config"),
    (dict(sched="cosine"), "spelling"),
    (dict(sched="cosine", num_epochs=5, bogus=1), "bogus"),
    (dict(sched="cosine", epochs=5), "learning_rate"),
    (dict(sched="sgdr", num_epochs=5), "sched"),
])
def test_what_cannot_be_reproduced_is_refused_naming_the_argument(config, argument):
    with pytest.raises((ValueError, TypeError), match=f"`{argument}`"):
        lrs.from_timm(config, steps_per_epoch=10, learning_rate=None if argument ==
                      "learning_rate" else 0.1)
