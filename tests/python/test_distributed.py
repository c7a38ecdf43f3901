"""Data-parallel training gives the learning-rate trajectory of one device, for
schedules, for ReduceLROnPlateau over a schedule and for ScheduleLR.

Each backend runs in its own process (distributed_worker.py), because the device
layout (two logical CPUs for TensorFlow, two host devices for JAX) must be fixed
before the framework starts.
"""

import json
import os
import pathlib
import sys

import numpy as np
import pytest
from probes import run_worker_process

pytestmark = [pytest.mark.distributed, pytest.mark.subprocess]

WORKER = pathlib.Path(__file__).with_name("distributed_worker.py")


def run_worker(backend, tmp_path):
    pytest.importorskip(backend)
    out = tmp_path / f"{backend}.json"
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "XLA_FLAGS")}
    proc = run_worker_process([sys.executable, str(WORKER), backend, str(out)], env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("backend", ["tensorflow", "jax"],
                         ids=["tf-MirroredStrategy", "jax-DataParallel"])
def test_distributed_trajectory_equals_single_device(backend, tmp_path):
    result = run_worker(backend, tmp_path)
    assert result["devices"] == 2
    assert len(result["cases"]) == 7
    for name, case in result["cases"].items():
        expected = np.asarray(case["expected"])
        for mode in ("single", "distributed"):
            run = case[mode]
            np.testing.assert_allclose(run["rates"], expected, rtol=1e-4, atol=1e-6,
                                       err_msg=f"{name} {mode}")
            assert run["iterations"] == len(expected)
            # The rate state is among the optimizer's variables: the plateau's
            # reductions and ScheduleLR's epochs never rebuild the compiled step.
            # (MirroredStrategy traces its replica function once per device.)
            assert run["traces"] == (2 if mode == "distributed" and backend == "tensorflow"
                                     else 1), f"{name} {mode}"
        np.testing.assert_array_equal(case["distributed"]["rates"], case["single"]["rates"],
                                      err_msg=name)
        # the schedule (with the plateau multiplier, or the rate ScheduleLR held) saved
        # in the distribution scope comes back identical
        np.testing.assert_array_equal(case["distributed"]["restored"],
                                      case["single"]["restored"], err_msg=name)
        if name not in ("ReduceLROnPlateau-over-StepDecay", "ScheduleLR"):
            np.testing.assert_array_equal(case["distributed"]["restored"], expected, err_msg=name)
