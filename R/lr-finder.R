# The learning-rate range test from R: lr_find() runs the core's find_lr() and returns
# an R object (class "lrschedule_lr_find") with print/format/plot/as.data.frame.

#' Learning-rate range test
#'
#' @description
#' Trains `num_steps` batches while the rate grows exponentially,
#' ```r
#' rate[i] = start_lr * (end_lr / start_lr) ^ (i / (num_steps - 1))   # i = 0, 1, ...
#' ```
#' records the loss of each batch and its smoothed, bias-corrected value
#' ```r
#' avg[i] = smoothing * avg[i - 1] + (1 - smoothing) * loss[i]   # avg[-1] = 0
#' smoothed_loss[i] = avg[i] / (1 - smoothing ^ (i + 1))
#' ```
#' stops early once the smoothed loss exceeds `diverge_factor` times its lowest value
#' (or a loss is not finite), then puts the model back exactly as it was: every
#' weight and every optimizer variable, bit for bit, and the optimizer's own rate or
#' schedule. Batches cycle through the data as often as needed.
#'
#' Suggestions follow fastai's rules, on the smoothed losses without the first
#' `num_steps %/% 10` and the last 5 points: `steep`, the rate where the loss falls
#' fastest against log(rate); `minimum`, one tenth of the rate of the lowest loss;
#' `valley`, fastai's default (about two thirds down the longest decreasing run).
#'
#' R numbers (vectors, matrices, arrays, data frames of numbers, and lists of them)
#' are sent to NumPy as `float32`; Python objects (NumPy arrays, a
#' `tf.data.Dataset` given as `x` with `y = NULL`) are passed on as they are.
#'
#' @param model A compiled Keras model.
#' @param x Input data: a numeric vector, matrix or array, a list of them (several
#'   inputs), a NumPy array; or, with `y = NULL`, batches: an R list of
#'   `list(x, y)` (or `list(x, y, sample_weight)`), or a Python iterable of such
#'   tuples, such as a `tf.data.Dataset`. Batches are used in their order, again
#'   from the first when they run out.
#' @param y Target data like `x`, or `NULL` when `x` yields batches.
#'   Defaults to `NULL`.
#' @param start_lr A float > 0. The first rate. Defaults to `1e-7`.
#' @param end_lr A float > `start_lr`. The last rate. Defaults to `10`.
#' @param num_steps Integer >= 2. The number of batches. Defaults to `100`.
#' @param batch_size Integer > 0. Batch size, with arrays. Defaults to `32`.
#' @param smoothing A float in `[0, 1)`. Smoothing factor of the loss.
#'   Defaults to `0.98`.
#' @param diverge_factor A float > 1, or `NULL` to never stop early.
#'   Defaults to `4`.
#' @param sample_weight A numeric vector of sample weights, one per sample of `x`,
#'   or `NULL`. With batches (`y = NULL`), weights go in each batch instead.
#'   Defaults to `NULL`.
#' @param shuffle Logical. Shuffle the arrays at each pass. Defaults to `TRUE`.
#' @param seed Integer >= 0 or `NULL`. Seed of the shuffling. Defaults to `NULL`.
#' @param verbose Integer >= 0. `1` shows the progress: a live bar on a terminal, plain
#'   lines (about ten, and the last step) in R's console, knitr, Rscript's log or a pipe.
#'   Defaults to `1`.
#' @returns An object of class `lrschedule_lr_find`: a list with
#'   `learning_rate`, `loss` and `smoothed_loss` (numeric vectors, one value per
#'   step run), `suggestions` (a named numeric vector: `steep`, `minimum`,
#'   `valley`; `NA` when too few steps ran), `diverged` (logical), `num_steps` and
#'   `python` (the core's `LRFinderResult`). It has `print()`, `format()`, `plot()`
#'   and `as.data.frame()` methods.
#' @family callbacks
#' @seealso fastai's `lr_find`, whose smoothing and suggestions this follows:
#'   <https://docs.fast.ai/callback.schedule.html#lrfinder>; Leslie N. Smith,
#'   "Cyclical Learning Rates for Training Neural Networks"
#'   (<https://arxiv.org/abs/1506.01186>).
#' @examples
#' if (lrschedule:::python_ready()) {
#'   keras <- reticulate::import("keras")
#'   x <- matrix(rnorm(200), ncol = 2)
#'   y <- x %*% c(2, -1)
#'   model <- keras$Sequential(list(keras$Input(shape = list(2L)), keras$layers$Dense(1L)))
#'   model$compile(optimizer = optimizer_sgd(), loss = "mse")
#'   finder <- lr_find(model, x, y, start_lr = 1e-4, end_lr = 10, num_steps = 50,
#'                     batch_size = 10, verbose = 0)
#'   print(finder)
#'   plot(finder)
#'   print(head(as.data.frame(finder)))
#' }
#' @export
lr_find <- function(model, x, y = NULL, start_lr = 1e-7, end_lr = 10, num_steps = 100,
                    batch_size = 32, smoothing = 0.98, diverge_factor = 4,
                    sample_weight = NULL, shuffle = TRUE, seed = NULL, verbose = 1) {
  call <- rlang::current_env()
  check_compiled_model(model, call)
  if (is.null(x)) abort_arg("x", x, "input data, or batches with `y = NULL`", call)
  args <- list(
    model = model,
    x = as_numpy_data(x, "x", call),
    y = as_numpy_data(y, "y", call),
    start_lr = check_number(start_lr),
    end_lr = check_number(end_lr),
    num_steps = check_whole(num_steps),
    batch_size = check_whole(batch_size),
    smoothing = check_number(smoothing),
    diverge_factor = check_number_or_null(diverge_factor),
    sample_weight = as_numpy_data(sample_weight, "sample_weight", call),
    shuffle = check_flag(shuffle),
    seed = check_whole_or_null(seed),
    verbose = check_whole(verbose)
  )
  if (is.null(y) && is_array_data(x)) {
    # the core would train on None targets and fail inside Keras
    abort_arg("y", y, "target data when `x` is an array (`NULL` only when `x` yields batches)",
              call)
  }
  check_sample_weight(sample_weight, x, y, call)
  # keeps the NULLs (Python None) in the list
  result <- py_call(lrs()$find_lr, args, call = call)
  new_lr_find(result)
}

