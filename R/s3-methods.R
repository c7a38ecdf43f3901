# print/format/plot/as.data.frame for every learning-rate schedule. Every Keras
# LearningRateSchedule reaching R carries the S3 class "lrschedule_schedule" (prepended
# by schedule_class_filter(), R/package.R), so these methods do not depend on Keras's
# private module paths.

schedule_config <- function(x) {
  config <- x$get_config()
  if (is.list(config$values) && !is.null(config$values$codec)) {
    # A table (Tabulated) is saved in binary; show its rates.
    config$values <- as.numeric(reticulate::py_to_r(x$values))
  }
  config[!vapply(config, is.null, logical(1))]
}

schedule_class_name <- function(x) {
  reticulate::py_to_r(reticulate::py_get_attr(reticulate::py_get_attr(x, "__class__"), "__name__"))
}

# The steps that show the schedule's whole shape (its own length where it has one): the
# core's default_steps(), also what Python's plot() draws by default.
default_steps <- function(x, call = rlang::caller_env()) {
  span <- py_call(lrs()$inspection$default_steps, list(x), call = call)
  seq.int(0, length.out = reticulate::py_len(span))
}

format_config_value <- function(value) {
  if (inherits(value, "python.builtin.object") || is.list(value) && !is.null(value$class_name)) {
    return(if (is.list(value)) paste0("<", value$class_name, ">") else "<schedule>")
  }
  if (is.list(value)) {
    if (all(vapply(value, function(v) is.list(v) && !is.null(v$class_name), logical(1)))) {
      return(paste0("[", paste0("<", vapply(value, function(v) v$class_name, ""), ">",
                                 collapse = ", "), "]"))
    }
    value <- unlist(value)
  }
  if (is.character(value)) return(paste0('"', value, '"'))
  if (is.logical(value)) return(paste(value, collapse = ", "))
  text <- vapply(value, function(v) format(signif(v, 6), digits = 6), "")
  if (length(text) > 6) {
    return(paste0(length(text), " values: ", paste(c(text[1:3], "...", text[length(text)]),
                                                   collapse = ", ")))
  }
  if (length(value) > 1) paste0("c(", paste(text, collapse = ", "), ")") else text
}

#' Print, format, plot and tabulate a schedule
#'
#' `format()` says what the schedule is, its parameters and its value at a few
#' steps; `print()` prints that. `plot()` draws the rate against the step with base
#' graphics (with ggplot2, [autoplot()][autoplot-lrschedule] draws it as a ggplot);
#' `as.data.frame()` returns the steps and rates. All of them work for
#' lrschedule's schedules and for Keras's own schedule objects.
#'
#' @param x A schedule.
#' @param steps Numeric vector of step numbers: a range such as `0:999`, or any
#'   steps (one number is one step). By default the steps that show the
#'   schedule's whole shape: its own length where it has one (`total_steps` of a
#'   one-cycle, a warmup plus what follows...), a few periods of a decay that goes
#'   on forever, else `0:999`. `format()` and `print()` show the rate at five steps
#'   spread over that default, or at each step given; `plot()` needs at least two.
#' @param log Logical. Logarithmic rate axis. Defaults to `FALSE`.
#' @param main,xlab,ylab,type Passed to [graphics::plot()]; `ylab` defaults to
#'   "learning rate" ("momentum" for a [schedule_momentum()]), `type` to steps
#'   (`"s"`) for a schedule whose rate holds still between jumps (a step decay, a
#'   per-epoch schedule, a staircase decay: each rate is in force from its step to
#'   the next) and to a line (`"l"`) otherwise.
#' @param row.names,optional Ignored (for compatibility with [as.data.frame()]).
#' @param ... Passed on to [graphics::plot()]; ignored by the other methods.
#' @returns `format()`: a character vector; `print()` and `plot()`: `x`,
#'   invisibly; `as.data.frame()`: a data frame with columns `step` and
#'   `learning_rate`.
#' @family inspection
#' @name schedule-methods
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_one_cycle(0.01, total_steps = 100)
#'   print(s)
#'   plot(s, log = TRUE)
#'   head(as.data.frame(s))
#' }
NULL

