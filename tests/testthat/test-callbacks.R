# The callbacks in real fit() calls, on the kernel model (helper-lrschedule.R): the
# rates read back from the kernel are compared with rates computed by hand from the
# rule under test.

rate_atol <- 5e-7  # float32 kernel of magnitude < 1, read twice per rate

kernel_of <- function(model) model$get_weights()[[1]][1, 1]

# A Keras callback that records the kernel before training and after every batch;
# `applied()` gives the rate of each step.
kernel_trace <- function(model) {
  trace <- new.env()
  trace$values <- numeric()
  trace$callback <- py_keras()$callbacks$LambdaCallback(
    on_train_begin = function(logs) trace$values <- kernel_of(model),
    on_train_batch_end = function(batch, logs) trace$values <- c(trace$values, kernel_of(model))
  )
  trace$applied <- function() -diff(trace$values)
  trace
}

expect_rates <- function(actual, expected, atol = rate_atol) {
  expect_length(actual, length(expected))
  expect_lt(max(abs(actual - expected)), atol)
}

history_rates <- function(history) unlist(history$history$learning_rate)

test_that("the seeds' step_decay and exponential_decay work as written; epochs count from 0", {
  skip_if_no_lrschedule()
  # shared/seeds 001, Example 1, verbatim
  step_decay <- function(epoch) {
    initial_lr <- 0.01
    drop <- 0.5
    epochs_drop <- 10
    initial_lr * drop^(floor(epoch / epochs_drop))
  }
  model <- kernel_model()
  trace <- kernel_trace(model)
  # epochs 8..11 (two steps each): halved from epoch 10 on
  history <- fit_kernel(model, list(callback_schedule_lr(step_decay), trace$callback),
                        epochs = 12, initial_epoch = 8)
  expect_rates(trace$applied(), rep(c(0.01, 0.01, 0.005, 0.005), each = 2))
  expect_equal(history_rates(history), c(0.01, 0.01, 0.005, 0.005), tolerance = 1e-6)

  # shared/seeds 001, Example 2, verbatim
  exponential_decay <- function(epoch) {
    initial_lr <- 0.01
    decay_rate <- 0.95
    initial_lr * decay_rate^epoch
  }
  model <- kernel_model()
  trace <- kernel_trace(model)
  history <- fit_kernel(model, list(callback_schedule_lr(exponential_decay), trace$callback),
                        epochs = 3)
  expect_rates(trace$applied(), rep(c(0.01, 0.0095, 0.009025), each = 2))
  expect_equal(history_rates(history), c(0.01, 0.0095, 0.009025), tolerance = 1e-6)
})

test_that("functions of (epoch, lr), with return() and if/else, as the seeds write them", {
  skip_if_no_lrschedule()
  # shared/seeds 004, Example 2, translated to R: lr is the previous epoch's rate
  scheduler <- function(epoch, lr) {
    if (epoch < 50) {
      return(lr)
    } else if (epoch < 80) {
      return(lr * 0.1)
    } else {
      return(lr * 0.01)
    }
  }
  model <- kernel_model(learning_rate = 0.2)
  trace <- kernel_trace(model)
  history <- fit_kernel(model, list(callback_schedule_lr(scheduler), trace$callback),
                        epochs = 52, initial_epoch = 49, batch_size = 4)
  expect_rates(trace$applied(), c(0.2, 0.02, 0.002))
  expect_equal(history_rates(history), c(0.2, 0.02, 0.002), tolerance = 1e-6)
  # a new fit() goes on from the rate the function last returned
  trace <- kernel_trace(model)
  fit_kernel(model, list(callback_schedule_lr(scheduler), trace$callback),
             epochs = 81, initial_epoch = 80, batch_size = 4)
  expect_rates(trace$applied(), 0.002 * 0.01, atol = 5e-8)

  # shared/seeds 000, Example 2's lr_schedule, verbatim
  lr_schedule <- function(epoch) {
    if (epoch < 10) {
      return(0.001)
    } else if (epoch < 20) {
      return(0.0005)
    } else {
      return(0.0001)
    }
  }
  model <- kernel_model()
  trace <- kernel_trace(model)
  fit_kernel(model, list(callback_schedule_lr(lr_schedule), trace$callback),
             epochs = 21, initial_epoch = 9, batch_size = 4)
  expect_rates(trace$applied(), c(0.001, rep(0.0005, 10), 0.0001), atol = 2e-7)
})

