# Any optimizer hyperparameter as a schedule, from R (issue #31): optimizer_*() build
# lrschedule's subclass when a schedulable argument (the core's SCHEDULABLE) is a
# schedule, callback_lr_logger() logs it, lr_current() reads it, saved models load in
# new R and Python processes, plot()/autoplot() show it. The expected values are the
# schedules' formulas, written out here.

# Keras's CosineDecay (alpha = 0): wd0 * (1 + cos(pi * t / T)) / 2, then 0 from t = T.
cosine <- function(wd0, t, total) wd0 * 0.5 * (1 + cos(pi * pmin(t, total) / total))

core_optimizers <- function() reticulate::import("lrschedule")$optimizers


test_that("a scheduled weight decay is applied at every update, at the schedule's value", {
  skip_if_no_lrschedule()
  # SGD without momentum: Keras decays the weights by lr * wd(t) before the update,
  # w <- w * (1 - lr * wd(t)) - lr * gradient, and the gradient is 1 here.
  lr <- 0.5
  wd <- schedule_cosine_decay(0.4, decay_steps = 8)
  opt <- optimizer_sgd(learning_rate = lr, weight_decay = wd)
  expect_identical(class(opt)[[1]], "lrschedule.optimizers.SGD")
  model <- kernel_model_with(opt)
  kernels <- 0
  trace <- py_keras()$callbacks$LambdaCallback(on_train_batch_end = function(batch, logs) {
    kernels <<- c(kernels, model$get_weights()[[1]][1, 1])
  })
  model$fit(matrix(1, 6, 1), matrix(-1000, 6, 1), batch_size = 1L, epochs = 1L,
            shuffle = FALSE, verbose = 0L, callbacks = list(trace))
  expected <- 0
  for (t in 0:5) expected <- c(expected, expected[[t + 1]] * (1 - lr * cosine(0.4, t, 8)) - lr)
  expect_equal(kernels, expected, tolerance = 1e-6)
  # a constant weight decay is Keras's own optimizer, and decays the same way at 0.4
  plain <- optimizer_sgd(learning_rate = lr, weight_decay = 0.4)
  expect_identical(class(plain)[[1]], class(py_keras()$optimizers$SGD())[[1]])
})

