optimizers <- c(adam = "Adam", adamw = "AdamW", sgd = "SGD", rmsprop = "RMSprop",
                adagrad = "Adagrad", adadelta = "Adadelta", adamax = "Adamax", nadam = "Nadam",
                ftrl = "Ftrl", lion = "Lion", lamb = "Lamb", adafactor = "Adafactor",
                muon = "Muon", schedule_free_adamw = "ScheduleFreeAdamW")

test_that("every optimizer_*() has the arguments and defaults of its Keras class", {
  skip_if_no_lrschedule()
  inspect <- reticulate::import("inspect")
  for (name in names(optimizers)) {
    fn <- get(paste0("optimizer_", name), envir = asNamespace("lrschedule"))
    params <- inspect$signature(py_keras()$optimizers[[optimizers[[name]]]])$parameters
    py_names <- setdiff(names(reticulate::import_builtins()$dict(params)), "kwargs")
    expect_identical(names(formals(fn)), py_names, label = name)
    for (arg in py_names) {
      default <- params[[arg]]$default
      r_default <- eval(formals(fn)[[arg]])
      if (is.null(default)) expect_null(r_default, label = paste(name, arg))
      else expect_equal(r_default, default, label = paste(name, arg))
    }
  }
})

test_that("optimizers take a number or any schedule and return the Keras optimizer", {
  skip_if_no_lrschedule()
  for (name in names(optimizers)) {
    fn <- get(paste0("optimizer_", name))
    opt <- fn(learning_rate = schedule_one_cycle(0.01, total_steps = 100))
    expect_true(reticulate::import_builtins()$isinstance(
      opt, py_keras()$optimizers[[optimizers[[name]]]]), label = name)
  }
  opt <- optimizer_sgd(learning_rate = 0.05, momentum = 0.9, nesterov = TRUE)
  expect_equal(opt$get_config()$momentum, 0.9)
  expect_equal(opt$learning_rate$numpy(), 0.05, tolerance = 1e-6)
  opt <- optimizer_adam(gradient_accumulation_steps = 4)
  expect_identical(opt$get_config()$gradient_accumulation_steps, 4L)
})

test_that("a wrong learning_rate says what to do instead", {
  skip_if_no_lrschedule()
  expect_error(optimizer_adam(learning_rate = function(epoch) 0.1),
               "schedule_function\\(fn, total_steps\\)", class = "lrschedule_argument_error")
  expect_error(optimizer_adam(learning_rate = py_keras()$callbacks$ReduceLROnPlateau()),
               "callbacks", class = "lrschedule_argument_error")
  expect_error(optimizer_adam(learning_rate = -1), "positive number",
               class = "lrschedule_argument_error")
  expect_error(optimizer_adam(learning_rate = "fast"), "positive number",
               class = "lrschedule_argument_error")
  expect_error(optimizer_adam(learning_rate = c(0.1, 0.2)), "positive number",
               class = "lrschedule_argument_error")
  expect_error(optimizer_sgd(momentum = NA), "`momentum`", class = "lrschedule_argument_error")
  expect_error(optimizer_adam(gradient_accumulation_steps = 2.5), "`gradient_accumulation_steps`",
               class = "lrschedule_argument_error")
})

test_that("an optimizer built in R trains a Keras model with its schedule", {
  skip_if_no_lrschedule()
  keras <- py_keras()
  np <- reticulate::import("numpy", convert = FALSE)
  model <- keras$Sequential(list(
    keras$Input(shape = list(1L)),
    keras$layers$Dense(1L, use_bias = FALSE, kernel_initializer = "zeros")
  ))
  schedule <- schedule_step_decay(0.1, step_size = 2, gamma = 0.5)
  model$compile(optimizer = optimizer_sgd(learning_rate = schedule), loss = "mean_absolute_error")
  x <- np$ones(c(6L, 1L), dtype = "float32")
  y <- np$full(c(6L, 1L), -1000, dtype = "float32")
  model$fit(x, y, batch_size = 1L, epochs = 1L, shuffle = FALSE, verbose = 0L)
  # |w + 1000| has gradient 1: the kernel moved by minus the sum of the rates used.
  kernel <- model$layers[[1]]$kernel$numpy()[1, 1]
  expect_equal(kernel, -sum(lr_values(schedule, 0:5)), tolerance = 1e-5)
  expect_equal(model$optimizer$iterations$numpy(), 6)
})

test_that("optimizer_loss_scale() wraps an optimizer with Keras's arguments and defaults", {
  skip_if_no_lrschedule()
  inspect <- reticulate::import("inspect")
  params <- inspect$signature(py_keras()$optimizers$LossScaleOptimizer)$parameters
  py_names <- setdiff(names(reticulate::import_builtins()$dict(params)), "kwargs")
  expect_identical(names(formals(optimizer_loss_scale)), py_names)
  expect_equal(eval(formals(optimizer_loss_scale)$initial_scale), params[["initial_scale"]]$default)
  expect_equal(eval(formals(optimizer_loss_scale)$dynamic_growth_steps),
               params[["dynamic_growth_steps"]]$default)
  inner <- optimizer_adam(learning_rate = schedule_step_decay(0.1, step_size = 2, gamma = 0.5))
  opt <- optimizer_loss_scale(inner, initial_scale = 8, dynamic_growth_steps = 10)
  expect_true(reticulate::import_builtins()$isinstance(opt, py_keras()$optimizers$LossScaleOptimizer))
  expect_equal(opt$inner_optimizer, inner)
  expect_equal(opt$get_config()$initial_scale, 8)
  expect_identical(opt$get_config()$dynamic_growth_steps, 10L)
  # the rate is the inner optimizer's schedule, and lr_current() reads it
  expect_equal(lr_current(opt), 0.1, tolerance = 1e-6)
})

test_that("a zero-argument R function as learning_rate goes to Keras, as keras3 passes it", {
  skip_if_no_lrschedule()
  calls <- 0
  rate <- function() {
    calls <<- calls + 1
    0.25
  }
  for (optimizer in list(optimizer_sgd, optimizer_adam, optimizer_adamw)) {
    opt <- optimizer(learning_rate = rate)
    # Keras keeps the callable and calls it for the rate, as for keras3's optimizer_*()
    expect_true(reticulate::import_builtins()$callable(opt$`_learning_rate`))
    expect_equal(as.numeric(opt$learning_rate), 0.25)
  }
  model <- kernel_model(learning_rate = rate)
  before <- calls
  fit_kernel(model, list(), epochs = 1L, batch_size = 1L)
  # SGD on |w + 1000|: each of the 4 steps (4 rows, batches of 1) moves the kernel by the rate
  expect_equal(model$layers[[1]]$kernel$numpy()[1, 1], -4 * 0.25, tolerance = 1e-6)
  expect_gt(calls, before)
  # a function of arguments is still refused, naming its arguments
  expect_error(optimizer_adam(learning_rate = function(step) 0.1),
               class = "lrschedule_argument_error", regexp = "function\\(step\\)")
})
