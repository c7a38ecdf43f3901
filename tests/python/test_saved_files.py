"""Files saved by earlier releases still load, and compute what they computed then.

tests/python/fixtures/saved-<release>/ holds `.keras` files (every schedule of the
catalogue under Adam, trained 3 steps; plateau and ScheduleLR state; a 1000-step
table) and a `.weights.h5`, written by that release with
tests/reference/make_saved_fixtures.py, with `expected.json`: what that release read
back. Here they load with safe_mode=True on the current code, on every backend.
"""

import json
import pathlib

import keras
import numpy as np
import pytest

import lrschedule as lrs

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
RELEASES = sorted(p for p in FIXTURES.glob("saved-*") if (p / "expected.json").is_file())
CASES = [(release, name) for release in RELEASES
         for name in json.loads((release / "expected.json").read_text())["files"]]


def expected_for(release, name):
    return json.loads((release / "expected.json").read_text())["files"][name]


@pytest.mark.backend_independent
def test_there_are_fixtures_of_the_first_release():
    assert any(r.name == "saved-0.1.0" for r in RELEASES)
    assert len(CASES) >= 25


@pytest.mark.parametrize("release, name", CASES,
                         ids=[f"{r.name}/{n}" for r, n in CASES])
def test_a_saved_file_loads_and_computes_what_it_did(release, name):
    expected = expected_for(release, name)
    model = keras.models.load_model(release / name, safe_mode=True)
    optimizer = model.optimizer
    rate = optimizer._learning_rate
    assert type(rate).__module__ + "." + type(rate).__qualname__ == expected["class"]
    # atol: an ulp of the largest rate (see test_vector_of_steps_equals_scalar_calls).
    np.testing.assert_allclose(lrs.values(rate, range(40)), expected["rates"], rtol=1e-6,
                               atol=2**-23 * float(np.max(np.abs(expected["rates"]))))
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == expected["iterations"]
    # Adam's moments and the step count came back: no variable was skipped
    got = [float(np.sum(keras.ops.convert_to_numpy(v))) for v in optimizer.variables]
    np.testing.assert_allclose(got, expected["optimizer_variables"], rtol=1e-6)
    assert float(np.sum(model.get_weights()[0])) == pytest.approx(expected["kernel"], rel=1e-6)
    if "state" in expected:
        for field, value in expected["state"].items():
            assert getattr(rate, field) == pytest.approx(value, rel=1e-6), field
        if expected["held_rate"] is not None:
            assert rate.schedule is None
            assert rate.learning_rate == pytest.approx(expected["held_rate"], rel=1e-6)
    # and the next update uses the rate that release would have used
    assert lrs.current(model) == pytest.approx(expected["rates"][expected["iterations"]],
                                               rel=1e-6)


@pytest.mark.parametrize("release", [r for r in RELEASES
                                     if (r / "plateau-over-schedule.weights.h5").is_file()],
                         ids=lambda r: r.name)
def test_saved_weights_restore_the_plateau_state(release):
    # What BackupAndRestore does: the same model and callback, then load_weights().
    expected = expected_for(release, "plateau-over-schedule.keras")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lrs.StepDecay(0.1, 3, 0.5)),
                  loss="mse")
    model.optimizer.build(model.trainable_variables)
    lrs.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=0, cooldown=1,
                          min_lr=1e-4).set_model(model)
    model.load_weights(release / "plateau-over-schedule.weights.h5")
    rate = model.optimizer._learning_rate
    for field, value in expected["state"].items():
        assert getattr(rate, field) == pytest.approx(value, rel=1e-6), field
    # atol: an ulp of the largest rate (see test_vector_of_steps_equals_scalar_calls).
    np.testing.assert_allclose(lrs.values(rate, range(40)), expected["rates"], rtol=1e-6,
                               atol=2**-23 * float(np.max(np.abs(expected["rates"]))))