test_that("optimizer_adamw() with a cosine weight decay: logged, saved, loaded in R and Python", {
  skip_on_cran()
  skip_if_no_lrschedule()
  rate <- schedule_one_cycle(0.01, total_steps = 10)
  wd0 <- 0.05
  total <- 10
  opt <- optimizer_adamw(learning_rate = rate,
                         weight_decay = schedule_cosine_decay(wd0, decay_steps = total))
  expect_identical(class(opt)[[1]], "lrschedule.optimizers.AdamW")
  expect_equal(lr_current(opt, hyperparameter = "weight_decay"), wd0, tolerance = 1e-7)
  model <- kernel_model_with(opt)
  logger <- callback_lr_logger(per = "batch")
  # 4 rows in batches of 2: two steps per epoch, epochs ending at steps 1, 3, 5
  history <- model$fit(matrix(1, 4, 1), matrix(-1000, 4, 1), batch_size = 2L, epochs = 3L,
                       shuffle = FALSE, verbose = 0L, callbacks = list(logger))
  expect_equal(unlist(history$history$weight_decay), cosine(wd0, c(1, 3, 5), total),
               tolerance = 1e-6)
  expect_equal(unlist(logger$batch_hyperparameters$weight_decay), cosine(wd0, 0:5, total),
               tolerance = 1e-6)
  expect_equal(unlist(logger$batch_steps), 0:5)
  # the rate is logged beside it, as before
  expect_equal(unlist(history$history$learning_rate), lr_values(rate, c(1, 3, 5)),
               tolerance = 1e-6)
  # the value the next update (step 6) uses
  expect_equal(lr_current(model, hyperparameter = "weight_decay"), cosine(wd0, 6, total),
               tolerance = 1e-6)
  expect_equal(lr_current(model), lr_values(rate, 6), tolerance = 1e-6)
  # a hyperparameter that stays a number is read as it is
  expect_equal(lr_current(model, hyperparameter = "beta_2"), 0.999, tolerance = 1e-7)

  path <- tempfile(fileext = ".keras")
  model$save(path)
  kernel <- model$get_weights()[[1]][1, 1]
  # what a new process prints after loading the file and training one more epoch
  # (steps 6 and 7), in either language: lrschedule's AdamW, the weight decay of
  # step 6 on loading, of step 7 in the epoch's logs, of step 8 next, 8 steps made
  expect_resumed <- function(out) {
    expect_true(any(grepl("^CLASS lrschedule.optimizers.AdamW", out)),
                info = paste(out, collapse = "\n"))
    expect_equal(numbers_after(out, "WD_LOADED"), cosine(wd0, 6, total), tolerance = 1e-6)
    expect_equal(numbers_after(out, "WD_LOGGED"), cosine(wd0, 7, total), tolerance = 1e-6)
    expect_equal(numbers_after(out, "WD_NEXT"), cosine(wd0, 8, total), tolerance = 1e-6)
    expect_equal(numbers_after(out, "STEPS"), 8)
  }

  # a new R session: the first calls after library(lrschedule), with safe_mode
  out <- run_fresh_r(c(
    "suppressPackageStartupMessages(library(lrschedule))",
    "keras <- reticulate::import('keras')",
    sprintf("m <- keras$models$load_model('%s', safe_mode = TRUE)", path),
    "cat('CLASS', class(m$optimizer)[[1]], '\\n')",
    "cat('WD_LOADED', lr_current(m, hyperparameter = 'weight_decay'), '\\n')",
    "cat('KERNEL_LOADED', as.numeric(m$get_weights()[[1]]), '\\n')",
    "h <- m$fit(matrix(1, 4, 1), matrix(-1000, 4, 1), batch_size = 2L, epochs = 1L,",
    "           shuffle = FALSE, verbose = 0L, callbacks = list(callback_lr_logger()))",
    "cat('WD_LOGGED', unlist(h$history$weight_decay), '\\n')",
    "cat('WD_NEXT', lr_current(m, hyperparameter = 'weight_decay'), '\\n')",
    "cat('KERNEL_AFTER', as.numeric(m$get_weights()[[1]]), '\\n')",
    "cat('STEPS', as.numeric(m$optimizer$iterations$numpy()), '\\n')"
  ))
  expect_resumed(out)
  expect_equal(numbers_after(out, "KERNEL_LOADED"), kernel, tolerance = 1e-6)  # cat(): 7 digits
  expect_lt(numbers_after(out, "KERNEL_AFTER"), kernel)  # trained on: moved towards -1000

  # a new Python process: lrschedule imported, safe_mode
  out <- run_fresh_python(c(
    "import keras, numpy as np",
    "import lrschedule",
    sprintf("m = keras.models.load_model('%s', safe_mode=True)", path),
    "print('CLASS', type(m.optimizer).__module__ + '.' + type(m.optimizer).__name__)",
    "print('WD_LOADED', lrschedule.current(m, hyperparameter='weight_decay'))",
    "before = float(m.get_weights()[0][0, 0])",
    "x = np.ones((4, 1), 'float32'); y = np.full((4, 1), -1000.0, 'float32')",
    "h = m.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0,",
    "          callbacks=[lrschedule.LRLogger()])",
    "print('WD_LOGGED', h.history['weight_decay'][-1])",
    "print('WD_NEXT', lrschedule.current(m, hyperparameter='weight_decay'))",
    "print('MOVED', before - float(m.get_weights()[0][0, 0]))",
    "print('STEPS', int(m.optimizer.iterations))"
  ))
  expect_resumed(out)
  expect_gt(numbers_after(out, "MOVED"), 0)
})

