"""Recipes from other libraries, reproduced: a schedule from a transformers configuration
(`from_transformers()`) or from a live PyTorch scheduler (`from_torch()`).

`from_transformers()` turns what a model card or a paper's recipe says
(`lr_scheduler_type="cosine"`, `warmup_ratio=0.03`, transformers' `TrainingArguments`
or `get_scheduler()` arguments) into the lrschedule schedule with the same rate at
every optimizer step transformers' `Trainer` makes (steps 0 to `num_training_steps`),
to float32 rounding, with transformers' own off-by-ones: its warmups count from 0
(`step / num_warmup_steps`), except "cosine_warmup_with_min_lr", which counts from 1.

Each name maps onto lrschedule's own schedules where they reproduce it exactly
(`WarmupStableDecay`, `Warmup`, `InverseSqrt`, Keras's `PolynomialDecay`); the two
whose formulas have no such counterpart ("cosine_with_restarts", with its hard
restarts, and "cosine_warmup_with_min_lr") are a `Tabulated` of transformers' own
formula at every step from 0 to `num_training_steps`, computed in float64. Past
`num_training_steps`, where the Trainer never steps, every schedule holds its final
rate (transformers' cosine schedules would rise again there).
"""

import math
import numbers
from typing import Any

import keras
import numpy as np

from lrschedule import _validation as check
from lrschedule.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from lrschedule.inspection import values as lrs_values
from lrschedule.schedules import (
    Constant,
    Cyclic,
    InverseSqrt,
    Linear,
    MultiStepDecay,
    OneCycle,
    PerEpoch,
    Sequence,
    StepDecay,
    Tabulated,
    Warmup,
    WarmupStableDecay,
)

__all__ = ["from_transformers", "from_torch", "from_timm", "TRANSFORMERS_SCHEDULERS"]

# transformers' SchedulerType names -> the scheduler_specific_kwargs each accepts,
# with transformers' defaults (None: required or computed).
TRANSFORMERS_SCHEDULERS = {
    "linear": {},
    "cosine": {"num_cycles": 0.5},
    "cosine_with_restarts": {"num_cycles": 1},
    "polynomial": {"lr_end": 1e-7, "power": 1.0},
    "constant": {},
    "constant_with_warmup": {},
    "inverse_sqrt": {},
    "reduce_lr_on_plateau": {"mode": "min", "factor": 0.1, "patience": 10, "threshold": 1e-4,
                             "threshold_mode": "rel", "cooldown": 0, "min_lr": 0.0,
                             "eps": 1e-8},
    "cosine_with_min_lr": {"num_cycles": 0.5, "min_lr": None, "min_lr_rate": None},
    "cosine_warmup_with_min_lr": {"num_cycles": 0.5, "min_lr": None, "min_lr_rate": None,
                                  "warmup_lr_rate": None},
    "warmup_stable_decay": {"num_decay_steps": None, "num_stable_steps": None,
                            "warmup_type": "linear", "decay_type": "cosine",
                            "min_lr_ratio": 0.0, "num_cycles": 0.5},
}
# Metric-driven schedulers of transformers without an lrschedule counterpart.
_REFUSED = {
    "greedy": "transformers' GreedyLR (a metric-driven scheduler of transformers 5) has no "
              "lrschedule counterpart",
}
# TrainingArguments' defaults for the fields that make the schedule.
_TRAINING_ARGUMENTS = {"learning_rate": 5e-5, "lr_scheduler_type": "linear",
                       "warmup_ratio": 0.0, "warmup_steps": 0, "lr_scheduler_kwargs": None,
                       "max_steps": -1}


def _name(value):
    value = getattr(value, "value", value)  # transformers' SchedulerType enum
    if not isinstance(value, str):
        check.fail_type("name", value, "a transformers scheduler name (a string), or a "
                        "TrainingArguments-style dict")
    if value in _REFUSED:
        check.fail_value("name", value, f"a scheduler lrschedule can reproduce ({_REFUSED[value]})")
    if value not in TRANSFORMERS_SCHEDULERS:
        check.fail_value("name", value, "one of transformers' SchedulerType names: "
                         + ", ".join(f'"{n}"' for n in TRANSFORMERS_SCHEDULERS))
    return value


def _training_arguments(args, num_training_steps):
    """(name, learning_rate, num_training_steps, num_warmup_steps, kwargs) from a
    TrainingArguments-style dict (or a TrainingArguments object), as its Trainer
    computes them."""
    if not isinstance(args, dict):
        args = {key: getattr(args, key) for key in _TRAINING_ARGUMENTS if hasattr(args, key)}
    unknown = sorted(set(args) - set(_TRAINING_ARGUMENTS))
    if unknown:
        check.fail_value("name", unknown, "a TrainingArguments-style dict with the keys "
                         + ", ".join(_TRAINING_ARGUMENTS) + " (others do not make the schedule)")
    values = dict(_TRAINING_ARGUMENTS, **args)
    max_steps = check.integer("max_steps", values["max_steps"], minimum=-1)
    if max_steps > 0:
        if num_training_steps is not None and num_training_steps != max_steps:
            check.fail_value("num_training_steps", num_training_steps,
                             f"None or max_steps ({max_steps}): the Trainer runs max_steps")
        num_training_steps = max_steps
    if num_training_steps is None:
        check.fail_value("num_training_steps", None, "the number of optimizer steps of the run "
                         "(the Trainer's: epochs x updates per epoch), as max_steps is not set")
    num_training_steps = check.integer("num_training_steps", num_training_steps, minimum=1)
    ratio = check.number("warmup_ratio", values["warmup_ratio"], minimum=0.0, maximum=1.0)
    warmup_steps = check.number("warmup_steps", values["warmup_steps"], minimum=0.0)
    # TrainingArguments.get_warmup_steps(): transformers 5 reads warmup_steps in [0, 1)
    # as a ratio of the run, rounded up (it has no warmup_ratio); 4.57 takes a whole
    # warmup_steps, else ceil(run * warmup_ratio).
    if warmup_steps >= 1:
        warmup = int(warmup_steps)
    elif warmup_steps > 0:
        warmup = math.ceil(num_training_steps * warmup_steps)
    else:
        warmup = math.ceil(num_training_steps * ratio)
    kwargs = values["lr_scheduler_kwargs"] or {}
    if not isinstance(kwargs, dict):
        check.fail_type("lr_scheduler_kwargs", kwargs, "a dict of the scheduler's arguments")
    return (values["lr_scheduler_type"], values["learning_rate"], num_training_steps, warmup,
            kwargs)