test_that("the arity comes from the formals; `...` alone means (epoch)", {
  skip_if_no_lrschedule()
  expect_identical(callback_schedule_lr(function(epoch) 0.1)$arity, 1L)
  expect_identical(callback_schedule_lr(function(epoch, lr) lr)$arity, 2L)
  expect_identical(callback_schedule_lr(function(e, lr = NULL) 0.1)$arity, 2L)
  expect_identical(callback_schedule_lr(function(...) 0.1)$arity, 1L)
  expect_identical(callback_schedule_lr(function(epoch, ...) 0.1)$arity, 1L)

  received <- list()
  dots_only <- function(...) {
    received[[length(received) + 1]] <<- list(...)
    0.02
  }
  with_default <- function(epoch, lr = stop("lr was not passed")) lr / 2
  model <- kernel_model(learning_rate = 0.08)
  trace <- kernel_trace(model)
  fit_kernel(model, list(callback_schedule_lr(dots_only), trace$callback), epochs = 2, batch_size = 4)
  expect_identical(received, list(list(0L), list(1L)))
  fit_kernel(model, list(callback_schedule_lr(with_default), trace$callback), epochs = 2, batch_size = 4)
  expect_rates(trace$applied(), c(0.01, 0.005))

  # a Python function: Python reads its signature
  halve <- reticulate::py_eval("lambda epoch, lr: lr * 0.5")
  trace <- kernel_trace(model)
  fit_kernel(model, list(callback_schedule_lr(halve), trace$callback), epochs = 2, batch_size = 4)
  expect_rates(trace$applied(), c(0.0025, 0.00125))
})

test_that("callback_schedule_lr refuses what is not a function or a schedule", {
  skip_if_no_lrschedule()
  expect_error(callback_schedule_lr(function() 0.1), "takes no argument",
               class = "lrschedule_argument_error")
  expect_error(callback_schedule_lr(function(a, b, c) 0.1), "requires 3 arguments",
               class = "lrschedule_argument_error")
  expect_error(callback_schedule_lr(0.1), "`schedule` must be an R function",
               class = "lrschedule_argument_error")
  expect_error(callback_schedule_lr("step_decay"), "`schedule`", class = "lrschedule_argument_error")
  expect_error(callback_schedule_lr(function(epoch) 0.1, verbose = 0.5), "`verbose`",
               class = "lrschedule_argument_error")
  expect_error(callback_schedule_lr(function(epoch) 0.1, verbose = -1), "verbose",
               class = "python.builtin.ValueError")
})

test_that("a schedule object is evaluated at the epoch index and replaces the optimizer's schedule", {
  skip_if_no_lrschedule()
  # the optimizer's own schedule would give 1, 0.5, 0.25, ... per step
  model <- kernel_model(schedule_exponential_decay(1, decay_steps = 1, decay_rate = 0.5))
  trace <- kernel_trace(model)
  history <- fit_kernel(model, list(
    callback_schedule_lr(schedule_step_decay(0.1, step_size = 2, gamma = 0.5)), trace$callback
  ), epochs = 3)
  expect_rates(trace$applied(), c(0.1, 0.1, 0.1, 0.1, 0.05, 0.05))
  expect_equal(history_rates(history), c(0.1, 0.1, 0.05), tolerance = 1e-6)
})

test_that("an R error in the function stops fit() with its message and epoch; R goes on", {
  skip_if_no_lrschedule()
  failing <- function(epoch) {
    if (epoch == 2) stop("no rate for epoch two")
    0.1
  }
  model <- kernel_model()
  expect_error(
    fit_kernel(model, list(callback_schedule_lr(failing)), epochs = 5),
    "callback_schedule_lr\\(\\): the function failed at epoch 2: no rate for epoch two"
  )
  # epochs 0 and 1 ran (2 steps each at 0.1), epoch 2 did not start
  expect_equal(kernel_of(model), -0.4, tolerance = 1e-6)
  # the session and the model go on
  trace <- kernel_trace(model)
  history <- fit_kernel(model, list(callback_schedule_lr(function(epoch) 0.01), trace$callback),
                        epochs = 1)
  expect_rates(trace$applied(), c(0.01, 0.01))
  expect_equal(history_rates(history), 0.01, tolerance = 1e-6)
})

