"""The bad-input table of the non-schedule R functions, run in one embedded R (rpy2).

The table is tests/testthat/fixtures/bad-input-table.R, shared with
tests/testthat/test-bad-input.R: R loads it, runs every row (each followed by a cheap
call whose result is recorded, to show the session still works after that error) in a
few batches (every `r.run()` ends with a garbage collection, see rsupport), and hands
the outcomes to Python, which checks them.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.r

pytest.importorskip("rpy2", reason="rpy2 is not installed in this Python")

import lrschedule as lrs  # noqa: E402
import rsupport  # noqa: E402
from rsupport import r  # noqa: E402,F401  (the session-scoped fixture)

if rsupport.r_available_reason():
    pytest.skip(rsupport.r_available_reason(), allow_module_level=True)

TABLE = rsupport.ROOT / "tests" / "testthat" / "fixtures" / "bad-input-table.R"
BATCH = 120  # rows per r.run() call
AFTER = "0.25 0.25"  # lr_values(schedule_constant(0.25), 0:1), run after every row

_LOAD = """
.bad <- new.env()
sys.source({path}, envir = .bad)
.bad$objects <- .bad$bad_input_setup()
.bad$weights <- .bad$objects$model$get_weights()
.bad$outcomes <- list()
# One row: its error (message and class) or NA when it was accepted, then the cheap
# call that must still work.
.bad$run_row <- function(code) {{
  outcome <- tryCatch({{
    eval(parse(text = code), envir = .bad$objects)
    c(message = NA_character_, class = NA_character_)
  }}, error = function(e) c(message = conditionMessage(e), class = paste(class(e), collapse = " ")))
  after <- tryCatch(paste(lr_values(schedule_constant(0.25), 0:1), collapse = " "),
                    error = function(e) paste("error:", conditionMessage(e)))
  c(outcome, after = after)
}}
grDevices::pdf(NULL)
nrow(.bad$bad_input_cases)
"""

_RUN_BATCH = """
local({{
  rows <- {first}:{last}
  codes <- .bad$bad_input_cases$code[rows]
  .bad$outcomes[rows] <- lapply(codes, .bad$run_row)
  length(rows)
}})
"""

_COLLECT = """
local({
  cases <- .bad$bad_input_cases
  outcomes <- do.call(rbind, .bad$outcomes)
  accepted <- is.na(outcomes[, "message"])
  outcomes[accepted, c("message", "class")] <- ""
  to_python("r_bad_rows", reticulate::r_to_py(list(
    id = cases$id, fn = cases$fn, arg = cases$arg, code = cases$code, shown = cases$shown,
    class = cases$class, accepted = unname(accepted), message = unname(outcomes[, "message"]),
    error_class = unname(outcomes[, "class"]), after = unname(outcomes[, "after"])
  )))
  identical(.bad$objects$model$get_weights(), .bad$weights)
})
"""

_VALID = """
local({
  valid <- .bad$bad_input_valid
  outcome <- vapply(seq_len(nrow(valid)), function(i) {
    result <- tryCatch(eval(parse(text = valid$code[[i]]), envir = .bad$objects),
                       error = function(e) e)
    if (inherits(result, "error")) return(paste("error:", conditionMessage(result)))
    checked <- new.env(parent = .bad$objects)
    checked$result <- result
    ok <- tryCatch(isTRUE(eval(parse(text = valid$check[[i]]), envir = checked)),
                   error = function(e) FALSE)
    if (ok) "ok" else paste("check failed:", valid$check[[i]])
  }, "")
  to_python("r_bad_valid", reticulate::r_to_py(list(id = valid$id, code = valid$code,
                                                     outcome = outcome)))
  nrow(valid)
})
"""


def _flat(text):
    return " ".join(str(text).split())


@pytest.fixture(scope="module")
def rows(r):
    """The table's rows with their outcomes, all run in the one embedded R."""
    total = int(r.run(_LOAD.format(path=rsupport.r_string(str(TABLE)))))
    for first in range(1, total + 1, BATCH):
        last = min(first + BATCH - 1, total)
        assert r.run(_RUN_BATCH.format(first=first, last=last)) == last - first + 1
    untouched = r.run(_COLLECT)
    table = r.py("r_bad_rows")
    columns = list(table)
    rows = [dict(zip(columns, values)) for values in zip(*(table[c] for c in columns))]
    assert len(rows) == total
    yield rows, untouched
    r.run("grDevices::dev.off(); rm(.bad)")