def from_transformers(name: Any, num_training_steps: check.Integer | None = None,
                      num_warmup_steps: check.Integer | None = None,
                      learning_rate: check.Real | None = None,
                      **scheduler_specific_kwargs: Any) -> check.KerasSchedule:
    """The schedule transformers' `get_scheduler(name, ...)` makes, as an lrschedule schedule.

    Steps are optimizer updates, counted from 0, as the Trainer steps its scheduler:
    the rate at step `t` is the rate of transformers' scheduler after `t` calls to
    `scheduler.step()`. (Under gradient accumulation, count updates:
    `lrschedule.count_updates()`.)

    Args:
        name: a transformers scheduler name ("linear", "cosine", "cosine_with_restarts",
            "polynomial", "constant", "constant_with_warmup", "inverse_sqrt",
            "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr",
            "warmup_stable_decay", or a `SchedulerType`), or a TrainingArguments-style
            dict (`learning_rate`, `lr_scheduler_type`, `warmup_ratio`, `warmup_steps`,
            `lr_scheduler_kwargs`, `max_steps`; the Trainer's defaults for those
            missing; a `warmup_steps` in (0, 1) is a ratio of the run, as transformers
            5 reads it), or a `TrainingArguments` object.
        num_training_steps: int > 0, the run's optimizer steps (with a dict: unless
            `max_steps` gives them).
        num_warmup_steps: int >= 0 (with a dict: from `warmup_steps` or `warmup_ratio`).
        learning_rate: float > 0, the optimizer's base rate, which transformers'
            schedules multiply (`lr_end` and `min_lr` are absolute rates).
        **scheduler_specific_kwargs: transformers' `scheduler_specific_kwargs` for
            `name` (`num_cycles`, `lr_end`, `power`, `min_lr`, `min_lr_rate`,
            `warmup_lr_rate`, `num_decay_steps`, `num_stable_steps`, `warmup_type`,
            `decay_type`, `min_lr_ratio`; PyTorch's ReduceLROnPlateau arguments).

    Returns:
        A schedule (give it to the optimizer as its `learning_rate`); for
        "reduce_lr_on_plateau", a `ReduceLROnPlateau` callback with PyTorch's
        semantics (compile the optimizer with `learning_rate`, and evaluate the
        monitored metric every epoch).

    Example:
        >>> s = lrschedule.from_transformers("cosine", num_training_steps=1000,
        ...                                  num_warmup_steps=30, learning_rate=2e-5)
        >>> lrschedule.from_transformers({"learning_rate": 2e-5, "lr_scheduler_type":
        ...     "cosine_with_min_lr", "warmup_ratio": 0.03,
        ...     "lr_scheduler_kwargs": {"min_lr_rate": 0.1}}, num_training_steps=1000)
    """
    if not isinstance(name, (str, dict)) and hasattr(name, "lr_scheduler_type"):
        name = {key: getattr(name, key) for key in _TRAINING_ARGUMENTS if hasattr(name, key)}
    if isinstance(name, dict):
        if num_warmup_steps is not None or learning_rate is not None or scheduler_specific_kwargs:
            check.fail_value("num_warmup_steps", num_warmup_steps,
                             "None with a TrainingArguments-style dict (it says the warmup, "
                             "the rate and the scheduler's arguments itself)")
        name, learning_rate, num_training_steps, num_warmup_steps, scheduler_specific_kwargs = (
            _training_arguments(name, num_training_steps))
    name = _name(name)
    kwargs = _kwargs(name, scheduler_specific_kwargs)
    if learning_rate is None:
        check.fail_value("learning_rate", None, "the optimizer's base rate (a number > 0), which "
                         "transformers' schedules multiply")
    lr = check.positive("learning_rate", learning_rate)
    if name == "constant":
        return Constant(lr)
    if name == "reduce_lr_on_plateau":
        return _plateau(kwargs)
    if num_warmup_steps is None:
        check.fail_value("num_warmup_steps", None, f'an int >= 0 ("{name}" requires it, as in '
                         "transformers)")
    w = check.integer("num_warmup_steps", num_warmup_steps, minimum=0)
    if name == "constant_with_warmup":
        return Warmup(Constant(lr), w) if w else Constant(lr)
    if name == "inverse_sqrt":
        return InverseSqrt(lr, w)
    if name == "warmup_stable_decay":
        return _wsd(lr, w, num_training_steps, kwargs)
    if num_training_steps is None:
        check.fail_value("num_training_steps", None, f'an int > 0 ("{name}" requires it, as in '
                         "transformers)")
    t = check.integer("num_training_steps", num_training_steps, minimum=1)
    decay = max(t - w, 0)
    if name == "linear":
        return WarmupStableDecay(lr, w, 0, decay, warmup_type="linear", decay_type="linear")
    if name == "cosine":
        return WarmupStableDecay(lr, w, 0, decay, warmup_type="linear", decay_type="cosine",
                                 num_cycles=kwargs["num_cycles"])
    if name == "cosine_with_min_lr":
        rate = _min_lr_rate(lr, kwargs)
        # transformers' warmup here ramps from 0, not from the floor: WarmupStableDecay's
        # warmup would start at min_lr_rate.
        return _warmup(WarmupStableDecay(lr, 0, 0, decay, decay_type="cosine", min_lr_ratio=rate,
                                         num_cycles=kwargs["num_cycles"]), w)
    if name == "polynomial":
        lr_end = check.non_negative("lr_end", kwargs["lr_end"])
        if not lr_end < lr:
            check.fail_value("lr_end", lr_end, f"a rate below learning_rate ({lr}), as transformers "
                             "requires")
        if t <= w:
            check.fail_value("num_training_steps", t, f"more than num_warmup_steps ({w}): "
                             "transformers' polynomial decay divides by their difference")
        power = check.positive("power", kwargs["power"])
        return _warmup(keras.optimizers.schedules.PolynomialDecay(lr, t - w, lr_end, power=power), w)
    if name == "cosine_with_restarts":
        cycles = check.integer("num_cycles", kwargs["num_cycles"], minimum=0)
        return Tabulated(lr * _hard_restarts(np.arange(t + 1, dtype=np.float64), w, t, cycles))
    # cosine_warmup_with_min_lr
    rate = _min_lr_rate(lr, kwargs)
    warmup_lr_rate = kwargs["warmup_lr_rate"]
    if warmup_lr_rate is not None:
        warmup_lr_rate = check.number("warmup_lr_rate", warmup_lr_rate)
    cycles = check.number("num_cycles", kwargs["num_cycles"], minimum=0.0)
    return Tabulated(lr * _cosine_warmup_with_min_lr(np.arange(t + 1, dtype=np.float64), w, t,
                                                     cycles, rate, warmup_lr_rate))


