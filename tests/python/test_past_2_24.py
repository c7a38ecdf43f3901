"""Every schedule is exact past 2**24 steps, where float32 stops holding every integer.

Each schedule class of the catalogue (ours, and Keras's six) is configured so that
something happens at the steps looked at: a switch, the start or the end of a phase, a
restart. It is evaluated with `lrschedule.values(s, steps)` at the steps 2**24 - 1 ..
2**24 + 3 and 2**31 - 3 .. 2**31 - 1, and compared with its formula written here in
float64 (Python integers and `math`, from the class's docstring, PyTorch's documented
formulas for the schedules that follow PyTorch, Keras's documentation and source for
Keras's own):

* a schedule that steps must switch at exactly the formula's step: at every step the
  level nearest its rate is the formula's level on that side of each switch (a switch a
  step early or late gives the other side's level), and its rate is that level (to
  1e-5: a level lr * gamma ** k is a float32 power);
* a schedule that moves must be within 2 float32 ulps of the float64 formula,
  `abs(ours - ref) <= 2 * spacing(float32(ref))`.

Switches and phase ends sit at odd steps past 2**24 where they can (2**24 + 1 and
2**24 + 3 are not float32 numbers: a step rounded to float32 lands on 2**24 or
2**24 + 4), and phases are short there, so a step off moves the rate by far more than
2 ulps. Each stepping schedule has a second configuration whose switch is near 2**31
(Constant and a table's held last rate have nothing to switch). Keras's
own schedules cast the step to float32 (`ops.cast(step, dtype)`), and lrschedule
evaluates them as Keras does, by design: the cases where that makes them inexact are
xfail(strict=True), "Keras's own schedule computes in float32"; ours are checked
strictly.

TensorFlow only: steps are int64 there. JAX without x64 and torch count steps in int32
(2**31 - 1 is their last step, and 2**31 - 3 + a phase offset overflows).
"""

import math

import keras
import numpy as np
import pytest

import lrschedule as lrs


pytestmark = [pytest.mark.tensorflow_only, pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="steps are int64 on TensorFlow only: JAX without x64 and torch count them in "
           "int32, where these steps overflow")]

K = keras.optimizers.schedules
T = 2**24
B = 2**31
STEPS = [T - 1, T, T + 1, T + 2, T + 3, B - 3, B - 2, B - 1]
KERAS_FLOAT32 = "Keras's own schedule computes in float32"


# --------------------------------------------------------------------------------------
# The formulas, in float64 (steps are Python ints: exact)


def constant(lr):
    return lambda step: lr


def linear(a, b, n):
    # lr = initial + (end - initial) * min(step, n) / n
    return lambda step: a + (b - a) * min(step, n) / n


