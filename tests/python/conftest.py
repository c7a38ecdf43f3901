"""Shared pytest set-up: quiet TensorFlow, TensorFlow backend unless told otherwise; the
markers by which the Makefile's legs choose their tests; the guard of
`backend_independent`.

The markers (pytest.ini has --strict-markers: an unregistered name fails the run).
Every module declares its own (`pytestmark = [...]` near its top, or a mark on a test).
"""

import gc
import os
import sys
import threading

import pytest

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

# name: one line of meaning (what `pytest --markers` shows); the legs of the Makefile
# choose by these names, never by file.
MARKERS = {
    "backend_independent":
        "nothing the test runs in this process reaches Keras's backend (keras.ops, a backend "
        "implementation, TensorFlow, JAX, torch: conftest's guard fails it if it does); run "
        "once with NumPy 1 (TensorFlow leg) and once with NumPy 2, not on JAX or torch",
    "r": "needs R (embedded through rpy2, or Rscript) with the package installed from .venv: "
         "TensorFlow leg only",
    "subprocess": "starts new processes (Python, Rscript, make, Chromium): not in make test-fast",
    "slow": "long for what it adds (property-based, callback properties, resume of every "
            "schedule): not in make test-fast nor in the NumPy-2 legs",
    "distributed": "trains on two devices in worker processes on the backends the test names, "
                   "not KERAS_BACKEND's: TensorFlow leg and NumPy-2 TensorFlow leg only",
    "multiprocess": "starts jobs of several JAX (or R) worker processes on the backend the test "
                    "names: TensorFlow leg and NumPy-2 TensorFlow leg only",
    "tensorflow_only": "asks what only TensorFlow does (skipped on other backends): the "
                       "TensorFlow legs only",
    "tooling": "tests the project's tools (Makefile, site check), not lrschedule: once, in the "
               "TensorFlow leg",
}


def pytest_configure(config):
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")


# ---------------------------------------------------------------------------------------
# The guard of `backend_independent`: while such a test's call runs, a profile hook
# (sys.setprofile, and threading.setprofile for threads it starts) sees every Python
# call and every call of a C function; reaching one of the modules below fails the
# test, naming it and what it reached -- even when the test caught the error. Imports
# at module level (keras, tensorflow) happen at collection and are not calls in a test.

FORBIDDEN = ("keras.ops", "keras.api.ops", "keras.src.ops",
             "keras.src.backend.tensorflow", "keras.src.backend.jax",
             "keras.src.backend.torch", "keras.src.backend.numpy",
             "keras.src.backend.openvino",
             "tensorflow", "tf_keras", "jax", "jaxlib", "torch", "optax", "transformers")


# Callers whose calls into FORBIDDEN are not the test's: matplotlib (3.10 on) asks
# TensorFlow, when it is imported, whether each array it draws is a TensorFlow tensor
# (cbook._is_tensorflow_array): a type question about a NumPy array, answered no.
PROBING = ("matplotlib",)


def forbidden(module):
    """Whether a module name is one the guard refuses."""
    return bool(module) and any(module == name or module.startswith(name + ".")
                                for name in FORBIDDEN)


class BackendGuard:
    """Records what a test reaches of FORBIDDEN while it is installed."""

    def __init__(self):
        self.reached = []  # (what, called from) in order, each once
        self._seen = set()
        self._verdicts = {}  # code object -> module name when forbidden, else None
        # A garbage collection may run inside any test, with the callbacks a framework
        # registered (JAX's) and the finalizers of objects earlier tests left behind:
        # that is not the test reaching the backend.
        self._collecting = False

    def _code_module(self, frame):
        code = frame.f_code
        try:
            return self._verdicts[code]
        except KeyError:
            module = frame.f_globals.get("__name__", "")
            verdict = module if forbidden(module) else None
            self._verdicts[code] = verdict
            return verdict

    @staticmethod
    def _probing(frame):
        module = frame.f_globals.get("__name__", "")
        return any(module == name or module.startswith(name + ".") for name in PROBING)

    @staticmethod
    def _c_module(func):
        """The module a C function belongs to, when forbidden: its own, or that of the
        module, class or object it is bound to (a method of a torch tensor, say)."""
        try:
            module = getattr(func, "__module__", None)
            if isinstance(module, str) and forbidden(module):
                return module
            owner = getattr(func, "__self__", None)
            if owner is None:
                owner = getattr(func, "__objclass__", None)
            if owner is None:
                return None
            if isinstance(owner, type(sys)):
                module = owner.__name__
            else:
                module = getattr(owner if isinstance(owner, type) else type(owner),
                                 "__module__", None)
            return module if isinstance(module, str) and forbidden(module) else None
        except Exception:  # pragma: no cover - an object whose attributes raise
            return None

    def _gc_start(self, phase, info):
        if phase == "start":
            self._collecting = True

    def _gc_stop(self, phase, info):
        if phase == "stop":
            self._collecting = False

    def profile(self, frame, event, arg):
        """Records each entry into FORBIDDEN code from code outside it (what the backend
        does inside is its own business), with the place it was entered from."""
        if self._collecting:
            return
        if event == "call":
            if frame.f_code.co_name == "__del__":  # a finalizer, run whenever
                return
            module = self._code_module(frame)
            if module is None:
                return
            caller = frame.f_back
            if caller is not None and (self._code_module(caller) is not None
                                       or self._probing(caller)):
                return
            what = f"{module}.{frame.f_code.co_qualname}"
        elif event == "c_call":
            module = self._c_module(arg)
            if module is None or self._code_module(frame) is not None or self._probing(frame):
                return
            what = f"{module}.{getattr(arg, '__qualname__', getattr(arg, '__name__', arg))}"
            caller = frame
        else:
            return
        if what not in self._seen:
            self._seen.add(what)
            where = (f"{caller.f_code.co_filename}:{caller.f_lineno}" if caller is not None
                     else "?")
            self.reached.append((what, where))

    def __enter__(self):
        # first at a collection's start, last at its end: the others' callbacks between
        gc.callbacks.insert(0, self._gc_start)
        gc.callbacks.append(self._gc_stop)
        self._previous = (sys.getprofile(), threading.getprofile())
        threading.setprofile(self.profile)
        sys.setprofile(self.profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self._previous[0])
        threading.setprofile(self._previous[1])
        gc.callbacks.remove(self._gc_start)
        gc.callbacks.remove(self._gc_stop)
        return False

    def message(self, nodeid, error=None):
        shown = "\n".join(f"  {what}  (called at {where})" for what, where in self.reached[:12])
        more = len(self.reached) - 12
        also = "" if error is None else f"\n(The test also failed: {type(error).__name__}: {error})"
        return (f"{nodeid} is marked backend_independent, but while it ran it reached "
                f"Keras's backend:\n{shown}" + (f"\n  ... and {more} more" if more > 0 else "")
                + "\nIt does depend on the backend (remove the mark: it then runs on every "
                  "backend), or it should not reach these." + also)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if item.get_closest_marker("backend_independent") is None:
        return (yield)
    guard = BackendGuard()
    with guard:
        try:
            result = yield
        except BaseException as error:
            if guard.reached:
                raise pytest.fail.Exception(guard.message(item.nodeid, error),
                                            pytrace=False) from error
            raise
    if guard.reached:
        pytest.fail(guard.message(item.nodeid), pytrace=False)
    return result
