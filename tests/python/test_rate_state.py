"""The rate state lives among the optimizer's variables: compiled once, saved whole.

The callbacks write the held rate, the multiplier and the plateau counters into
variables of the optimizer, which every backend's compiled train step receives as
state. So a fit in which the rate changes every epoch compiles its train step once
(on JAX the step used to be rebuilt after every change), the rates used inside the
step are the new ones (read back from a probe's weights), and the optimizer's own
saved entries keep Keras's layout: a `.keras` file loads in a new process with every
optimizer variable restored and no "Skipping variable loading" warning.
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
from probes import Flat, RateTrace, count_traces, kernel_probe, probe_data, run_here

HERE = pathlib.Path(__file__).resolve().parent
BACKEND = keras.backend.backend()
compiled = pytest.mark.skipif(
    BACKEND == "torch", reason="the torch backend runs the train step eagerly: nothing is compiled"
)



@compiled
def test_a_fit_whose_rate_changes_every_epoch_compiles_its_step_once():
    x, y = probe_data(8)
    model = kernel_probe(0.1)
    calls = count_traces(model)
    trace = RateTrace()
    epochs, steps = 5, 4
    history = model.fit(
        x, y, batch_size=2, epochs=epochs, shuffle=False, verbose=0,
        callbacks=[
            lrs.ScheduleLR(lambda epoch: 0.1 * 0.9**epoch),
            Flat(),
            lrs.ReduceLROnPlateau("flat", factor=0.5, patience=0, mode="min"),
            trace,
        ],
    )
    assert calls["n"] == 1
    # Epoch 0 sets the best value; each later epoch end reduces (patience 0), so epoch
    # e runs at 0.1 * 0.9**e * 0.5**(e - 1) from e = 2 on.
    expected = np.array([0.1 * 0.9**e * 0.5 ** max(e - 1, 0) for e in range(epochs)])
    np.testing.assert_allclose(trace.rates, np.repeat(expected, steps), rtol=1e-5)
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)


@compiled
def test_a_second_fit_reuses_the_compiled_step():
    x, y = probe_data(4)
    model = kernel_probe(lrs.OneCycle(0.1, total_steps=40))
    calls = count_traces(model)
    plateau = lrs.ReduceLROnPlateau("flat", factor=0.5, patience=0, mode="min")
    model.fit(x, y, batch_size=2, epochs=3, verbose=0, callbacks=[Flat(), plateau])
    model.fit(x, y, batch_size=2, epochs=3, verbose=0, callbacks=[Flat(), plateau])
    assert calls["n"] == 1


@compiled
def test_find_lr_compiles_its_sweep_once():
    x, y = probe_data(64)
    model = kernel_probe(0.01)
    calls = count_traces(model)
    result = lrs.find_lr(model, x, y, start_lr=1e-4, end_lr=1e-1, num_steps=20, batch_size=2,
                         diverge_factor=None)
    assert len(result.rates) == 20
    assert calls["n"] == 1


def test_the_state_is_among_the_optimizer_variables_and_out_of_its_saved_entries(tmp_path):
    x, y = probe_data(4)
    model = kernel_probe(lrs.StepDecay(0.1, 2, 0.5))
    keras_layout = None
    model.optimizer.build(model.trainable_variables)
    keras_layout = [v.path for v in model.optimizer.variables]
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[lrs.ReduceLROnPlateau("loss")])
    paths = [v.path for v in model.optimizer.variables]
    ours = [p for p in paths if "lrschedule_" in p]
    assert len(ours) == 1  # one float32 vector: all the numbers
    assert [p for p in paths if p not in ours] == keras_layout
    model.save_weights(tmp_path / "w.weights.h5")
    import h5py

    with h5py.File(tmp_path / "w.weights.h5") as f:
        assert len(f["optimizer/vars"]) == len(keras_layout)
        # 0.1.0's six numbers, then the smooth reduction's three
        assert len(f["optimizer/_lrschedule_state/vars"]) == 9


SAVE_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, keras
    from keras import ops
    import lrschedule as lrs

    class Script(keras.callbacks.Callback):
        # A monitored value that improves at epoch 0 then stays flat.
        def on_epoch_end(self, epoch, logs=None):
            logs["score"] = [3.0, 3.0, 3.0, 3.0][epoch]

    def snapshot(model):
        opt = model.optimizer
        s = opt._lrschedule_state.read_all()
        return {
            "variables": [np.asarray(ops.convert_to_numpy(v)).tolist()
                          for v in opt.variables if "lrschedule_" not in v.path],
            "iterations": int(ops.convert_to_numpy(opt.iterations)),
            "state": [s["multiplier"], s["best"], s["wait"], s["cooldown_counter"], s["min_lr"]],
            "current": lrs.current(model),
        }

    out, kind = sys.argv[1], sys.argv[2]
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    rate = lrs.OneCycle(0.05, total_steps=100) if kind == "schedule" else 0.01
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    plateau = lrs.ReduceLROnPlateau("score", factor=0.5, patience=2, cooldown=1, min_lr=1e-5,
                                  mode="min")
    record = {}
    # Epoch 0 sets the best value, epoch 1 waits, epoch 2 reduces and starts a cooldown of
    # one epoch, epoch 3 cools down.
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[Script(), plateau])
    model.save(out + "/before.keras")
    record["before"] = snapshot(model)
    model.fit(x, y, batch_size=4, epochs=4, initial_epoch=2, verbose=0, callbacks=[Script(), plateau])
    model.save(out + "/after.keras")
    record["after"] = snapshot(model)
    with open(out + "/saved.json", "w") as f:
        json.dump(record, f)
""")

