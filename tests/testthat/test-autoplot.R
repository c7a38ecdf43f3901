# autoplot(): ggplot2's generic, for schedules, range tests and runs. What each picture
# holds is read off the built plot (ggplot2::ggplot_build) and compared with the
# formula or the hand-known steps, not with lrschedule's own output.

skip_if_no_ggplot2 <- function() {
  skip_if_no_lrschedule()
  skip_if_not_installed("ggplot2", "3.4.0")
}

geoms <- function(plot) unname(vapply(plot$layers, function(l) class(l$geom)[[1]], ""))

layer_data_of <- function(plot, i) ggplot2::layer_data(plot, i)

test_that("a step schedule is drawn as steps at the formula's rates, a curve as a line", {
  skip_if_no_ggplot2()
  plot <- ggplot2::autoplot(schedule_step_decay(0.1, step_size = 10, gamma = 0.5),
                            steps = 0:39)
  expect_s3_class(plot, "ggplot")
  expect_identical(geoms(plot), "GeomStep")
  drawn <- layer_data_of(plot, 1)
  expect_equal(drawn$x, 0:39)
  expect_equal(drawn$y, 0.1 * 0.5^floor(0:39 / 10), tolerance = 1e-6)
  expect_identical(plot$labels$title, "StepDecay")
  expect_identical(plot$labels$y, "learning rate")

  cycle <- ggplot2::autoplot(schedule_one_cycle(0.01, total_steps = 100))
  expect_identical(geoms(cycle), "GeomLine")
  expect_equal(layer_data_of(cycle, 1)$x, 0:99)  # its whole shape by default

  keras <- py_keras()
  staircase <- keras$optimizers$schedules$ExponentialDecay(0.1, 10L, 0.5, staircase = TRUE)
  smooth <- keras$optimizers$schedules$ExponentialDecay(0.1, 10L, 0.5)
  expect_identical(geoms(ggplot2::autoplot(staircase)), "GeomStep")
  expect_identical(geoms(ggplot2::autoplot(smooth)), "GeomLine")
  per_epoch <- schedule_per_epoch(schedule_cosine_decay(0.1, decay_steps = 10),
                                  steps_per_epoch = 20)
  expect_identical(geoms(ggplot2::autoplot(per_epoch)), "GeomStep")
  # an R function: read off its rates (changes at 3 of 299 steps: steps)
  by_epoch <- schedule_function(function(step) 0.1 * 0.5^(step %/% 100), total_steps = 300)
  expect_identical(geoms(ggplot2::autoplot(by_epoch)), "GeomStep")
  expect_identical(geoms(ggplot2::autoplot(schedule_function(function(step) 1 / (1 + step),
                                                             total_steps = 300))),
                   "GeomLine")
  momentum <- ggplot2::autoplot(schedule_momentum(schedule_one_cycle(0.01, 100)))
  expect_identical(momentum$labels$y, "momentum")
})

test_that("autoplot() of a schedule takes a log axis and more layers", {
  skip_if_no_ggplot2()
  schedule <- schedule_exponential_decay(1, decay_steps = 10, decay_rate = 0.1)
  plot <- ggplot2::autoplot(schedule, steps = 0:50, log = TRUE)
  expect_identical(plot$scales$get_scales("y")$trans$name, "log-10")
  # the drawn values are log10 of the formula's
  expect_equal(layer_data_of(plot, 1)$y, log10(0.1^(0:50 / 10)), tolerance = 1e-5)
  more <- plot + ggplot2::geom_hline(yintercept = 1e-3) + ggplot2::labs(title = "mine")
  expect_identical(geoms(more), c("GeomLine", "GeomHline"))
  expect_identical(more$labels$title, "mine")
  path <- tempfile(fileext = ".png")
  ggplot2::ggsave(path, more, width = 4, height = 3, dpi = 72)
  expect_identical(readBin(path, "raw", 4), as.raw(c(0x89, 0x50, 0x4e, 0x47)))
  unlink(path)

  expect_error(ggplot2::autoplot(schedule, steps = 5), "`steps`",
               class = "lrschedule_argument_error")
  expect_error(ggplot2::autoplot(schedule, log = "yes"), "`log`",
               class = "lrschedule_argument_error")
  expect_error(ggplot2::autoplot(schedule_linear(0, 0, 10), log = TRUE), "`log`",
               class = "lrschedule_argument_error")
})

