# lr_values(): the rate of any schedule at given steps, in one vectorized call.

# Steps are step numbers at every length: `lr_values(s, 1000)` is the rate at step
# 1000, `0:999` the first thousand steps (a single number meaning "that many steps"
# was misread by every new user). Returns integer steps as they are, other steps as
# doubles (R's integers stop at 2^31 - 1; the core's steps are int64, so below 2^63).
# With `min_length`, fewer steps are refused (plot() needs two to draw a line).
check_steps <- function(steps, arg = "steps", call = rlang::caller_env(), min_length = 0) {
  expected <- "a step number or a vector of whole step numbers >= 0"
  if (!is.numeric(steps) || anyNA(steps)) abort_arg(arg, steps, expected, call)
  if (is.integer(steps)) {
    # Whole and finite by type; min() of a range such as 0:999999 costs nothing (R
    # knows an ALTREP sequence's ends), where the checks below would walk it.
    if (length(steps) > 0 && min(steps) < 0) abort_arg(arg, steps, expected, call)
  } else {
    if (any(!is.finite(steps)) || any(steps != trunc(steps)) || any(steps < 0)) {
      abort_arg(arg, steps, expected, call)
    }
    if (any(steps >= 2^63)) {
      abort_arg(arg, steps, "step numbers < 2^63", call)
    }
  }
  if (length(steps) < min_length) {
    abort_arg(arg, steps, paste0(
      "a vector of at least ", min_length, " step numbers, e.g. 0:999 (a single number ",
      "is one step)"), call)
  }
  if (is.integer(steps)) steps else as.double(steps)
}

# The rates at `steps`, a vector of step numbers already checked: one call into the core.
schedule_rates <- function(schedule, steps, call = rlang::caller_env()) {
  n <- length(steps)
  if (n == 0) return(numeric())
  # Steps 0..n-1 go as a Python range (the core makes it with numpy); other steps as
  # one NumPy array (an R vector would cross as a Python list, element by element).
  # Strictly increasing from 0 to n - 1 is exactly 0..n-1, and R knows that of
  # 0:(n - 1) without walking it.
  index <- if (n > 1 && steps[[1]] == 0 && steps[[n]] == n - 1 &&
               !is.unsorted(steps, strictly = TRUE)) {
    py_range(n)
  } else {
    reticulate::np_array(steps, dtype = "int64")
  }
  as.double(py_call(lrs()$values, list(schedule, index), call = call))
}

py_range <- function(n) {
  reticulate::import_builtins(convert = FALSE)$range(as.integer(n))
}

#' The learning rate of a schedule at given steps
#'
#' One vectorized call into the Python core: a million steps take milliseconds.
#' Works for lrschedule's schedules and Keras's own.
#'
#' A number is a step at every length: `lr_values(s, 1000)` is the rate at step
#' 1000, and `lr_values(s, 0:999)` the rates of the first thousand steps. (Before
#' lrschedule 0.2.0 a single number `n` meant the steps `0:(n - 1)`.)
#'
#' @param schedule A schedule (`schedule_*()`, or any Keras
#'   `LearningRateSchedule`), or a number (a constant rate).
#' @param steps Numeric vector of step numbers (whole numbers >= 0, counted from
#'   0 as the optimizer counts its updates): one number for one step, a range
#'   such as `0:999` for several.
#' @returns A numeric vector, one rate per step.
#' @family inspection
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_step_decay(1, step_size = 2, gamma = 0.5)
#'   lr_values(s, 0:4)   # steps 0 to 4
#'   lr_values(s, 4)     # step 4 only
#' }
#' @export
lr_values <- function(schedule, steps) {
  call <- rlang::current_env()
  steps <- check_steps(steps, call = call)
  if (!is.numeric(schedule)) schedule <- check_schedule(schedule, call = call)
  else schedule <- check_number(schedule, call = call)
  schedule_rates(schedule, steps, call = call)
}