#' @rdname schedule-methods
#' @export
format.lrschedule_schedule <- function(x, steps = NULL, ...) {
  if (reticulate::py_is_null_xptr(x)) return("<lrschedule schedule: pointer to a dead Python object>")
  name <- schedule_class_name(x)
  config <- schedule_config(x)
  config$name <- NULL
  params <- vapply(names(config), function(n) paste0(n, " = ", format_config_value(config[[n]])), "")
  kind <- if (is_momentum_schedule(x)) "momentum" else "learning-rate"
  if (isTRUE(lrs()$schedules$takes_length(x))) {
    return(c(paste0("<", name, "> ", kind, " schedule"),
             if (length(params)) paste0("  ", params),
             "  length: taken from fit() when training starts"))
  }
  if (is.null(steps)) {
    # five steps spread over the schedule's whole shape
    n <- length(default_steps(x))
    at <- unique(round(c(0, 0.25, 0.5, 0.75, 1) * (n - 1)))
  } else {
    at <- check_steps(steps, min_length = 1)
  }
  values <- schedule_rates(x, at)
  c(paste0("<", name, "> ", kind, " schedule"),
    if (length(params)) paste0("  ", params),
    paste0(if (kind == "momentum") "  momentum at step " else "  lr at step ", paste0(format(at, big.mark = ","), ": ", signif(values, 4),
                                    collapse = " | ")))
}

# A schedule of momenta (schedule_momentum()), told apart in print() and plot().
is_momentum_schedule <- function(x) py_isinstance(x, lrs()$CycledMomentum)

#' @rdname schedule-methods
#' @export
print.lrschedule_schedule <- function(x, ...) {
  writeLines(format(x, ...))
  invisible(x)
}

#' @rdname schedule-methods
#' @export
plot.lrschedule_schedule <- function(x, steps = NULL, log = FALSE, main = NULL,
                                     xlab = "step", ylab = NULL, type = NULL, ...) {
  curve <- schedule_curve(x, steps, log)
  if (is.null(ylab)) ylab <- curve$ylab
  if (is.null(main)) main <- curve$title
  if (is.null(type)) type <- if (curve$stepwise) "s" else "l"
  graphics::plot(curve$steps, curve$rates, type = type, log = if (curve$log) "y" else "",
                 main = main, xlab = xlab, ylab = ylab, ...)
  invisible(x)
}

# What plot() and autoplot() of a schedule draw: the steps and rates (those <= 0 left
# out on a log axis), whether the rate holds still between jumps (drawn as steps: the
# core's is_stepwise()), the title and the rate axis's name.
schedule_curve <- function(x, steps, log, call = rlang::caller_env()) {
  check_schedule(x, call = call)
  log <- check_flag(log, call = call)
  steps <- if (is.null(steps)) default_steps(x, call = call)
           else check_steps(steps, min_length = 2, call = call)
  rates <- schedule_rates(x, steps, call = call)
  stepwise <- isTRUE(py_call(lrs()$inspection$is_stepwise, list(x, rates), call = call))
  if (log && any(rates <= 0)) {
    keep <- rates > 0
    if (!any(keep)) {
      abort_arg("log", log, "FALSE when no rate is > 0 (a log scale has no room for them)",
                call)
    }
    steps <- steps[keep]
    rates <- rates[keep]
  }
  list(steps = steps, rates = rates, stepwise = stepwise, log = log,
       title = schedule_class_name(x),
       ylab = if (is_momentum_schedule(x)) "momentum" else "learning rate")
}

#' @rdname schedule-methods
#' @export
as.data.frame.lrschedule_schedule <- function(x, row.names = NULL, optional = FALSE,
                                              steps = NULL, ...) {
  check_schedule(x)
  steps <- if (is.null(steps)) default_steps(x) else check_steps(steps)
  data.frame(step = steps, learning_rate = schedule_rates(x, steps))
}

