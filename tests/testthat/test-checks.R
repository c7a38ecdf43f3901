# Bad input: an R error naming the argument and the value, from R or from the core.

expect_arg_error <- function(expr, arg, value, class = "lrschedule_argument_error") {
  err <- expect_error(expr, class = class)
  expect_match(conditionMessage(err), arg, fixed = TRUE)
  expect_match(conditionMessage(err), value, fixed = TRUE)
  invisible(err)
}

test_that("R-side mistakes are refused before Python is reached", {
  expect_arg_error(schedule_step_decay(0.1, step_size = 10.5), "`step_size`", "10.5")
  expect_arg_error(schedule_step_decay(0.1, step_size = NA), "`step_size`", "NA")
  expect_arg_error(schedule_step_decay(0.1, step_size = c(1, 2)), "`step_size`", "c(1, 2)")
  expect_arg_error(schedule_step_decay(0.1, step_size = "10"), "`step_size`", "\"10\"")
  expect_arg_error(schedule_step_decay(NA_real_, 10), "`initial_learning_rate`", "NA")
  expect_arg_error(schedule_step_decay(Inf, 10), "`initial_learning_rate`", "Inf")
  expect_arg_error(schedule_step_decay(NULL, 10), "`initial_learning_rate`", "NULL")
  expect_arg_error(schedule_one_cycle(0.1, 100, three_phase = NA), "`three_phase`", "NA")
  expect_arg_error(schedule_one_cycle(0.1, 100, anneal_strategy = 1), "`anneal_strategy`", "1")
  expect_arg_error(schedule_multistep_decay(0.1, c(10, NA)), "`milestones`", "NA")
  expect_arg_error(schedule_multistep_decay(0.1, numeric()), "`milestones`", "numeric(0)")
  expect_arg_error(schedule_piecewise_constant(c(10, 20), c(1, NA, 3)), "`values`", "NA")
  expect_arg_error(schedule_cyclic(0.1, 1, step_size_down = 2.5), "`step_size_down`", "2.5")
  expect_arg_error(schedule_one_cycle(0.1, 100, base_momentum = "a"), "`base_momentum`", "a")
  expect_arg_error(schedule_cyclic(0.1, 1, max_momentum = NA), "`max_momentum`", "NA")
  expect_arg_error(schedule_warmup(function(s) 0.1, 10), "`schedule`", "an R function")
  expect_arg_error(schedule_warmup(0.1, 10), "`schedule`", "0.1")
  expect_arg_error(schedule_sequence(schedule_constant, 1), "`schedules`", "")
  expect_arg_error(schedule_function(0.1, 10), "`fn`", "0.1")
  expect_arg_error(schedule_function(function(s) 0.1, 0), "`total_steps`", "0")
  expect_arg_error(lr_values(1e-3, -1), "`steps`", "-1")
  expect_arg_error(lr_values(1e-3, c(0, 0.5)), "`steps`", "0.5")
})

test_that("the core's checks come back as R errors of class python.builtin.ValueError", {
  skip_if_no_lrschedule()
  err <- expect_error(schedule_one_cycle(0.1, total_steps = 0), class = "python.builtin.ValueError")
  expect_equal(conditionMessage(err),
               "Argument `total_steps` must be >= 2. Received: total_steps=0")
  expect_error(schedule_multistep_decay(0.1, c(30, 10)), "milestones=\\[30, 10\\]",
               class = "python.builtin.ValueError")
  expect_error(schedule_cyclic(0.1, 0.01), "max_lr=0.01", class = "python.builtin.ValueError")
  expect_error(schedule_one_cycle(0.1, 100, base_momentum = 1.5), "base_momentum=1.5",
               class = "python.builtin.ValueError")
  expect_error(schedule_momentum(schedule_step_decay(0.1, 10)), "OneCycle or Cyclic",
               class = "python.builtin.TypeError")
  expect_error(schedule_one_cycle(0.1, 100, anneal_strategy = "cosine"),
               "anneal_strategy='cosine'", class = "python.builtin.ValueError")
  expect_error(schedule_sequence(list(schedule_constant(1), schedule_constant(2)), c(5, 10)),
               "boundaries=\\[5, 10\\]", class = "python.builtin.ValueError")
  expect_error(schedule_function(function(s) 1 - s, 3), "At step 2 it returned `-1`",
               class = "lrschedule_argument_error")
  expect_error(schedule_function(function(s) if (s > 0) "x" else 1, 3),
               "must return one number per step", class = "lrschedule_argument_error")
  # The session goes on: the next call works.
  expect_equal(lr_values(schedule_constant(0.1), 0:1), c(0.1, 0.1), tolerance = 1e-6)
})

test_that("an error names the user's call, not an internal one", {
  skip_if_no_lrschedule()
  err <- expect_error(schedule_linear(0, 1, total_steps = 2.5))
  expect_equal(as.character(err$call[[1]]), "schedule_linear")
  err <- expect_error(schedule_linear(0, -1, total_steps = 2))
  expect_equal(as.character(err$call[[1]]), "schedule_linear")
})

test_that("a schedule restored by readRDS() is refused with what to do", {
  skip_if_no_lrschedule()
  path <- tempfile(fileext = ".rds")
  saveRDS(schedule_constant(0.1), path)
  dead <- readRDS(path)
  err <- expect_error(lr_values(dead, 0:2), class = "lrschedule_argument_error")
  expect_match(conditionMessage(err), "Python object no longer exists", fixed = TRUE)
  expect_error(schedule_warmup(dead, 10), "build it again", fixed = TRUE)
  expect_match(format(dead), "dead Python object", fixed = TRUE)
})

test_that("an R function failing inside schedule_function() names the step, keeps its message", {
  skip_if_no_lrschedule()
  fails_at_3 <- function(step) {
    if (step == 3) stop("no rate for this step")
    0.1
  }
  err <- expect_error(schedule_function(fails_at_3, 5), class = "lrschedule_argument_error")
  expect_match(conditionMessage(err), "`fn` failed at step 3", fixed = TRUE)
  expect_match(conditionMessage(err$parent), "no rate for this step", fixed = TRUE)
  expect_error(schedule_function(function(step) "fast", 3), "one number per step",
               class = "lrschedule_argument_error")
  expect_error(schedule_function(function(step) c(step, step), 3), "At step 0",
               class = "lrschedule_argument_error")
})