def _kwargs(name, given):
    allowed = TRANSFORMERS_SCHEDULERS[name]
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        what = (f'no scheduler_specific_kwargs: transformers\' get_scheduler passes none to "{name}"'
                if not allowed else
                f'an argument of transformers\' "{name}" scheduler: ' + ", ".join(allowed))
        check.fail_value(unknown[0], given[unknown[0]], what)
    return dict(allowed, **given)


def _warmup(schedule, w):
    # transformers' warmup: step / num_warmup_steps of the base rate, from 0
    return Warmup(schedule, w) if w else schedule


def _min_lr_rate(lr, kwargs):
    if kwargs["min_lr"] is not None and kwargs["min_lr_rate"] is not None:
        check.fail_value("min_lr", kwargs["min_lr"], "None when min_lr_rate is given (only one of "
                         "the two, as in transformers)")
    if kwargs["min_lr"] is not None:
        return check.number("min_lr", kwargs["min_lr"], minimum=0.0, maximum=lr) / lr
    if kwargs["min_lr_rate"] is None:
        check.fail_value("min_lr_rate", None, "a number in [0, 1], or min_lr given (one of the "
                         "two, as in transformers)")
    return check.number("min_lr_rate", kwargs["min_lr_rate"], minimum=0.0, maximum=1.0)


def _wsd(lr, w, num_training_steps, kwargs):
    decay = kwargs["num_decay_steps"]
    if decay is None:
        check.fail_value("num_decay_steps", None, 'an int >= 0 ("warmup_stable_decay" requires '
                         "it, as in transformers)")
    decay = check.integer("num_decay_steps", decay, minimum=0)
    stable = kwargs["num_stable_steps"]
    if stable is None:
        if num_training_steps is None:
            check.fail_value("num_training_steps", None, "an int > 0, or num_stable_steps given "
                             "(transformers computes the stable steps from it)")
        stable = check.integer("num_training_steps", num_training_steps, minimum=1) - w - decay
        if stable < 0:
            check.fail_value("num_training_steps", num_training_steps,
                             f"at least num_warmup_steps + num_decay_steps ({w + decay})")
    return WarmupStableDecay(lr, w, check.integer("num_stable_steps", stable, minimum=0), decay,
                             warmup_type=kwargs["warmup_type"], decay_type=kwargs["decay_type"],
                             min_lr_ratio=kwargs["min_lr_ratio"], num_cycles=kwargs["num_cycles"])


def _warm(steps, w):
    return steps / max(1.0, float(w))


def _hard_restarts(steps, w, t, cycles):
    """transformers' _get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda."""
    progress = (steps - w) / float(max(1, t - w))
    factor = np.maximum(0.0, 0.5 * (1.0 + np.cos(np.pi * ((float(cycles) * progress) % 1.0))))
    factor = np.where(progress >= 1.0, 0.0, factor)
    return np.where(steps < w, _warm(steps, w), factor)


def _cosine_warmup_with_min_lr(steps, w, t, cycles, rate, warmup_lr_rate):
    """transformers' _get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda."""
    if warmup_lr_rate is None:
        warm = (steps + 1.0) / max(1.0, float(w))
    else:
        warm = warmup_lr_rate + (1.0 - warmup_lr_rate) * steps / max(1, w - 1)
    progress = (steps - w + 1.0) / max(1.0, float(t - w))
    factor = 0.5 * (1.0 + np.cos(np.pi * cycles * 2.0 * progress))
    factor = np.maximum(0.0, factor * (1.0 - rate) + rate)
    return np.where(steps < w, warm, factor)


