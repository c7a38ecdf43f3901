"""Host queries of many schedules in one session print no TensorFlow retracing warning.

Each schedule's query from Python (`host_rates`, behind the logger, the plateau and
`current()`) is compiled once per schedule and shape; TensorFlow counts the traces of
all of them together and, after five schedules, warned of "excessive retracing" from
lrschedule's own code, in every long R or Python session.
"""

import logging

import keras
import numpy as np
import pytest

import lrschedule as lrs
from lrschedule._queries import host_rates

pytestmark = [pytest.mark.tensorflow_only,
              pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                 reason="TensorFlow's retracing warning")]


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def tf_log():
    handler = _Records()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def test_many_schedules_queried_without_retracing_warning(tf_log):
    for i in range(12):
        peak = 1e-2 * (i + 1)
        s = lrs.OneCycle(peak, 100)
        # the rate at the peak step (PyTorch's OneCycleLR: pct_start 0.3 of 100 steps - 1)
        # and a batch of steps, as the logger asks at an epoch's end
        np.testing.assert_allclose(host_rates(s, np.int64(29)), peak, rtol=1e-6)
        assert host_rates(s, np.arange(10)).shape == (10,)
    assert not [m for m in tf_log if "retracing" in m], tf_log


def test_the_users_own_retracing_is_still_reported(tf_log):
    import tensorflow as tf

    host_rates(lrs.OneCycle(0.1, 100), np.arange(3))  # installs lrschedule's filter

    @tf.autograph.experimental.do_not_convert
    def double(x):
        return x * 2

    fn = tf.function(double)
    for n in range(8):
        fn(tf.zeros([n]))
    assert [m for m in tf_log if "retracing" in m]
