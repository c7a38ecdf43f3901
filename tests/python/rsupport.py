"""One embedded R (rpy2) per pytest process, with reticulate attached to this Python.

Why every R evaluation goes through `RSession.run()`:

rpy2 calls into R with the GIL released (cffi releases it around every C call).
reticulate 1.28 frees a Python object from an R garbage-collector finalizer with a bare
`Py_DecRef`, assuming the thread holds the GIL -- true when reticulate started Python
itself, false under rpy2. So any R garbage collection that finalizes a reticulate
object while R was entered from rpy2 aborts the process ("PyThreadState_Get: ... the
GIL is released"). In practice this hits as soon as a cli/rlang error is formatted or
a namespace is loaded after Python objects exist.

`run()` therefore evaluates the R code inside a call *from Python into R* made by
reticulate (an R function turned into a Python callable with `r_to_py()` and called
with `py_call()`; reticulate 1.28's `py_func()` fails under pytest with "cannot open the
connection"): during that call the GIL is held, so finalizers are safe. The R code's
errors are caught there (keeping the message and the condition class), a garbage
collection runs while the GIL is still held (see the comment in `_SETUP` on why that
leaves nothing for rpy2's side to collect), and only then, back at rpy2's level, the
error is raised again with base R's `stop()`: it reaches pytest as rpy2's
`RRuntimeError`, with the message of the original condition. (Raised directly through
rpy2, a cli/rlang error's RRuntimeError reads just "Error:": rlang prints the message
itself.) Values handed back to Python are plain R vectors only; Python objects cross
through `__main__` (reticulate's `py$name <- obj`), so no reticulate object is ever
owned by rpy2.

At the end of a pytest run that started R, the process exits without Python's
finalization: see `_ExitWithoutFinalizing`.
"""

import atexit
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RLIB = ROOT / ".rlib"

_SESSION = None

# Defined once in R's global environment (before reticulate starts Python).
_SETUP = r"""
.rsupport <- new.env()
.rsupport$run <- function() {
  .rsupport$result <- tryCatch(
    withCallingHandlers(
      list(ok = TRUE, value = eval(parse(text = .rsupport$code), envir = globalenv())),
      warning = function(w) {
        .rsupport$warnings <- c(.rsupport$warnings, conditionMessage(w))
        invokeRestart("muffleWarning")
      }
    ),
    error = function(e) list(ok = FALSE, message = conditionMessage(e), class = class(e))
  )
  # Plain R values only cross to rpy2; anything else stays in R.
  value <- .rsupport$result$value
  if (!(is.null(value) || (is.atomic(value) && is.null(attr(value, "class"))))) {
    .rsupport$result$value <- NULL
  }
  # A collection while the GIL is held: it finalizes young unreachable Python objects,
  # and R sizes its heap after every collection to keep a free fraction (R_MinFreeFrac,
  # collecting older generations too when needed), so the few allocations rpy2 makes
  # before the next run cannot start a collection (and a finalizer) without the GIL.
  # Older garbage goes in the collections R starts inside later runs. (A full gc() here
  # would also do, at ~150 ms a call with Keras loaded.)
  gc(verbose = FALSE, full = FALSE)
  NULL
}
"""

# library() starts no Python; r_to_py() starts it with almost no garbage to collect,
# and from then on everything runs through the runner.
_START = r"""
suppressPackageStartupMessages(library(lrschedule))
.rsupport$runner <- reticulate::r_to_py(.rsupport$run, convert = TRUE)
"""

_HELPERS = r"""
.rsupport$main <- reticulate::import_main(convert = FALSE)
to_python <- function(name, value) {
  reticulate::py_set_attr(.rsupport$main, name, value)
  invisible(NULL)
}
from_python <- function(name) reticulate::py_get_attr(.rsupport$main, name)
"""


def r_available_reason():
    """None when the rpy2 tests can run, else why not."""
    if not (RLIB / "lrschedule" / "DESCRIPTION").is_file():
        return f"the R package is not installed in {RLIB} (run `make install`)"
    return None