def _plateau(kwargs):
    """PyTorch's ReduceLROnPlateau (what transformers builds) as lrschedule's callback.

    PyTorch reduces after `patience + 1` epochs without improvement (`num_bad_epochs >
    patience`), Keras after `patience` (`wait >= patience`): the patience is shifted by
    one, and so is a cooldown. Improvement is PyTorch's rule, "rel" (its default: better
    than the best by `threshold` times it) or "abs" (by `threshold`, Keras's
    `min_delta`): the callback's `min_delta_mode`.
    """
    threshold_mode = check.choice("threshold_mode", kwargs["threshold_mode"], ("rel", "abs"))
    mode = check.choice("mode", kwargs["mode"], ("min", "max"))
    if kwargs["eps"] != 1e-8:
        check.fail_value("eps", kwargs["eps"], "PyTorch's default 1e-8 (lrschedule's plateau "
                         "always applies a reduction above min_lr)")
    min_lr = kwargs["min_lr"]
    if not isinstance(min_lr, numbers.Real):
        check.fail_type("min_lr", min_lr, "a number (one floor for every group)")
    patience = check.integer("patience", kwargs["patience"], minimum=0)
    # A cooldown of c epochs: PyTorch counts bad epochs again from epoch c + 1 after a
    # reduction, Keras from epoch C (its counter reaches 0 there): C = c + 1.
    cooldown = check.integer("cooldown", kwargs["cooldown"], minimum=0)
    return ReduceLROnPlateau(monitor="val_loss", factor=kwargs["factor"], patience=patience + 1,
                             mode=mode, min_delta=check.non_negative("threshold",
                                                                     kwargs["threshold"]),
                             cooldown=cooldown + 1 if cooldown else 0, min_lr=min_lr,
                             min_delta_mode=threshold_mode)


# --------------------------------------------------------------------------------------
# PyTorch


def from_torch(scheduler: Any, horizon: check.Integer | None = None) -> check.KerasSchedule:
    """The schedule a live PyTorch scheduler follows, as an lrschedule schedule.

    The rate at step `t` is the rate PyTorch's optimizer has after `t` calls to
    `scheduler.step()` from the scheduler's construction (the rate used by update
    `t`), to float32 rounding. The whole recipe is reproduced from step 0 whatever
    the scheduler's progress (`last_epoch`): to continue a run that made `k` steps,
    start the Keras optimizer's count there (`optimizer.iterations.assign(k)`).

    StepLR, MultiStepLR, ExponentialLR, LinearLR, ConstantLR, CosineAnnealingLR,
    CosineAnnealingWarmRestarts, PolynomialLR, OneCycleLR, CyclicLR and SequentialLR
    of those map onto lrschedule's classes (OneCycleLR's and CyclicLR's momentum
    cycle is the schedule's `.momentum()`); LambdaLR and MultiplicativeLR are
    tabulated over `horizon` steps (their functions are code: the table holds their
    values), and so is a ChainedScheduler (the product of its schedulers' factors,
    from the schedules above); ReduceLROnPlateau becomes lrschedule's
    `ReduceLROnPlateau` callback with PyTorch's patience, cooldown and threshold rule.
    Refused, saying why: CyclicLR with a custom `scale_fn`, and optimizers whose
    parameter groups follow different rates (one schedule per optimizer here: build
    one optimizer per group, or use `per_layer()`). CosineAnnealingLR's rate past `T_max`, where PyTorch's
    recursion climbs back up, holds at `eta_min` here.

    Args:
        scheduler: a `torch.optim.lr_scheduler` scheduler, with its optimizer.
        horizon: int > 0, the steps to tabulate a LambdaLR, MultiplicativeLR or
            ChainedScheduler over (the last value holds after); required for those,
            refused otherwise.

    Returns:
        A schedule, or for ReduceLROnPlateau a callback.

    Example:
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=1000)
        >>> lrschedule.from_torch(sched)
    """
    try:
        from torch.optim import lr_scheduler as torch_schedulers
    except ImportError:  # pragma: no cover - torch is what the argument comes from
        check.fail_type("scheduler", scheduler, "a torch.optim.lr_scheduler scheduler (torch is "
                        "not installed)")
    if not isinstance(scheduler, (torch_schedulers.LRScheduler, torch_schedulers.ReduceLROnPlateau)):
        check.fail_type("scheduler", scheduler, "a torch.optim.lr_scheduler scheduler")
    groups = scheduler.optimizer.param_groups
    if isinstance(scheduler, torch_schedulers.ReduceLROnPlateau):
        return _torch_plateau(scheduler)
    made = [_torch_schedule(scheduler, i, horizon, torch_schedulers) for i in range(len(groups))]
    configs = [keras.saving.serialize_keras_object(m) for m in made]
    if any(c != configs[0] for c in configs[1:]):
        check.fail_value("scheduler", type(scheduler).__name__,
                         f"a scheduler whose optimizer's {len(groups)} parameter groups follow "
                         "one rate (here they differ: build one Keras optimizer per group, or "
                         "use lrschedule.per_layer())")
    return made[0]