test_that("every optimizer_*() takes a schedule for each of its schedulable arguments", {
  skip_if_no_lrschedule()
  core <- core_optimizers()
  schedulable <- core$SCHEDULABLE
  expect_length(schedulable, 14)
  builtins <- reticulate::import_builtins()
  for (cls in names(schedulable)) {
    fn_name <- lrschedule:::optimizer_r_name(cls)
    fn <- getExportedValue("lrschedule", fn_name)
    names_ <- as.character(unlist(schedulable[[cls]]))
    expect_true(all(names_ %in% names(formals(fn))), label = fn_name)
    for (name in names_) {
      label <- paste0(fn_name, "(", name, " = <schedule>)")
      # a value in the argument's range (Ftrl's learning_rate_power and Adafactor's
      # beta_2_decay are <= 0), as a constant of any sign: an exponential decay by 1
      value <- if (is.null(core$argument_problem(name, 0.5))) 0.5 else -0.5
      schedule <- schedule_exponential_decay(value, decay_steps = 1, decay_rate = 1)
      args <- list(schedule)
      names(args) <- name
      if (name == "ema_momentum") args$use_ema <- TRUE
      opt <- do.call(fn, args)
      expect_identical(class(opt)[[1]], paste0("lrschedule.optimizers.", cls), label = label)
      expect_true(builtins$isinstance(opt, py_keras()$optimizers[[cls]]), label = label)
      # the attribute holds the schedule itself, the only one scheduled
      held <- reticulate::py_get_attr(opt, name)
      expect_identical(reticulate::py_id(held), reticulate::py_id(schedule), label = label)
      expect_identical(names(opt$hyperparameter_schedules), name, label = label)
      expect_equal(lr_current(opt, hyperparameter = name), value, tolerance = 1e-7,
                   label = label)
    }
    # numbers everywhere: Keras's own class
    plain <- fn()
    expect_identical(class(plain)[[1]], class(py_keras()$optimizers[[cls]]())[[1]],
                     label = fn_name)
  }
})

test_that("several scheduled hyperparameters at once, counted in updates under accumulation", {
  skip_if_no_lrschedule()
  rate <- schedule_one_cycle(0.01, total_steps = 100)
  opt <- optimizer_adam(learning_rate = rate, beta_1 = schedule_momentum(rate),
                        beta_2 = schedule_constant(0.99),
                        weight_decay = schedule_shaped_like(rate, 0.05),
                        gradient_accumulation_steps = 4)
  expect_identical(class(opt)[[1]], "lrschedule.optimizers.Adam")
  schedules <- opt$hyperparameter_schedules
  expect_setequal(names(schedules), c("beta_1", "beta_2", "weight_decay"))
  # every schedule (the rate's too) now counts updates: micro-batch k uses update k %/% 4
  for (name in names(schedules)) {
    expect_identical(lrschedule:::schedule_class_name(schedules[[name]]), "InUpdates",
                     label = name)
  }
  expect_equal(lr_values(schedules$weight_decay, 0:7),
               rep(0.05 * lr_values(rate, 0:1) / 0.01, each = 4), tolerance = 1e-6)
})

test_that("lr_current() reads any hyperparameter, of a group too", {
  skip_if_no_lrschedule()
  opt <- optimizer_multi(
    optimizer_adamw(weight_decay = schedule_cosine_decay(0.1, decay_steps = 10),
                    name = "head"),
    "dense/.*" = optimizer_adamw(weight_decay = 0.02, name = "body"))
  expect_equal(lr_current(opt, hyperparameter = "weight_decay"), 0.1, tolerance = 1e-7)
  expect_equal(lr_current(opt, group = "body", hyperparameter = "weight_decay"), 0.02,
               tolerance = 1e-7)
  expect_equal(lr_current(opt, group = "body"), 0.001, tolerance = 1e-7)
  expect_null(lr_current(optimizer_sgd(), hyperparameter = "weight_decay"))
  expect_identical(names(formals(lr_current)), c("model", "group", "hyperparameter"))
  expect_identical(formals(lr_current)$hyperparameter, "learning_rate")
})

# Errors: the argument, the value and what was expected, all in the message.
expect_refused <- function(expr, ..., class = "lrschedule_argument_error") {
  err <- expect_error(expr, class = class)
  message <- gsub("\\s+", " ", conditionMessage(err))
  for (text in c(...)) expect_match(message, text, fixed = TRUE)
  invisible(err)
}