#' The learning rate (or another hyperparameter) in force now
#'
#' The rate the optimizer's next update will use, as a number: for a constant
#' rate, any schedule (evaluated at the optimizer's step count), and a rate driven
#' by lrschedule's callbacks ([callback_reduce_lr_on_plateau()]'s reductions,
#' [callback_schedule_lr()]'s per-epoch value), on every Keras backend. It is the
#' value Keras's `optimizer$learning_rate` reads, as an R number (which
#' `as.numeric()` cannot make of a backend tensor through reticulate).
#'
#' With `hyperparameter`, any other numeric hyperparameter of the optimizer: one
#' given as a schedule (e.g. `optimizer_adamw(weight_decay = schedule_cosine_decay(...))`)
#' is evaluated at the step the next update uses, a number is returned as it is.
#'
#' @param model A compiled Keras model, or a Keras optimizer.
#' @param group `NULL`, or the name of one optimizer of an [optimizer_multi()] or
#'   [optimizer_per_layer()] (`NULL`: its default optimizer's rate). Defaults to
#'   `NULL`.
#' @param hyperparameter A string: `"learning_rate"`, or the name of another
#'   numeric argument of the optimizer (`"weight_decay"`, `"beta_1"`, `"momentum"`,
#'   ...). Defaults to `"learning_rate"`.
#' @returns A number, or `NULL` for a hyperparameter the optimizer holds as `NULL`
#'   (e.g. no weight decay).
#' @family inspection
#' @seealso [lr_values()] for a schedule's rate at any step; [callback_lr_logger()]
#'   for the rates (and scheduled hyperparameters) used during `fit()`.
#' @examples
#' if (lrschedule:::python_ready()) {
#'   optimizer <- optimizer_sgd(learning_rate = schedule_step_decay(0.1, step_size = 2))
#'   lr_current(optimizer)
#'   adamw <- optimizer_adamw(weight_decay = schedule_cosine_decay(0.05, decay_steps = 100))
#'   lr_current(adamw, hyperparameter = "weight_decay")  # 0.05 before the first update
#' }
#' @export
lr_current <- function(model, group = NULL, hyperparameter = "learning_rate") {
  call <- rlang::current_env()
  if (!inherits(model, "python.builtin.object")) {
    abort_arg("model", model, "a compiled Keras model or a Keras optimizer", call)
  }
  group <- check_string_or_null(group, call = call)
  if (!is.character(hyperparameter) || length(hyperparameter) != 1 || is.na(hyperparameter) ||
      !nzchar(hyperparameter)) {
    abort_arg("hyperparameter", hyperparameter, paste(
      'a single string naming a hyperparameter ("learning_rate", "weight_decay", ...)'), call)
  }
  value <- py_call(lrs()$current, list(model, group = group, hyperparameter = hyperparameter),
                   call = call)
  if (is.null(value)) NULL else as.double(value)
}

#' The number of steps a schedule is sized for
#'
#' A schedule that ends ([schedule_one_cycle()], [schedule_linear()], a cosine
#' decay, a table...) is sized for a number of optimizer steps: its horizon. Training
#' past it runs at the final rate, and stopping before it cuts the schedule short.
#' lrschedule's callbacks compare it with the run `fit()` makes and warn on a
#' mismatch (see [callback_horizon_check()]).
#'
#' @param schedule Any schedule.
#' @returns `NULL` for a schedule with no end (exponential, step, cyclic,
#'   inverse-square-root, cosine-restarts, constant), else a list: `steps`, the
#'   horizon, and `kind`, `"ends"` (the rate stops changing there) or `"steps"` (its
#'   last change is there, and its final rate is meant to last: a multi-step or
#'   piecewise-constant decay).
#' @family inspection
#' @examples
#' if (lrschedule:::python_ready()) {
#'   lr_horizon(schedule_one_cycle(0.01, total_steps = 1000))
#'   lr_horizon(schedule_step_decay(0.1, step_size = 10))
#' }
#' @export
lr_horizon <- function(schedule) {
  call <- rlang::current_env()
  schedule <- check_schedule(schedule, call = call)
  found <- py_call(lrs()$horizon, list(schedule), call = call)
  if (is.null(found)) return(NULL)
  list(steps = as.numeric(found[[1]]), kind = found[[2]])
}