def step_decay(lr, size, gamma):
    # lr * gamma ** floor(step / step_size)   (PyTorch's StepLR)
    return lambda step: lr * gamma ** (step // size)


def multi_step_decay(lr, milestones, gamma):
    # lr * gamma ** (number of milestones <= step)   (PyTorch's MultiStepLR)
    return lambda step: lr * gamma ** sum(1 for m in milestones if m <= step)


def _anneal(start, end, pct, strategy):
    # PyTorch's OneCycleLR: _annealing_cos / _annealing_linear
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def one_cycle_phases(max_lr, total, pct_start, div_factor, final_div_factor, three_phase,
                     base_momentum=0.85, max_momentum=0.95):
    """PyTorch's OneCycleLR phases: (end_step, start_lr, end_lr, start_m, end_m)."""
    initial = max_lr / div_factor
    minimum = initial / final_div_factor
    if three_phase:
        return [(float(pct_start * total) - 1, initial, max_lr, max_momentum, base_momentum),
                (float(2 * pct_start * total) - 2, max_lr, initial, base_momentum,
                 max_momentum),
                (total - 1, initial, minimum, max_momentum, max_momentum)]
    return [(float(pct_start * total) - 1, initial, max_lr, max_momentum, base_momentum),
            (total - 1, max_lr, minimum, base_momentum, max_momentum)]


def one_cycle(max_lr, total, pct_start=0.3, strategy="cos", div_factor=25.0,
              final_div_factor=1e4, three_phase=False, momentum=False):
    phases = one_cycle_phases(max_lr, total, pct_start, div_factor, final_div_factor,
                              three_phase)

    def rate(step):
        # PyTorch's get_lr(): the first phase whose end_step >= step (or the last).
        # PyTorch raises past total_steps; lrschedule holds the final value (its
        # docstring): the formula at the last step.
        step = min(step, total - 1)
        start = 0.0
        for i, (end, lr0, lr1, m0, m1) in enumerate(phases):
            if step <= end or i == len(phases) - 1:
                pct = (step - start) / (end - start)
                return _anneal(m0, m1, pct, strategy) if momentum else \
                    _anneal(lr0, lr1, pct, strategy)
            start = end
    return rate


def cyclic(base, peak, up, down, mode="triangular", gamma=1.0):
    # The docstring's: cycle = floor(step / (up + down)), pos = step - cycle * (up + down),
    # x = pos / up if pos <= up else (up + down - pos) / down, scaled by mode.
    def rate(step):
        period = up + down
        cycle, pos = divmod(step, period)
        x = pos / up if pos <= up else (period - pos) / down
        scale = {"triangular": 1.0, "triangular2": 0.5 ** cycle,
                 "exp_range": gamma ** step}[mode]
        return base + (peak - base) * x * scale
    return rate


def wsd(lr, w, s, d, warmup_type="linear", decay_type="cosine", m=0.0, cycles=0.5):
    # The docstring's (transformers' get_wsd_schedule)
    warm = {"linear": lambda p: p, "cosine": lambda p: (1 - math.cos(math.pi * p)) / 2,
            "1-sqrt": lambda p: 1 - math.sqrt(1 - p)}[warmup_type]
    decay = {"linear": lambda p: 1 - p,
             "cosine": lambda p: (1 + math.cos(2 * math.pi * cycles * p)) / 2,
             "1-sqrt": lambda p: 1 - math.sqrt(p)}[decay_type]

    def rate(step):
        if step < w:
            factor = m + (1 - m) * warm(step / w)
        elif step < w + s:
            factor = 1.0
        elif step < w + s + d:
            factor = m + (1 - m) * decay((step - w - s) / d)
        else:
            factor = m
        return lr * factor
    return rate


def inverse_sqrt(lr, w, timescale):
    # step < w: lr * step / w; after: lr * sqrt(timescale / (step - w + timescale))
    return lambda step: lr * step / w if step < w else \
        lr * math.sqrt(timescale / (step - w + timescale))


def warmup(inner, w, start=0.0):
    # a ramp from start to schedule(0) over w steps, then schedule(step - w)
    target = inner(0)
    return lambda step: start + (target - start) * step / w if step < w else inner(step - w)


def sequence(pieces, boundaries):
    # piece i runs from boundaries[i - 1], at its own step 0
    def rate(step):
        starts = [0] + boundaries
        i = max(j for j, b in enumerate(starts) if b <= step)
        return pieces[i](step - starts[i])
    return rate


def per_epoch(inner, steps_per_epoch):
    return lambda step: inner(step // steps_per_epoch)


def scaled(inner, factor):
    return lambda step: factor * inner(step)


def in_updates(inner, k):
    return lambda step: inner(step // k)


def extended(inner, end, at, total, stepwise):
    """The docstring's: from `at` on, the old schedule at at + (step - at) * r,
    r = (end - at) / (total - at); its floor for a schedule that steps, else linear
    between the two steps around it."""
    def rate(step):
        if step < at:
            return inner(step)
        whole, rest = divmod((step - at) * (end - at), total - at)
        old = at + whole
        if stepwise:
            return inner(old)
        fraction = rest / (total - at)
        return inner(old) + fraction * (inner(old + 1) - inner(old))
    return rate


def tabulated(values):
    return lambda step: values[min(step, len(values) - 1)]


# Keras's own (their documentation; CosineDecayRestarts from Keras's source)

def k_exponential(lr, decay_steps, rate, staircase):
    def value(step):
        p = step // decay_steps if staircase else step / decay_steps
        return lr * rate ** p
    return value


def k_piecewise(boundaries, values):
    # values[0] for step <= b[0], values[i] for b[i-1] < step <= b[i], values[-1] after
    return lambda step: values[sum(1 for b in boundaries if step > b)]


def k_polynomial(lr, decay_steps, end, power):
    return lambda step: (lr - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end


def k_inverse_time(lr, decay_steps, rate, staircase):
    def value(step):
        p = step // decay_steps if staircase else step / decay_steps
        return lr / (1 + rate * p)
    return value


def k_cosine(lr, decay_steps, alpha):
    def value(step):
        cosine = 0.5 * (1 + math.cos(math.pi * min(step, decay_steps) / decay_steps))
        return lr * ((1 - alpha) * cosine + alpha)
    return value


def k_cosine_restarts(lr, first, m_mul, alpha):
    # t_mul = 1: restart i at i * first; the fraction of the current period
    def value(step):
        restart, pos = divmod(step, first)
        cosine = 0.5 * m_mul ** restart * (1 + math.cos(math.pi * pos / first))
        return lr * ((1 - alpha) * cosine + alpha)
    return value


# --------------------------------------------------------------------------------------
# The cases: (id, schedule, formula, steps?, xfail reason)
#
# `steps` marks a schedule that steps (its switches are checked side by side); the
# others move. In each id, "@2^24" or "@2^31" says where the switch or phase is.


def cases():
    half = T // 2
    c = []

    def add(name, schedule, formula, steps, reason=None):
        c.append(pytest.param(schedule, formula, steps, id=name,
                              marks=[pytest.mark.xfail(strict=True, reason=reason)]
                              if reason else []))

    # Constant: nothing happens, at any step
    add("Constant", lrs.Constant(0.05), constant(0.05), True)
    # Linear: the ramp ends at 2^24 + 2 (and at 2^31 - 1), both directions
    add("Linear-up@2^24", lrs.Linear(0.0, 1.0, T + 2), linear(0.0, 1.0, T + 2), False)
    add("Linear-down@2^24", lrs.Linear(0.3, 0.01, T + 2), linear(0.3, 0.01, T + 2), False)
    add("Linear-up@2^31", lrs.Linear(0.01, 1.0, B - 1), linear(0.01, 1.0, B - 1), False)
    # StepDecay: a decay at 2^24, at 2^24 + 1 (no float32 holds it), at 2^31 - 2
    add("StepDecay@2^24", lrs.StepDecay(1.0, T, 0.9), step_decay(1.0, T, 0.9), True)
    add("StepDecay@2^24+1", lrs.StepDecay(1.0, T + 1, 0.9), step_decay(1.0, T + 1, 0.9), True)
    add("StepDecay@2^31", lrs.StepDecay(1.0, 2**30 - 1, 0.5),
        step_decay(1.0, 2**30 - 1, 0.5), True)
    # MultiStepDecay: milestones at 2^24 + 1 and 2^24 + 3; at 2^31 - 2
    add("MultiStepDecay@2^24", lrs.MultiStepDecay(1.0, [T + 1, T + 3], 0.5),
        multi_step_decay(1.0, [T + 1, T + 3], 0.5), True)
    add("MultiStepDecay@2^31", lrs.MultiStepDecay(1.0, [T + 1, B - 2], 0.5),
        multi_step_decay(1.0, [T + 1, B - 2], 0.5), True)
    # OneCycle: the peak at 2^24 - 1/2 (pct_start (T + 1/2) / (T + 4)), the last phase
    # 3.5 steps long, so each step past 2^24 is far down the curve; the same at 2^31
    for strategy in ("cos", "linear"):
        pct = (T + 0.5) / (T + 4)
        add(f"OneCycle-{strategy}@2^24",
            lrs.OneCycle(1.0, T + 4, pct_start=pct, anneal_strategy=strategy),
            one_cycle(1.0, T + 4, pct, strategy), False)
    pct = (B - 1.5) / (B + 2)
    add("OneCycle-cos@2^31", lrs.OneCycle(1.0, B + 2, pct_start=pct),
        one_cycle(1.0, B + 2, pct), False)
    # three phases, the second ending at 2^24 + 1/2... the third 3.5 steps long
    pct = (T + 2.5) / (2 * (T + 4))
    add("OneCycle-three-phase@2^24",
        lrs.OneCycle(1.0, T + 4, pct_start=pct, three_phase=True, anneal_strategy="linear"),
        one_cycle(1.0, T + 4, pct, "linear", three_phase=True), False)
    # Cyclic: a cycle of 2^24 steps (up 2^23 + 1, down 2^23 - 1) starts again at 2^24
    for mode in ("triangular", "triangular2"):
        add(f"Cyclic-{mode}@2^24", lrs.Cyclic(0.0, 1.0, half + 1, half - 1, mode=mode),
            cyclic(0.0, 1.0, half + 1, half - 1, mode), False)
    gamma = 1.0 - 2.0**-24  # a float32 number: gamma ** 2^24 = 0.37
    add("Cyclic-exp_range@2^24",
        lrs.Cyclic(0.0, 1.0, half + 1, half - 1, mode="exp_range", gamma=gamma),
        cyclic(0.0, 1.0, half + 1, half - 1, "exp_range", gamma), False)
    add("Cyclic-2^23@2^24", lrs.Cyclic(0.1, 1.0, half), cyclic(0.1, 1.0, half, half), False)
    add("Cyclic@2^31", lrs.Cyclic(0.0, 1.0, 2**30 - 1, 2**30 - 1),
        cyclic(0.0, 1.0, 2**30 - 1, 2**30 - 1), False)
    # WarmupStableDecay: warmup to 2^24, one stable step, a 4-step decay from 2^24 + 1
    add("WarmupStableDecay@2^24", lrs.WarmupStableDecay(1.0, T, 1, 4),
        wsd(1.0, T, 1, 4), False)
    add("WarmupStableDecay-1-sqrt@2^24",
        lrs.WarmupStableDecay(1.0, T - 2, 2, 5, warmup_type="cosine", decay_type="1-sqrt",
                              min_lr_ratio=0.1),
        wsd(1.0, T - 2, 2, 5, "cosine", "1-sqrt", 0.1), False)
    add("WarmupStableDecay@2^31",
        lrs.WarmupStableDecay(1.0, 1000, B - 1004, 3, decay_type="linear"),
        wsd(1.0, 1000, B - 1004, 3, decay_type="linear"), False)
    # InverseSqrt: the warmup ends at 2^24 + 1, then a decay of timescale 1
    add("InverseSqrt@2^24", lrs.InverseSqrt(1.0, T + 1, timescale=1),
        inverse_sqrt(1.0, T + 1, 1), False)
    add("InverseSqrt@2^31", lrs.InverseSqrt(1.0, B - 2, timescale=1),
        inverse_sqrt(1.0, B - 2, 1), False)
    # Warmup: 2^24 + 2 steps of warmup, then a 4-step Linear; the same ending at 2^31 - 2
    add("Warmup@2^24", lrs.Warmup(lrs.Linear(1.0, 0.0, 4), T + 2, 0.1),
        warmup(linear(1.0, 0.0, 4), T + 2, 0.1), False)
    add("Warmup-steps@2^31", lrs.Warmup(lrs.StepDecay(1.0, 1, 0.5), B - 2),
        warmup(step_decay(1.0, 1, 0.5), B - 2), False)
    # Sequence: a boundary at 2^24 + 1 (and one at 2^31 - 2)
    add("Sequence@2^24", lrs.Sequence([lrs.Constant(1.0), lrs.Linear(0.5, 0.0, 4)], [T + 1]),
        sequence([constant(1.0), linear(0.5, 0.0, 4)], [T + 1]), False)
    add("Sequence-steps@2^31",
        lrs.Sequence([lrs.Constant(1.0), lrs.MultiStepDecay(0.5, [1], 0.5)], [B - 3]),
        sequence([constant(1.0), multi_step_decay(0.5, [1], 0.5)], [B - 3]), True)
    # PerEpoch: 2^20 steps an epoch, a decay at epoch 16 (step 2^24); 2^30 - 1 steps an
    # epoch, a decay at epoch 2 (step 2^31 - 2)
    add("PerEpoch@2^24", lrs.PerEpoch(lrs.StepDecay(1.0, 16, 0.9), 2**20),
        per_epoch(step_decay(1.0, 16, 0.9), 2**20), True)
    add("PerEpoch@2^31", lrs.PerEpoch(lrs.StepDecay(1.0, 2, 0.5), 2**30 - 1),
        per_epoch(step_decay(1.0, 2, 0.5), 2**30 - 1), True)
    # Scaled: a decay at 2^24 + 1, times 3
    add("Scaled@2^24", lrs.Scaled(lrs.StepDecay(1.0, T + 1, 0.9), 3.0),
        scaled(step_decay(1.0, T + 1, 0.9), 3.0), True)
    add("Scaled@2^31", lrs.Scaled(lrs.MultiStepDecay(1.0, [B - 1], 0.5), 3.0),
        scaled(multi_step_decay(1.0, [B - 1], 0.5), 3.0), True)
    # CycledMomentum: OneCycle's momentum, its phase switch at 2^24 - 1/2
    pct = (T + 0.5) / (T + 4)
    add("CycledMomentum@2^24", lrs.OneCycle(1.0, T + 4, pct_start=pct).momentum(),
        one_cycle(1.0, T + 4, pct, momentum=True), False)
    # Cyclic's momentum: max_momentum - (max_momentum - base_momentum) * x * scale, from
    # max_momentum down to base_momentum at the peak, at 2^24 + 1 (once 110 float32 ulps
    # off near a peak, at any step: now from 1 - x taken from the step's integers)
    add("CycledMomentum-Cyclic@2^24",
        lrs.Cyclic(0.0, 1.0, T + 1, 2).momentum(),
        lambda s: 0.9 - (0.9 - 0.8) * cyclic(0.0, 1.0, T + 1, 2)(s), False)
    add("CycledMomentum-Cyclic-to-0@2^24",
        lrs.Cyclic(0.0, 1.0, T + 1, 2, base_momentum=0.0, max_momentum=1.0).momentum(),
        lambda s: 1.0 - cyclic(0.0, 1.0, T + 1, 2)(s), False)
    # InUpdates: 97 micro-batches an update, a milestone at update 172961 = step 2^24 + 1
    # (2^24 + 1 = 97 * 257 * 673); 3 an update, at update 715827882 = step 2^31 - 2
    add("InUpdates@2^24", lrs.InUpdates(lrs.MultiStepDecay(1.0, [172961], 0.5), 97),
        in_updates(multi_step_decay(1.0, [172961], 0.5), 97), True)
    add("InUpdates@2^31", lrs.InUpdates(lrs.MultiStepDecay(1.0, [715827882], 0.5), 3),
        in_updates(multi_step_decay(1.0, [715827882], 0.5), 3), True)
    # InMicroBatches: a decay at 2^24 + 1
    add("InMicroBatches@2^24", lrs.InMicroBatches(lrs.StepDecay(1.0, T + 1, 0.9)),
        step_decay(1.0, T + 1, 0.9), True)
    add("InMicroBatches@2^31", lrs.InMicroBatches(lrs.StepDecay(1.0, B - 2, 0.5)),
        step_decay(1.0, B - 2, 0.5), True)
    # Extended: milestones [2^23, 2^23 + 1] stretched to 2^24 + 3 steps from step 0 (at
    # 2^24 + 1 and 2^24 + 3); [2^30 - 1, 2^30] stretched 2x (the first at 2^31 - 2); a
    # Linear down to 0 at 2^24 + 4 stretched 2x from 2^24 - 2 (continuous: half steps
    # interpolated, its rates a few 1e-7)
    add("Extended-steps@2^24",
        lrs.Extended(lrs.MultiStepDecay(1.0, [half, half + 1], 0.5), 0, T + 3),
        extended(multi_step_decay(1.0, [half, half + 1], 0.5), half + 1, 0, T + 3, True),
        True)
    add("Extended-steps@2^31",
        lrs.Extended(lrs.MultiStepDecay(1.0, [2**30 - 1, 2**30], 0.5), 0, B),
        extended(multi_step_decay(1.0, [2**30 - 1, 2**30], 0.5), 2**30, 0, B, True), True)
    add("Extended-linear@2^24",
        lrs.Extended(lrs.Linear(1.0, 0.0, T + 4), T - 2, T + 10),
        extended(linear(1.0, 0.0, T + 4), T + 4, T - 2, T + 10, False), False)
    add("Extended-linear-quarter@2^24",
        lrs.Extended(lrs.Linear(0.0, 1.0, half), 2**22, T + 2**22 + 3),
        extended(linear(0.0, 1.0, half), half, 2**22, T + 2**22 + 3, False), False)
    # Tabulated: no table is 2^24 long here (64 MB); a 3-rate table read per epoch of
    # 2^24 + 1 steps switches at step 2^24 + 1, and a table's last rate holds at any step
    add("Tabulated-per-epoch@2^24", lrs.PerEpoch(lrs.Tabulated([1.0, 0.5, 0.25]), T + 1),
        per_epoch(tabulated([1.0, 0.5, 0.25]), T + 1), True)
    add("Tabulated-per-epoch@2^31", lrs.PerEpoch(lrs.Tabulated([1.0, 0.5, 0.25]), 2**30 - 1),
        per_epoch(tabulated([1.0, 0.5, 0.25]), 2**30 - 1), True)
    add("Tabulated-holds", lrs.Tabulated([0.3, 0.2, 0.1]),
        tabulated([0.3, 0.2, 0.1]), True)
    # ControlledRate (the callbacks' rate) over a decay at 2^24 + 1, a reduction in force
    add("ControlledRate@2^24",
        lrs.ControlledRate(lrs.StepDecay(1.0, T + 1, 0.9), multiplier=0.25, min_lr=0.2),
        lambda s: max(step_decay(1.0, T + 1, 0.9)(s) * 0.25,
                      min(step_decay(1.0, T + 1, 0.9)(s), 0.2)), True)

    # Keras's six
    # exact at 2^24 (2^24 - 1 and 2^24 are float32 numbers), but its 128th decay, at
    # 2^31, comes at 2^31 - 64 (the float32 nearest 2^31 - 3 is 2^31)
    add("Keras-ExponentialDecay-staircase@2^24",
        K.ExponentialDecay(1.0, T, 0.9, staircase=True),
        k_exponential(1.0, T, 0.9, True), True, KERAS_FLOAT32)
    add("Keras-ExponentialDecay-staircase@2^24+1",
        K.ExponentialDecay(1.0, T + 1, 0.9, staircase=True),
        k_exponential(1.0, T + 1, 0.9, True), True, KERAS_FLOAT32)
    add("Keras-ExponentialDecay-staircase@2^31",
        K.ExponentialDecay(1.0, B - 2, 0.9, staircase=True),
        k_exponential(1.0, B - 2, 0.9, True), True, KERAS_FLOAT32)
    add("Keras-PiecewiseConstantDecay@2^24", K.PiecewiseConstantDecay([T + 1], [1.0, 0.5]),
        k_piecewise([T + 1], [1.0, 0.5]), True)
    add("Keras-PiecewiseConstantDecay@2^24+1",
        K.PiecewiseConstantDecay([T, T + 2], [1.0, 0.5, 0.25]),
        k_piecewise([T, T + 2], [1.0, 0.5, 0.25]), True)
    add("Keras-PiecewiseConstantDecay@2^31",
        K.PiecewiseConstantDecay([T + 1, B - 2], [1.0, 0.5, 0.25]),
        k_piecewise([T + 1, B - 2], [1.0, 0.5, 0.25]), True)
    add("Keras-PolynomialDecay@2^24", K.PolynomialDecay(1.0, T + 2, 0.0, power=1.0),
        k_polynomial(1.0, T + 2, 0.0, 1.0), False, KERAS_FLOAT32)
    add("Keras-InverseTimeDecay-staircase@2^24+1",
        K.InverseTimeDecay(1.0, T + 1, 1.0, staircase=True),
        k_inverse_time(1.0, T + 1, 1.0, True), True, KERAS_FLOAT32)
    add("Keras-CosineDecay@2^24", K.CosineDecay(1.0, T + 2, alpha=0.0),
        k_cosine(1.0, T + 2, 0.0), False, KERAS_FLOAT32)
    add("Keras-CosineDecayRestarts@2^24",
        K.CosineDecayRestarts(1.0, half + 1, t_mul=1.0, m_mul=0.5),
        k_cosine_restarts(1.0, half + 1, 0.5, 0.0), False, KERAS_FLOAT32)
    return c


CASES = cases()


def test_every_class_of_the_catalogue_is_here():
    """Each schedule class of the catalogue (ours and Keras's six) has a case here."""
    from catalogue import catalogue

    here = set()
    for param in CASES:
        schedule = param.values[0]
        while True:
            here.add(type(schedule).__name__)
            inner = getattr(schedule, "schedule", None)
            if inner is None:
                break
            schedule = inner
    assert {type(s).__name__ for _, s in catalogue()} <= here


@pytest.mark.parametrize("schedule, formula, steps", CASES)
def test_the_rates_past_2_24_are_the_formulas(schedule, formula, steps):
    """At 2^24 - 1 .. 2^24 + 3 and 2^31 - 3 .. 2^31 - 1: a schedule that steps is at the
    formula's level on the formula's side of every switch; one that moves is within 2
    float32 ulps of the float64 formula."""
    ours = np.asarray(lrs.values(schedule, STEPS), dtype=np.float64)
    ref = np.array([formula(s) for s in STEPS], dtype=np.float64)
    # something happens at the steps looked at (the config is the point)
    assert len(set(ref.tolist())) > 1 or type(schedule).__name__ in ("Constant", "Tabulated")
    tolerance = 2 * np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    if steps:
        # On the formula's side of every switch: the level nearest ours is the
        # formula's at that step (a switch a step early or late is the other side's
        # level), and ours is that level (to float32: lr * gamma ** k is a float32 power).
        levels = sorted(set(ref.tolist()))
        side = np.array([min(levels, key=lambda v: abs(v - o)) for o in ours])
        wrong = np.flatnonzero((side != ref) | ~(np.abs(ours - ref) <= 1e-5 * np.abs(ref)))
    else:
        wrong = np.flatnonzero(~(np.abs(ours - ref) <= tolerance))
    assert not len(wrong), "\n".join(
        f"step {STEPS[i]}: ours {ours[i]!r}, formula {ref[i]!r} "
        f"({(ours[i] - ref[i]) / max(tolerance[i] / 2, 1e-300):+.1f} float32 ulps)"
        for i in wrong)