test_that("a value that is not one finite positive number stops fit(), naming epoch and value", {
  skip_if_no_lrschedule()
  model <- kernel_model()
  returned <- list(
    list(NULL, "None"), list(NA, "nan"), list(NA_integer_, "nan"), list(-1, "-1"),
    list(0, "0"), list(Inf, "inf"), list("x", "'x'"), list(TRUE, "True"),
    list(c(0.1, 0.2), "\\[0.1, 0.2\\] \\(2 values\\)"), list(numeric(0), "\\[\\] \\(0 values\\)")
  )
  for (case in returned) {
    value <- case[[1]]
    expect_error(
      fit_kernel(model, list(callback_schedule_lr(function(epoch) value)), epochs = 4,
                 initial_epoch = 3),
      paste0("must return one finite positive number, but at epoch 3 it returned ", case[[2]]),
      label = case[[2]]
    )
  }
  expect_identical(kernel_of(model), 0)  # no step ran
})

test_that("callback_reduce_lr_on_plateau multiplies a schedule from the reduction on", {
  skip_if_no_lrschedule()
  # the loss falls by far less than min_delta: every epoch after the first is a plateau
  model <- kernel_model(schedule_step_decay(0.1, step_size = 4, gamma = 0.5))
  trace <- kernel_trace(model)
  plateau <- callback_reduce_lr_on_plateau(monitor = "loss", factor = 0.5, patience = 2,
                                           min_delta = 10)
  history <- fit_kernel(model, list(plateau, trace$callback), epochs = 6)
  # schedule 0.1 * 0.5^floor(step / 4); reductions at the ends of epochs 2 and 4
  schedule <- c(0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025)
  multiplier <- c(1, 1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25)
  expect_rates(trace$applied(), schedule * multiplier)
  # the rate of each epoch's last step, before a reduction made at its end
  expect_equal(history_rates(history), c(0.1, 0.1, 0.05, 0.025, 0.0125, 0.00625), tolerance = 1e-6)
})

test_that("callback_reduce_lr_on_plateau over a constant rate stops at min_lr", {
  skip_if_no_lrschedule()
  model <- kernel_model(0.1)
  trace <- kernel_trace(model)
  plateau <- callback_reduce_lr_on_plateau(monitor = "loss", factor = 0.5, patience = 1,
                                           min_delta = 10, min_lr = 0.03)
  history <- fit_kernel(model, list(plateau, trace$callback), epochs = 5, batch_size = 4)
  # 0.1 -> 0.05 -> max(0.025, 0.03) -> no reduction once at min_lr
  expect_rates(trace$applied(), c(0.1, 0.1, 0.05, 0.03, 0.03))
  expect_equal(history_rates(history), c(0.1, 0.1, 0.05, 0.03, 0.03), tolerance = 1e-6)
})

test_that("callback_reduce_lr_on_plateau(decay_steps) decays smoothly to the reduced rate", {
  skip_if_no_lrschedule()
  # every epoch after the first is a plateau; patience 1 and 2 steps per epoch: the
  # reduction is made after step 3 and the decay runs over steps 4..8. By hand, from
  # a = 0.1 to b = 0.05 at p = (step - 4) / 4:
  # linear b + (a - b)(1 - p); cosine b + (a - b)(1 + cos(pi p)) / 2;
  # 1-sqrt b + (a - b)(1 - sqrt(p)).
  tables <- list(
    linear = c(rep(0.1, 5), 0.0875, 0.075, 0.0625, 0.05, 0.05),
    cosine = c(rep(0.1, 5), 0.09267767, 0.075, 0.05732233, 0.05, 0.05),
    "1-sqrt" = c(rep(0.1, 5), 0.075, 0.06464466, 0.05669873, 0.05, 0.05)
  )
  for (type in names(tables)) {
    model <- kernel_model(0.1)
    trace <- kernel_trace(model)
    plateau <- callback_reduce_lr_on_plateau(monitor = "loss", factor = 0.5, patience = 1,
                                             min_delta = 10, cooldown = 10, decay_steps = 4,
                                             decay_type = type)
    fit_kernel(model, list(plateau, trace$callback), epochs = 5)
    expect_rates(trace$applied(), tables[[type]])
  }
  # a cooldown to the floor over a schedule: 0.1 -> 0.02 (min_lr), linear
  model <- kernel_model(schedule_constant(0.1))
  trace <- kernel_trace(model)
  plateau <- callback_reduce_lr_on_plateau(monitor = "loss", factor = 1e-3, patience = 1,
                                           min_delta = 10, min_lr = 0.02, cooldown = 10,
                                           decay_steps = 4)
  fit_kernel(model, list(plateau, trace$callback), epochs = 6)
  expect_rates(trace$applied(), c(rep(0.1, 5), 0.08, 0.06, 0.04, 0.02, 0.02, 0.02, 0.02))
  expect_equal(lr_current(model), 0.02, tolerance = 1e-6)
})