#' The learning rate a run used, beside the rate its schedule planned
#'
#' @description
#' `plot()` of a [callback_lr_logger()] that ran (with `per = "batch"`: every
#' batch's rate), or of the history `fit()` returned (with any of lrschedule's
#' callbacks in the fit: each epoch's last rate): the rates used as a line (per batch)
#' or points (per epoch), the planned schedule as a grey line when `schedule` is
#' given, plateau reductions (the used rate falling below the plan's course) as red
#' dashed lines and restarts (a rate set back up; without a plan, a jump up after a
#' fall) as green dotted lines. The rate axis is logarithmic when the rates span more
#' than two decades. The core's `lrschedule.inspection.run_record()` finds them, as
#' Python's `lrschedule.plot(schedule, history = ...)` does.
#'
#' keras3's `fit()` returns its own history object (class `keras_training_history`):
#' `plot(history, schedule = s)` draws this picture from it too (its
#' `learning_rate` metric, which lrschedule's callbacks log), while `plot(history)`
#' without `schedule`, `log`, `main` or `hyperparameters` stays keras3's own plot of
#' the metrics. With ggplot2, [autoplot()][autoplot-lrschedule] draws the same picture
#' as a ggplot.
#'
#' A hyperparameter given to an `optimizer_*()` as a schedule (a weight decay, a
#' momentum, a beta...) is logged beside the rate by [callback_lr_logger()], under
#' its Keras name (`weight_decay`, `beta_1`, ...): each one gets a panel of its
#' own, below the rate's, with the values used at the same steps. `hyperparameters`
#' chooses the panels.
#'
#' @param x A [callback_lr_logger()] after `fit()`, or the Python history `fit()`
#'   returned (through reticulate).
#' @param schedule The schedule planned (any schedule), or `NULL`.
#' @param log `NULL` (decide from the range: a log axis when each panel's values
#'   span more than two decades), `TRUE` or `FALSE`. A log axis leaves out values
#'   <= 0; it applies to every panel.
#' @param main The title (of the first panel), or `NULL` for one naming the schedule.
#' @param hyperparameters `NULL` (the learning rate and every hyperparameter the run
#'   logged), or a character vector of names among those: `"learning_rate"`,
#'   `"weight_decay"`, `"beta_1"`, ... One panel each, in that order. Defaults to
#'   `NULL`.
#' @param ... Ignored.
#' @returns `x`, invisibly.
#' @name plot-run
#' @examples
#' if (lrschedule:::python_ready()) {
#'   keras <- reticulate::import("keras")
#'   model <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))
#'   schedule <- schedule_one_cycle(0.05, total_steps = 40)
#'   model$compile(optimizer = optimizer_sgd(learning_rate = schedule), loss = "mse")
#'   logger <- callback_lr_logger(per = "batch")
#'   history <- model$fit(matrix(1:16 / 16), matrix(1:16 / 8), batch_size = 4L,
#'                        epochs = 10L, verbose = 0L,
#'                        callbacks = list(callback_reduce_lr_on_plateau(
#'                          monitor = "loss", patience = 1, factor = 0.5), logger))
#'   plot(logger, schedule = schedule)
#'   plot(history, schedule = schedule)
#'
#'   # a weight decay scheduled too: a panel of its own
#'   model$compile(optimizer = optimizer_adamw(
#'     learning_rate = schedule,
#'     weight_decay = schedule_cosine_decay(0.05, decay_steps = 40)), loss = "mse")
#'   history <- model$fit(matrix(1:16 / 16), matrix(1:16 / 8), batch_size = 4L,
#'                        epochs = 10L, verbose = 0L, callbacks = list(logger))
#'   plot(history, schedule = schedule)
#'   plot(logger, hyperparameters = "weight_decay")
#' }
NULL

#' @rdname plot-run
#' @method plot lrschedule.callbacks.LRLogger
#' @export
plot.lrschedule.callbacks.LRLogger <- function(x, schedule = NULL, log = NULL, main = NULL,
                                               hyperparameters = NULL, ...) {
  plot_run(x, schedule, log, main, hyperparameters)
}

#' @rdname plot-run
#' @method plot keras.src.callbacks.history.History
#' @export
plot.keras.src.callbacks.history.History <- function(x, schedule = NULL, log = NULL,
                                                     main = NULL, hyperparameters = NULL,
                                                     ...) {
  plot_run(x, schedule, log, main, hyperparameters)
}

# One panel per hyperparameter shown (run_data()$panels), stacked: the rate's with the
# plan and the marks, every other one with the values used.
plot_run <- function(x, schedule, log, main, hyperparameters = NULL,
                     call = rlang::caller_env()) {
  run <- run_data(x, schedule, log, main, call, hyperparameters = hyperparameters)
  if (length(run$panels) > 1) {
    old <- graphics::par(mfrow = c(length(run$panels), 1))
    on.exit(graphics::par(old), add = TRUE)
  }
  for (panel in run$panels) {
    if (panel == "learning_rate") plot_rate_panel(run) else plot_hyperparameter_panel(run, panel)
  }
  invisible(x)
}

