"""Training interrupted and resumed with BackupAndRestore gives the learning-rate
trajectory of an uninterrupted run, for every schedule, with a ReduceLROnPlateau
reducing the rate on top of it."""

import keras
import numpy as np
import pytest

import lrschedule as lrs
from catalogue import catalogue
from probes import RateTrace, kernel_probe, probe_data

pytestmark = pytest.mark.slow

EPOCHS, STEPS, CRASH_AFTER = 6, 3, 2


class Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == CRASH_AFTER:
            raise RuntimeError("simulated crash")


def train(model, callbacks):
    x, y = probe_data(STEPS)
    return model.fit(x, y, batch_size=1, epochs=EPOCHS, shuffle=False, verbose=0,
                     callbacks=callbacks)


def plateau():
    # The loss falls every epoch, so in "max" mode every epoch after the first is a
    # plateau. Keras's rule: the cooldown counter is decremented at the start of the
    # check, so with patience 0 and cooldown 1 the rate halves after epochs 1, 2, 3, 4.
    return lrs.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=0,
                                 cooldown=1)


@pytest.mark.parametrize("name, schedule", catalogue(), ids=[c[0] for c in catalogue()])
def test_backup_and_restore_resumes_the_exact_trajectory(name, schedule, tmp_path):
    full = RateTrace()
    train(kernel_probe(schedule), [plateau(), full])
    multiplier = np.repeat([1.0, 1.0, 0.5, 0.25, 0.125, 0.0625], STEPS)
    np.testing.assert_allclose(full.rates, lrs.values(schedule, range(EPOCHS * STEPS)) * multiplier,
                               rtol=1e-4, atol=1e-6)

    backup = str(tmp_path / "backup")
    before = RateTrace()
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(kernel_probe(schedule), [plateau(), keras.callbacks.BackupAndRestore(backup), Crash(),
                                before])
    after = RateTrace()
    train(kernel_probe(schedule), [plateau(), keras.callbacks.BackupAndRestore(backup), after])
    resumed = np.concatenate([before.rates, after.rates])
    np.testing.assert_allclose(resumed, full.rates, rtol=1e-5, atol=1e-7)
    assert after.kernels[-1] == pytest.approx(full.kernels[-1], rel=1e-6)