def _torch_schedule(s, i, horizon, T):
    name = type(s).__name__
    base = float(getattr(s, "base_lrs", [None] * (i + 1))[i] or 0.0)
    if horizon is not None and not isinstance(s, (T.LambdaLR, T.MultiplicativeLR,
                                                  T.ChainedScheduler)):
        check.fail_value("horizon", horizon, f"None for a {name} (only LambdaLR and "
                         "MultiplicativeLR are tabulated)")
    if isinstance(s, T.StepLR):
        return StepDecay(base, step_size=s.step_size, gamma=s.gamma)
    if isinstance(s, T.MultiStepLR):
        milestones = sorted(s.milestones.elements())
        if len(set(milestones)) != len(milestones):
            check.fail_value("scheduler", name, "a MultiStepLR with distinct milestones (a "
                             "repeated one multiplies by gamma twice, which MultiStepDecay "
                             "does not)")
        return MultiStepDecay(base, milestones=milestones, gamma=s.gamma)
    if isinstance(s, T.ExponentialLR):
        return keras.optimizers.schedules.ExponentialDecay(base, 1, s.gamma)
    if isinstance(s, T.LinearLR):
        return Linear(base * s.start_factor, base * s.end_factor, total_steps=s.total_iters)
    if isinstance(s, T.ConstantLR):
        if s.total_iters == 0:
            return Constant(base)
        return Sequence([Constant(base * s.factor), Constant(base)], [s.total_iters])
    if isinstance(s, T.CosineAnnealingLR):
        floor = s.eta_min / base if base else 0.0
        return WarmupStableDecay(base, 0, 0, s.T_max, decay_type="cosine", min_lr_ratio=floor)
    if isinstance(s, T.CosineAnnealingWarmRestarts):
        return keras.optimizers.schedules.CosineDecayRestarts(
            base, s.T_0, t_mul=float(s.T_mult), m_mul=1.0, alpha=s.eta_min / base if base else 0.0)
    if isinstance(s, T.PolynomialLR):
        return keras.optimizers.schedules.PolynomialDecay(base, s.total_iters, 0.0, power=s.power)
    if isinstance(s, T.OneCycleLR):
        return _torch_one_cycle(s, i)
    if isinstance(s, T.CyclicLR):
        return _torch_cyclic(s, i)
    if isinstance(s, T.SequentialLR):
        return Sequence([_torch_schedule(inner, i, None, T) for inner in s._schedulers],
                        list(s._milestones))
    if isinstance(s, (T.LambdaLR, T.MultiplicativeLR)):
        return _torch_tabulated(s, i, horizon, T)
    if isinstance(s, T.ChainedScheduler):
        # the product of its schedulers' factors of the base rate: tabulated, as
        # lrschedule has no product of schedules
        if horizon is None:
            check.fail_value("horizon", None, "the steps to tabulate the ChainedScheduler over "
                             "(an int > 0): it multiplies its schedulers' factors, which "
                             "lrschedule tabulates")
        n = check.count("horizon", horizon)
        base = float(s.optimizer.param_groups[i]["initial_lr"])
        rates = np.full(n, base, dtype=np.float64)
        for inner in s._schedulers:
            made = _torch_schedule(inner, i, None, T)
            rates *= np.asarray(lrs_values(made, range(n)), dtype=np.float64) / base
        return Tabulated(rates)
    check.fail_value("scheduler", name, "one of PyTorch's schedulers lrschedule reproduces: "
                     "StepLR, MultiStepLR, ExponentialLR, LinearLR, ConstantLR, "
                     "CosineAnnealingLR, CosineAnnealingWarmRestarts, PolynomialLR, OneCycleLR, "
                     "CyclicLR, SequentialLR, LambdaLR, MultiplicativeLR, ReduceLROnPlateau")


def _torch_one_cycle(s, i):
    group = s.optimizer.param_groups[i]
    phases = s._schedule_phases
    total = s.total_steps
    initial, peak, low = group["initial_lr"], group["max_lr"], group["min_lr"]
    momentum = {}
    if s.cycle_momentum:
        momentum = {"base_momentum": group["base_momentum"], "max_momentum": group["max_momentum"]}
    return OneCycle(max_lr=peak, total_steps=total,
                    pct_start=(phases[0]["end_step"] + 1) / total,
                    anneal_strategy=s._anneal_func_type, div_factor=peak / initial,
                    final_div_factor=initial / low, three_phase=len(phases) == 3, **momentum)


def _torch_cyclic(s, i):
    if s._scale_fn_custom is not None:
        check.fail_value("scheduler", "CyclicLR", "a CyclicLR with one of its modes (a custom "
                         "scale_fn is code, which a saved schedule never holds)")
    up = round(s.step_ratio * s.total_size)
    momentum = {}
    if s.cycle_momentum:
        momentum = {"base_momentum": s.base_momentums[i], "max_momentum": s.max_momentums[i]}
    return Cyclic(s.base_lrs[i], s.max_lrs[i], step_size_up=up,
                  step_size_down=round(s.total_size) - up, mode=s.mode, gamma=s.gamma, **momentum)


def _torch_tabulated(s, i, horizon, T):
    if horizon is None:
        check.fail_value("horizon", None, f"the steps to tabulate the {type(s).__name__}'s "
                         "function over (an int > 0): it is code, and a saved schedule holds "
                         "its values")
    n = check.count("horizon", horizon)
    fn = s.lr_lambdas[i]
    base = float(s.base_lrs[i])
    if isinstance(s, T.LambdaLR):
        values = [base * float(fn(t)) for t in range(n)]
    else:  # MultiplicativeLR: lr(t) = lr(t - 1) * fn(t)
        values, rate = [], base
        for t in range(n):
            if t > 0:
                rate *= float(fn(t))
            values.append(rate)
    return Tabulated(values)


