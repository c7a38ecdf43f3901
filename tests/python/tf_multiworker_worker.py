"""One worker of a plain-Keras TensorFlow MultiWorkerMirroredStrategy job (no lrschedule).

Usage: python tf_multiworker_worker.py INDEX PORT0 PORT1

Keras 3 cannot train under this strategy (keras-team/keras#20585): `model.fit()` fails
with "Attempt to convert a value (PerReplica:{...}) with an unsupported type". The test
that runs this marks that as its expected failure, and turns red when a Keras or
TensorFlow upgrade makes it work (then lrschedule's callbacks get tested under it).
"""

import json
import os
import sys

index, port0, port1 = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
os.environ["TF_CONFIG"] = json.dumps({
    "cluster": {"worker": [f"127.0.0.1:{port0}", f"127.0.0.1:{port1}"]},
    "task": {"type": "worker", "index": index},
})

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras  # noqa: E402

strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
x = np.ones((16, 1), "float32")
data = tf.data.Dataset.from_tensor_slices((x, 2 * x)).batch(4)
model.fit(data, epochs=1, verbose=0)
print("trained")
