# ggplot2 methods: the pictures of plot() as ggplot objects. ggplot2 is suggested, not
# imported: the methods are registered for ggplot2's autoplot() generic when ggplot2 is
# loaded (delayed S3 registration in NAMESPACE), and they reach ggplot2 through `::`.

#' Schedules, range tests and runs as ggplot2 pictures
#'
#' @description
#' With ggplot2 installed, `autoplot()` (ggplot2's generic) draws what `plot()` draws,
#' as a ggplot object to add layers, scales and themes to:
#'
#' * a schedule: the rate against the step, as steps for a schedule whose rate holds
#'   still between jumps (a step decay, a per-epoch schedule, a staircase decay) and
#'   as a line otherwise;
#' * the result of [lr_find()]: the smoothed loss against the rate on a log axis, the
#'   suggestions marked by a point and a dotted line each;
#' * a [callback_lr_logger()] after `fit()` (with `per = "batch"`), or the history
#'   `fit()` returned (Keras's, through reticulate, or keras3's
#'   `keras_training_history`): the rates used, the planned schedule as a grey line when
#'   `schedule` is given, plateau reductions and restarts as dashed and dotted
#'   vertical lines, a log rate axis when the rates span more than two decades; and
#'   each hyperparameter given as a schedule and logged (`weight_decay`, `beta_1`,
#'   ...) in a facet of its own, below the rate's.
#'
#' The arguments mean what they mean for [plot()][schedule-methods],
#' [plot()][lr_find-methods] and [plot()][plot-run]. Base graphics' `plot()` stays
#' for a session without ggplot2.
#'
#' @param object A schedule, the result of [lr_find()], a [callback_lr_logger()]
#'   that ran, or the Python history `fit()` returned.
#' @param steps Step numbers to draw (at least two), or `NULL` for the schedule's
#'   whole shape (see [schedule-methods]).
#' @param log For a schedule: logical, a log rate axis (default `FALSE`). For a run:
#'   `NULL` (from the range), `TRUE` or `FALSE`.
#' @param skip_end,suggestions As for `plot()` of a range test: points left out at the
#'   end (`NULL`: the suggestions' 5), and whether to mark the suggestions.
#' @param schedule The schedule the run planned, or `NULL`.
#' @param hyperparameters For a run: `NULL` (the learning rate and every
#'   hyperparameter the run logged, one facet each), or a character vector of
#'   names among those (see [plot()][plot-run]).
#' @param ... Ignored.
#' @returns A ggplot object.
#' @usage
#' \method{autoplot}{lrschedule_schedule}(object, steps = NULL, log = FALSE, ...)
#'
#' \method{autoplot}{lrschedule_lr_find}(object, skip_end = NULL, suggestions = TRUE, ...)
#'
#' \method{autoplot}{lrschedule.callbacks.LRLogger}(object, schedule = NULL, log = NULL,
#'   hyperparameters = NULL, ...)
#'
#' \method{autoplot}{keras.src.callbacks.history.History}(object, schedule = NULL, log = NULL,
#'   hyperparameters = NULL, ...)
#'
#' \method{autoplot}{keras_training_history}(object, schedule = NULL, log = NULL,
#'   hyperparameters = NULL, ...)
#' @name autoplot-lrschedule
#' @examples
#' if (lrschedule:::python_ready() && requireNamespace("ggplot2", quietly = TRUE)) {
#'   library(ggplot2)
#'   print(autoplot(schedule_one_cycle(0.01, total_steps = 1000)))
#'   # a step decay is drawn as steps; a ggplot takes more layers
#'   print(autoplot(schedule_step_decay(0.1, step_size = 30, gamma = 0.5), steps = 0:120) +
#'     geom_hline(yintercept = 0.025, linetype = 2) +
#'     labs(title = "halved every 30 steps"))
#'
#'   # a run: the rate used beside the plan, where a plateau reduced it
#'   keras <- reticulate::import("keras")
#'   model <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))
#'   schedule <- schedule_cosine_decay(0.05, decay_steps = 40)
#'   model$compile(optimizer = optimizer_sgd(learning_rate = schedule), loss = "mse")
#'   logger <- callback_lr_logger(per = "batch")
#'   plateau <- callback_reduce_lr_on_plateau(monitor = "loss", min_delta = 0.05,
#'                                            patience = 1, factor = 0.5)
#'   history <- model$fit(matrix(1:16 / 16), matrix(1:16 / 8), batch_size = 4L,
#'                        epochs = 10L, verbose = 0L, callbacks = list(plateau, logger))
#'   print(autoplot(logger, schedule = schedule))
#' }
NULL

#' @rdname autoplot-lrschedule
#' @usage NULL
#' @exportS3Method ggplot2::autoplot
autoplot.lrschedule_schedule <- function(object, steps = NULL, log = FALSE, ...) {
  curve <- schedule_curve(object, steps, log)
  data <- data.frame(step = curve$steps, learning_rate = curve$rates)
  geom <- if (curve$stepwise) ggplot2::geom_step else ggplot2::geom_line
  plot <- ggplot2::ggplot(data, ggplot2::aes(x = .data$step, y = .data$learning_rate)) +
    geom(colour = "#1f77b4") +
    ggplot2::labs(title = curve$title, x = "step", y = curve$ylab)
  if (curve$log) plot <- plot + ggplot2::scale_y_log10()
  plot
}

