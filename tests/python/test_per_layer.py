"""Per-layer learning rates: a MultiOptimizer's groups, driven by every callback of ours.

The probe has three kernels, one per layer ("low", "mid", "top"), each reading x = 1
with its own mean-absolute-error output aiming at -1000: each kernel's gradient is
exactly 1, so every plain-SGD step moves each kernel by exactly its group's rate, and
the rates applied inside the compiled step are read back from the weights, group by
group. Expectations come from the formulas (a linear schedule, Keras's plateau rule,
the factors), never from lrschedule's own output.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

import lrschedule as lrs
from probes import TARGET, Flat, Kernels, StopAt

NAMES = ("low", "mid", "top")
HERE = pathlib.Path(__file__).resolve().parent


def probe(names=NAMES):
    inp = keras.Input((1,))
    outs = [keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros", name=n)(inp)
            for n in names]
    return keras.Model(inp, outs)


def compile_probe(model, optimizer):
    model.compile(optimizer=optimizer, loss=["mean_absolute_error"] * len(model.outputs))
    return model


def data(samples, outputs=3):
    x = np.ones((samples, 1), dtype="float32")
    return x, [np.full_like(x, TARGET)] * outputs


def linear(step, start=0.02, end=0.2, total=12):
    return start + (end - start) * min(step, total) / total


def fit(model, epochs, callbacks=(), batches=3, **kwargs):
    x, y = data(batches * 2, len(model.outputs))
    trace = Kernels(tuple(layer.name for layer in model.layers[1:]))
    history = model.fit(x, y, batch_size=2, epochs=epochs, shuffle=False, verbose=0,
                        callbacks=[*callbacks, trace], **kwargs)
    return trace.rates, history.history



def test_decay_gives_each_depth_its_factor_of_one_schedule():
    model = probe()
    schedule = lrs.Linear(0.02, 0.2, total_steps=12)
    compile_probe(model, lrs.per_layer(keras.optimizers.SGD(schedule), model, decay=0.5))
    rates, _ = fit(model, epochs=2)
    steps = range(6)
    for name, factor in zip(NAMES, (0.25, 0.5, 1.0)):
        expected = [factor * linear(s) for s in steps]
        np.testing.assert_allclose(rates[name], expected, rtol=1e-4, err_msg=name)
    assert [o.name for o in model.optimizer.optimizers] == ["low", "mid", "top"]


def test_factors_and_groups_of_layers_with_a_constant_rate():
    model = probe()
    opt = lrs.per_layer(keras.optimizers.SGD(0.1), model, factors=[0.2, 1.0],
                        groups={"body": ["low", "mid"], "head": ["top"]})
    compile_probe(model, opt)
    rates, history = fit(model, epochs=1, callbacks=[lrs.LRLogger()])
    np.testing.assert_allclose(rates["low"], 0.02, rtol=1e-5)
    np.testing.assert_allclose(rates["mid"], 0.02, rtol=1e-5)
    np.testing.assert_allclose(rates["top"], 0.1, rtol=1e-5)
    assert history["learning_rate"] == pytest.approx([0.1])
    assert history["learning_rate/head"] == pytest.approx([0.1])
    assert history["learning_rate/body"] == pytest.approx([0.02])


@pytest.mark.parametrize("groups", [None, ["mid"]])
def test_plateau_reduces_every_group_or_the_named_ones(groups):
    model = probe()
    schedule = lrs.Linear(0.02, 0.2, total_steps=12)
    compile_probe(model, lrs.per_layer(keras.optimizers.SGD(schedule), model, decay=0.5))
    plateau = lrs.ReduceLROnPlateau("flat", factor=0.5, patience=0, mode="min", groups=groups)
    rates, history = fit(model, epochs=3, callbacks=[Flat(), plateau, lrs.LRLogger()])
    # Keras's rule: epoch 0 sets the best, each later epoch end reduces (patience 0):
    # epoch e runs at 0.5 ** max(e - 1, 0) times the schedule.
    reduced = [1 if e < 2 else 0.5 for e in range(3) for _ in range(3)]
    for name, factor in zip(NAMES, (0.25, 0.5, 1.0)):
        multiplier = reduced if groups is None or name in groups else [1.0] * 9
        expected = [factor * m * linear(s) for s, m in enumerate(multiplier)]
        np.testing.assert_allclose(rates[name], expected, rtol=1e-4, err_msg=name)
        # The logs hold the rate of each epoch's last step, before that epoch's reduction.
        np.testing.assert_allclose(history[f"learning_rate/{name}"], expected[2::3], rtol=1e-5)
    np.testing.assert_allclose(history["learning_rate"], rates["top"][2::3], rtol=1e-4)


def test_schedule_lr_sets_each_group_from_its_own_rate_or_all_to_one_value():
    model = probe()
    compile_probe(model, lrs.per_layer(keras.optimizers.SGD(0.1), model, decay=0.5))
    rates, _ = fit(model, epochs=3, callbacks=[lrs.ScheduleLR(lambda epoch, lr: lr * 0.5)])
    for name, factor in zip(NAMES, (0.25, 0.5, 1.0)):
        expected = [0.1 * factor * 0.5 ** (e + 1) for e in range(3) for _ in range(3)]
        np.testing.assert_allclose(rates[name], expected, rtol=1e-5, err_msg=name)

    model = probe()
    compile_probe(model, lrs.per_layer(keras.optimizers.SGD(0.1), model, decay=0.5))
    rates, _ = fit(model, epochs=2, callbacks=[lrs.ScheduleLR(lambda epoch: 0.01 * (epoch + 1),
                                                              groups=["low", "top"])])
    for name in ("low", "top"):
        np.testing.assert_allclose(rates[name], [0.01] * 3 + [0.02] * 3, rtol=1e-5)
    np.testing.assert_allclose(rates["mid"], 0.05, rtol=1e-5)


def test_logger_per_batch_keeps_each_groups_rates():
    model = probe()
    schedule = lrs.Linear(0.02, 0.2, total_steps=12)
    compile_probe(model, lrs.per_layer(keras.optimizers.SGD(schedule), model, decay=0.5))
    logger = lrs.LRLogger(per="batch")
    rates, history = fit(model, epochs=2, callbacks=[logger])
    assert sorted(logger.group_batch_rates) == sorted(NAMES)
    for name in NAMES:
        np.testing.assert_allclose(logger.group_batch_rates[name], rates[name], rtol=1e-4)
    np.testing.assert_allclose(logger.batch_rates, rates["top"], rtol=1e-4)
    assert sorted(history) == sorted(["loss", "low_loss", "mid_loss", "top_loss", "learning_rate",
                                      "learning_rate/low", "learning_rate/mid",
                                      "learning_rate/top"])


def test_keras_own_multi_optimizer_repeated_names_and_current():
    model = probe(("a", "b"))
    # Two optimizers of one name: made unique in the MultiOptimizer's order (the map's,
    # then the default), as Keras makes layer names unique.
    opt = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
        keras.optimizers.SGD(0.1, name="opt"),
        {"a/.*": keras.optimizers.SGD(lrs.Linear(0.02, 0.2, 12), name="opt")}))
    compile_probe(model, opt)
    rates, history = fit(model, epochs=1, callbacks=[lrs.LRLogger()])
    # The default optimizer ("opt_1") is the primary group.
    assert history["learning_rate"] == pytest.approx([0.1])
    assert history["learning_rate/opt_1"] == pytest.approx([0.1])
    assert history["learning_rate/opt"] == pytest.approx([linear(2)], rel=1e-5)
    np.testing.assert_allclose(rates["a"], [linear(s) for s in range(3)], rtol=1e-4)
    np.testing.assert_allclose(rates["b"], 0.1, rtol=1e-5)
    assert lrs.current(model) == pytest.approx(0.1)
    assert lrs.current(model, "opt") == pytest.approx(linear(3), rel=1e-5)
    with pytest.raises(ValueError, match=r"group.*names of the MultiOptimizer's optimizers: "
                                         r"'opt', 'opt_1'"):
        lrs.current(model, "adam")


def test_find_lr_sweeps_every_group_by_a_common_multiplier():
    model = probe()
    compile_probe(model, lrs.per_layer(keras.optimizers.SGD(0.1), model, decay=0.5))
    x, y = data(8)
    seen = []
    original = model.train_on_batch

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append([float(ops.convert_to_numpy(model.get_layer(n).kernel)[0, 0]) for n in NAMES])
        return out

    model.train_on_batch = recording
    result = lrs.find_lr(model, x, y, start_lr=1e-3, end_lr=1e-1, num_steps=6, batch_size=2,
                         diverge_factor=None, verbose=0)
    applied = -np.diff(np.array([[0.0] * 3] + seen), axis=0)
    expected = 1e-3 * 100 ** (np.arange(6) / 5)
    np.testing.assert_allclose(result.rates, expected, rtol=1e-6)
    for i, factor in enumerate((0.25, 0.5, 1.0)):
        np.testing.assert_allclose(applied[:, i], factor * expected, rtol=1e-4)
    # Restored: the kernels and each group's own rate.
    assert all(float(ops.convert_to_numpy(model.get_layer(n).kernel)[0, 0]) == 0 for n in NAMES)
    assert [lrs.current(model, n) for n in NAMES] == pytest.approx([0.025, 0.05, 0.1])


def test_group_names_are_checked_when_the_callback_meets_the_model():
    model = probe()
    compile_probe(model, lrs.per_layer(keras.optimizers.SGD(0.1), model, decay=0.5))
    with pytest.raises(ValueError, match=r"`groups`.*'low', 'mid', 'top'.*Received: "
                                         r"groups=\['head'\]"):
        fit(model, 1, callbacks=[lrs.ReduceLROnPlateau("loss", groups=["head"])])
    single = compile_probe(probe(), keras.optimizers.SGD(0.1))
    with pytest.raises(ValueError, match=r"`groups`.*MultiOptimizer.*single SGD"):
        fit(single, 1, callbacks=[lrs.ScheduleLR(lambda e: 0.1, groups="top")])
    with pytest.raises(TypeError, match=r"`groups`.*names of the optimizers"):
        lrs.ReduceLROnPlateau("loss", groups=[1])


@pytest.mark.parametrize("kwargs, error, message", [
    ({"decay": 0.5, "factors": [1, 1, 1]}, ValueError, r"`decay`.*one of the two"),
    ({}, ValueError, r"`decay`.*one of the two"),
    ({"decay": 0.0}, ValueError, r"`decay`"),
    ({"decay": 1.5}, ValueError, r"`decay`"),
    ({"factors": [1, 1]}, ValueError, r"`factors`.*3 numbers > 0, one per group \(the groups: "
                                      r"low, mid, top\)"),
    ({"factors": [1, -1, 1]}, ValueError, r"`factors`"),
    ({"decay": 0.5, "groups": ["low", "nope"]}, ValueError, r"`groups`.*'nope' is not one"),
    ({"decay": 0.5, "groups": [["low"], ["low", "top"]]}, ValueError,
     r"each layer in one group: 'low' is in groups 1 and 2"),
    ({"decay": 0.5, "groups": 3}, TypeError, r"`groups`"),
])
def test_per_layer_refuses_bad_input_naming_the_argument(kwargs, error, message):
    model = probe()
    with pytest.raises(error, match=message):
        lrs.per_layer(keras.optimizers.SGD(0.1), model, **kwargs)


def test_per_layer_refuses_a_built_optimizer_or_an_unbuilt_model():
    model = probe()
    built = keras.optimizers.SGD(0.1)
    built.build(model.trainable_variables)
    with pytest.raises(ValueError, match=r"`optimizer`.*not built yet"):
        lrs.per_layer(built, model, decay=0.5)
    with pytest.raises(ValueError, match=r"`model`.*built"):
        lrs.per_layer(keras.optimizers.SGD(0.1), keras.Sequential([keras.layers.Dense(1)]),
                      decay=0.5)


# --- saved, loaded in a new process, resumed ------------------------------------------

RUN_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, keras
    sys.path.insert(0, sys.argv[1])
    import lrschedule as lrs
    from probes import Flat, Kernels
    from test_per_layer import data
    model = keras.models.load_model(sys.argv[2])
    x, y = data(6)
    trace = Kernels(("low", "mid", "top"))
    plateau = lrs.ReduceLROnPlateau("flat", factor=0.5, patience=0, mode="min")
    model.fit(x, y, batch_size=2, epochs=4, initial_epoch=2, shuffle=False, verbose=0,
              callbacks=[Flat(), plateau, trace])
    json.dump({n: r.tolist() for n, r in trace.rates.items()}, open(sys.argv[3], "w"))
""")