check_compiled_model <- function(model, call) {
  if (!py_isinstance(model, keras()$Model)) {
    abort_arg("model", model, "a compiled Keras model", call)
  }
  optimizer <- tryCatch(reticulate::py_get_attr(model, "optimizer"), error = function(e) NULL)
  if (is.null(optimizer) || inherits(optimizer, "python.builtin.NoneType")) {
    abort_arg("model", model, "a compiled Keras model (call its `compile()` first)", call)
  }
}

# R numbers as a whole (not a list of batches or of inputs).
is_r_array_data <- function(x) {
  is.data.frame(x) || (is.atomic(x) && !is.null(x))
}

# Input arrays for sure, not batches: R numbers, a named list of them (a dict for the
# core), a NumPy array.
is_array_data <- function(x) {
  is_r_array_data(x) || is.list(x) && !is.null(names(x)) && !is.data.frame(x) ||
    inherits(x, "python.builtin.object") && reticulate::py_has_attr(x, "__array__")
}

# The samples of R data: rows of a data frame or matrix, elements of a vector; of the
# first input for a list of inputs. NA when it cannot be told in R.
r_samples <- function(x) {
  if (is.data.frame(x)) return(nrow(x))
  if (is.atomic(x)) return(if (is.null(dim(x))) length(x) else dim(x)[[1]])
  if (is.list(x) && length(x) > 0) return(r_samples(x[[1]]))
  NA_integer_
}

# Weights go with arrays, one per sample; the core would ignore them with batches and
# index out of range (or Keras fail to broadcast) with the wrong count. Runs after
# as_numpy_data() has checked that they are numbers.
check_sample_weight <- function(sample_weight, x, y, call) {
  if (is.null(sample_weight)) return(invisible())
  if (is.null(y)) {
    abort_arg("sample_weight", sample_weight, paste0(
      "`NULL` when `x` yields batches (give each batch as `list(x, y, sample_weight)`)"
    ), call)
  }
  if (!is_r_array_data(sample_weight) || inherits(x, "python.builtin.object")) {
    return(invisible())  # Python objects and lists go to the core as they are
  }
  samples <- r_samples(x)
  if (!is.na(samples) && length(as.matrix(sample_weight)) != samples) {
    abort_arg("sample_weight", sample_weight,
              sprintf("a vector of one weight per sample of `x` (%d)", samples), call)
  }
}

