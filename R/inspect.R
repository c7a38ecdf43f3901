# lr_values(): the rate of any schedule at given steps, in one vectorized call.

# A number n means steps 0..n-1; a vector means those steps. Returns the steps as a
# vector, or with `expand = FALSE` a count as an integer (so that a count of a billion
# steps is not first made in R). A count is at most R's largest integer, steps below
# 2^63 (the core's int64): beyond, R would fail to allocate or the values wrap around.
# With `allow_empty = FALSE`, no steps at all (0 or a vector of length 0) is refused.
check_steps <- function(steps, arg = "steps", call = rlang::caller_env(), expand = TRUE,
                        allow_empty = TRUE) {
  if (!is.numeric(steps) || anyNA(steps) || any(!is.finite(steps)) || any(steps != trunc(steps)) ||
      any(steps < 0)) {
    abort_arg(arg, steps, "a number of steps, or a vector of whole step numbers >= 0", call)
  }
  if (!allow_empty && (length(steps) == 0 || identical(as.double(steps), 0))) {
    abort_arg(arg, steps, "a number of steps > 0, or a vector of steps", call)
  }
  if (length(steps) == 1) {
    if (steps > .Machine$integer.max) {
      abort_arg(arg, steps, paste0("a number of steps up to ", .Machine$integer.max,
                                   ", or a vector of step numbers"), call)
    }
    return(if (expand) seq.int(0, length.out = steps) else as.integer(steps))
  }
  if (any(steps >= 2^63)) {
    abort_arg(arg, steps, "a vector of whole step numbers >= 0 and < 2^63", call)
  }
  as.double(steps)
}

# The rates at `steps`, a vector of step numbers already checked (one element is one
# step, not a count): one call into the core.
schedule_rates <- function(schedule, steps, call = rlang::caller_env()) {
  n <- length(steps)
  if (n == 0) return(numeric())
  # Steps 0..n-1 go as the count n (the core makes the range); other steps as one
  # NumPy array (an R vector would cross as a Python list, element by element).
  index <- if (steps[[1]] == 0 && steps[[n]] == n - 1 && all(diff(steps) == 1)) {
    as.integer(n)
  } else {
    reticulate::np_array(steps, dtype = "int64")
  }
  as.double(py_call(lrs()$values, list(schedule, index), call = call))
}

#' The learning rate of a schedule at given steps
#'
#' One vectorized call into the Python core: a million steps take milliseconds.
#' Works for lrschedule's schedules and Keras's own.
#'
#' @param schedule A schedule (`schedule_*()`, or any Keras
#'   `LearningRateSchedule`), or a number (a constant rate).
#' @param steps A number `n` (steps `0:(n - 1)`, `n` at most 2147483647), or a vector
#'   of step numbers.
#' @returns A numeric vector, one rate per step.
#' @family inspection
#' @examples
#' if (lrschedule:::python_ready()) {
#'   lr_values(schedule_step_decay(1, step_size = 2, gamma = 0.5), 5)
#' }
#' @export
lr_values <- function(schedule, steps) {
  call <- rlang::current_env()
  steps <- check_steps(steps, call = call, expand = FALSE)
  if (!is.numeric(schedule)) schedule <- check_schedule(schedule, call = call)
  else schedule <- check_number(schedule, call = call)
  if (length(steps) != 1) return(schedule_rates(schedule, steps, call = call))
  # a count n: the core makes the range 0..n-1
  if (steps == 0) return(numeric())
  as.double(py_call(lrs()$values, list(schedule, steps), call = call))
}
