"""Writes tests/testthat/fixtures/reference-rates.csv from the systems we match.

The table is read by pytest, by testthat and by the rpy2 tests, so all three
surfaces are held to the same numbers. Every rate in it comes from the system whose
semantics the schedule matches — PyTorch's schedulers, transformers' schedule
functions, optax, Keras's own schedules — or, for our compositions (Warmup,
PerEpoch, Tabulated, Constant), from the formula in plain Python. It never runs
lrschedule.

The table is also the catalogue of the schedule family: every schedule class, ours
and Keras's, has rows, each naming the class and the R function that builds it.
`R_NAMES` below is the one place that pairs them; the tests take the list of
schedules, the R <-> Python pairs and their examples from the table, and fail when
an exported class, a Keras schedule or an R schedule_*() function has no rows.

Columns: case, python_class, r_function, args (JSON, DESIGN.md argument names; a
nested schedule is {"python_class", "r_function", "args"}), step, lr, rtol. The
relative tolerance is 1e-5 for our schedules and 1e-4 for Keras's own six, whose
float32 formulas (cos(pi * x) near pi, as Keras writes them) lose a few more digits
and differ between backends in the fifth.

Run: .venv/bin/python tests/reference/make_reference_rates.py
"""

import csv
import json
import math
import pathlib

import numpy as np
import optax
import torch
import transformers

import keras

OUT = pathlib.Path(__file__).resolve().parents[1] / "testthat" / "fixtures" / "reference-rates.csv"

# Each schedule class and the R function that builds it (schedule_function() tabulates
# an R function into a Tabulated).
R_NAMES = {
    "Constant": "schedule_constant",
    "Linear": "schedule_linear",
    "StepDecay": "schedule_step_decay",
    "MultiStepDecay": "schedule_multistep_decay",
    "OneCycle": "schedule_one_cycle",
    "Cyclic": "schedule_cyclic",
    "WarmupStableDecay": "schedule_warmup_stable_decay",
    "InverseSqrt": "schedule_inverse_sqrt",
    "Warmup": "schedule_warmup",
    "Sequence": "schedule_sequence",
    "PerEpoch": "schedule_per_epoch",
    "Scaled": "schedule_scaled",
    "CycledMomentum": "schedule_momentum",
    "InUpdates": "schedule_in_updates",
    "InMicroBatches": "schedule_in_micro_batches",
    "Extended": "schedule_extend",
    "Tabulated": "schedule_function",
    "ExponentialDecay": "schedule_exponential_decay",
    "PiecewiseConstantDecay": "schedule_piecewise_constant",
    "PolynomialDecay": "schedule_polynomial_decay",
    "InverseTimeDecay": "schedule_inverse_time_decay",
    "CosineDecay": "schedule_cosine_decay",
    "CosineDecayRestarts": "schedule_cosine_restarts",
}


def spec(cls, **args):
    return {"python_class": cls, "r_function": R_NAMES[cls], "args": args}


