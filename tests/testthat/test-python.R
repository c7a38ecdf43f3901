test_that("library(lrschedule) starts no Python", {
  rscript <- file.path(R.home("bin"), "Rscript")
  out <- system2(rscript, c("-e", shQuote(paste0(
    "suppressPackageStartupMessages(library(lrschedule));",
    "cat(reticulate::py_available(initialize = FALSE))"))), stdout = TRUE, stderr = FALSE)
  expect_identical(out[length(out)], "FALSE")
})

test_that("NumPy 2 with an old reticulate is refused with the command to run", {
  msg <- lrschedule:::python_environment_problem(
    numpy = "2.1.3", reticulate = "1.28", core = "0.1.0", r_package = "0.1.0",
    python = "/x/bin/python")
  expect_match(msg[[1]], "NumPy {numpy} cannot exchange arrays", fixed = TRUE)
  expect_true(any(grepl("numpy<2", msg, fixed = TRUE)))
  expect_null(lrschedule:::python_environment_problem(
    numpy = "2.1.3", reticulate = "1.38", core = "0.1.0", r_package = "0.1.0", python = "p"))
  expect_null(lrschedule:::python_environment_problem(
    numpy = "1.26.4", reticulate = "1.28", core = "0.1.0", r_package = "0.1.0", python = "p"))
})

test_that("a core that does not match the R package says how to install the right one", {
  msg <- lrschedule:::python_environment_problem(
    numpy = "1.26.4", reticulate = "1.28", core = "0.0.9", r_package = "0.1.0", python = "p")
  expect_match(msg[[1]], "does not match")
  expect_true(any(grepl("install_lrschedule()", msg, fixed = TRUE)))
  err <- expect_error(cli::cli_abort(msg, .envir = list2env(list(
    core = "0.0.9", r_package = "0.1.0", python = "p", wheel = "w.whl"))))
  expect_match(conditionMessage(err), "0.0.9 does not match the R package lrschedule 0.1.0")
})

test_that("the installed core matches and the sitrep says so", {
  skip_if_no_lrschedule()
  expect_true(lrschedule:::check_python_environment())
  info <- NULL
  expect_message(info <- lrschedule_sitrep(), "match")
  expect_identical(info$core, as.character(utils::packageVersion("lrschedule")))
  expect_identical(info$numpy < "2", TRUE)
})

test_that("the package ships the wheel of its own core for install_lrschedule()", {
  wheel <- lrschedule:::shipped_wheel()
  expect_match(basename(wheel), paste0("^lrschedule-", utils::packageVersion("lrschedule"),
                                       "-py3-none-any\\.whl$"))
  expect_true(file.exists(wheel))
})
