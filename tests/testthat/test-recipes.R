# schedule_from_transformers(): transformers' schedules, written out here from
# transformers' own lambdas (optimization.py), as the Trainer steps them.

test_that("a transformers cosine recipe gives transformers' rates at every step", {
  skip_if_no_lrschedule()
  total <- 120; warmup <- 12; lr <- 3e-4
  s <- schedule_from_transformers("cosine", num_training_steps = total,
                                  num_warmup_steps = warmup, learning_rate = lr)
  expect_s3_class(s, "lrschedule_schedule")
  steps <- 0:total
  progress <- (steps - warmup) / max(1, total - warmup)
  expected <- ifelse(steps < warmup, steps / max(1, warmup),
                     pmax(0, 0.5 * (1 + cos(pi * 0.5 * 2 * progress))))
  expect_equal(lr_values(s, steps), lr * expected, tolerance = 1e-5)
})

test_that("a TrainingArguments list makes the Trainer's schedule", {
  skip_if_no_lrschedule()
  s <- schedule_from_transformers(list(learning_rate = 2e-5, lr_scheduler_type = "linear",
                                       warmup_ratio = 0.1, max_steps = 95))
  warmup <- ceiling(95 * 0.1)  # TrainingArguments$get_warmup_steps()
  steps <- 0:95
  expected <- ifelse(steps < warmup, steps / warmup, pmax(0, (95 - steps) / (95 - warmup)))
  expect_equal(lr_values(s, steps), 2e-5 * expected, tolerance = 1e-5)
  wsd <- schedule_from_transformers("warmup_stable_decay", num_training_steps = 100,
                                    num_warmup_steps = 10, learning_rate = 1,
                                    num_decay_steps = 20, decay_type = "linear")
  expect_equal(lr_horizon(wsd), list(steps = 100, kind = "ends"))
})

test_that("the plateau scheduler is a callback, and what cannot be reproduced is refused", {
  skip_if_no_lrschedule()
  cb <- schedule_from_transformers("reduce_lr_on_plateau", learning_rate = 0.1, patience = 2)
  expect_identical(cb$min_delta_mode, "rel")
  expect_identical(cb$patience, 3L)  # PyTorch's 2 bad epochs tolerated, reduced at the third
  expect_true(inherits(cb, "keras.src.callbacks.callback.Callback"))
  expect_error(schedule_from_transformers("greedy", 10, 0, 1), "`name`",
               class = "python.builtin.ValueError")
  expect_error(schedule_from_transformers("cosine", 10, 0, 1, lr_end = 0.1), "`lr_end`",
               class = "python.builtin.ValueError")
  expect_error(schedule_from_transformers("reduce_lr_on_plateau", learning_rate = 1,
                                          threshold_mode = "relative"),
               "`threshold_mode`", class = "python.builtin.ValueError")
  expect_error(schedule_from_transformers(1), "`name`", class = "lrschedule_argument_error")
  expect_error(schedule_from_transformers("cosine", 10, 0, 1, 5), "`...`",
               class = "lrschedule_argument_error")
  expect_error(schedule_from_transformers("cosine", num_training_steps = 2.5), "`num_training_steps`",
               class = "lrschedule_argument_error")
})

test_that("a PyTorch scheduler built through reticulate gives PyTorch's rates", {
  skip_if_no_lrschedule()
  skip_if_not(reticulate::py_module_available("torch"), "no torch in this Python")
  torch <- reticulate::import("torch")
  opt <- torch$optim$SGD(list(torch$nn$Parameter(torch$zeros(1L))), lr = 0.2)
  sched <- torch$optim$lr_scheduler$MultiStepLR(opt, milestones = c(3L, 5L), gamma = 0.5)
  s <- schedule_from_torch(sched)
  expect_s3_class(s, "lrschedule_schedule")
  expect_equal(lr_values(s, 0:6), 0.2 * c(1, 1, 1, 0.5, 0.5, 0.25, 0.25), tolerance = 1e-6)
  expect_error(schedule_from_torch("StepLR"), "`scheduler`", class = "lrschedule_argument_error")
  lambda <- torch$optim$lr_scheduler$LambdaLR(opt, lr_lambda = function(t) 1 / (t + 1))
  expect_error(schedule_from_torch(lambda), "`horizon`", class = "python.builtin.ValueError")
})