test_that("autoplot() of lr_find draws the smoothed loss on a log axis and marks the suggestions on it", {
  skip_if_no_ggplot2()
  x <- matrix(seq(-1, 1, length.out = 64), ncol = 1)
  keras <- py_keras()
  model <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))
  model$compile(optimizer = optimizer_sgd(), loss = "mse")
  finder <- lr_find(model, x, 3 * x, start_lr = 1e-4, end_lr = 1, num_steps = 30,
                    batch_size = 8, diverge_factor = NULL, seed = 1, verbose = 0)
  plot <- ggplot2::autoplot(finder)
  expect_identical(geoms(plot), c("GeomLine", "GeomVline", "GeomPoint"))
  expect_identical(plot$scales$get_scales("x")$trans$name, "log-10")
  kept <- seq_len(30 - 5)  # the last 5 points left out, as for the suggestions
  line <- layer_data_of(plot, 1)
  expect_equal(10^line$x, finder$learning_rate[kept], tolerance = 1e-6)
  expect_equal(line$y, finder$smoothed_loss[kept])
  suggested <- finder$suggestions[!is.na(finder$suggestions)]
  expect_gt(length(suggested), 0)
  expect_equal(sort(10^layer_data_of(plot, 2)$xintercept), sort(unname(suggested)),
               tolerance = 1e-6)
  # each point is on the curve: linear in log(rate) between its neighbours
  points <- layer_data_of(plot, 3)
  on_curve <- stats::approx(log(finder$learning_rate[kept]), finder$smoothed_loss[kept],
                            log(10^points$x), rule = 2)$y
  expect_equal(points$y, on_curve, tolerance = 1e-6)
  expect_identical(geoms(ggplot2::autoplot(finder, suggestions = FALSE)), "GeomLine")
  expect_identical(nrow(layer_data_of(ggplot2::autoplot(finder, skip_end = 0), 1)), 30L)
  expect_error(ggplot2::autoplot(finder, skip_end = -1), "`skip_end`",
               class = "lrschedule_argument_error")
})

test_that("autoplot() of a run: used and planned rates, plateau reductions at their steps", {
  skip_if_no_ggplot2()
  schedule <- schedule_one_cycle(0.1, total_steps = 12)
  model <- kernel_model(schedule)
  logger <- callback_lr_logger(per = "batch")
  # the loss falls every epoch, so a plateau in "max" mode halves the rate after every
  # epoch: from steps 4, 6, 8 and 10 (two batches per epoch)
  plateau <- callback_reduce_lr_on_plateau(monitor = "loss", mode = "max", factor = 0.5,
                                           patience = 0)
  history <- fit_kernel(model, list(plateau, logger), epochs = 6)
  plot <- ggplot2::autoplot(logger, schedule = schedule, log = FALSE)
  expect_identical(geoms(plot), c("GeomLine", "GeomLine", "GeomVline"))
  planned <- layer_data_of(plot, 1)
  used <- layer_data_of(plot, 2)
  expect_equal(planned$x, 0:11)
  expect_equal(used$x, 0:11)
  expect_equal(used$y, unlist(logger$batch_rates), tolerance = 1e-7)
  # used = planned until the first reduction, then planned / 2^k after the k-th one
  halvings <- findInterval(0:11, c(4, 6, 8, 10))
  expect_equal(used$y, planned$y / 2^halvings, tolerance = 1e-5)
  expect_equal(layer_data_of(plot, 3)$xintercept, c(4, 6, 8, 10))
  expect_identical(plot$labels$title, "OneCycle: planned and used")
  # by itself the axis is logarithmic: the rates span more than two decades
  expect_identical(ggplot2::autoplot(logger, schedule = schedule)$scales$get_scales("y")$trans$name,
                   "log-10")

  by_epoch <- ggplot2::autoplot(history, schedule = schedule, log = TRUE)
  expect_identical(geoms(by_epoch), c("GeomLine", "GeomLine", "GeomPoint", "GeomVline"))
  expect_equal(layer_data_of(by_epoch, 3)$x, c(1, 3, 5, 7, 9, 11))  # each epoch's last step
  expect_identical(by_epoch$scales$get_scales("y")$trans$name, "log-10")
  expect_identical(geoms(ggplot2::autoplot(history)), c("GeomLine", "GeomPoint"))
  expect_error(ggplot2::autoplot(logger, schedule = "one cycle"), "`schedule`",
               class = "lrschedule_argument_error")
})

