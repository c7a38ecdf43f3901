test_that("every schedule built in R gives the reference rates", {
  skip_if_no_lrschedule()
  table <- reference_table()
  for (case in unique(table$case)) {
    rows <- table[table$case == case, ]
    args <- jsonlite::fromJSON(rows$args[[1]], simplifyVector = FALSE)
    schedule <- build_reference(rows$r_function[[1]], args)
    expect_s3_class(schedule, "lrschedule_schedule")
    expect_identical(schedule$`__class__`$`__name__`, rows$python_class[[1]], label = case)
    expect_equal(lr_values(schedule, rows$step), rows$lr, tolerance = rows$rtol[[1]],
                 label = case)
  }
})

test_that("the reference table covers every schedule function, and no other", {
  exported <- grep("^schedule_", getNamespaceExports("lrschedule"), value = TRUE)
  # the recipes build those schedules from other libraries' configurations (test-recipes.R);
  # schedule_shaped_like() is a helper that makes a schedule_scaled() (Scaled, whose rows
  # are schedule_scaled()'s) from a rate schedule (test-hyperparameters.R)
  exported <- setdiff(exported, c("schedule_from_transformers", "schedule_from_torch",
                                  "schedule_from_timm", "schedule_shaped_like"))
  expect_setequal(unique(reference_table()$r_function), exported)
})

test_that("R arguments become the Python types Keras expects", {
  skip_if_no_lrschedule()
  s <- schedule_step_decay(0.1, step_size = 1000, gamma = 0.5)
  config <- s$get_config()
  expect_identical(config$step_size, 1000L)
  expect_identical(config$initial_learning_rate, 0.1)
  builtins <- reticulate::import_builtins(convert = FALSE)
  expect_equal(reticulate::py_to_r(builtins$type(s$step_size)$`__name__`), "int")

  m <- schedule_multistep_decay(1, milestones = 30)  # length 1 stays a list in Python
  expect_identical(m$get_config()$milestones, 30L)
  expect_equal(lr_values(m, c(29, 30)), c(1, 0.1), tolerance = 1e-6)

  k <- schedule_exponential_decay(0.1, decay_steps = 10, decay_rate = 0.5)
  expect_identical(k$get_config()$decay_steps, 10L)
  c1 <- schedule_cyclic(0.001, 0.01, step_size_up = 10)
  expect_null(c1$get_config()$step_size_down)
})

test_that("schedules are the core's own Python classes", {
  skip_if_no_lrschedule()
  lrs <- reticulate::import("lrschedule")
  expect_true(reticulate::import_builtins()$isinstance(schedule_one_cycle(0.1, 100), lrs$OneCycle))
  expect_true(reticulate::import_builtins()$isinstance(
    schedule_cosine_decay(0.1, 100), py_keras()$optimizers$schedules$CosineDecay))
})

test_that("schedule_function tabulates vectorized and scalar-only R functions", {
  skip_if_no_lrschedule()
  vectorized <- schedule_function(function(step) 0.1 * 0.5^(step %/% 2), total_steps = 5)
  expect_equal(lr_values(vectorized, 0:6), c(0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.025),
               tolerance = 1e-6)
  calls <- 0
  scalar_only <- function(step) {
    calls <<- calls + 1
    if (step < 2) 0.01 * (step + 1) else 0.05  # `if` fails on a vector
  }
  s <- schedule_function(scalar_only, total_steps = 4)
  expect_equal(lr_values(s, 0:4), c(0.01, 0.02, 0.05, 0.05, 0.05), tolerance = 1e-6)
  expect_equal(calls, 5)  # one vectorized attempt, then 4 calls: nothing at train time
})

test_that("composed schedules accept Keras's and ours, and numbers in a sequence", {
  skip_if_no_lrschedule()
  w <- schedule_warmup(schedule_exponential_decay(1, 1, 0.5), warmup_steps = 2)
  expect_equal(lr_values(w, 0:4), c(0, 0.5, 1, 0.5, 0.25), tolerance = 1e-6)
  s <- schedule_sequence(list(schedule_constant(1), 0.5), boundaries = 2)
  expect_equal(lr_values(s, 0:3), c(1, 1, 0.5, 0.5), tolerance = 1e-6)
  single <- schedule_sequence(list(schedule_constant(0.3)), boundaries = integer())
  expect_equal(lr_values(single, 0:1), c(0.3, 0.3), tolerance = 1e-6)
  p <- schedule_per_epoch(schedule_step_decay(1, 1, 0.5), steps_per_epoch = 3)
  expect_equal(lr_values(p, 0:6), c(1, 1, 1, 0.5, 0.5, 0.5, 0.25), tolerance = 1e-6)
})

test_that("every schedule_*() has the argument names and defaults of its Python class", {
  skip_if_no_lrschedule()
  inspect <- reticulate::import("inspect")
  pairs <- unique(reference_table()[c("r_function", "python_class")])  # all: see above
  for (i in seq_len(nrow(pairs))) {
    fn <- pairs$r_function[[i]]
    mirrored <- python_counterpart(fn, pairs$python_class[[i]])
    params <- reticulate::import_builtins()$dict(inspect$signature(mirrored)$parameters)
    py_names <- setdiff(names(params), "name")  # Keras's schedules also take a scope name
    r_formals <- formals(get(fn, envir = asNamespace("lrschedule")))
    expect_setequal(names(r_formals), py_names)
    for (arg in py_names) {
      py_default <- params[[arg]]$default
      if (identical(class(py_default)[[1]], "python.builtin.type")) {  # inspect.Parameter.empty
        expect_identical(r_formals[[arg]], quote(expr = ), label = paste(fn, arg))
      } else if (is.null(py_default)) {
        expect_null(eval(r_formals[[arg]]), label = paste(fn, arg))
      } else {
        expect_equal(eval(r_formals[[arg]]), py_default, label = paste(fn, arg))
      }
    }
  }
})