def _torch_plateau(s):
    if len(set(s.min_lrs)) != 1:
        check.fail_value("min_lr", s.min_lrs, "one floor for every parameter group")
    rates = [group["lr"] for group in s.optimizer.param_groups]
    if len(set(rates)) != 1:
        check.fail_value("scheduler", "ReduceLROnPlateau", "a plateau scheduler whose "
                         f"optimizer's {len(rates)} parameter groups follow one rate")
    callback = _plateau({"mode": s.mode, "factor": s.factor, "patience": s.patience,
                         "threshold": s.threshold, "threshold_mode": s.threshold_mode,
                         "cooldown": s.cooldown, "min_lr": s.min_lrs[0], "eps": s.eps})
    if s.last_epoch > 0:  # a run in progress: its state, in Keras's counting
        best = float(s.best)
        callback.__class__ = _ResumedPlateau
        callback._resume = {
            "best": math.nan if math.isinf(best) else best,
            "wait": int(s.num_bad_epochs),
            "cooldown_counter": s.cooldown_counter + 1 if s.cooldown_counter else 0,
            "rate": rates[0],
        }
    return callback


class _ResumedPlateau(ReduceLROnPlateau):
    """A `ReduceLROnPlateau` that starts from a PyTorch plateau scheduler's state: its
    best value, bad epochs, cooldown and its rate now (the reductions so far, as the
    multiplier of the rate the model was compiled with), written once, when it is first
    attached."""

    def _attached(self):
        super()._attached()
        resume = self.__dict__.pop("_resume", None)
        if resume is not None:
            self._best_exact = None if math.isnan(resume["best"]) else resume["best"]
            state = {k: v for k, v in resume.items() if k != "rate"}
            for rate in self._targets:
                # the reductions so far, over the rate the model was compiled with
                multiplier = rate.state.read("multiplier") * resume["rate"] / rate.now()
                rate.write(self.model, multiplier=multiplier, **state)
                if rate.controlled is None:  # Keras's own variable holds the rate
                    rate.variable.assign(resume["rate"])


# --------------------------------------------------------------------------------------
# timm

# The fields that make timm's schedule, in create_scheduler_v2()'s spelling, with its
# defaults (decay_epochs None: 90, or 0.2 of the run for wsd/rsqrt).
_TIMM_V2 = {"sched": "cosine", "num_epochs": 300, "decay_epochs": None,
            "decay_milestones": (90, 180, 270), "cooldown_epochs": 0, "patience_epochs": 10,
            "decay_rate": 0.1, "min_lr": 0.0, "warmup_lr": 1e-5, "warmup_epochs": 0,
            "warmup_prefix": False, "noise": None, "noise_pct": 0.67, "noise_std": 1.0,
            "noise_seed": 42, "cycle_mul": 1.0, "cycle_decay": 0.1, "cycle_limit": 1,
            "k_decay": 1.0, "decay_fn": None, "stable_timescale": None,
            "plateau_mode": "max", "step_on_epochs": True, "updates_per_epoch": 0}
# train.py's args (its args.yaml) -> (create_scheduler_v2's name, the default
# scheduler_kwargs() takes when the field is missing).
_TIMM_ARGS = {"sched": ("sched", "cosine"), "epochs": ("num_epochs", 100),
              "decay_epochs": ("decay_epochs", 30), "decay_milestones": ("decay_milestones", [30, 60]),
              "warmup_epochs": ("warmup_epochs", 5), "cooldown_epochs": ("cooldown_epochs", 0),
              "patience_epochs": ("patience_epochs", 10), "decay_rate": ("decay_rate", 0.1),
              "min_lr": ("min_lr", 0.0), "warmup_lr": ("warmup_lr", 1e-5),
              "warmup_prefix": ("warmup_prefix", False), "lr_noise": ("noise", None),
              "lr_noise_pct": ("noise_pct", 0.67), "lr_noise_std": ("noise_std", 1.0),
              "seed": ("noise_seed", 42), "lr_cycle_mul": ("cycle_mul", 1.0),
              "lr_cycle_decay": ("cycle_decay", 0.1), "lr_cycle_limit": ("cycle_limit", 1),
              "lr_k_decay": ("k_decay", 1.0), "lr_decay_fn": ("decay_fn", None),
              "lr_stable_timescale": ("stable_timescale", None)}
_TIMM_SCHEDS = ("cosine", "tanh", "step", "multistep", "poly", "constant", "wsd", "rsqrt",
                "plateau", "none")


