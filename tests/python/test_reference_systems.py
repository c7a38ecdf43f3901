"""Each schedule against the live system whose semantics it matches.

PyTorch's schedulers are stepped exactly as in a training loop (the rate read before
each `scheduler.step()` is the rate used at that optimizer step); transformers'
schedules are LambdaLR's built by its own factory functions; optax's
`join_schedules` composes optax's own schedules. Whole trajectories must agree to a
relative error of 1e-5.
"""

import numpy as np
import pytest

import lrschedule as lrs
from probes import torch_trajectory

torch = pytest.importorskip("torch")

RTOL = 1e-5


def assert_trajectory(ours, reference, atol=0.0):
    np.testing.assert_allclose(lrs.values(ours, range(len(reference))), reference, rtol=RTOL, atol=atol)


ONE_CYCLE = [
    pytest.param(dict(max_lr=0.1, total_steps=1000), id="cos-default"),
    pytest.param(dict(max_lr=0.1, total_steps=1000, anneal_strategy="linear"), id="linear"),
    pytest.param(dict(max_lr=0.1, total_steps=1000, three_phase=True), id="cos-three-phase"),
    pytest.param(dict(max_lr=2.0, total_steps=777, anneal_strategy="linear", three_phase=True,
                      pct_start=0.25), id="linear-three-phase"),
    # 0.3 * 1001 - 1 = 299.3: fractional phase boundaries, as PyTorch computes them.
    pytest.param(dict(max_lr=0.5, total_steps=1001, pct_start=0.3, div_factor=10,
                      final_div_factor=100), id="fractional-boundary"),
    pytest.param(dict(max_lr=1e-3, total_steps=50, pct_start=0.45, three_phase=True),
                 id="short-three-phase"),
]


@pytest.mark.parametrize("kwargs", ONE_CYCLE)
def test_one_cycle_matches_torch(kwargs):
    total = kwargs["total_steps"]
    reference = torch_trajectory(
        lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, cycle_momentum=False, **kwargs),
        total,
    )
    assert_trajectory(lrs.OneCycle(**kwargs), reference)


# The whole accepted range of the divisors (PyTorch takes any > 0): below 1 the cycle
# starts above max_lr or ends above it, and the phase in force is no longer the
# smaller value.
DIVISORS = [0.01, 0.5, 1.0, 25.0, 1e4]


@pytest.mark.parametrize("three_phase", [False, True], ids=["two-phase", "three-phase"])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("final_div_factor", DIVISORS, ids=[f"final{d:g}" for d in DIVISORS])
@pytest.mark.parametrize("div_factor", DIVISORS, ids=[f"div{d:g}" for d in DIVISORS])
def test_one_cycle_matches_torch_over_the_divisors(div_factor, final_div_factor, anneal,
                                                   three_phase):
    kwargs = dict(max_lr=25.0, total_steps=500, pct_start=0.3, anneal_strategy=anneal,
                  div_factor=div_factor, final_div_factor=final_div_factor,
                  three_phase=three_phase)
    reference = torch_trajectory(
        lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, cycle_momentum=False, **kwargs),
        kwargs["total_steps"],
    )
    assert_trajectory(lrs.OneCycle(**kwargs), reference)


def test_one_cycle_issue_example():
    # max_lr 25, 10 steps, linear, div_factor 0.5, final_div_factor 2 (PyTorch's values)
    schedule = lrs.OneCycle(25.0, 10, anneal_strategy="linear", div_factor=0.5,
                            final_div_factor=2)
    np.testing.assert_allclose(lrs.values(schedule, range(10)), [50, 37.5] + [25] * 8,
                               rtol=1e-6)


CYCLIC = [
    pytest.param(dict(base_lr=0.001, max_lr=0.006, step_size_up=20), id="triangular"),
    pytest.param(dict(base_lr=0.001, max_lr=0.006, step_size_up=15, step_size_down=35,
                      mode="triangular2"), id="triangular2-asymmetric"),
    pytest.param(dict(base_lr=0.001, max_lr=0.006, step_size_up=7, step_size_down=3,
                      mode="exp_range", gamma=0.995), id="exp-range-asymmetric"),
    pytest.param(dict(base_lr=0.0, max_lr=1.0, step_size_up=1, step_size_down=4),
                 id="zero-base-one-step-up"),
]


@pytest.mark.parametrize("kwargs", CYCLIC)
def test_cyclic_matches_torch(kwargs):
    reference = torch_trajectory(
        lambda opt: torch.optim.lr_scheduler.CyclicLR(opt, cycle_momentum=False, **kwargs),
        400,
    )
    assert_trajectory(lrs.Cyclic(**kwargs), reference, atol=1e-12)


@pytest.mark.parametrize(
    "step_size, gamma", [(1, 0.5), (30, 0.1), (7, 0.9), (3, 1.5)], ids=str
)
def test_step_decay_matches_torch_step_lr(step_size, gamma):
    reference = torch_trajectory(
        lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma),
        120, base_lr=0.2,
    )
    assert_trajectory(lrs.StepDecay(0.2, step_size=step_size, gamma=gamma), reference)


