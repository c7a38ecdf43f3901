"""Shared pytest set-up: quiet TensorFlow, TensorFlow backend unless told otherwise."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

try:
    from hypothesis import settings as _hypothesis_settings

    # CI runs the same examples every time; locally each run explores new ones.
    _hypothesis_settings.register_profile("ci", derandomize=True, database=None)
    if os.environ.get("CI"):
        _hypothesis_settings.load_profile("ci")
except ImportError:  # pragma: no cover - hypothesis is in requirements-dev.txt
    pass