def from_timm(config: Any, steps_per_epoch: check.Integer, learning_rate: check.Real | None = None,
              spelling: str | None = None) -> check.KerasSchedule:
    """The schedule a timm training recipe makes, as an lrschedule schedule.

    `config` is what timm's `create_scheduler_v2()` takes (`sched`, `num_epochs`,
    `warmup_epochs`, `cycle_mul`, `k_decay`, `step_on_epochs`...), or train.py's
    arguments as its `args.yaml` holds them (`sched`, `epochs`, `lr`, `lr_cycle_mul`,
    `lr_k_decay`, `sched_on_updates`...; the other fields of the file are ignored),
    each with its own source's defaults for what it leaves out (they differ:
    `warmup_epochs` 0 or 5, `decay_epochs` 90 or 30...). A path to an args.yaml file
    is read with PyYAML.

    The rates are timm's at every optimizer update of the run as train.py steps the
    scheduler (`step(epoch + 1)` after each epoch, `step_update(updates)` after each
    update): per epoch, or per update with `sched_on_updates` /
    `step_on_epochs=False`, over the epochs `create_scheduler_v2()` says the run
    lasts (cycles, warmup prefix and cooldown included), then the last rate holds.
    They are timm's own formulas (cosine, tanh, poly with cycles, `cycle_mul`,
    `cycle_decay`, `cycle_limit`, `k_decay`; step; multistep; constant; wsd; rsqrt)
    evaluated in float64 and held in a `Tabulated` (per epoch, inside a `PerEpoch`).
    Refused, saying why: `plateau` (deprecated by timm; its warmup epochs do not count
    the metric, which a callback beside a schedule would) and learning-rate noise
    (random by design).

    Args:
        config: a dict (or an object with those attributes: train.py's argparse
            namespace), or the path of an args.yaml.
        steps_per_epoch: int > 0, the optimizer updates of an epoch (timm's
            `updates_per_epoch`).
        learning_rate: float > 0, the base rate; by default the config's `lr`.
        spelling: None, "args" or "create_scheduler_v2": which source's names and
            defaults `config` uses; None tells them from the keys, and refuses a
            config whose keys both sources share.

    Returns:
        A schedule.
    """
    config = _timm_config(config)
    n = check.count("steps_per_epoch", steps_per_epoch)
    v2, lr = _timm_v2(config, spelling, learning_rate)
    if v2["noise"] is not None:
        check.fail_value("noise", v2["noise"], "None: timm's learning-rate noise is random by "
                         "design, and a schedule here is a function of the step")
    sched = check.choice("sched", v2["sched"], _TIMM_SCHEDS)
    if sched == "plateau":
        check.fail_value("sched", sched, "a schedule lrschedule can reproduce: timm's plateau "
                         "scheduler (deprecated by timm) ignores the metric during its warmup "
                         "epochs, which lrschedule's ReduceLROnPlateau beside a warmup would "
                         "count; use ReduceLROnPlateau(min_delta_mode='rel') with a Warmup")
    if sched == "none":
        return Constant(lr)
    on_epochs = bool(v2["step_on_epochs"])
    unit = 1 if on_epochs else n
    epochs, fn = _timm_formula(sched, v2, lr, unit)
    if on_epochs:
        values = fn(np.arange(max(epochs, 1), dtype=np.float64))
        return PerEpoch(Tabulated(values), n)
    values = fn(np.arange(max(epochs * n, 1), dtype=np.float64))
    return Tabulated(values)


def _timm_config(config):
    if isinstance(config, (str, bytes)) or hasattr(config, "__fspath__"):
        try:
            import yaml
        except ImportError:
            check.fail_value("config", config, "a dict: reading an args.yaml needs PyYAML")
        try:
            with open(config) as handle:
                config = yaml.safe_load(handle)
        except OSError as error:
            check.fail_value("config", config, f"a readable args.yaml ({error})")
    if not isinstance(config, dict):
        if hasattr(config, "sched") or hasattr(config, "__dict__"):
            config = dict(vars(config))
        else:
            check.fail_type("config", config, "a dict of timm's scheduler settings, or the "
                            "path of an args.yaml")
    return config


def _timm_v2(config, spelling, learning_rate):
    """create_scheduler_v2()'s arguments from `config`, and the base rate."""
    args_keys = set(_TIMM_ARGS) - set(_TIMM_V2)
    v2_keys = set(_TIMM_V2) - set(_TIMM_ARGS)
    if spelling is None:
        has_args, has_v2 = bool(args_keys & set(config)), bool(v2_keys & set(config))
        if has_args and has_v2:
            check.fail_value("config", sorted(set(config) & (args_keys | v2_keys)),
                             "the names of one source: train.py's (epochs, lr_cycle_mul...) or "
                             "create_scheduler_v2()'s (num_epochs, cycle_mul...)")
        if not has_args and not has_v2:
            check.fail_value("spelling", None, '"args" or "create_scheduler_v2": this config\'s '
                             "keys are in both sources, whose defaults differ (warmup_epochs 5 "
                             "or 0, decay_epochs 30 or 90...)")
        spelling = "args" if has_args else "create_scheduler_v2"
    spelling = check.choice("spelling", spelling, ("args", "create_scheduler_v2"))
    if spelling == "args":
        v2 = {name: config.get(key, default) for key, (name, default) in _TIMM_ARGS.items()}
        v2["step_on_epochs"] = not config.get("sched_on_updates", False)
        v2["decay_milestones"] = list(v2["decay_milestones"])
        lr = config.get("lr") if learning_rate is None else learning_rate
        if lr is None:
            check.fail_value("learning_rate", None, "a number > 0: the config's lr is None "
                             "(train.py then computes it from lr_base and the global batch "
                             "size; pass that rate)")
    else:
        unknown = sorted(set(config) - set(_TIMM_V2) - {"lr"})
        if unknown:
            check.fail_value(unknown[0], config[unknown[0]], "an argument of timm's "
                             "create_scheduler_v2(): " + ", ".join(_TIMM_V2))
        v2 = dict(_TIMM_V2, **{k: v for k, v in config.items() if k != "lr"})
        lr = config.get("lr") if learning_rate is None else learning_rate
        if lr is None:
            check.fail_value("learning_rate", None, "a number > 0 (the optimizer's base rate)")
    return v2, check.positive("learning_rate", lr)