test_that("a schedule where a number must stay a number is refused in R, saying why", {
  skip_if_no_lrschedule()
  s <- schedule_constant(0.1)
  expect_refused(optimizer_adagrad(initial_accumulator_value = s),
                 "`initial_accumulator_value` must be a number, not a schedule",
                 "used once when they are created",
                 "You supplied a schedule, `Constant(learning_rate=0.1)`",
                 "`optimizer_adagrad()` that may be schedules: `learning_rate`, `epsilon`,",
                 "`weight_decay`, and `ema_momentum`")
  expect_refused(optimizer_sgd(clipnorm = s), "`clipnorm` must be a number, not a schedule",
                 "how to clip", "`Constant(learning_rate=0.1)`", "`learning_rate`, `momentum`")
  # Keras's own schedules, which have no repr of their own, by their class
  expect_refused(optimizer_sgd(clipvalue = schedule_cosine_decay(0.1, decay_steps = 10)),
                 "`clipvalue`", "`CosineDecay(...)`")
  expect_refused(optimizer_muon(ns_steps = s), "`ns_steps`", "sizes the compiled step",
                 "`Constant(learning_rate=0.1)`", "`adam_lr_ratio`")
  expect_refused(optimizer_sgd(ema_momentum = s), "`ema_momentum` must be a number when",
                 "`use_ema = FALSE`", "`use_ema = TRUE`", "`Constant(learning_rate=0.1)`")
  expect_s3_class(optimizer_sgd(ema_momentum = schedule_constant(0.9), use_ema = TRUE),
                  "lrschedule.optimizers.SGD")
  # the new ranges of the core, in R's words
  expect_refused(optimizer_ftrl(learning_rate_power = 0.5), "`learning_rate_power`",
                 "a number <= 0", "`0.5`")
  expect_refused(optimizer_adafactor(beta_2_decay = 0.1), "`beta_2_decay`", "a number <= 0",
                 "`0.1`")
  expect_refused(optimizer_muon(adam_lr_ratio = 0), "`adam_lr_ratio`", "a number > 0", "`0`")
  expect_refused(optimizer_muon(rms_rate = -1), "`rms_rate`", "a number >= 0 or NULL", "`-1`")
  # a schedule whose values leave the range: the core's schedule_problem(), in R's words
  expect_refused(optimizer_adam(beta_1 = schedule_constant(1)), "`beta_1`", "[0, 1)",
                 "this one reaches 1", "`Constant(learning_rate=1.0)`")
  expect_refused(lr_current(optimizer_sgd(), hyperparameter = 3), "`hyperparameter`",
                 "a single string", "`3`")
  expect_refused(lr_current(optimizer_sgd(), hyperparameter = "beta_9"), "`hyperparameter`",
                 "momentum", "hyperparameter='beta_9'", class = "python.builtin.ValueError")
  # the session goes on
  expect_equal(lr_values(schedule_constant(0.25), 0:1), c(0.25, 0.25))
})

test_that("schedule_shaped_like() has the rate's shape at the value given", {
  skip_if_no_lrschedule()
  rate <- schedule_one_cycle(0.01, total_steps = 100)  # 0.0004 at step 0, 0.01 at step 29
  steps <- c(0, 10, 29, 60, 99)
  peak <- schedule_shaped_like(rate, 0.05)
  expect_s3_class(peak, "lrschedule_schedule")
  expect_identical(lrschedule:::schedule_class_name(peak), "Scaled")
  expect_equal(peak$factor, 0.05 / 0.01, tolerance = 1e-6)
  expect_equal(lr_values(peak, steps), 0.05 * lr_values(rate, steps) / 0.01, tolerance = 1e-6)
  expect_equal(lr_values(peak, 29), 0.05, tolerance = 1e-6)
  initial <- schedule_shaped_like(rate, 0.05, reference = "initial")
  expect_equal(lr_values(initial, 0), 0.05, tolerance = 1e-6)
  expect_equal(initial$factor, 0.05 / (0.01 / 25), tolerance = 1e-5)
  given <- schedule_shaped_like(rate, 0.05, reference = 0.02)
  expect_equal(given$factor, 2.5, tolerance = 1e-7)
  expect_identical(names(formals(schedule_shaped_like)), c("schedule", "value", "reference"))
  expect_refused(schedule_shaped_like(rate, 0.05, reference = "max"), "`reference`",
                 "\"peak\", \"initial\" or a number > 0", "\"max\"")
  expect_refused(schedule_shaped_like(rate, 0), "`value`", "> 0", "value=0.0",
                 class = "python.builtin.ValueError")
  expect_refused(schedule_shaped_like(function(step) 0.1, 0.05), "`schedule`",
                 "an R function")
})

# keras3's fit() returns an R object: its params, and its metrics by epoch (as in
# test-autoplot.R; keras3 itself cannot be in CI).
as_keras3_history <- function(history) {
  structure(class = "keras_training_history",
            list(params = history$params, metrics = lapply(history$history, unlist)))
}