def plateau_run(model, epochs, callbacks=(), initial_epoch=0):
    plateau = lrs.ReduceLROnPlateau("flat", factor=0.5, patience=0, mode="min")
    return fit(model, epochs, callbacks=[Flat(), plateau, *callbacks],
               initial_epoch=initial_epoch)[0]


def expected_plateau_rates(epochs, first_epoch=0):
    # Epoch e runs at 0.5 ** max(e - 1, 0) times the group's schedule.
    out = {}
    for name, factor in zip(NAMES, (0.25, 0.5, 1.0)):
        out[name] = [factor * 0.5 ** max(e - 1, 0) * linear(3 * e + b)
                     for e in range(first_epoch, epochs) for b in range(3)]
    return out


def per_layer_probe():
    model = probe()
    schedule = lrs.Linear(0.02, 0.2, total_steps=12)
    return compile_probe(model, lrs.per_layer(keras.optimizers.SGD(schedule), model, decay=0.5))


@pytest.mark.subprocess
def test_a_saved_model_keeps_every_groups_rate_and_state_in_a_new_process(tmp_path):
    model = per_layer_probe()
    plateau_run(model, epochs=2)
    model.save(tmp_path / "model.keras")
    out = tmp_path / "rates.json"
    proc = subprocess.run([sys.executable, "-c", RUN_SCRIPT, str(HERE),
                           str(tmp_path / "model.keras"), str(out)],
                          env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rates = json.loads(out.read_text())
    expected = expected_plateau_rates(4, first_epoch=2)
    for name in NAMES:
        np.testing.assert_allclose(rates[name], expected[name], rtol=1e-4, err_msg=name)


def test_backup_and_restore_resumes_every_group_exactly(tmp_path):
    backup = str(tmp_path / "backup")
    model = per_layer_probe()
    with pytest.raises(RuntimeError, match="interrupted"):
        plateau_run(model, 4, callbacks=[keras.callbacks.BackupAndRestore(backup), StopAt(2)])
    model = per_layer_probe()
    rates = plateau_run(model, 4, callbacks=[keras.callbacks.BackupAndRestore(backup)])
    expected = expected_plateau_rates(4, first_epoch=2)
    for name in NAMES:
        np.testing.assert_allclose(rates[name], expected[name], rtol=1e-4, err_msg=name)


def test_a_sequential_models_groups_survive_saving_and_loading(tmp_path):
    # Keras 3.15 names a new Sequential model's variables "sequential/a/kernel" and the
    # loaded model's "a/kernel": each group's optimizer must still find its layers (and
    # its state, which Keras restores only when every optimizer holds the same slots).
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="a"),
                              keras.layers.Dense(2, name="b")], name="seq")
    assert model.layers[0].kernel.path == "seq/a/kernel"
    model.compile(optimizer=lrs.per_layer(keras.optimizers.Adam(lrs.Linear(0.01, 0.02, 10)),
                                          model, decay=0.5), loss="mse")
    x = np.random.RandomState(0).randn(12, 3).astype("float32")
    y = x[:, :2] * 2.0
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    assert loaded.layers[0].kernel.path == "a/kernel"
    loaded.optimizer.build(loaded.trainable_variables)
    for before, after in zip(model.optimizer.optimizers, loaded.optimizer.optimizers):
        assert after.name == before.name
        # (the slots' names follow the paths: "a/a_kernel_momentum" for "seq_a_kernel")
        assert [tuple(v.shape) for v in after.variables] == \
            [tuple(v.shape) for v in before.variables]
        for a, b in zip(after.variables, before.variables):
            np.testing.assert_array_equal(ops.convert_to_numpy(a), ops.convert_to_numpy(b))
    assert int(ops.convert_to_numpy(loaded.optimizer.optimizers[0].iterations)) == 3
    # trained on, both go the same way
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