LOAD_SCRIPT = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as caught:
        import numpy as np, keras
        from keras import ops
        import lrschedule as lrs
        out = sys.argv[1]
        record = {}
        for name in ("before", "after"):
            model = keras.models.load_model(out + "/" + name + ".keras", safe_mode=True)
            opt = model.optimizer
            rate = opt._learning_rate
            # A schedule comes back in a ControlledRate holding the state; a constant
            # rate as Keras's variable holding the reduced rate (the counters restart).
            state = None
            if isinstance(rate, lrs.ControlledRate):
                s = rate.state.read_all()
                state = [s["multiplier"], s["best"], s["wait"], s["cooldown_counter"],
                         s["min_lr"]]
            record[name] = {
                "variables": [np.asarray(ops.convert_to_numpy(v)).tolist()
                              for v in opt.variables],
                "iterations": int(ops.convert_to_numpy(opt.iterations)),
                "state": state,
                "current": lrs.current(model),
            }
            # Attaching the callback binds the state; the next fit continues from it.
            x = np.zeros((4, 3), "float32")
            model.fit(x, x[:, :1], batch_size=4, epochs=1, verbose=0,
                      callbacks=[lrs.ReduceLROnPlateau("loss", min_lr=1e-5)])
    record["warnings"] = [str(w.message) for w in caught]
    with open(out + "/loaded.json", "w") as f:
        json.dump(record, f)