def _timm_formula(sched, v2, lr, unit):
    """(the run's length in epochs, f(t) -> rates at t in timm's unit) for a schedule."""
    integer = lambda name, minimum=0: check.integer(name, v2[name], minimum=minimum)  # noqa: E731
    number = lambda name, **kw: check.number(name, v2[name], **kw)  # noqa: E731
    num_epochs = integer("num_epochs", 1)
    warmup_epochs = integer("warmup_epochs")
    cooldown = integer("cooldown_epochs")
    prefix = bool(v2["warmup_prefix"])
    warmup_lr = number("warmup_lr", minimum=0.0)
    lr_min = number("min_lr", minimum=0.0)
    decay_epochs = v2["decay_epochs"]
    if decay_epochs is None:
        decay_epochs = 0.2 if sched in ("wsd", "rsqrt") else 90
    decay_epochs = check.number("decay_epochs", decay_epochs, minimum=0.0)
    t_initial, warmup_t, decay_t = num_epochs * unit, warmup_epochs * unit, decay_epochs * unit
    cooldown_t = cooldown * unit

    def warm(t, steady, target=lr):
        if not warmup_t:
            return steady(t)
        step = (target - warmup_lr) / warmup_t
        shifted = t - warmup_t if prefix else t
        return np.where(t < warmup_t, warmup_lr + t * step, steady(np.maximum(shifted, 0.0)))

    if sched in ("cosine", "tanh", "poly"):
        mul, decay = number("cycle_mul", minimum=0.0, min_inclusive=False), number("cycle_decay")
        limit, k = integer("cycle_limit", 1), number("k_decay", minimum=0.0, min_inclusive=False)
        power = number("decay_rate") if sched == "poly" else None

        def steady(t):
            if mul != 1:
                i = np.floor(np.log(1 - t / t_initial * (1 - mul)) / np.log(mul))
                t_i = mul ** i * t_initial
                t_curr = t - (1 - mul ** i) / (1 - mul) * t_initial
            else:
                i = t // t_initial
                t_i = t_initial
                t_curr = t - t_initial * i
            peak = lr * cycle_gamma(i)
            if sched == "cosine":
                rate = lr_min + 0.5 * (peak - lr_min) * (1 + np.cos(np.pi * t_curr ** k / t_i ** k))
            elif sched == "tanh":
                tr = t_curr / t_i
                rate = lr_min + 0.5 * (peak - lr_min) * (1 - np.tanh(-7.0 * (1.0 - tr) + 3.0 * tr))
            else:
                rate = lr_min + (peak - lr_min) * (1 - t_curr ** k / t_i ** k) ** power
            return np.where(i < limit, rate, lr_min)

        def cycle_gamma(i):
            return decay ** i

        # tanh's warmup ramps to the rate at its end, the others to the base rate
        target = lr
        if sched == "tanh" and warmup_t and not prefix:
            target = float(steady(np.asarray([float(warmup_t)]))[0])
        if mul == 1.0:
            length = t_initial * limit
        else:
            length = int(math.floor(-t_initial * (mul ** limit - 1) / (1 - mul)))
        length = (length + warmup_t if prefix else length) + cooldown_t
        epochs = length if unit == 1 else length // unit
        return epochs, lambda t: warm(t, steady, target)
    epochs = num_epochs + (warmup_epochs if prefix else 0)
    if sched in ("step", "constant"):
        step_t = 1 if sched == "constant" else decay_t
        rate = 0.1 if sched == "step" else 1.0
        rate = number("decay_rate") if sched == "step" else rate
        if step_t <= 0:
            check.fail_value("decay_epochs", decay_epochs, "a number > 0 (the epochs between steps)")
        return epochs, lambda t: warm(t, lambda s: lr * rate ** (s // step_t))
    if sched == "multistep":
        milestones = [m * unit for m in v2["decay_milestones"]]
        rate = number("decay_rate")

        def steady(t):
            # timm: bisect_right(milestones, t + 1) decays
            count = np.searchsorted(np.asarray(milestones, dtype=np.float64), t + 1, side="right")
            return lr * rate ** count
        return epochs, lambda t: warm(t, steady)
    # wsd / rsqrt: the warmup is always a prefix; with warmup_prefix False the stable
    # and decay phases fit within num_epochs
    t_sched = t_initial if prefix else t_initial - warmup_t
    d = int(round(decay_epochs * t_sched if 0 < decay_epochs < 1 else decay_t))
    if not 0 < d <= t_sched:
        check.fail_value("decay_epochs", decay_epochs, "a decay within the run (0 < decay <= "
                         "epochs, less the warmup unless it is a prefix)")
    decay_fn = v2["decay_fn"] or ("linear" if sched == "rsqrt" else "1-sqrt")
    decay_fn = check.choice("decay_fn", decay_fn, ("linear", "1-sqrt", "cosine", "power", "exp"))
    timescale = v2["stable_timescale"]
    timescale = warmup_t if timescale is None else check.number("stable_timescale", timescale) * unit
    if sched == "rsqrt" and not timescale > 0:
        check.fail_value("stable_timescale", v2["stable_timescale"], "a number > 0 when there is "
                         "no warmup (rsqrt's timescale defaults to the warmup)")

    def factor(frac):
        if decay_fn == "linear":
            return 1.0 - frac
        if decay_fn == "1-sqrt":
            return 1.0 - np.sqrt(frac)
        if decay_fn == "cosine":
            return 0.5 * (1.0 + np.cos(np.pi * frac))
        if decay_fn == "power":
            return 1.0 - frac ** 0.5
        return (0.1 ** frac - 0.1) / (1.0 - 0.1)

    def rates(t):
        t_s = t - warmup_t
        stable = lr * ((1.0 + np.maximum(t_s, 0.0) / timescale) ** -0.5 if sched == "rsqrt" else 1.0)
        stable = np.maximum(stable, lr_min)
        t_decay = t_s - (t_sched - d)
        decayed = lr_min + (stable - lr_min) * factor(np.clip(t_decay / d, 0.0, 1.0))
        out = np.where(t_decay <= 0, stable, decayed)
        if warmup_t:
            out = np.where(t < warmup_t, warmup_lr + t * (lr - warmup_lr) / warmup_t, out)
        return out * np.ones_like(t)

    length = warmup_t + t_sched + cooldown_t
    return (length if unit == 1 else length // unit), rates
