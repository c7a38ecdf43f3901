"""One example of every schedule, ours and Keras's six, for tests that cover them all.

The examples are picked by hand: short, so that their shape shows within the few
steps a property test evaluates or trains, and nested where nesting is the point. A
schedule class of the reference table (the catalogue) without one here gets its
first reference case, so a new schedule goes through every test that takes its
examples from here as soon as it has reference rows.
"""

import keras

import lrschedule as lrs
from reference_table import build, load

K = keras.optimizers.schedules


def catalogue():
    """(id, schedule) pairs: every schedule class, nested ones included."""
    examples = [
        ("Constant", lrs.Constant(0.05)),
        ("Linear", lrs.Linear(0.01, 0.2, total_steps=7)),
        ("StepDecay", lrs.StepDecay(0.2, step_size=3, gamma=0.5)),
        ("MultiStepDecay", lrs.MultiStepDecay(0.2, milestones=[2, 5], gamma=0.3)),
        ("OneCycle", lrs.OneCycle(max_lr=0.3, total_steps=12)),
        ("OneCycle-3phase-linear",
         lrs.OneCycle(max_lr=0.3, total_steps=20, anneal_strategy="linear", three_phase=True)),
        ("Cyclic", lrs.Cyclic(0.01, 0.2, step_size_up=3, step_size_down=2, mode="triangular2")),
        ("Cyclic-exp", lrs.Cyclic(0.01, 0.2, step_size_up=2, mode="exp_range", gamma=0.9)),
        ("WarmupStableDecay", lrs.WarmupStableDecay(0.2, 2, 2, 4, warmup_type="cosine",
                                                    decay_type="1-sqrt", min_lr_ratio=0.1)),
        ("InverseSqrt", lrs.InverseSqrt(0.2, warmup_steps=3)),
        ("Warmup-Keras-cosine", lrs.Warmup(K.CosineDecay(0.2, decay_steps=10), warmup_steps=3,
                                           start_learning_rate=0.01)),
        ("Sequence", lrs.Sequence([lrs.Linear(0.0, 0.2, 3), K.ExponentialDecay(0.2, 2, 0.5),
                                   0.02], boundaries=[3, 8])),
        ("PerEpoch", lrs.PerEpoch(lrs.StepDecay(0.2, step_size=1, gamma=0.5), steps_per_epoch=2)),
        ("Tabulated", lrs.Tabulated([0.2, 0.1, 0.15, 0.05])),
        ("Nested", lrs.Warmup(lrs.Sequence([K.PiecewiseConstantDecay([3], [0.2, 0.1]),
                                            lrs.InverseSqrt(0.1, 0)], [6]), 2)),
        ("Keras-ExponentialDecay", K.ExponentialDecay(0.2, decay_steps=3, decay_rate=0.5,
                                                      staircase=True)),
        ("Keras-PiecewiseConstantDecay", K.PiecewiseConstantDecay([2, 5], [0.2, 0.1, 0.05])),
        ("Keras-PolynomialDecay", K.PolynomialDecay(0.2, decay_steps=6, end_learning_rate=0.01,
                                                    power=2.0)),
        ("Keras-InverseTimeDecay", K.InverseTimeDecay(0.2, decay_steps=2, decay_rate=0.5)),
        ("Keras-CosineDecay-warmup", K.CosineDecay(0.01, decay_steps=8, alpha=0.1,
                                                   warmup_target=0.2, warmup_steps=3)),
        ("Keras-CosineDecayRestarts", K.CosineDecayRestarts(0.2, first_decay_steps=3)),
    ]
    covered = {type(schedule).__name__ for _, schedule in examples}
    for python_class, args, *_ in load().values():
        if python_class not in covered:
            examples.append((python_class, build(python_class, args)))
            covered.add(python_class)
    return examples


def ours():
    return [(i, s) for i, s in catalogue() if isinstance(s, lrs.Schedule)]