test_that("callback_reduce_lr_on_plateau coerces and checks its arguments", {
  skip_if_no_lrschedule()
  cb <- callback_reduce_lr_on_plateau(monitor = "loss", factor = 0.5, patience = 3, cooldown = 2,
                                      verbose = 1)
  config <- cb$get_config()
  expect_identical(config$patience, 3L)
  expect_identical(config$cooldown, 2L)
  expect_identical(config$verbose, 1L)
  expect_identical(config$factor, 0.5)
  expect_identical(config$monitor, "loss")
  defaults <- callback_reduce_lr_on_plateau()$get_config()
  expect_identical(defaults[c("monitor", "factor", "patience", "mode", "min_delta", "cooldown",
                              "min_lr", "verbose")],
                   list(monitor = "val_loss", factor = 0.1, patience = 10L, mode = "auto",
                        min_delta = 1e-4, cooldown = 0L, min_lr = 0, verbose = 0L))

  expect_error(callback_reduce_lr_on_plateau(patience = 2.5), "`patience`",
               class = "lrschedule_argument_error")
  expect_error(callback_reduce_lr_on_plateau(cooldown = NA), "`cooldown`",
               class = "lrschedule_argument_error")
  expect_error(callback_reduce_lr_on_plateau(factor = "half"), "`factor`",
               class = "lrschedule_argument_error")
  expect_error(callback_reduce_lr_on_plateau(monitor = c("loss", "val_loss")), "`monitor`",
               class = "lrschedule_argument_error")
  expect_error(callback_reduce_lr_on_plateau(factor = 1.5), "`factor` must be < 1",
               class = "python.builtin.ValueError")
  expect_error(callback_reduce_lr_on_plateau(mode = "up"), "mode",
               class = "python.builtin.ValueError")
  expect_error(callback_reduce_lr_on_plateau(min_lr = -1), "min_lr",
               class = "python.builtin.ValueError")
})

test_that("callback_lr_logger puts the rate used into the history, per epoch and per batch", {
  skip_if_no_lrschedule()
  model <- kernel_model(schedule_exponential_decay(0.1, decay_steps = 1, decay_rate = 0.5))
  trace <- kernel_trace(model)
  logger <- callback_lr_logger(per = "batch")
  history <- fit_kernel(model, list(logger, trace$callback), epochs = 3)
  expected <- 0.1 * 0.5^(0:5)
  expect_rates(trace$applied(), expected)
  expect_equal(unlist(logger$batch_rates), expected, tolerance = 1e-6)
  expect_identical(unlist(logger$batch_steps), 0:5)
  expect_equal(history_rates(history), expected[c(2, 4, 6)], tolerance = 1e-6)

  # per epoch (the default) over a constant rate: no batch values kept
  model <- kernel_model(0.05)
  logger <- callback_lr_logger()
  history <- fit_kernel(model, list(logger), epochs = 2)
  expect_equal(history_rates(history), c(0.05, 0.05), tolerance = 1e-6)
  expect_length(logger$batch_rates, 0)

  expect_error(callback_lr_logger(per = "step"), "per", class = "python.builtin.ValueError")
  expect_error(callback_lr_logger(per = 1), "`per`", class = "lrschedule_argument_error")
})