class RSession:
    """The embedded R. `run(code)` evaluates R code in R's global environment."""

    def __init__(self):
        os.environ["RETICULATE_PYTHON"] = sys.executable
        libs = [str(RLIB)] + [p for p in os.environ.get("R_LIBS", "").split(os.pathsep) if p]
        os.environ["R_LIBS"] = os.pathsep.join(dict.fromkeys(libs))
        import rpy2.rinterface as rinterface
        import rpy2.robjects as robjects
        from rpy2.rinterface_lib import callbacks
        from rpy2.rinterface_lib.embedded import RRuntimeError

        self.RRuntimeError = RRuntimeError
        self._r = robjects.r
        self.console = []
        # R's console output goes to a list (tests can read it) instead of stderr noise.
        callbacks.consolewrite_print = self.console.append
        callbacks.consolewrite_warnerror = self.console.append
        self._r(_SETUP)
        # rpy2's exit handler would shut R down after reticulate's Python state is gone:
        # the process would abort (exit 134/139) and turn a green run red.
        atexit.unregister(rinterface.endr)
        self._r(_START)
        self.last_error_class = None
        self.warnings = []
        self.run(_HELPERS)

    def run(self, code):
        """Evaluates R `code`; returns its value if it is a plain R vector, else None.

        An R error is raised again as rpy2's RRuntimeError with the condition's message;
        its R class vector is left in `self.last_error_class`.
        """
        self._r.assign(".rsupport_code", code)
        self._r("assign('code', .rsupport_code, envir = .rsupport); "
                ".rsupport$warnings <- character(); "
                "invisible(reticulate::py_call(.rsupport$runner))")
        ok = self._r(".rsupport$result$ok")[0]
        self.warnings = list(self._r(".rsupport$warnings"))
        if not ok:
            self.last_error_class = list(self._r(".rsupport$result$class"))
            # Raised through R itself, so that the error reaches us as rpy2 delivers any
            # R error; base stop() allocates too little to trigger a collection.
            self._r("stop(.rsupport$result$message, call. = FALSE)")
        self.last_error_class = None
        value = self._r(".rsupport$result$value")
        return _plain(value)

    def error(self, code):
        """Runs `code`, which must fail; returns (message, R class vector).

        The message has its whitespace collapsed: cli wraps long lines at the console
        width.
        """
        with pytest.raises(self.RRuntimeError) as caught:
            self.run(code)
        return " ".join(str(caught.value).split()), self.last_error_class

    def py(self, name):
        """A Python object that R put into `__main__` with to_python(name, obj)."""
        import __main__

        return getattr(__main__, name)

    def to_r(self, name, value):
        """Puts a Python object into `__main__`, where R reads it with from_python(name)."""
        import __main__

        setattr(__main__, name, value)


def _plain(value):
    import rpy2.rinterface as rinterface

    if value is rinterface.NULL or value is None:
        return None
    items = list(value)
    return items[0] if len(items) == 1 else items


def session():
    """The process's one embedded R (started on first use), or a pytest skip."""
    global _SESSION
    reason = r_available_reason()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("rpy2", reason="rpy2 is not installed in this Python")
    if _SESSION is None:
        _SESSION = RSession()
    return _SESSION


class _ExitWithoutFinalizing:
    """Ends a pytest process that embedded R with its exit status, skipping finalization.

    Unregistering rpy2's `endr` is not enough: reticulate keeps a thread that schedules
    R event polling as Python "pending calls", which Python runs while it shuts down,
    after rpy2 and reticulate's Python side are half torn down. Seen here: the whole
    `tests/python` run passed and then exited 139 (segfault) or 1, at random. Once every
    test has run and pytest has reported (this is the last `pytest_unconfigure`), the
    process ends with pytest's own status and flushed streams.
    """

    def __init__(self):
        self.status = None

    def pytest_sessionfinish(self, session, exitstatus):
        self.status = int(exitstatus)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config):
        if self.status is None:
            return
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed stream must not change the status
                pass
        os._exit(self.status)


@pytest.fixture(scope="session")
def r(request):
    """The embedded R, started once per pytest process (test modules import this)."""
    started = session()
    manager = request.config.pluginmanager
    if not manager.has_plugin("rsupport-exit"):
        manager.register(_ExitWithoutFinalizing(), "rsupport-exit")
    return started


def reference_r_functions():
    """{case: R function} of the shared reference table (reference_table.load() omits it)."""
    import csv

    from reference_table import PATH

    with PATH.open(newline="") as handle:
        return {row["case"]: row["r_function"] for row in csv.DictReader(handle)}


def r_string(value):
    """An R literal for a Python value from the reference table (numbers, lists, bools)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "c(" + ", ".join(r_string(v) for v in value) + ")"
    raise TypeError(f"no R literal for {value!r}")


def r_call(r_function, args):
    """R source that builds the schedule a reference-table row describes.

    Nested specs become nested calls; a list of specs becomes an R list; the tabulated
    case goes through schedule_function() with an R function of the step, as an R user
    would write it.
    """
    def arg(value):
        if isinstance(value, dict) and "r_function" in value:
            return r_call(value["r_function"], value["args"])
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return "list(" + ", ".join(arg(v) for v in value) + ")"
        return r_string(value)

    if r_function == "schedule_function":
        values = args["values"]
        return (f"local({{ v <- {r_string(values)}; "
                f"schedule_function(function(step) v[step + 1], total_steps = {len(values)}) }})")
    body = ", ".join(f"{name} = {arg(value)}" for name, value in args.items())
    return f"{r_function}({body})"
