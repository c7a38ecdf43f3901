# Horizons, the check against fit() arriving as an R warning, and schedule_extend().
# Expectations: hand tables from the schedules' arguments and the fits' sizes.

horizon_fit <- function(schedule, epochs = 20L, callbacks = list(callback_lr_logger())) {
  keras <- py_keras()
  model <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))
  model$compile(optimizer = optimizer_sgd(schedule), loss = "mse")
  x <- matrix(1, 32, 1)
  model$fit(x, x, batch_size = 4L, epochs = as.integer(epochs), verbose = 0L,
            callbacks = callbacks)
}

test_that("lr_horizon() gives the steps a schedule is sized for, from its arguments", {
  skip_if_no_lrschedule()
  expect_identical(lr_horizon(schedule_one_cycle(0.1, total_steps = 1000)),
                   list(steps = 1000, kind = "ends"))
  expect_identical(lr_horizon(schedule_warmup(schedule_cosine_decay(0.1, decay_steps = 90),
                                              warmup_steps = 10)),
                   list(steps = 100, kind = "ends"))
  expect_identical(lr_horizon(schedule_multistep_decay(0.1, milestones = c(30, 80))),
                   list(steps = 80, kind = "steps"))
  expect_identical(lr_horizon(schedule_per_epoch(schedule_linear(0.1, 0, total_steps = 5),
                                                 steps_per_epoch = 100)),
                   list(steps = 500, kind = "ends"))
  expect_null(lr_horizon(schedule_step_decay(0.1, step_size = 10)))
  expect_null(lr_horizon(schedule_cyclic(0.01, 0.1)))
  expect_error(lr_horizon("x"), class = "lrschedule_argument_error")
})

test_that("a schedule not sized for the fit gives an R warning with the numbers", {
  skip_if_no_lrschedule()
  withr::local_options(lrschedule.horizon_check = TRUE)
  # 20 epochs of 8 batches: 160 updates, where the one-cycle has 100
  expect_warning(horizon_fit(schedule_one_cycle(0.1, total_steps = 100)),
                 "OneCycle ends after 100 updates, but this fit() makes 160 updates (0 to 159): 60 of them after its end",
                 fixed = TRUE, class = "lrschedule_horizon_warning")
  expect_warning(horizon_fit(schedule_one_cycle(0.1, total_steps = 400), epochs = 20L,
                             callbacks = list(callback_horizon_check())),
                 "stopping 240 before", fixed = TRUE, class = "lrschedule_horizon_warning")
  # sized right: silent
  expect_no_warning(horizon_fit(schedule_one_cycle(0.1, total_steps = 160)))
  # muffled, or turned off
  expect_no_warning(suppressWarnings(horizon_fit(schedule_one_cycle(0.1, total_steps = 10)),
                                     classes = "lrschedule_horizon_warning"))
  withr::local_options(lrschedule.horizon_check = FALSE)
  expect_no_warning(horizon_fit(schedule_one_cycle(0.1, total_steps = 10)))
})

test_that("schedule_extend() keeps the old rates, then stretches the rest to the new end", {
  skip_if_no_lrschedule()
  planned <- schedule_one_cycle(0.1, total_steps = 100)
  longer <- schedule_extend(planned, at_step = 60, total_steps = 200)
  expect_identical(lr_values(longer, 0:59), lr_values(planned, 0:59))
  # old step 80, halfway through the rest, is new step 60 + 20 * 140 / 40 = 130
  expect_equal(lr_values(longer, c(60, 130, 200, 250)), lr_values(planned, c(60, 80, 100, 100)),
               tolerance = 1e-6)
  steps <- schedule_extend(schedule_multistep_decay(0.1, milestones = c(10, 20), gamma = 0.5),
                           5, 50)
  # the last milestone moves from 20 to 50; the first from 10 to 5 + 5 * 45 / 15 = 20
  expect_equal(lr_values(steps, c(19, 20, 49, 50)), c(0.1, 0.05, 0.05, 0.025), tolerance = 1e-6)
  expect_error(schedule_extend(schedule_step_decay(0.1, 10), 5, 50),
               "must be a schedule that ends", class = "python.builtin.ValueError")
  expect_error(schedule_extend(planned, at_step = -1, total_steps = 200))
})

test_that("a schedule built without its length takes the run's from fit()", {
  skip_if_no_lrschedule()
  s <- schedule_one_cycle(0.1)
  expect_match(format(s), "length: taken from fit() when training starts", fixed = TRUE,
               all = FALSE)
  expect_error(lr_values(s, 0:2), "not known yet")
  expect_null(lr_horizon(s))
  keras <- py_keras()
  model <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))
  model$compile(optimizer = optimizer_sgd(s), loss = "mse")
  x <- matrix(1, 8, 1)
  # 5 epochs of 4 batches: 20 updates
  history <- model$fit(x, x, batch_size = 2L, epochs = 5L, verbose = 0L,
                       callbacks = list(callback_lr_logger()))
  expect_identical(lr_horizon(s), list(steps = 20, kind = "ends"))
  expect_equal(unlist(history$history$learning_rate),
               lr_values(schedule_one_cycle(0.1, total_steps = 20), c(3, 7, 11, 15, 19)),
               tolerance = 1e-6)
  # the plateau fills the run: warmup 2, the last quarter (5) decays, 13 at the peak
  wsd <- lr_with_length(schedule_warmup_stable_decay(0.1, 2, decay_steps = 0.25), 20)
  expect_equal(lr_values(wsd, 0:20),
               lr_values(schedule_warmup_stable_decay(0.1, 2, 13, 5), 0:20), tolerance = 1e-7)
  expect_error(schedule_warmup_stable_decay(0.1, 2), "decay_steps",
               class = "lrschedule_argument_error")
})
