test_that("lr_values: a number is a step at every length, a range is those steps", {
  skip_if_no_lrschedule()
  s <- schedule_step_decay(1, step_size = 1, gamma = 0.5)
  # lr_values(s, 3) is the rate at step 3 (before 0.2.0 it meant steps 0:2)
  expect_equal(lr_values(s, 3), 0.125, tolerance = 1e-6)
  expect_equal(lr_values(s, 0), 1, tolerance = 1e-6)
  expect_equal(lr_values(s, 0:2), c(1, 0.5, 0.25), tolerance = 1e-6)
  expect_equal(lr_values(s, c(2, 0)), c(0.25, 1), tolerance = 1e-6)
  expect_equal(lr_values(s, 3:5), c(0.125, 0.0625, 0.03125), tolerance = 1e-6)
  expect_identical(lr_values(s, numeric()), numeric())
  expect_equal(lr_values(0.01, 0:1), c(0.01, 0.01), tolerance = 1e-6)
  expect_equal(lr_values(0.01, 7), 0.01, tolerance = 1e-6)
  # one number past R's integers is still one step
  late <- schedule_step_decay(1, step_size = 2^30)
  expect_equal(lr_values(late, 2^31 + 5), 0.01, tolerance = 1e-6)
  expect_equal(lr_values(late, 2^31 - 1), 0.1, tolerance = 1e-6)
  big <- lr_values(schedule_multistep_decay(1, 16777217), c(16777216, 16777217))
  expect_equal(big, c(1, 0.1), tolerance = 1e-6)
})

test_that("format says what the schedule is, its parameters and a few values", {
  skip_if_no_lrschedule()
  text <- format(schedule_one_cycle(0.01, total_steps = 1000))
  expect_match(text[[1]], "<OneCycle> learning-rate schedule")
  expect_true(any(grepl("max_lr = 0.01", text, fixed = TRUE)))
  expect_true(any(grepl("anneal_strategy = \"cos\"", text, fixed = TRUE)))
  expect_match(text[[length(text)]], "lr at step +0: 4e-04")
  expect_output(print(schedule_constant(0.5)), "<Constant> learning-rate schedule")
  keras_own <- py_keras()$optimizers$schedules$ExponentialDecay(0.1, 10L, 0.5)
  expect_output(print(keras_own), "<ExponentialDecay>")
  expect_match(format(keras_own)[[1]], "ExponentialDecay")
})

test_that("as.data.frame gives steps and rates; plot draws them", {
  skip_if_no_lrschedule()
  s <- schedule_linear(0, 1, total_steps = 4)
  df <- as.data.frame(s, steps = 0:5)
  expect_equal(df$step, 0:5)
  expect_equal(df$learning_rate, c(0, 0.25, 0.5, 0.75, 1, 1), tolerance = 1e-6)
  expect_equal(nrow(as.data.frame(s)), 4)  # the schedule's own length by default
  keras_own <- py_keras()$optimizers$schedules$PolynomialDecay(0.1, 10L)
  expect_equal(nrow(as.data.frame(keras_own, steps = 0:2)), 3)
  expect_equal(as.data.frame(s, steps = 2), data.frame(step = 2, learning_rate = 0.5),
               tolerance = 1e-6)

  path <- tempfile(fileext = ".png")
  grDevices::png(path)
  expect_invisible(plot(schedule_one_cycle(0.01, 100), log = TRUE))
  plot(keras_own, steps = 0:19)
  grDevices::dev.off()
  expect_gt(file.size(path), 1000)
})

test_that("every Keras schedule reaching R gets the stable S3 class", {
  skip_if_no_lrschedule()
  keras_own <- py_keras()$optimizers$schedules$CosineDecay(0.1, 100L)
  expect_identical(class(keras_own)[[1]], "lrschedule_schedule")
  core_own <- reticulate::import("lrschedule")$StepDecay(1, step_size = 2L)
  expect_identical(class(core_own)[[1]], "lrschedule_schedule")
  expect_equal(lr_values(core_own, 0:3), c(1, 1, 0.1, 0.1), tolerance = 1e-6)
  # Read back from an optimizer: Python hands back the object, R gives it the class.
  opt <- optimizer_sgd(learning_rate = schedule_linear(0, 1, total_steps = 4))
  back <- reticulate::py_get_attr(opt, "_learning_rate")
  expect_identical(class(back)[[1]], "lrschedule_schedule")
  expect_match(format(back)[[1]], "<Linear> learning-rate schedule", fixed = TRUE)
  # Other Python objects are left alone.
  expect_false(inherits(py_keras()$layers$Dense(1L), "lrschedule_schedule"))
  expect_false(inherits(opt, "lrschedule_schedule"))
})