test_that("the callback functions have the arguments and defaults of their Python classes", {
  skip_if_no_lrschedule()
  inspect <- reticulate::import("inspect")
  core <- reticulate::import("lrschedule")
  pairs <- list(
    list(callback_schedule_lr, core$ScheduleLR, "arity"),  # arity: read from the R formals
    list(callback_reduce_lr_on_plateau, core$ReduceLROnPlateau, character()),
    list(callback_lr_logger, core$LRLogger, character())
  )
  for (pair in pairs) {
    fn <- pair[[1]]
    params <- inspect$signature(pair[[2]])$parameters
    py_names <- setdiff(names(reticulate::import_builtins()$dict(params)), pair[[3]])
    expect_identical(names(formals(fn)), py_names)
    for (arg in setdiff(py_names, "schedule")) {
      expect_equal(eval(formals(fn)[[arg]]), params[[arg]]$default, label = arg)
    }
  }
})

test_that("callback_reduce_lr_on_plateau takes Keras's and keras3's argument order", {
  skip_if_no_lrschedule()
  # a call written for keras3 (or Keras) means the same: the 4th argument is verbose
  keras_order <- reticulate::py_eval(paste(
    "list(__import__('inspect').signature(",
    "__import__('keras').callbacks.ReduceLROnPlateau).parameters)"))
  # Keras's arguments first, in Keras's order; lrschedule's own after them
  keras_args <- setdiff(keras_order, "kwargs")
  expect_identical(names(formals(callback_reduce_lr_on_plateau))[seq_along(keras_args)],
                   keras_args)
  expect_identical(setdiff(names(formals(callback_reduce_lr_on_plateau)), keras_args),
                   c("groups", "decay_steps", "decay_type", "min_delta_mode"))
  cb <- callback_reduce_lr_on_plateau("loss", 0.5, 2, 1)
  expect_identical(cb$verbose, 1L)
  expect_identical(cb$mode, "auto")
})

test_that("callback_lr_logger()'s help says what LRLogger's docstring says about per-batch cost", {
  skip_if_no_lrschedule()
  flat <- function(text) gsub("\\s+", " ", paste(text, collapse = " "))
  python_doc <- flat(reticulate::import("lrschedule")$LRLogger$`__doc__`)
  rd <- tools::Rd_db("lrschedule")[["callback_lr_logger.Rd"]]
  description <- rd[vapply(rd, attr, "", "Rd_tag") == "\\description"]
  r_doc <- flat(utils::capture.output(tools::Rd2txt(description, fragment = TRUE)))
  # The claims both texts make; when the logger changes, both change (the R text once
  # said per-batch logging was for inspection only, long after it stopped being so).
  for (phrase in c("Per-batch logging costs next to nothing when the rate is a schedule",
                   "evaluated on all of the epoch's steps at once",
                   "grows at each epoch's end", "is read at every batch")) {
    expect_match(python_doc, phrase, fixed = TRUE, label = "LRLogger's docstring")
    expect_match(r_doc, phrase, fixed = TRUE, label = "callback_lr_logger()'s help")
  }
})

test_that("plot() of a logger or of fit()'s history draws the rate used beside the plan", {
  skip_if_no_lrschedule()
  schedule <- schedule_one_cycle(0.1, total_steps = 12)
  model <- kernel_model(schedule)
  logger <- callback_lr_logger(per = "batch")
  plateau <- callback_reduce_lr_on_plateau(monitor = "loss", mode = "max", factor = 0.5,
                                           patience = 0)
  history <- fit_kernel(model, list(plateau, logger), epochs = 6)
  # the core's record: the loss falls every epoch, a plateau in "max" mode: halved
  # after every epoch from the first on, so from steps 4, 6, 8 and 10 (2 per epoch)
  record <- reticulate::import("lrschedule")$inspection$run_record(logger, schedule)
  expect_identical(as.integer(unlist(record$reductions)), c(4L, 6L, 8L, 10L))
  grDevices::pdf(NULL)
  withr::defer(grDevices::dev.off())
  expect_identical(plot(logger, schedule = schedule), logger)
  expect_identical(plot(history, schedule = schedule, log = TRUE), history)
  expect_identical(plot(history), history)
  epoch_logger <- callback_lr_logger()
  expect_error(plot(epoch_logger), "recorded no batch")
  expect_error(plot(logger, schedule = 3), "`schedule`", class = "lrschedule_argument_error")
})