def torch_rates(make, steps, base_lr):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base_lr)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def torch_momenta(make, steps, adam=False):
    """The momentum (SGD) or beta_1 (Adam) a PyTorch scheduler sets at each step, with
    cycle_momentum=True (its default)."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = (torch.optim.Adam([param], lr=1.0) if adam
           else torch.optim.SGD([param], lr=1.0, momentum=0.9))
    sched = make(opt)
    out = []
    for _ in range(steps):
        group = opt.param_groups[0]
        out.append(group["betas"][0] if adam else group["momentum"])
        opt.step()
        sched.step()
    return out


def keras_rates(cls, args, steps):
    # Keras's own schedule, computed in float64 so the reference carries no float32
    # rounding of its own.
    keras.config.set_floatx("float64")
    try:
        schedule = getattr(keras.optimizers.schedules, cls)(**args)
        return [float(keras.ops.convert_to_numpy(schedule(s))) for s in range(steps)]
    finally:
        keras.config.set_floatx("float32")


S = torch.optim.lr_scheduler
CASES = []


def case(name, schedule_spec, rates, sample=None):
    steps = range(len(rates)) if sample is None else sample
    CASES.append((name, schedule_spec, [(s, rates[s]) for s in steps]))


# --- PyTorch semantics -----------------------------------------------------------
n = 100
case("one_cycle_cos", spec("OneCycle", max_lr=0.01, total_steps=n),
     torch_rates(lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=n, cycle_momentum=False), n, 1))
case("one_cycle_linear_three_phase",
     spec("OneCycle", max_lr=0.1, total_steps=n, pct_start=0.25, anneal_strategy="linear",
          div_factor=10, final_div_factor=100, three_phase=True),
     torch_rates(lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=n, pct_start=0.25,
                                        anneal_strategy="linear", div_factor=10,
                                        final_div_factor=100, three_phase=True,
                                        cycle_momentum=False), n, 1))
case("cyclic_triangular2", spec("Cyclic", base_lr=0.001, max_lr=0.01, step_size_up=10,
                                step_size_down=15, mode="triangular2"),
     torch_rates(lambda o: S.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=10,
                                      step_size_down=15, mode="triangular2",
                                      cycle_momentum=False), n, 1))
case("cyclic_exp_range", spec("Cyclic", base_lr=0.001, max_lr=0.01, step_size_up=8,
                              mode="exp_range", gamma=0.98),
     torch_rates(lambda o: S.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=8,
                                      mode="exp_range", gamma=0.98, cycle_momentum=False), n, 1))
# Momentum cycled inversely to the rate (cycle_momentum=True): SGD's momentum, Adam's
# beta_1 (the same values).
case("momentum_one_cycle_cos",
     spec("CycledMomentum", schedule=spec("OneCycle", max_lr=0.01, total_steps=n)),
     torch_momenta(lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=n), n))
case("momentum_one_cycle_linear_three_phase",
     spec("CycledMomentum", schedule=spec("OneCycle", max_lr=0.1, total_steps=n, pct_start=0.25,
                                          anneal_strategy="linear", three_phase=True,
                                          base_momentum=0.8, max_momentum=0.99)),
     torch_momenta(lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=n, pct_start=0.25,
                                          anneal_strategy="linear", three_phase=True,
                                          base_momentum=0.8, max_momentum=0.99), n, adam=True))
case("momentum_cyclic_triangular2",
     spec("CycledMomentum", schedule=spec("Cyclic", base_lr=0.001, max_lr=0.01, step_size_up=10,
                                          step_size_down=15, mode="triangular2")),
     torch_momenta(lambda o: S.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=10,
                                        step_size_down=15, mode="triangular2"), n))
case("momentum_cyclic_exp_range",
     spec("CycledMomentum", schedule=spec("Cyclic", base_lr=0.001, max_lr=0.01, step_size_up=8,
                                          mode="exp_range", gamma=0.98, base_momentum=0.85,
                                          max_momentum=0.95)),
     torch_momenta(lambda o: S.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=8,
                                        mode="exp_range", gamma=0.98, base_momentum=0.85,
                                        max_momentum=0.95), n, adam=True))
case("step_decay", spec("StepDecay", initial_learning_rate=0.1, step_size=30, gamma=0.5),
     torch_rates(lambda o: S.StepLR(o, step_size=30, gamma=0.5), n, 0.1))
case("multistep_decay", spec("MultiStepDecay", initial_learning_rate=0.1,
                             milestones=[20, 50, 80], gamma=0.1),
     torch_rates(lambda o: S.MultiStepLR(o, milestones=[20, 50, 80], gamma=0.1), n, 0.1))
case("linear", spec("Linear", initial_learning_rate=0.025, end_learning_rate=0.1, total_steps=40),
     torch_rates(lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=40),
                 n, 0.1))

# --- transformers semantics -------------------------------------------------------
case("wsd_cosine", spec("WarmupStableDecay", learning_rate=0.001, warmup_steps=10,
                        stable_steps=50, decay_steps=30),
     torch_rates(lambda o: transformers.get_wsd_schedule(
         o, num_warmup_steps=10, num_stable_steps=50, num_decay_steps=30), n, 0.001))
case("wsd_1sqrt", spec("WarmupStableDecay", learning_rate=0.001, warmup_steps=10,
                       stable_steps=20, decay_steps=60, warmup_type="cosine",
                       decay_type="1-sqrt", min_lr_ratio=0.1),
     torch_rates(lambda o: transformers.get_wsd_schedule(
         o, num_warmup_steps=10, num_stable_steps=20, num_decay_steps=60, warmup_type="cosine",
         decay_type="1-sqrt", min_lr_ratio=0.1), n, 0.001))
case("inverse_sqrt", spec("InverseSqrt", learning_rate=0.001, warmup_steps=20),
     torch_rates(lambda o: transformers.get_inverse_sqrt_schedule(o, num_warmup_steps=20),
                 n, 0.001))

# --- optax semantics --------------------------------------------------------------
joined = optax.join_schedules(
    [optax.linear_schedule(0.0, 0.01, 20),
     optax.exponential_decay(0.01, transition_steps=10, decay_rate=0.5, staircase=True)],
    boundaries=[20])
case("sequence", spec("Sequence", schedules=[
    spec("Linear", initial_learning_rate=0.0, end_learning_rate=0.01, total_steps=20),
    spec("StepDecay", initial_learning_rate=0.01, step_size=10, gamma=0.5)], boundaries=[20]),
     [float(joined(s)) for s in range(n)])

# --- Keras's own schedules ----------------------------------------------------------
KERAS = {
    "exponential_decay": ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10,
                                                   decay_rate=0.5, staircase=True)),
    "piecewise_constant": ("PiecewiseConstantDecay", dict(boundaries=[30, 60],
                                                          values=[0.1, 0.01, 0.001])),
    "polynomial_decay": ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=50,
                                                 end_learning_rate=0.001, power=2.0)),
    "inverse_time_decay": ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=10,
                                                    decay_rate=0.5)),
    "cosine_decay_warmup": ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=80,
                                                alpha=0.1, warmup_target=0.01,
                                                warmup_steps=20)),
    "cosine_restarts": ("CosineDecayRestarts", dict(initial_learning_rate=0.01,
                                                    first_decay_steps=10, t_mul=2.0, m_mul=0.9)),
}
KERAS_CLASSES = {cls for cls, _ in KERAS.values()}
for name, (cls, args) in KERAS.items():
    case(name, spec(cls, **args), keras_rates(cls, args, n))

# --- compositions, from their formulas ----------------------------------------------
case("constant", spec("Constant", learning_rate=0.003), [0.003] * n, sample=range(0, n, 9))
inner = [0.01 * 0.5 ** (s // 10) for s in range(n)]
case("warmup_step_decay",
     spec("Warmup", schedule=spec("StepDecay", initial_learning_rate=0.01, step_size=10,
                                  gamma=0.5), warmup_steps=25, start_learning_rate=0.001),
     [0.001 + (0.01 - 0.001) * s / 25 if s < 25 else inner[s - 25] for s in range(n)])
case("per_epoch", spec("PerEpoch", schedule=spec("MultiStepDecay", initial_learning_rate=0.1,
                                                   milestones=[3, 6], gamma=0.1),
                       steps_per_epoch=10),
     [0.1 * 0.1 ** ((s // 10 >= 3) + (s // 10 >= 6)) for s in range(n)])
# Gradient accumulation as PyTorch users write it: scheduler.step() after every
# optimizer.step(), i.e. once per k micro-batches; the rate of micro-batch i is the
# scheduler's at update i // k.
k = 4
updates = torch_rates(lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=n // k,
                                             cycle_momentum=False), n // k, 1)
case("in_updates_one_cycle",
     spec("InUpdates", schedule=spec("OneCycle", max_lr=0.01, total_steps=n // k),
          gradient_accumulation_steps=k),
     [updates[s // k] for s in range(n)])
micro = torch_rates(lambda o: S.StepLR(o, step_size=7, gamma=0.5), n, 0.1)
case("in_micro_batches_step_decay",
     spec("InMicroBatches", schedule=spec("StepDecay", initial_learning_rate=0.1, step_size=7,
                                          gamma=0.5)),
     micro, sample=range(0, n, 3))
# Per-layer rates as fastai/timm give them: the group's schedule times its factor.
cycle = torch_rates(lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=n, cycle_momentum=False),
                    n, 1)
case("scaled_one_cycle", spec("Scaled", schedule=spec("OneCycle", max_lr=0.01, total_steps=n),
                              factor=0.25),
     [0.25 * r for r in cycle])
# A run lengthened without a jump: PyTorch's one-cycle (40 steps) up to step 16, then
# the rest of it stretched onto steps 16..70, linearly between its steps; a multi-step
# decay keeps its steps (the rate at the floor of the stretched step).
old = torch_rates(lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=40, cycle_momentum=False),
                  40, 1)


def stretched(t, table, at, end, total, interpolate=True):
    held = lambda i: table[min(i, len(table) - 1)]  # noqa: E731 - the final rate holds
    if t < at:
        return held(t)
    x = at + (t - at) * (end - at) / (total - at)  # old step `end` is new step `total`
    i = math.floor(x)
    return held(i) + (x - i) * (held(i + 1) - held(i)) if interpolate else held(i)


case("extended_one_cycle",
     spec("Extended", schedule=spec("OneCycle", max_lr=0.01, total_steps=40), at_step=16,
          total_steps=70),
     [stretched(t, old, 16, 40, 70) for t in range(n)])
steps_old = [0.1 * 0.5 ** ((s >= 10) + (s >= 20)) for s in range(21)]
case("extended_multistep",
     spec("Extended", schedule=spec("MultiStepDecay", initial_learning_rate=0.1, milestones=[10, 20],
                                    gamma=0.5), at_step=5, total_steps=50),
     [stretched(t, steps_old, 5, 20, 50, interpolate=False) for t in range(n)])
table = [0.01 / (1 + s) for s in range(30)]
case("tabulated", spec("Tabulated", values=table), [table[min(s, 29)] for s in range(n)],
     sample=list(range(0, 40)))


def main():
    without_rows = set(R_NAMES) - {schedule_spec["python_class"] for _, schedule_spec, _ in CASES}
    if without_rows:
        raise SystemExit(f"no case for {sorted(without_rows)}: every schedule needs reference rows")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case", "python_class", "r_function", "args", "step", "lr", "rtol"])
        for name, schedule_spec, rows in CASES:
            args = json.dumps(schedule_spec["args"], separators=(",", ":"))
            for step, lr in rows:
                if not math.isfinite(lr):
                    raise SystemExit(f"{name}: non-finite reference at step {step}")
                rtol = 1e-4 if schedule_spec["python_class"] in KERAS_CLASSES else 1e-5
                writer.writerow([name, schedule_spec["python_class"], schedule_spec["r_function"],
                                 args, step, repr(float(lr)), rtol])
    print(f"wrote {OUT} ({sum(len(r) for _, _, r in CASES)} rows, {len(CASES)} cases)")


if __name__ == "__main__":
    main()