test_that("autoplot() marks Keras's warm restarts where Keras makes them", {
  skip_if_no_ggplot2()
  keras <- py_keras()
  restarts <- keras$optimizers$schedules$CosineDecayRestarts(0.1, first_decay_steps = 8L)
  model <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))
  model$compile(optimizer = optimizer_sgd(learning_rate = restarts), loss = "mse")
  logger <- callback_lr_logger(per = "batch")
  model$fit(matrix(1, 4, 1), matrix(1, 4, 1), batch_size = 1L, epochs = 8L,
            shuffle = FALSE, verbose = 0L, callbacks = list(logger))
  plot <- ggplot2::autoplot(logger)
  # Keras's first period is 8 steps, the next twice as long (t_mul = 2): restarts at 8, 24
  expect_equal(layer_data_of(plot, 2)$xintercept, c(8, 24))
  expect_identical(plot$labels$title, "learning rate used")
})

# keras3's fit() returns an R object: its params, and its metrics by epoch (what keras3's
# to_keras_training_history() makes of Keras's History; keras3 itself cannot be in CI).
as_keras3_history <- function(history) {
  structure(class = "keras_training_history",
            list(params = history$params, metrics = lapply(history$history, unlist)))
}

test_that("plot() and autoplot() of keras3's history draw the rates used beside the plan", {
  skip_if_no_ggplot2()
  schedule <- schedule_one_cycle(0.1, total_steps = 12)
  model <- kernel_model(schedule)
  plateau <- callback_reduce_lr_on_plateau(monitor = "loss", mode = "max", factor = 0.5,
                                           patience = 0)
  history <- as_keras3_history(fit_kernel(model, list(plateau, callback_lr_logger()),
                                          epochs = 6))
  plot <- ggplot2::autoplot(history, schedule = schedule, log = FALSE)
  expect_identical(geoms(plot), c("GeomLine", "GeomLine", "GeomPoint", "GeomVline"))
  used <- layer_data_of(plot, 3)
  # each epoch's last step (two batches per epoch), at the rates the history logged
  expect_equal(used$x, c(1, 3, 5, 7, 9, 11))
  expect_equal(used$y, history$metrics$learning_rate, tolerance = 1e-7)
  # planned: the one-cycle formula's rates; used: halved after every epoch from step 4
  planned <- layer_data_of(plot, 1)
  expect_equal(planned$x, 0:11)
  expect_equal(used$y, planned$y[used$x + 1] / 2^findInterval(used$x, c(4, 6, 8, 10)),
               tolerance = 1e-5)

  # plot(): lrschedule's method once keras3 is loaded (registered then), which draws
  # the same run; here registered by hand, as the keras3 load hook does
  lrschedule:::register_keras3_methods()
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_identical(plot(history, schedule = schedule), history)
  run <- lrschedule:::run_data(lrschedule:::keras3_history_for_core(history), schedule,
                               NULL, NULL)
  expect_equal(run$used$step, c(1, 3, 5, 7, 9, 11))
  # per epoch, a reduction shows at the first recorded step after it: the end of the
  # epoch it began in (reductions from steps 4, 6, 8, 10; epochs end at 5, 7, 9, 11)
  expect_equal(run$reductions, c(5, 7, 9, 11))

  # a history without the rates: an error that says what to add, never a silent plot
  bare <- history
  bare$metrics$learning_rate <- NULL
  expect_error(ggplot2::autoplot(bare, schedule = schedule), "callback_lr_logger()",
               fixed = TRUE, class = "lrschedule_argument_error")
  expect_error(plot(bare, schedule = schedule), "callback_lr_logger()", fixed = TRUE,
               class = "lrschedule_argument_error")
})
