"""Saved configs built to hurt the reader are refused (or loaded) in bounded memory and
without deep recursion: wrappers nested too deep, a table at the largest declared length.

The huge cases run in a new Python per case under a 4 GiB address-space limit (what
the issue on hostile files asked), where the old reader died with MemoryError; their
times are measured in the subprocess and printed, never asserted (bench/ holds timings).
"""

import json
import subprocess
import sys
import textwrap
import zlib

import keras
import pytest

import lrschedule as lrs
from lrschedule import _tables
from lrschedule import schedules as S


def serialized_warmups(levels):
    config = keras.saving.serialize_keras_object(lrs.OneCycle(0.1, total_steps=100))
    for _ in range(levels):
        config = {"module": "lrschedule.schedules", "class_name": "Warmup",
                  "registered_name": "lrschedule>Warmup",
                  "config": {"schedule": config, "warmup_steps": 2,
                             "start_learning_rate": 0.0}}
    return config


def test_a_nest_at_the_limit_builds_and_evaluates_and_one_level_more_is_refused():
    s = lrs.OneCycle(0.1, total_steps=100)
    for _ in range(S.MAX_DEPTH - 1):
        s = lrs.Warmup(s, 2)
    assert S.nesting(s) == S.MAX_DEPTH
    # the rate at the first steps is each warmup's start, then the ramps compose
    assert lrs.values(s, 0) == 0.0
    with pytest.raises(ValueError, match=r"`schedule`.*MAX_DEPTH = 32"):
        lrs.Warmup(s, 2)
    with pytest.raises(ValueError, match=r"`schedules\[1\]`.*MAX_DEPTH = 32"):
        lrs.Sequence([0.1, s], [10])
    # and the same nest, saved and loaded, is the same schedule
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(s))
    assert again == s


@pytest.mark.parametrize("levels", [S.MAX_DEPTH, 300, 5000])
def test_a_config_nested_too_deep_is_refused_before_it_is_built(levels):
    with pytest.raises(ValueError, match=r"MAX_DEPTH = 32") as error:
        keras.saving.deserialize_keras_object(serialized_warmups(levels), safe_mode=True)
    assert "RecursionError" not in repr(error.value)


def test_building_a_nest_evaluates_the_innermost_schedule_once():
    calls = []

    class Counted(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            calls.append(step)
            return keras.ops.cast(0.1, "float32")

    s = Counted()
    for _ in range(20):
        s = lrs.Warmup(s, 3)
    # the first Warmup takes its target from it; the 19 above take theirs from the
    # Warmup below (its start): the old builder evaluated the whole nest at each level
    assert len(calls) == 1


def test_the_first_rate_a_schedule_knows_is_its_rate_at_step_0():
    from catalogue import catalogue

    for name, schedule in catalogue():
        for wrapped in (schedule, lrs.Warmup(schedule, 0), lrs.Warmup(schedule, 2, 0.01),
                        lrs.PerEpoch(schedule, 3), lrs.InUpdates(schedule, 2),
                        lrs.InMicroBatches(schedule)):
            assert S._first_rate(wrapped) == float(lrs.values(wrapped, 0)), name


def zero_table_config(length):
    """The config of a table of `length` zeros, made without holding the table."""
    compressor, parts, block = zlib.compressobj(6), [], bytes(1 << 24)
    for start in range(0, 4 * length, len(block)):
        parts.append(compressor.compress(block[:min(len(block), 4 * length - start)]))
    parts.append(compressor.flush())
    return {"module": "lrschedule.schedules", "class_name": "Tabulated",
            "registered_name": "lrschedule>Tabulated",
            "config": {"values": {"dtype": "float32", "length": length,
                                  "codec": _tables.CODEC,
                                  "data": _tables._b85encode(b"".join(parts))}}}


LIMITED = textwrap.dedent("""
    import json, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    import keras, lrschedule as lrs
    config = json.load(open(sys.argv[1]))
    start, base = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        s = keras.saving.deserialize_keras_object(config, safe_mode=True)
        outcome = ["loaded", lrs.horizon(s)[0]]
    except ValueError as error:
        outcome = ["refused", str(error)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(outcome + [time.process_time() - start, (peak - base) / 1024]))
""")


def load_limited(config, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    run = subprocess.run([sys.executable, "-c", LIMITED, str(path)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"{outcome[0]} in {outcome[-2]:.2f} s of CPU, {outcome[-1]:.0f} MB above the "
          "interpreter's peak")
    return outcome


@pytest.mark.subprocess
@pytest.mark.tensorflow_only
def test_a_table_at_the_largest_length_loads_under_a_4_gib_limit(tmp_path):
    outcome = load_limited(zero_table_config(_tables.MAX_LENGTH), tmp_path)
    assert outcome[:2] == ["loaded", _tables.MAX_LENGTH]


@pytest.mark.subprocess
@pytest.mark.tensorflow_only
def test_a_table_declaring_more_than_its_data_is_refused_under_a_4_gib_limit(tmp_path):
    config = zero_table_config(1000)
    config["config"]["values"]["length"] = _tables.MAX_LENGTH
    outcome = load_limited(config, tmp_path)
    assert outcome[0] == "refused" and "exactly 268435456 float32 values" in outcome[1]