test_that("plot() and autoplot() of a run show each logged hyperparameter in a panel", {
  skip_if_no_lrschedule()
  rate <- schedule_one_cycle(0.01, total_steps = 12)
  wd <- schedule_cosine_decay(0.05, decay_steps = 12)
  model <- kernel_model_with(optimizer_adamw(learning_rate = rate, weight_decay = wd,
                                            beta_1 = schedule_momentum(rate)))
  logger <- callback_lr_logger(per = "batch")
  history <- model$fit(matrix(1, 4, 1), matrix(-1000, 4, 1), batch_size = 2L, epochs = 6L,
                       shuffle = FALSE, verbose = 0L, callbacks = list(logger))

  # per epoch (a History): the rate, then the others in the logger's order, at each
  # epoch's last step
  run <- lrschedule:::run_data(history, rate, FALSE, NULL)
  expect_identical(run$panels, c("learning_rate", "beta_1", "weight_decay"))
  expect_equal(run$hyperparameters$weight_decay$step, c(1, 3, 5, 7, 9, 11))
  expect_equal(run$hyperparameters$weight_decay$value, cosine(0.05, c(1, 3, 5, 7, 9, 11), 12),
               tolerance = 1e-6)
  # per batch (the logger)
  run <- lrschedule:::run_data(logger, NULL, FALSE, NULL, hyperparameters = "weight_decay")
  expect_identical(run$panels, "weight_decay")
  expect_equal(run$hyperparameters$weight_decay$step, 0:11)
  expect_equal(run$hyperparameters$weight_decay$value, cosine(0.05, 0:11, 12), tolerance = 1e-6)
  expect_identical(run$title, "weight_decay used")

  grDevices::pdf(NULL)
  withr::defer(grDevices::dev.off())
  before <- graphics::par("mfrow")
  expect_identical(plot(history, schedule = rate), history)
  expect_identical(plot(logger, hyperparameters = c("learning_rate", "beta_1")), logger)
  expect_identical(graphics::par("mfrow"), before)  # restored after the panels
  expect_refused(plot(history, hyperparameters = "momentum"), "`hyperparameters`",
                 "\"learning_rate\", \"beta_1\", \"weight_decay\"", "\"momentum\"")
  expect_refused(plot(history, hyperparameters = NA), "`hyperparameters`", "NA")

  # a run with no scheduled hyperparameter: the rate alone, as before
  plain <- kernel_model_with(optimizer_sgd(learning_rate = rate))
  plain_history <- plain$fit(matrix(1, 4, 1), matrix(-1000, 4, 1), batch_size = 2L,
                             epochs = 2L, verbose = 0L, callbacks = list(callback_lr_logger()))
  expect_identical(lrschedule:::run_data(plain_history, NULL, NULL, NULL)$panels,
                   "learning_rate")

  skip_if_not_installed("ggplot2", "3.4.0")
  plot <- ggplot2::autoplot(history, schedule = rate, log = FALSE)
  built <- ggplot2::ggplot_build(plot)
  expect_identical(nrow(built$layout$layout), 3L)  # a facet each
  used <- ggplot2::layer_data(plot, 2)
  # the weight decay's facet (panel 3) has its values at each epoch's last step
  in_wd <- used[used$PANEL == 3, ]
  expect_equal(in_wd$x, c(1, 3, 5, 7, 9, 11))
  expect_equal(in_wd$y, cosine(0.05, c(1, 3, 5, 7, 9, 11), 12), tolerance = 1e-6)
  # the plan is drawn in the rate's facet only
  expect_true(all(ggplot2::layer_data(plot, 1)$PANEL == 1))
  single <- ggplot2::autoplot(logger, hyperparameters = "weight_decay")
  expect_identical(single$labels$y, "weight_decay")
  # a linear axis: the weight decay spans less than two decades (the rate, more)
  expect_identical(single$scales$get_scales("y"), NULL)
  expect_identical(ggplot2::autoplot(logger)$scales$get_scales("y"), NULL)
  expect_identical(
    ggplot2::autoplot(logger, hyperparameters = "learning_rate")$scales$get_scales("y")$trans$name,
    "log-10")
  expect_equal(ggplot2::layer_data(single, 1)$y, cosine(0.05, 0:11, 12), tolerance = 1e-6)
  # keras3's history: its weight_decay metric too
  keras3_history <- as_keras3_history(history)
  k3 <- ggplot2::autoplot(keras3_history, log = FALSE)
  expect_identical(nrow(ggplot2::ggplot_build(k3)$layout$layout), 3L)
  lrschedule:::register_keras3_methods()
  expect_identical(plot(keras3_history, hyperparameters = "weight_decay"), keras3_history)
})
