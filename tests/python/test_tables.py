"""A `Tabulated` schedule's table is saved in binary: small, fast, exact and code-free.

The config entry is decoded here by an independent reader written from the format's
description (lrschedule/_tables.py): base85 text (Python's alphabet) of the
zlib-compressed table, float32 little-endian, bytes regrouped in four planes.
"""

import base64
import json
import tracemalloc
import zipfile
import zlib

import keras
import numpy as np
import pytest

import lrschedule as lrs
from lrschedule import _tables


def independent_decode(entry):
    assert entry["dtype"] == "float32" and entry["codec"] == "byteplanes-zlib-base85"
    raw = zlib.decompress(base64.b85decode(entry["data"]))
    n = entry["length"]
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(4, n)
    return np.frombuffer(planes.T.tobytes(), dtype="<f4")


def test_a_table_config_is_data_a_reader_can_decode_from_the_description():
    tab = lrs.Tabulated.from_function(lambda s: 1.0 / (1 + s), 5)
    config = tab.get_config()
    blob = json.dumps(keras.saving.serialize_keras_object(tab))
    assert "lambda" not in blob and "function" not in blob
    assert set(config) == {"values"}
    assert all(isinstance(v, (str, int)) for v in config["values"].values())
    np.testing.assert_array_equal(
        independent_decode(config["values"]), np.float32([1.0, 0.5, 1 / 3, 0.25, 0.2])
    )


def test_a_table_written_as_a_list_by_0_1_0_still_loads():
    tab = lrs.Tabulated.from_config({"values": [0.3, 0.2, 0.1]})
    np.testing.assert_array_equal(lrs.values(tab, range(4)), np.float32([0.3, 0.2, 0.1, 0.1]))


def model_with(schedule):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    model.fit(np.zeros((2, 2)), np.zeros((2, 1)), verbose=0)
    return model


def test_a_million_step_table_round_trips_exactly_in_about_4_bytes_per_step(tmp_path):
    n = 1_000_000
    # Random rates: the worst case for compression (a smooth curve takes far less).
    table = np.random.default_rng(0).uniform(0.0, 1e-2, n).astype(np.float32)
    model_with(lrs.Tabulated(table)).save(tmp_path / "big.keras")
    model_with(lrs.Tabulated([1e-3])).save(tmp_path / "small.keras")
    added = (tmp_path / "big.keras").stat().st_size - (tmp_path / "small.keras").stat().st_size
    # 3.25 bytes of zlib data per step (random mantissas do not compress) as base85
    # text: 4.06 bytes; a .keras file stores its config uncompressed.
    assert added <= 4.1 * n
    loaded = keras.models.load_model(tmp_path / "big.keras", safe_mode=True)
    schedule = loaded.optimizer._learning_rate
    steps = np.array([0, 1, 2, 12345, n - 2, n - 1, n, 5 * n])
    np.testing.assert_array_equal(lrs.values(schedule, steps), table[np.minimum(steps, n - 1)])
    np.testing.assert_array_equal(np.float32(schedule.values), table)


@pytest.mark.backend_independent
def test_a_smooth_table_takes_far_less():
    n = 1_000_000
    steps = np.arange(n)
    cosine = lrs.Tabulated(1e-3 * (1 + np.cos(np.pi * steps / n)) / 2)
    entry = cosine.get_config()["values"]
    assert len(entry["data"]) < 1.0 * n


def encoded(values):
    return _tables.encode(np.asarray(values, dtype=np.float32))


def with_data(raw):
    entry = encoded([1.0, 2.0])
    return dict(entry, data=base64.b85encode(raw).decode("ascii"))


GOOD = encoded([0.5, 0.25, 0.125])
BAD_ENTRIES = [
    ("not a dict", [0.5, "x"], "list of finite numbers"),
    ("missing key", {k: v for k, v in GOOD.items() if k != "codec"}, "keys"),
    ("extra key", dict(GOOD, extra=1), "keys"),
    ("dtype", dict(GOOD, dtype="float64"), "dtype 'float64'"),
    ("codec", dict(GOOD, codec="gzip"), "codec 'gzip'"),
    ("length 0", dict(GOOD, length=0), "declares 0"),
    ("length negative", dict(GOOD, length=-3), "declares -3"),
    ("length bool", dict(GOOD, length=True), "declares True"),
    ("length text", dict(GOOD, length="3"), "declares '3'"),
    ("length huge", dict(GOOD, length=2**40), "declares 1099511627776"),
    ("data not text", dict(GOOD, data=123), "not a string"),
    ("data not base85", dict(GOOD, data="ab\\cd"), "not base85"),
    ("data not ascii", dict(GOOD, data="abcdé"), "not base85"),
    ("data not zlib", with_data(b"plain bytes"), "not zlib"),
    ("too few values", dict(GOOD, length=4), "exactly 4 float32"),
    ("too many values", dict(GOOD, length=2), "exactly 2 float32"),
    ("trailing bytes", with_data(zlib.compress(np.float32([1, 2]).tobytes()) + b"xx"),
     "exactly 2 float32"),
    ("negative rate", encoded([0.5, -1.0]), "element 1 is -1"),
    ("nan rate", encoded([np.nan, 0.5]), "element 0 is nan"),
]


@pytest.mark.parametrize("entry, message", [b[1:] for b in BAD_ENTRIES],
                         ids=[b[0] for b in BAD_ENTRIES])
@pytest.mark.backend_independent
def test_a_malformed_table_gets_a_clear_error(entry, message):
    with pytest.raises((ValueError, TypeError)) as caught:
        lrs.Tabulated.from_config({"values": entry})
    text = str(caught.value)
    assert "values" in text and message in text
    assert len(text) < 2000  # a long data string is shortened in the message


@pytest.mark.backend_independent
def test_a_table_that_inflates_past_its_length_is_refused_without_inflating_it():
    bomb = zlib.compress(bytes(200_000_000), 9)  # 200 MB of zeros in about 200 KB
    entry = dict(encoded([1.0, 2.0]), data=base64.b85encode(bomb).decode("ascii"))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="exactly 2 float32"):
            lrs.Tabulated.from_config({"values": entry})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_a_damaged_table_in_a_keras_file_fails_loading_with_the_reason(tmp_path):
    path = tmp_path / "model.keras"
    model_with(lrs.Tabulated([0.5, 0.25])).save(path)
    damaged = tmp_path / "damaged.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                data = data.replace(b'"length": 2', b'"length": 3')
                assert b'"length": 3' in data
            target.writestr(item, data)
    with pytest.raises(Exception, match="exactly 3 float32"):
        keras.models.load_model(damaged, safe_mode=True)