plot_rate_panel <- function(run) {
  used <- run$used
  planned <- run$planned
  shown <- c(used$learning_rate, planned$learning_rate)
  graphics::plot(NA, xlim = range(c(0, used$step)), ylim = range(shown),
                 log = if (run$log) "y" else "", xlab = "step", ylab = "learning rate",
                 main = run$titles[["learning_rate"]])
  graphics::grid(col = "grey90")
  colours <- run_colours()
  if (nrow(planned)) {
    graphics::lines(planned$step, planned$learning_rate, col = colours[["planned"]],
                    type = if (run$planned_stepwise) "s" else "l")
  }
  graphics::lines(used$step, used$learning_rate, col = colours[["used"]], lwd = 1.5,
                  type = if (run$per_batch) "l" else "o", pch = 20)
  if (length(run$reductions)) {
    graphics::abline(v = run$reductions, col = colours[["plateau reduction"]], lty = 2)
  }
  if (length(run$restarts)) {
    graphics::abline(v = run$restarts, col = colours[["restart"]], lty = 3)
  }
  shown_series <- c(if (nrow(planned)) "planned", "used",
                    if (length(run$reductions)) "plateau reduction",
                    if (length(run$restarts)) "restart")
  graphics::legend("topright", shown_series, col = colours[shown_series],
                   lty = run_linetypes()[shown_series], bty = "n", cex = 0.8)
}

plot_hyperparameter_panel <- function(run, name) {
  values <- run$hyperparameters[[name]]
  if (!nrow(values)) {  # every value <= 0, on a log axis
    graphics::plot.new()
    graphics::title(main = run$titles[[name]])
    return(invisible())
  }
  graphics::plot(values$step, values$value, xlim = range(c(0, run$used$step, values$step)),
                 log = if (run$log) "y" else "", xlab = "step", ylab = name,
                 main = run$titles[[name]], type = if (run$per_batch) "l" else "o",
                 pch = 20, col = run_colours()[["used"]], lwd = 1.5)
  graphics::grid(col = "grey90")
}

run_colours <- function() {
  c(planned = "grey55", used = "#1f77b4", "plateau reduction" = "#d62728",
    restart = "#2ca02c")
}

run_linetypes <- function() c(planned = 1, used = 1, "plateau reduction" = 2, restart = 3)

# What plot() and autoplot() of a run draw: the core's run_record() as data frames (the
# rates used, the plan), the steps of plateau reductions and restarts, the axis and the
# title; and the panels: "learning_rate" and the other hyperparameters the run logged
# (or those `hyperparameters` names), each other one's values used (the core's
# run_record() of it). Values <= 0 are left out on a log axis.
run_data <- function(x, schedule, log, main, call = rlang::caller_env(),
                     hyperparameters = NULL) {
  if (!is.null(schedule)) check_schedule(schedule, call = call)
  if (!is.null(log)) log <- check_flag(log, call = call)
  if (!is.null(main)) main <- check_string(main, call = call)
  logged <- logged_hyperparameter_names(x)
  panels <- check_panels(hyperparameters, c("learning_rate", logged), call)
  record <- py_call(lrs()$inspection$run_record, list(x, schedule), call = call)
  as_numbers <- function(name, of = record) as.numeric(unlist(of[[name]]))
  used <- data.frame(step = as_numbers("used_steps"), learning_rate = as_numbers("used_rates"))
  planned <- data.frame(step = as_numbers("planned_steps"),
                        learning_rate = as_numbers("planned_rates"))
  # each other hyperparameter: the core's record of its values used (with the steps
  # and whether they span more than two decades)
  records <- lapply(stats::setNames(nm = setdiff(panels, "learning_rate")), function(name) {
    py_call(lrs()$inspection$run_record, list(x, hyperparameter = name), call = call)
  })
  others <- lapply(records, function(r) {
    data.frame(step = as_numbers("used_steps", r), value = as_numbers("used_rates", r))
  })
  if (is.null(log)) {
    # a log axis when each panel's values span more than two decades (the rate's plan
    # included), so a beta or a momentum keeps a linear one
    log <- all(vapply(panels, function(panel) {
      isTRUE(if (panel == "learning_rate") record$log else records[[panel]]$log)
    }, logical(1)))
  }
  if (log) {
    used <- used[used$learning_rate > 0, , drop = FALSE]
    planned <- planned[planned$learning_rate > 0, , drop = FALSE]
    others <- lapply(others, function(d) d[d$value > 0, , drop = FALSE])
  }
  rate_title <- if (is.null(schedule)) "learning rate used"
                else paste0(schedule_class_name(schedule), ": planned and used")
  titles <- c(learning_rate = rate_title,
              stats::setNames(paste(names(others), "used"), names(others)))[panels]
  if (!is.null(main)) titles[[1]] <- main
  list(used = used, planned = planned, log = log, title = titles[[1]], titles = titles,
       panels = panels, hyperparameters = others,
       per_batch = nrow(used) > 1 && used$step[[2]] - used$step[[1]] == 1,
       planned_stepwise = isTRUE(record$planned_stepwise),
       reductions = as_numbers("reductions"), restarts = as_numbers("restarts"))
}