# R numbers -> float32 NumPy arrays (a list of them -> a list, a named one -> a dict);
# Python objects as they are.
as_numpy_data <- function(x, arg, call) {
  if (is.null(x) || inherits(x, "python.builtin.object")) return(x)
  if (is.data.frame(x)) {
    if (!all(vapply(x, is.numeric, logical(1)))) {
      abort_arg(arg, x, "numeric data (a data frame must have numeric columns only)", call)
    }
    x <- as.matrix(x)
  }
  if (is.numeric(x) || is.logical(x)) {
    if (length(x) == 0 || anyNA(x)) {
      abort_arg(arg, x, "numeric data without NA, with at least one sample", call)
    }
    return(np()$asarray(unname(x), dtype = "float32"))
  }
  if (is.list(x) && length(x) > 0) {
    converted <- lapply(x, as_numpy_data, arg = arg, call = call)
    return(if (is.null(names(x))) unname(converted) else reticulate::dict(converted))
  }
  abort_arg(arg, x, "numeric data (a vector, matrix or array, or a list of them)", call)
}

new_lr_find <- function(result) {
  d <- result$to_dict()
  suggestions <- vapply(c("steep", "minimum", "valley"), function(name) {
    value <- d$suggestions[[name]]
    if (is.null(value)) NA_real_ else as.double(value)
  }, numeric(1))
  structure(list(
    learning_rate = as.double(unlist(d$rates)),
    loss = as.double(unlist(d$losses)),
    smoothed_loss = as.double(unlist(d$smoothed_losses)),
    suggestions = suggestions,
    diverged = isTRUE(d$diverged),
    num_steps = as.integer(result$num_steps),
    skip_end = as.integer(result$skip_end),
    python = result
  ), class = "lrschedule_lr_find")
}

#' Print, plot and tabulate a learning-rate range test
#'
#' `format()` says how many steps ran over which rates, whether the loss diverged,
#' and the suggested rates; `print()` prints that. `plot()` draws the smoothed loss
#' against the rate (log scale) with base graphics and marks each suggestion with a
#' point and a vertical line, named in a legend. `as.data.frame()` returns one row
#' per step.
#'
#' @param x The result of [lr_find()].
#' @param skip_end Integer >= 0 or `NULL`. Points left out at the end of the curve,
#'   where the loss explodes; `NULL` leaves out the same 5 points as the
#'   suggestions. Defaults to `NULL`.
#' @param suggestions Logical. Mark the suggested rates. Defaults to `TRUE`.
#' @param main,xlab,ylab Passed to [graphics::plot()].
#' @param row.names,optional Ignored (for compatibility with [as.data.frame()]).
#' @param ... Passed on to [graphics::plot()]; ignored by the other methods.
#' @returns `format()`: a character vector; `print()` and `plot()`: `x`, invisibly;
#'   `as.data.frame()`: a data frame with columns `step` (from 0),
#'   `learning_rate`, `loss` and `smoothed_loss`.
#' @family callbacks
#' @name lr_find-methods
#' @examples
#' if (lrschedule:::python_ready()) {
#'   keras <- reticulate::import("keras")
#'   x <- matrix(rnorm(200), ncol = 2)
#'   model <- keras$Sequential(list(keras$Input(shape = list(2L)), keras$layers$Dense(1L)))
#'   model$compile(optimizer = optimizer_sgd(), loss = "mse")
#'   finder <- lr_find(model, x, x %*% c(2, -1), start_lr = 1e-4, end_lr = 10,
#'                     num_steps = 40, batch_size = 10, verbose = 0)
#'   print(finder)
#'   plot(finder, suggestions = FALSE)
#'   print(tail(as.data.frame(finder)))
#' }
NULL