""")


@pytest.mark.parametrize("kind", ["schedule", "constant"])
@pytest.mark.subprocess
def test_a_saved_model_loads_whole_in_a_new_process(tmp_path, kind):
    run_here(SAVE_SCRIPT, tmp_path, kind)
    env = dict(os.environ)  # the lrschedule this Python imports (editable or installed)
    proc = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = json.loads((tmp_path / "saved.json").read_text())
    loaded = json.loads((tmp_path / "loaded.json").read_text())
    assert not [w for w in loaded["warnings"] if "Skipping variable loading" in w]
    for name in ("before", "after"):
        # Keras's layout, in Keras's order (names differ: the loaded layers are renamed).
        assert len(loaded[name]["variables"]) == len(saved[name]["variables"])
        for i, value in enumerate(saved[name]["variables"]):
            np.testing.assert_array_equal(loaded[name]["variables"][i], value, err_msg=str(i))
        assert loaded[name]["iterations"] == saved[name]["iterations"] > 0
        if kind == "schedule":
            assert loaded[name]["state"] == pytest.approx(saved[name]["state"], rel=1e-6)
        else:
            assert loaded[name]["state"] is None
        assert loaded[name]["current"] == pytest.approx(saved[name]["current"], rel=1e-6)
    # Before: best set, one epoch waited, no reduction. After: reduced once, cooled down,
    # one epoch waited.
    assert saved["before"]["state"][:4] == pytest.approx([1.0, 3.0, 1, 0])
    assert saved["after"]["state"][:4] == pytest.approx([0.5, 3.0, 1, 0])
    # Adam's moments are non-zero: they were restored, not rebuilt.
    assert all(np.any(np.asarray(v) != 0) for v in loaded["after"]["variables"])


def test_one_rate_object_in_two_optimizers_gets_a_state_each():
    x, y = probe_data(4)
    shared = lrs.ControlledRate(lrs.StepDecay(0.1, 2, 0.5))
    first, second = kernel_probe(shared), kernel_probe(shared)
    for model in (first, second):
        model.fit(x, y, batch_size=2, epochs=1, verbose=0,
                  callbacks=[lrs.ReduceLROnPlateau("loss")])
    plateau = lrs.ReduceLROnPlateau("flat", factor=0.5, patience=0, mode="min")
    first.fit(x, y, batch_size=2, epochs=3, verbose=0, callbacks=[Flat(), plateau])
    a, b = first.optimizer._learning_rate, second.optimizer._learning_rate
    assert a is shared and b is not shared
    assert a.multiplier == 0.25 and b.multiplier == 1.0
    trace = RateTrace()
    second.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[trace])
    # Its own state: steps 2 and 3 of the StepDecay, unreduced.
    np.testing.assert_allclose(trace.rates, [0.05, 0.05], rtol=1e-6)


def test_the_state_follows_a_backup_with_the_callback_listed_after_it(tmp_path):
    # BackupAndRestore restores in on_train_begin; the state is bound in set_model(),
    # before any on_train_begin(), whatever the order of the list.
    x, y = probe_data(4)
    backup = str(tmp_path / "backup")

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("crash")

    model = kernel_probe(0.1)
    with pytest.raises(RuntimeError, match="crash"):
        model.fit(x, y, batch_size=2, epochs=5, verbose=0, callbacks=[
            Flat(), keras.callbacks.BackupAndRestore(backup),
            lrs.ReduceLROnPlateau("flat", factor=0.5, patience=0, mode="min"), Crash()])
    fresh = kernel_probe(0.1)
    trace = RateTrace()
    fresh.fit(x, y, batch_size=2, epochs=5, verbose=0, callbacks=[
        Flat(), keras.callbacks.BackupAndRestore(backup),
        lrs.ReduceLROnPlateau("flat", factor=0.5, patience=0, mode="min"), trace])
    # Reductions at the ends of epochs 1 and 2; the backup, listed first, is written
    # before the callback's reduction at the same epoch end: the one of epoch 2 holds
    # one reduction. Epoch 3 runs at 0.05, reduces at its end, epoch 4 runs at 0.025.
    np.testing.assert_allclose(trace.rates, np.repeat([0.05, 0.025], 2), rtol=1e-6)
    assert float(ops.convert_to_numpy(fresh.optimizer.iterations)) == 10


def test_the_bound_state_never_holds_nan_and_files_keep_nan_for_no_best(tmp_path):
    # JAX multi-process training checks that every value put into a replicated variable
    # is the same on each process, and NaN != NaN: "no best value yet" is encoded in the
    # variable without NaN, and files keep 0.1.0's NaN.
    model = kernel_probe(lrs.StepDecay(0.1, 2, 0.5))
    plateau = lrs.ReduceLROnPlateau("flat", mode="min", patience=5)
    plateau.set_model(model)
    state = model.optimizer._learning_rate.state
    vector = ops.convert_to_numpy(state.bound_variables[0])
    assert not np.isnan(vector).any()
    assert state.numbers()["best"] is None and state.numbers()["wait"] == 0
    model.save_weights(tmp_path / "w.weights.h5")
    import h5py

    with h5py.File(tmp_path / "w.weights.h5") as f:
        saved = [f["optimizer/_lrschedule_state/vars"][str(i)][()] for i in range(9)]
    assert np.isnan(saved[3]) and saved[4] == 0  # best, wait as 0.1.0 wrote them
    again = kernel_probe(lrs.StepDecay(0.1, 2, 0.5))
    lrs.ReduceLROnPlateau("flat", mode="min", patience=5).set_model(again)
    again.load_weights(tmp_path / "w.weights.h5")
    assert again.optimizer._learning_rate.state.numbers()["best"] is None


@pytest.mark.parametrize("values, waits", [
    ([float("nan"), 1.0, 1.0], [1, 0, 1]),       # NaN never improves (Keras: nan < inf fails)
    ([float("inf"), 2.0, 2.0], [1, 0, 1]),       # nor does +inf on the first epoch
])
def test_the_first_epoch_follows_kerass_rule_for_nan_and_inf(values, waits):
    x, y = probe_data(4)
    model = kernel_probe(0.1)
    seen = []

    class Inject(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["metric"] = values[epoch]

    class Read(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.optimizer._lrschedule_state.numbers()["wait"])

    model.fit(x, y, batch_size=2, epochs=3, verbose=0, callbacks=[
        Inject(), lrs.ReduceLROnPlateau("metric", mode="min", patience=5), Read()])
    assert seen == waits