# The hyperparameters besides the rate that lrschedule's logger recorded, by their
# Keras names: a logger's per batch (`batch_hyperparameters`), a History's per epoch
# (its entries named as a schedulable hyperparameter: the primary optimizer's;
# `weight_decay/<group>` are left out).
logged_hyperparameter_names <- function(x) {
  if (reticulate::py_has_attr(x, "batch_hyperparameters")) {
    record <- reticulate::py_to_r(reticulate::py_get_attr(x, "batch_hyperparameters"))
  } else if (reticulate::py_has_attr(x, "history")) {
    record <- reticulate::py_to_r(reticulate::py_get_attr(x, "history"))
  } else {
    return(character())
  }
  if (!is.list(record) || is.null(names(record))) return(character())
  intersect(names(record), schedulable_names())
}

# Every hyperparameter name an optimizer may take as a schedule (the core's SCHEDULABLE).
schedulable_names <- function() unique(as.character(unlist(lrs()$optimizers$SCHEDULABLE)))

check_panels <- function(hyperparameters, available, call) {
  if (is.null(hyperparameters)) return(available)
  if (!is.character(hyperparameters) || !length(hyperparameters) || anyNA(hyperparameters) ||
      anyDuplicated(hyperparameters) || !all(hyperparameters %in% available)) {
    abort_arg("hyperparameters", hyperparameters, paste0(
      "NULL or names of what the run logged, each once: ",
      paste0('"', available, '"', collapse = ", ")), call)
  }
  hyperparameters
}

# --------------------------------------------------------------------------------------
# keras3's fit() returns an R object of class "keras_training_history" (`params`, and
# `metrics`: a list of per-epoch vectors, `learning_rate` among them when one of
# lrschedule's callbacks ran). plot() and autoplot() of it with `schedule =` draw the
# planned-vs-used picture; plot() without lrschedule's arguments is keras3's own plot.

# The history as the core's run_record() reads a History: its rates by epoch, and the
# steps per epoch from its params.
keras3_history_for_core <- function(x, call = rlang::caller_env()) {
  rates <- x$metrics$learning_rate
  if (is.null(rates)) {
    cli::cli_abort(c(
      "This training history has no {.field learning_rate}: the rates used were not logged.",
      "i" = "Add {.code callback_lr_logger()} (or any of lrschedule's callbacks) to the {.arg callbacks} of {.fn fit}, or plot the logger itself."
    ), class = "lrschedule_argument_error", call = call)
  }
  steps <- x$params$steps
  if (is.null(steps)) {
    cli::cli_abort("This training history does not say its steps per epoch ({.field params$steps}).",
                   class = "lrschedule_argument_error", call = call)
  }
  # the rates, and the hyperparameters logged beside them (weight_decay, beta_1, ...)
  logged <- lapply(x$metrics[intersect(names(x$metrics), schedulable_names())],
                   function(v) as.list(as.numeric(v)))
  types <- reticulate::import("types")
  types$SimpleNamespace(
    history = reticulate::dict(c(list(learning_rate = as.list(as.numeric(rates))), logged)),
    params = reticulate::dict(steps = as.integer(steps)),
    epoch = as.list(seq_along(rates) - 1L)
  )
}

#' @rdname autoplot-lrschedule
#' @usage NULL
#' @exportS3Method ggplot2::autoplot
autoplot.keras_training_history <- function(object, schedule = NULL, log = NULL,
                                            hyperparameters = NULL, ...) {
  autoplot_run(keras3_history_for_core(object), schedule, log, hyperparameters)
}

# plot() of keras3's history: with lrschedule's arguments (`schedule`, `log`, `main`,
# `hyperparameters`), the planned-vs-used picture; otherwise keras3's own method,
# unchanged. Registered when keras3 is loaded (its own registration of the same
# method comes first: see register_keras3_methods()).
plot_keras3_history <- function(x, y, ...) {
  args <- list(...)
  ours <- intersect(names(args), c("schedule", "log", "main", "hyperparameters"))
  if (length(ours)) {
    plot_run(keras3_history_for_core(x), args$schedule, args$log, args$main,
             args$hyperparameters)
    return(invisible(x))
  }
  keras3_plot <- get0("plot.keras_training_history", envir = asNamespace("keras3"),
                      inherits = FALSE)
  if (missing(y)) keras3_plot(x, ...) else keras3_plot(x, y, ...)
}

register_keras3_methods <- function(...) {
  registerS3method("plot", "keras_training_history", plot_keras3_history,
                   envir = asNamespace("lrschedule"))
}