@pytest.mark.parametrize(
    "milestones, gamma", [([10], 0.1), ([5, 20, 21, 60], 0.5), ([1, 2, 3], 0.3)], ids=str
)
def test_multistep_decay_matches_torch_multistep_lr(milestones, gamma):
    reference = torch_trajectory(
        lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=gamma),
        100, base_lr=0.05,
    )
    assert_trajectory(lrs.MultiStepDecay(0.05, milestones=milestones, gamma=gamma), reference)


@pytest.mark.parametrize(
    "start_factor, end_factor, total_iters",
    [(1 / 3, 1.0, 5), (1.0, 0.01, 40), (0.5, 0.25, 1), (0.1, 1.0, 100)],
    ids=str,
)
def test_linear_matches_torch_linear_lr(start_factor, end_factor, total_iters):
    base = 0.3
    reference = torch_trajectory(
        lambda opt: torch.optim.lr_scheduler.LinearLR(
            opt, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters
        ),
        total_iters + 20, base_lr=base,
    )
    ours = lrs.Linear(start_factor * base, end_factor * base, total_steps=total_iters)
    assert_trajectory(ours, reference)


transformers = pytest.importorskip("transformers")

WSD_TYPES = ["linear", "cosine", "1-sqrt"]


@pytest.mark.parametrize("warmup_type", WSD_TYPES)
@pytest.mark.parametrize("decay_type", WSD_TYPES)
@pytest.mark.parametrize("min_lr_ratio", [0.0, 0.1], ids=lambda r: f"min{r}")
def test_warmup_stable_decay_matches_transformers(warmup_type, decay_type, min_lr_ratio):
    warmup, stable, decay = 37, 50, 63
    reference = torch_trajectory(
        lambda opt: transformers.get_wsd_schedule(
            opt, num_warmup_steps=warmup, num_stable_steps=stable, num_decay_steps=decay,
            warmup_type=warmup_type, decay_type=decay_type, min_lr_ratio=min_lr_ratio,
        ),
        warmup + stable + decay + 30, base_lr=3e-4,
    )
    ours = lrs.WarmupStableDecay(
        3e-4, warmup_steps=warmup, stable_steps=stable, decay_steps=decay,
        warmup_type=warmup_type, decay_type=decay_type, min_lr_ratio=min_lr_ratio,
    )
    assert_trajectory(ours, reference, atol=1e-15)


@pytest.mark.parametrize("num_cycles", [0.5, 1.0, 1.5, 0.25])
def test_warmup_stable_decay_cosine_cycles_match_transformers(num_cycles):
    reference = torch_trajectory(
        lambda opt: transformers.get_wsd_schedule(
            opt, num_warmup_steps=10, num_stable_steps=0, num_decay_steps=90,
            num_cycles=num_cycles, min_lr_ratio=0.05,
        ),
        120, base_lr=1.0,
    )
    ours = lrs.WarmupStableDecay(1.0, 10, 0, 90, num_cycles=num_cycles, min_lr_ratio=0.05)
    assert_trajectory(ours, reference)


@pytest.mark.parametrize(
    "warmup, timescale", [(100, None), (0, None), (10, 50), (40, 7)], ids=str
)
def test_inverse_sqrt_matches_transformers(warmup, timescale):
    reference = torch_trajectory(
        lambda opt: transformers.get_inverse_sqrt_schedule(
            opt, num_warmup_steps=warmup, timescale=timescale
        ),
        600, base_lr=1e-3,
    )
    assert_trajectory(lrs.InverseSqrt(1e-3, warmup_steps=warmup, timescale=timescale), reference)


optax = pytest.importorskip("optax")


def test_sequence_matches_optax_join_schedules():
    reference = optax.join_schedules(
        [
            optax.linear_schedule(0.0, 0.1, transition_steps=30),
            optax.exponential_decay(0.1, transition_steps=10, decay_rate=0.5, staircase=True),
            optax.constant_schedule(0.004),
        ],
        boundaries=[30, 95],
    )
    ours = lrs.Sequence(
        [lrs.Linear(0.0, 0.1, 30), lrs.StepDecay(0.1, step_size=10, gamma=0.5), lrs.Constant(0.004)],
        boundaries=[30, 95],
    )
    steps = np.arange(200)
    np.testing.assert_allclose(
        lrs.values(ours, steps), np.asarray([float(reference(s)) for s in steps]), rtol=RTOL
    )


def test_warmup_into_keras_cosine_matches_optax_warmup_cosine():
    peak, end, warmup, total = 0.02, 0.0004, 25, 300
    reference = optax.warmup_cosine_decay_schedule(
        init_value=0.001, peak_value=peak, warmup_steps=warmup, decay_steps=total, end_value=end
    )
    import keras

    cosine = keras.optimizers.schedules.CosineDecay(peak, decay_steps=total - warmup, alpha=end / peak)
    ours = lrs.Warmup(cosine, warmup_steps=warmup, start_learning_rate=0.001)
    steps = np.arange(total + 20)
    np.testing.assert_allclose(
        lrs.values(ours, steps), np.asarray([float(reference(s)) for s in steps]), rtol=RTOL
    )
