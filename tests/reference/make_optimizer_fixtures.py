"""Writes the fixtures of tests/python/test_hyperparameters.py's loading test: models
compiled with lrschedule's optimizers as the development versions before any
hyperparameter could be a schedule wrote them (one scheduled hyperparameter: SGD's and
RMSprop's momentum, the Adam family's beta_1; a per-layer MultiOptimizer of them),
trained 6 steps and saved, then trained 4 more steps: `expected.json` holds, per file,
the class, the scheduled hyperparameter and the weights after those 4 steps.

Run with the sources of that version on the path (it was written at fc41780):

    git worktree add /tmp/old fc41780
    PYTHONPATH=/tmp/old/python .venv/bin/python tests/reference/make_optimizer_fixtures.py \\
        tests/python/fixtures/optimizers-before-0.2.0
"""

import json
import os
import pathlib
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lrschedule as lrs  # noqa: E402
from lrschedule import optimizers as lro  # noqa: E402


def data():
    rng = np.random.RandomState(0)
    x = rng.randn(40, 3).astype("float32")
    return x, (x @ rng.randn(3, 2)).astype("float32")


def model_of(optimizer):
    # A functional model: a Sequential one's variable paths change on loading in Keras
    # 3.15 ("sequential/a/kernel", then "a/kernel"), which per_layer() of these versions
    # did not allow for (fixed with test_per_layer's Sequential test).
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(2, name="b")(keras.layers.Dense(4, name="a")(inputs))
    model = keras.Model(inputs, outputs)
    model.set_weights([np.full(w.shape, 0.1 * (i + 1), "float32")
                       for i, w in enumerate(model.get_weights())])
    model.compile(optimizer=optimizer(model), loss="mse")
    return model


CASES = {
    "SGD-momentum": ("momentum", lambda m: lro.SGD(
        lrs.OneCycle(0.05, 20), momentum=lrs.OneCycle(0.05, 20).momentum(), nesterov=True)),
    "RMSprop-momentum": ("momentum", lambda m: lro.RMSprop(
        0.01, momentum=lrs.Cyclic(0.001, 0.01, step_size_up=4).momentum())),
    "Adam-beta_1": ("beta_1", lambda m: lro.Adam(
        lrs.OneCycle(0.01, 20), beta_1=lrs.OneCycle(0.01, 20).momentum())),
    "AdamW-beta_1": ("beta_1", lambda m: lro.AdamW(
        0.01, beta_1=lrs.Cyclic(0.001, 0.01, step_size_up=3).momentum(), weight_decay=0.01)),
    "per-layer-Nadam-beta_1": ("beta_1", lambda m: lrs.per_layer(lro.Nadam(
        lrs.OneCycle(0.01, 20), beta_1=lrs.OneCycle(0.01, 20).momentum()), m, decay=0.5)),
}


def main(out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x, y = data()
    expected = {}
    for name, (hyper, optimizer) in CASES.items():
        model = model_of(optimizer)
        model.fit(x[:24], y[:24], batch_size=4, epochs=1, shuffle=False, verbose=0)
        model.save(out / f"{name}.keras")
        model.fit(x[24:], y[24:], batch_size=4, epochs=1, shuffle=False, verbose=0)
        expected[f"{name}.keras"] = {
            "class": type(model.optimizer).__name__, "hyperparameter": hyper,
            "weights": [w.tolist() for w in model.get_weights()],
        }
    (out / "expected.json").write_text(json.dumps(
        {"written_by": "lrschedule at fc41780 (0.2.0 in development)", "keras": keras.__version__,
         "files": expected}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