test_that("format and print show the rate at the steps asked for", {
  skip_if_no_lrschedule()
  s <- schedule_step_decay(1, step_size = 10, gamma = 0.5)
  # by default, five steps spread over its shown span 0:39 (4 * step_size): round() of
  # 0, 9.75, 19.5, 29.25, 39
  last <- function(text) text[[length(text)]]
  shown <- strsplit(sub("^ *lr at step *", "", last(format(s))), " \\| ")[[1]]
  expect_equal(as.numeric(sub(":.*", "", shown)), c(0, 10, 20, 29, 39))
  expect_equal(as.numeric(sub(".*: ", "", shown)), 0.5^c(0, 1, 2, 2, 3), tolerance = 1e-3)
  # one number is one step
  expect_match(last(format(s, steps = 100)), "lr at step 100: 0.0009766", fixed = TRUE)
  expect_match(last(format(s, steps = c(5, 30))), "lr at step  5: 1 | 30: 0.125", fixed = TRUE)
  expect_output(print(s, steps = c(10, 20)), "10: 0.5 | 20: 0.25", fixed = TRUE)
  expect_error(format(s, steps = numeric()), "`steps`", class = "lrschedule_argument_error")
  expect_error(format(s, steps = 2.5), "`steps`", class = "lrschedule_argument_error")
})

test_that("plot refuses a single step, which would draw nothing", {
  skip_if_no_lrschedule()
  err <- expect_error(plot(schedule_constant(0.1), steps = 500),
                      class = "lrschedule_argument_error")
  expect_match(conditionMessage(err), "at least 2 step numbers, e.g. 0:999", fixed = TRUE)
  expect_match(conditionMessage(err), "500", fixed = TRUE)
})

test_that("the default span shows the whole shape, as Python's default_steps() does", {
  skip_if_no_lrschedule()
  span <- function(s) nrow(as.data.frame(s))
  expect_equal(span(schedule_one_cycle(0.1, 500)), 500)
  expect_equal(span(schedule_warmup(schedule_one_cycle(0.1, 300), 100)), 400)
  expect_equal(span(schedule_warmup_stable_decay(0.1, 10, 20, 30)), 60)
  expect_equal(span(schedule_cyclic(0.01, 0.1, 20, 30)), 100)
  expect_equal(span(schedule_step_decay(0.1, 25)), 100)
  expect_equal(span(schedule_multistep_decay(0.1, c(40, 80))), 100)
  expect_equal(span(schedule_cosine_decay(0.1, 300, warmup_target = 1, warmup_steps = 20)), 320)
  expect_equal(span(schedule_constant(0.1)), 1000)
  expect_equal(span(schedule_function(function(step) 0.1 / (1 + step), 50)), 50)
})

test_that("lr_current gives the rate the next update uses, whatever drives it", {
  skip_if_no_lrschedule()
  keras <- py_keras()
  probe <- function(learning_rate) {
    m <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))
    m$compile(optimizer = optimizer_sgd(learning_rate = learning_rate), loss = "mse")
    m
  }
  x <- matrix(1:6 / 6)
  constant <- probe(0.01)
  expect_equal(lr_current(constant), 0.01, tolerance = 1e-7)
  # StepDecay: 0.1 * 0.5^floor(step / 2); after 5 updates the next is step 5
  decay <- probe(schedule_step_decay(0.1, step_size = 2, gamma = 0.5))
  expect_equal(lr_current(decay), 0.1, tolerance = 1e-6)
  decay$fit(x[1:5, , drop = FALSE], x[1:5, , drop = FALSE], batch_size = 1L, epochs = 1L,
            shuffle = FALSE, verbose = 0L)
  expect_equal(lr_current(decay), 0.025, tolerance = 1e-6)
  expect_equal(lr_current(decay$optimizer), 0.025, tolerance = 1e-6)
  # per-epoch R function: the value set at the last epoch's start holds
  held <- probe(0.05)
  held$fit(x, x, batch_size = 3L, epochs = 3L, verbose = 0L,
           callbacks = list(callback_schedule_lr(function(epoch) 0.2 / (1 + epoch))))
  expect_equal(lr_current(held), 0.2 / 3, tolerance = 1e-6)
})