#' @rdname autoplot-lrschedule
#' @usage NULL
#' @exportS3Method ggplot2::autoplot
autoplot.lrschedule_lr_find <- function(object, skip_end = NULL, suggestions = TRUE, ...) {
  curve <- lr_find_curve(object, skip_end, suggestions)
  marks <- curve$marks
  plot <- ggplot2::ggplot(curve$points,
                          ggplot2::aes(x = .data$learning_rate, y = .data$loss)) +
    ggplot2::geom_line() +
    ggplot2::scale_x_log10() +
    ggplot2::labs(title = "Learning-rate range test", x = "learning rate",
                  y = "loss (smoothed)")
  if (nrow(marks) > 0) {
    colours <- suggestion_colours()[marks$suggestion]
    names(colours) <- marks$label
    plot <- plot +
      ggplot2::geom_vline(ggplot2::aes(xintercept = .data$learning_rate,
                                       colour = .data$label),
                          data = marks, linetype = "dotted") +
      ggplot2::geom_point(ggplot2::aes(colour = .data$label), data = marks, size = 2.5) +
      ggplot2::scale_colour_manual(values = colours, breaks = marks$label,
                                   name = "suggestion")
  }
  plot
}

#' @rdname autoplot-lrschedule
#' @usage NULL
#' @exportS3Method ggplot2::autoplot
autoplot.lrschedule.callbacks.LRLogger <- function(object, schedule = NULL, log = NULL,
                                                   hyperparameters = NULL, ...) {
  autoplot_run(object, schedule, log, hyperparameters)
}

#' @rdname autoplot-lrschedule
#' @usage NULL
#' @exportS3Method ggplot2::autoplot
autoplot.keras.src.callbacks.history.History <- function(object, schedule = NULL, log = NULL,
                                                         hyperparameters = NULL, ...) {
  autoplot_run(object, schedule, log, hyperparameters)
}

# The values drawn are in `value`, by panel (run_data()$panels): a facet each when there
# are several, the plan and the marks in the rate's.
autoplot_run <- function(object, schedule, log, hyperparameters = NULL,
                         call = rlang::caller_env()) {
  run <- run_data(object, schedule, log, NULL, call, hyperparameters = hyperparameters)
  panels <- run$panels
  with_rate <- "learning_rate" %in% panels
  in_panel <- function(data, panel) {
    if (is.null(data) || !nrow(data)) return(NULL)
    cbind(data, panel = factor(panel, levels = panels))
  }
  rate_values <- function(data) data.frame(step = data$step, value = data$learning_rate)
  series <- function(data, name) if (!is.null(data) && nrow(data)) cbind(data, series = name)
  marks <- if (with_rate) rbind(
    if (length(run$reductions)) data.frame(step = run$reductions, series = "plateau reduction"),
    if (length(run$restarts)) data.frame(step = run$restarts, series = "restart"))
  marks <- in_panel(marks, "learning_rate")
  planned <- if (with_rate) in_panel(rate_values(run$planned), "learning_rate")
  used <- do.call(rbind, lapply(panels, function(panel) {
    in_panel(if (panel == "learning_rate") rate_values(run$used)
             else run$hyperparameters[[panel]], panel)
  }))
  shown <- c(if (!is.null(planned)) "planned", "used", unique(marks$series))
  plot <- ggplot2::ggplot(mapping = ggplot2::aes(x = .data$step, y = .data$value,
                                                 colour = .data$series,
                                                 linetype = .data$series))
  if (!is.null(planned)) {
    geom <- if (run$planned_stepwise) ggplot2::geom_step else ggplot2::geom_line
    plot <- plot + geom(data = series(planned, "planned"))
  }
  used <- series(used, "used")
  plot <- plot + ggplot2::geom_line(data = used, linewidth = 0.8)
  # the legend's keys are the lines' (a vertical line's key would cross every entry)
  if (!run$per_batch) {
    plot <- plot + ggplot2::geom_point(data = used, size = 1.5, show.legend = FALSE)
  }
  if (!is.null(marks)) {
    plot <- plot + ggplot2::geom_vline(ggplot2::aes(xintercept = .data$step,
                                                    colour = .data$series,
                                                    linetype = .data$series), data = marks,
                                       show.legend = FALSE)
  }
  ylab <- if (length(panels) > 1) NULL else if (with_rate) "learning rate" else panels[[1]]
  plot <- plot +
    ggplot2::scale_colour_manual(values = run_colours()[shown], breaks = shown, name = NULL) +
    ggplot2::scale_linetype_manual(values = run_linetypes()[shown], breaks = shown,
                                   name = NULL) +
    ggplot2::labs(title = run$title, x = "step", y = ylab)
  if (length(panels) > 1) {
    plot <- plot + ggplot2::facet_wrap(ggplot2::vars(.data$panel), ncol = 1, scales = "free_y")
  }
  if (run$log) plot <- plot + ggplot2::scale_y_log10()
  plot
}
