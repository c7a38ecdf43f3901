# Bad input to every exported function that is not a schedule_*(), from the shared table
# in fixtures/bad-input-table.R (tests/python/test_r_bad_input.py runs the same rows
# through rpy2): each row must be an R error of the expected class whose message names
# the argument in backquotes and shows the value, never a Python traceback.

load_bad_input_table <- function() {
  table <- new.env()
  sys.source(test_path("fixtures", "bad-input-table.R"), envir = table)
  table
}

flat_message <- function(err) gsub("\\s+", " ", conditionMessage(err))

test_that("the table covers every exported function that is not a schedule_*()", {
  table <- load_bad_input_table()
  cases <- table$bad_input_cases
  expect_gte(nrow(cases), 100)
  expect_false(anyDuplicated(cases$id) > 0)
  exported <- getNamespaceExports("lrschedule")
  # lrschedule_sitrep() and callback_horizon_check() take no argument
  wanted <- c(setdiff(grep("^schedule_", exported, value = TRUE, invert = TRUE),
                      c("lrschedule_sitrep", "callback_horizon_check")),
              "schedule_function", "schedule_shaped_like", "format.lrschedule_schedule",
              "print.lrschedule_schedule", "plot.lrschedule_schedule",
              "as.data.frame.lrschedule_schedule", "plot.lrschedule_lr_find")
  expect_setequal(unique(cases$fn), wanted)
  # every argument of these functions (but `...` and graphics' labels) has rows
  for (fn in c("callback_schedule_lr", "callback_reduce_lr_on_plateau", "callback_lr_logger",
               "lr_find", "lr_values", "lr_current", "schedule_function", "schedule_shaped_like",
               "install_lrschedule")) {
    expect_setequal(unique(cases$arg[cases$fn == fn]), names(formals(fn)))
  }
})

test_that("every row of the bad-input table is refused, naming the argument and the value", {
  skip_if_no_lrschedule()
  table <- load_bad_input_table()
  cases <- table$bad_input_cases
  objects <- table$bad_input_setup()
  weights <- objects$model$get_weights()
  grDevices::pdf(NULL)
  withr::defer(grDevices::dev.off())

  for (i in seq_len(nrow(cases))) {
    case <- cases[i, ]
    err <- expect_error(eval(parse(text = case$code), envir = objects),
                        regexp = paste0("`", case$arg, "`"), fixed = TRUE, class = case$class,
                        info = paste(case$id, ":", case$code))
    if (!inherits(err, "condition")) next
    message <- flat_message(err)
    expect_match(message, case$shown, fixed = TRUE, info = paste(case$id, ":", case$code))
    expect_false(grepl("Traceback|py_last_error", message), info = case$id)
  }
  # the lr_find() rows failed before training: the model is untouched
  expect_identical(objects$model$get_weights(), weights)
  expect_equal(lr_values(schedule_constant(0.25), 0:1), c(0.25, 0.25))
})

test_that("valid edge values are accepted, so the table cannot pass by refusing everything", {
  skip_if_no_lrschedule()
  table <- load_bad_input_table()
  valid <- table$bad_input_valid
  objects <- table$bad_input_setup()
  grDevices::pdf(NULL)
  withr::defer(grDevices::dev.off())

  for (i in seq_len(nrow(valid))) {
    case <- valid[i, ]
    result <- tryCatch(eval(parse(text = case$code), envir = objects), error = identity)
    expect_false(inherits(result, "error"),
                 info = paste(case$id, ":", case$code, ":", tryCatch(flat_message(result),
                                                                      error = function(e) "")))
    if (inherits(result, "error")) next
    checked <- new.env(parent = objects)
    checked$result <- result
    expect_true(isTRUE(eval(parse(text = case$check), envir = checked)),
                info = paste(case$id, ":", case$check))
  }
})