test_that("a timm recipe, from a list or an args.yaml, gives timm's rates", {
  skip_if_no_lrschedule()
  # timm's cosine with warmup, per epoch: warmup_lr + t * (lr - warmup_lr) / warmup_t, then
  # lr_min + (lr - lr_min) / 2 * (1 + cos(pi * t / t_initial)) (timm's cosine_lr.py)
  s <- schedule_from_timm(list(sched = "cosine", num_epochs = 10, warmup_epochs = 2,
                               warmup_lr = 1e-4, min_lr = 1e-3),
                          steps_per_epoch = 3, learning_rate = 0.1)
  epoch <- rep(0:9, each = 3)
  expected <- ifelse(epoch < 2, 1e-4 + epoch * (0.1 - 1e-4) / 2,
                     1e-3 + 0.5 * (0.1 - 1e-3) * (1 + cos(pi * epoch / 10)))
  expect_equal(lr_values(s, 0:29), expected, tolerance = 1e-5)
  skip_if_not_installed("yaml")
  path <- withr::local_tempfile(fileext = ".yaml")
  writeLines(c("sched: step", "epochs: 9", "lr: 0.2", "decay_epochs: 3", "decay_rate: 0.5",
               "warmup_epochs: 0", "model: resnet50", "batch_size: 64"), path)
  s <- schedule_from_timm(path, steps_per_epoch = 2)
  expect_equal(lr_values(s, c(0, 5, 6, 12, 17)), 0.2 * 0.5^c(0, 0, 1, 2, 2), tolerance = 1e-6)
  expect_error(schedule_from_timm(list(sched = "plateau", num_epochs = 5), 2, 0.1), "`sched`",
               class = "python.builtin.ValueError")
  expect_error(schedule_from_timm(list(1), 2), "`config`", class = "lrschedule_argument_error")
  expect_error(schedule_from_timm("/no/such.yaml", 2), "`config`",
               class = "lrschedule_argument_error")
})

test_that("a bad value of any recipe argument is refused, naming it", {
  skip_if_no_lrschedule()
  r_error <- "lrschedule_argument_error"
  py_error <- "python.builtin.ValueError"
  rows <- list(
    list(quote(schedule_from_transformers(NA, 10, 0, 1)), "`name`", r_error),
    list(quote(schedule_from_transformers(c("a", "b"), 10, 0, 1)), "`name`", r_error),
    list(quote(schedule_from_transformers("cosine", NA, 0, 1)), "`num_training_steps`", r_error),
    list(quote(schedule_from_transformers("cosine", "10", 0, 1)), "`num_training_steps`", r_error),
    list(quote(schedule_from_transformers("cosine", 0, 0, 1)), "`num_training_steps`", py_error),
    list(quote(schedule_from_transformers("cosine", 10, 1.5, 1)), "`num_warmup_steps`", r_error),
    list(quote(schedule_from_transformers("cosine", 10, -1, 1)), "`num_warmup_steps`", py_error),
    list(quote(schedule_from_transformers("cosine", 10, 0, "a")), "`learning_rate`", r_error),
    list(quote(schedule_from_transformers("cosine", 10, 0, Inf)), "`learning_rate`", r_error),
    list(quote(schedule_from_transformers("cosine", 10, 0, -1)), "`learning_rate`", py_error),
    list(quote(schedule_from_transformers("cosine", 10, 0, 1, num_cycles = -1)), "`num_cycles`",
         py_error),
    list(quote(schedule_from_transformers(list(warmup_ratio = 2), 10)), "`warmup_ratio`",
         py_error),
    list(quote(schedule_from_timm(list(sched = "cosine", num_epochs = 3), "a", 0.1)),
         "`steps_per_epoch`", r_error),
    list(quote(schedule_from_timm(list(sched = "cosine", num_epochs = 3), 2.5, 0.1)),
         "`steps_per_epoch`", r_error),
    list(quote(schedule_from_timm(list(sched = "cosine", num_epochs = 3), 0, 0.1)),
         "`steps_per_epoch`", py_error),
    list(quote(schedule_from_timm(list(sched = "cosine", num_epochs = 3), 2, NA)),
         "`learning_rate`", r_error),
    list(quote(schedule_from_timm(list(sched = "cosine"), 2, 0.1, spelling = 1)), "`spelling`",
         r_error),
    list(quote(schedule_from_timm(list(sched = "cosine"), 2, 0.1, spelling = "v3")), "`spelling`",
         py_error),
    list(quote(schedule_from_timm(list(sched = "cosine", num_epochs = 3, noise = 0.5), 2, 0.1)),
         "`noise`", py_error),
    list(quote(schedule_from_timm(c(1, 2), 2, 0.1)), "`config`", r_error),
    list(quote(schedule_from_torch(NULL)), "`scheduler`", r_error),
    list(quote(schedule_from_torch(1)), "`scheduler`", r_error)
  )
  for (row in rows) {
    expect_error(eval(row[[1]]), row[[2]], fixed = TRUE, class = row[[3]],
                 label = deparse(row[[1]]))
  }
  # and the session goes on
  expect_equal(lr_values(schedule_constant(0.25), 0:1), c(0.25, 0.25))
})
