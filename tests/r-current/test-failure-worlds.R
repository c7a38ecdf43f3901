# What a user sees when the Python side cannot serve lrschedule, in each world of
# reticulate >= 1.41: one message per cause, naming it, with a remedy that works there.
# Each case is a new R process (fresh_r(), helper-fresh-r.R).

skip_if(utils::packageVersion("reticulate") < "1.41.0", "reticulate without py_require()")

# The output of a new Rscript (fresh_r(), helper-fresh-r.R) as one string.
fresh_text <- function(code, env = character()) paste(fresh_r(code, env)$out, collapse = "\n")

# The first call of a script, its error and every warning, each marked.
first_call <- c(
  "library(lrschedule)",
  "e <- withCallingHandlers(tryCatch(schedule_one_cycle(0.01, 100), error = identity),",
  "  warning = function(w) { cat('WARNING:', conditionMessage(w), '\\n');",
  "                          invokeRestart('muffleWarning') })",
  "if (inherits(e, 'error')) cat('CLASS', class(e)[[1]], '\\nMESSAGE:', conditionMessage(e), '\\n')",
  "if (!inherits(e, 'error')) cat('MADE', class(e)[[1]], '\\n')",
  "cat('STILL', 1 + 1, '\\n')")

lines_of <- function(text) strsplit(text, "\n", fixed = TRUE)[[1]]

count <- function(text, pattern) lengths(regmatches(text, gregexpr(pattern, text, fixed = TRUE)))

test_that("reticulate cannot build its environment: that cause, its error once, the ways out", {
  # uv that fails at once stands for uv that cannot reach a Python or the index
  out <- fresh_text(first_call, env = "RETICULATE_UV=/bin/false")
  expect_match(out, "CLASS lrschedule_environment_error", fixed = TRUE)
  expect_identical(count(out, "reticulate could not start a Python"), 1L)
  # reticulate's own error, once, inside ours
  message <- sub("^.*MESSAGE: ", "", out)
  expect_identical(count(message, "\u2716"), 1L)
  for (remedy in c("RETICULATE_PYTHON", "install_lrschedule()", "UV_INDEX_URL",
                   "UV_OFFLINE=1", "py_require()")) {
    expect_match(message, remedy, fixed = TRUE)
  }
  # not "does not have NumPy" of a Python that never ran, and nothing repeated as a warning
  expect_false(grepl("does not have", out, fixed = TRUE))
  expect_false(any(grepl("^WARNING:.*could not start", lines_of(out))))
  expect_match(out, "STILL 2", fixed = TRUE)
})

test_that("a chosen Python (RETICULATE_PYTHON) without the core: its pip, no numpy<2 here", {
  venv <- tempfile("bare-venv-")
  status <- system2(Sys.which("python3.13"), c("-m", "venv", "--without-pip", venv))
  skip_if(status != 0, "python3.13 cannot make a virtualenv")
  python <- file.path(venv, "bin", "python")
  out <- fresh_text(first_call, env = paste0("RETICULATE_PYTHON=", python))
  expect_match(out, "CLASS lrschedule_environment_error", fixed = TRUE)
  expect_identical(count(out, "does not have NumPy"), 1L)
  expect_match(out, "It is the Python `RETICULATE_PYTHON` names", fixed = TRUE)
  expect_match(gsub("\\s+", " ", out), paste(python, "-m pip install 'keras~=3.15.1'"),
               fixed = TRUE)
  # reticulate >= 1.36 exchanges arrays with NumPy 2: no 'numpy<2' in the remedy
  expect_false(grepl("numpy<2", out, fixed = TRUE))
  # no py_require() declarations of lrschedule's for a Python the user chose
  expect_false(grepl("lrschedule @", out, fixed = TRUE))
})

test_that("Python started before library(lrschedule): the core is added, or the one message says why", {
  out <- fresh_text(c("invisible(reticulate::py_config())", first_call))
  if (utils::packageVersion("reticulate") >= "1.47.0") {
    # reticulate 1.47 adds late requirements to the running environment
    expect_match(out, "MADE lrschedule_schedule", fixed = TRUE)
  } else {
    expect_match(out, "Python was started before `library(lrschedule)`", fixed = TRUE)
  }
  expect_false(any(grepl("^WARNING:.*lrschedule", lines_of(out))))
})

test_that("lrschedule_sitrep() names the world and what was declared", {
  out <- gsub("\\s+", " ", fresh_text(c("library(lrschedule)", "lrschedule_sitrep()")))
  expect_match(out, "world: ephemeral: the environment reticulate built with uv", fixed = TRUE)
  expect_match(out, "required: keras~=3.15.1, tensorflow-cpu~=2.21.0, lrschedule @ file://",
               fixed = TRUE)
  expect_match(out, "Python core and R package match.", fixed = TRUE)
})