@pytest.mark.subprocess
def test_the_table_is_large_and_covers_every_non_schedule_function(r, rows):
    rows, _ = rows
    assert len(rows) >= 100
    exported = r.run('getNamespaceExports("lrschedule")')
    wanted = {name for name in exported if not name.startswith("schedule_")}
    wanted -= {"lrschedule_sitrep", "callback_horizon_check"}  # take no argument
    wanted |= {"schedule_function", "schedule_shaped_like", "format.lrschedule_schedule",
               "print.lrschedule_schedule",
               "plot.lrschedule_schedule", "as.data.frame.lrschedule_schedule",
               "plot.lrschedule_lr_find"}
    assert {row["fn"] for row in rows} == wanted


def test_every_row_is_an_r_error_naming_the_argument_and_showing_the_value(rows):
    rows, _ = rows
    problems = []
    for row in rows:
        call = f"{row['id']}: {row['code']}"
        if row["accepted"]:
            problems.append(f"{call}: accepted")
            continue
        flat = _flat(row["message"])
        classes = row["error_class"].split()
        if f"`{row['arg']}`" not in flat:
            problems.append(f"{call}: does not name `{row['arg']}`: {flat}")
        if row["shown"] not in flat:
            problems.append(f"{call}: does not show {row['shown']}: {flat}")
        if row["class"] not in classes:
            problems.append(f"{call}: class {classes}, not {row['class']}")
        if "Traceback" in flat or "py_last_error" in flat:
            problems.append(f"{call}: a raw Python traceback: {flat}")
    assert problems == []


def test_value_range_errors_from_python_keep_the_received_value(rows):
    rows, _ = rows
    from_python = [row for row in rows if row["class"].startswith("python.builtin.")]
    assert from_python and len(from_python) < len(rows)
    # the core's (and Keras's) format: "... Received: x=..."
    missing = [row["id"] for row in from_python
               if not row["accepted"] and f"Received: {row['shown']}" not in _flat(row["message"])]
    assert missing == []


def test_the_session_works_after_every_row(rows):
    rows, untouched = rows
    broken = [f"{row['id']}: {row['after']}" for row in rows if row["after"] != AFTER]
    assert broken == []
    # every lr_find() row failed before training: the model's weights are as they were
    assert untouched


def test_valid_edge_values_are_accepted(r, rows):
    count = r.run(_VALID)
    valid = r.py("r_bad_valid")
    assert count == len(valid["id"]) >= 20
    failed = [f"{i}: {code}: {outcome}"
              for i, code, outcome in zip(valid["id"], valid["code"], valid["outcome"])
              if outcome != "ok"]
    assert failed == []


def test_r_and_python_still_work_after_the_table(r, rows):
    assert r.run("lr_values(schedule_step_decay(1, step_size = 2, gamma = 0.5), 0:3)") == [
        1.0, 1.0, 0.5, 0.5]
    r.run("to_python('r_after_table', schedule_one_cycle(0.1, total_steps = 10))")
    schedule = r.py("r_after_table")
    np.testing.assert_allclose(lrs.values(schedule, range(10)),
                               lrs.values(lrs.OneCycle(0.1, total_steps=10), range(10)))
    message, classes = r.error("lr_values(schedule_constant(0.1), steps = -1)")
    assert "`steps`" in message and "lrschedule_argument_error" in classes
    assert r.run("lr_values(schedule_constant(0.25), 0:1)") == [0.25, 0.25]