#' @rdname lr_find-methods
#' @export
format.lrschedule_lr_find <- function(x, ...) {
  n <- length(x$learning_rate)
  if (n == 0) return("<lr_find> no steps ran")
  header <- sprintf("<lr_find> %d of %d steps, learning rate %s to %s%s", n, x$num_steps,
                    format(signif(x$learning_rate[[1]], 3)), format(signif(x$learning_rate[[n]], 3)),
                    if (x$diverged) " (stopped: the loss diverged)" else "")
  shown <- ifelse(is.na(x$suggestions), "NA (too few steps)",
                  formatC(x$suggestions, format = "e", digits = 2))
  c(header, "Suggested learning rates:",
    sprintf("  %-8s %s", names(x$suggestions), shown))
}

#' @rdname lr_find-methods
#' @export
print.lrschedule_lr_find <- function(x, ...) {
  writeLines(format(x, ...))
  invisible(x)
}

#' @rdname lr_find-methods
#' @export
plot.lrschedule_lr_find <- function(x, skip_end = NULL, suggestions = TRUE,
                                    main = "Learning-rate range test", xlab = "learning rate",
                                    ylab = "loss (smoothed)", ...) {
  curve <- lr_find_curve(x, skip_end, suggestions)
  points <- curve$points
  graphics::plot(points$learning_rate, points$loss, type = "l", log = "x", main = main,
                 xlab = xlab, ylab = ylab, ...)
  marks <- curve$marks
  if (nrow(marks) > 0) {
    colors <- suggestion_colours()[marks$suggestion]
    graphics::abline(v = marks$learning_rate, col = colors, lty = 3)
    graphics::points(marks$learning_rate, marks$loss, col = colors, pch = 19)
    # the legend goes on the side where the curve is lower
    left <- points$loss[seq_len(ceiling(nrow(points) / 2))]
    corner <- if (max(left) >= max(points$loss)) "topright" else "topleft"
    graphics::legend(corner, bty = "n", col = c("black", colors),
                     lty = c(1, rep(NA, nrow(marks))), pch = c(NA, rep(19, nrow(marks))),
                     legend = c("smoothed loss", marks$label))
  }
  invisible(x)
}

suggestion_colours <- function() c(steep = "#D55E00", minimum = "#0072B2", valley = "#009E73")

# What plot() and autoplot() of a range test draw: `points`, the smoothed loss against
# the rate (finite points, without the last `skip_end`), and a data frame of the suggestions to
# mark (`marks`), each where the curve is at its rate (the core's rule, as Python's plot marks it).
lr_find_curve <- function(x, skip_end, suggestions, call = rlang::caller_env()) {
  skip_end <- if (is.null(skip_end)) x$skip_end else check_whole(skip_end, call = call)
  if (skip_end < 0) abort_arg("skip_end", skip_end, "a whole number >= 0 or NULL", call)
  suggestions <- check_flag(suggestions, call = call)
  n <- length(x$learning_rate)
  if (n == 0) cli::cli_abort("No steps ran: nothing to plot.", call = call)
  stop_at <- max(n - skip_end, min(n, 2))
  rates <- x$learning_rate[seq_len(stop_at)]
  losses <- x$smoothed_loss[seq_len(stop_at)]
  finite <- is.finite(losses)
  points <- data.frame(learning_rate = rates[finite], loss = losses[finite])
  marked <- x$suggestions[!is.na(x$suggestions)]
  if (!suggestions || nrow(points) < 2) marked <- marked[0]
  at <- if (length(marked)) {
    unlist(lrs()$lr_finder$marked_losses(rates, losses, as.list(unname(marked))))
  } else numeric()
  marks <- data.frame(suggestion = names(marked), learning_rate = unname(marked),
                      loss = as.numeric(at),
                      label = sprintf("%s: %s", names(marked),
                                      formatC(unname(marked), format = "e", digits = 2)))
  list(points = points, marks = marks)
}

#' @rdname lr_find-methods
#' @export
as.data.frame.lrschedule_lr_find <- function(x, row.names = NULL, optional = FALSE, ...) {
  n <- length(x$learning_rate)
  data.frame(step = seq.int(0L, length.out = n), learning_rate = x$learning_rate,
             loss = x$loss, smoothed_loss = x$smoothed_loss)
}
