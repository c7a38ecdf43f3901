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
    core = "0.0.9", r_package = "0.1.0", python = "p", core_command = "pip install x"))))
  expect_match(conditionMessage(err), "0.0.9 does not match the R package lrschedule 0.1.0")
})

test_that("the installed core matches and the sitrep says so", {
  skip_if_no_lrschedule()
  expect_true(lrschedule:::check_python_environment())
  info <- NULL
  expect_message(info <- lrschedule_sitrep(), "match")
  expect_identical(info$core, as.character(utils::packageVersion("lrschedule")))
  # NumPy 1.x where reticulate cannot exchange arrays with NumPy 2 (< 1.36)
  if (utils::packageVersion("reticulate") < "1.36.0") expect_identical(info$numpy < "2", TRUE)
})

test_that("the package ships the sources of its own core for install_lrschedule()", {
  source <- lrschedule:::shipped_core()
  expect_null(lrschedule:::shipped_core_problem(source))
  # the same modules as the core in use (a Python without the core is checked elsewhere)
  modules <- list.files(file.path(source, "python", "lrschedule"), pattern = "\\.py$",
                        recursive = TRUE)
  expect_true(all(c("__init__.py", "schedules.py", "inspection.py") %in% modules))
  # setup.py reads the version from the DESCRIPTION next to the installed copy: this one
  description <- file.path(dirname(source), "DESCRIPTION")
  expect_identical(read.dcf(description, "Version")[[1]],
                   as.character(utils::packageVersion("lrschedule")))
  # the build copy carries it along
  copy <- lrschedule:::core_build_copy()
  on.exit(unlink(copy, recursive = TRUE))
  expect_true(all(file.exists(file.path(copy, c("DESCRIPTION", "setup.py", "pyproject.toml",
                                                 "python/lrschedule/__init__.py")))))
})

test_that("incomplete core sources are named before anything is installed", {
  broken <- tempfile("core-")
  dir.create(file.path(broken, "python"), recursive = TRUE)
  writeLines("../../python", file.path(broken, "python", "lrschedule"))  # a link as text
  file.create(file.path(broken, c("pyproject.toml", "setup.py")))
  expect_match(lrschedule:::shipped_core_problem(broken), "lacks python/lrschedule/__init__.py",
               fixed = TRUE)
})

test_that("a Python without NumPy, Keras or the core: one clear error, on every call", {
  skip_on_cran()
  python3 <- Sys.which("python3")
  skip_if(!nzchar(python3), "no python3 to make an empty virtualenv with")
  venv <- file.path(tempfile("empty-venv-"))
  status <- suppressWarnings(system2(python3, c("-m", "venv", "--without-pip", venv),
                                     stdout = FALSE, stderr = FALSE))
  skip_if(status != 0, "python3 cannot create a virtualenv")
  empty_python <- file.path(venv, "bin", "python")
  out <- run_fresh_r(c(
    "suppressPackageStartupMessages(library(lrschedule))",
    "for (f in list(function() schedule_constant(0.1), function() schedule_constant(0.1),",
    "               function() optimizer_adam())) {",
    "  e <- tryCatch(f(), error = identity)",
    "  cat('CLASS', class(e)[[1]], '\\n'); cat(conditionMessage(e), '\\n')",
    "}",
    "cat('READY', lrschedule:::python_ready(), '\\n')",
    "cat('STILL', 1 + 1, '\\n')"
  ), env = c(paste0("RETICULATE_PYTHON=", empty_python),
             paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))))
  text <- gsub("\\s+", " ", paste(out, collapse = " "))
  expect_equal(sum(grepl("^CLASS lrschedule_environment_error", out)), 3)
  expect_match(text, "does not have NumPy", fixed = TRUE)
  expect_match(text, "install_lrschedule()", fixed = TRUE)
  # NumPy 1.x only where reticulate cannot exchange arrays with NumPy 2 (< 1.36)
  numpy <- if (utils::packageVersion("reticulate") < "1.36.0") " 'numpy<2'" else ""
  expect_match(text, paste0("-m pip install 'keras~=3.15.1' 'tensorflow-cpu~=2.21.0'", numpy, " '"),
               fixed = TRUE)
  # the Python RETICULATE_PYTHON names is the one to fix (the world is named)
  expect_match(text, "It is the Python `RETICULATE_PYTHON` names", fixed = TRUE)
  expect_match(text, basename(dirname(dirname(empty_python))), fixed = TRUE)
  expect_true("READY FALSE " %in% out)
  expect_true("STILL 2 " %in% out)
})

test_that("a core of another version is refused on every call, with the command to run", {
  skip_if_no_lrschedule()
  # A module named lrschedule, first on PYTHONPATH, that says it is version 0.0.9.
  fake <- tempfile("fake-core-")
  dir.create(file.path(fake, "lrschedule"), recursive = TRUE)
  writeLines('__version__ = "0.0.9"', file.path(fake, "lrschedule", "__init__.py"))
  out <- run_fresh_r(c(
    "suppressPackageStartupMessages(library(lrschedule))",
    "for (i in 1:2) {",
    "  e <- tryCatch(schedule_one_cycle(0.01, 100), error = identity)",
    "  cat('CLASS', class(e)[[1]], '\\n'); cat(conditionMessage(e), '\\n')",
    "}",
    "cat('READY', lrschedule:::python_ready(), '\\n')"
  ), env = c(paste0("RETICULATE_PYTHON=", reticulate::py_config()$python),
             paste0("PYTHONPATH=", fake),
             paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))))
  text <- gsub("\\s+", " ", paste(out, collapse = " "))
  expect_equal(sum(grepl("^CLASS lrschedule_environment_error", out)), 2)
  expect_match(text, paste0("lrschedule 0.0.9 does not match the R package lrschedule ",
                            utils::packageVersion("lrschedule")), fixed = TRUE)
  expect_match(text, "-m pip install", fixed = TRUE)
  expect_match(text, paste("-m pip install", shQuote(lrschedule:::shipped_core())), fixed = TRUE)
  expect_true("READY FALSE " %in% out)
})

test_that("the messages for a broken environment render with their commands", {
  env <- list(python = "/x/bin/python", core_source = "/lib/lrschedule/python")
  render <- function(template, facts) {
    err <- expect_error(cli::cli_abort(template, .envir = lrschedule:::problem_env(facts)))
    conditionMessage(err)
  }
  keras_text <- render(lrschedule:::python_missing_module_problem("keras"), env)
  expect_match(keras_text, "does not have Keras (keras)", fixed = TRUE)
  numpy <- if (utils::packageVersion("reticulate") < "1.36.0") " 'numpy<2'" else ""
  expect_match(keras_text, paste0(
    "/x/bin/python -m pip install 'keras~=3.15.1' 'tensorflow-cpu~=2.21.0'", numpy,
    " '/lib/lrschedule/python'"), fixed = TRUE)
  core_text <- render(lrschedule:::python_missing_module_problem("lrschedule"), env)
  expect_match(core_text, "/x/bin/python -m pip install '/lib/lrschedule/python'", fixed = TRUE)
  numpy_facts <- list(numpy = "2.1.3", reticulate = "1.28", core = "0.1.0",
                      r_package = "0.1.0", python = "/x/bin/python")
  numpy_text <- render(do.call(lrschedule:::python_environment_problem, numpy_facts),
                       c(numpy_facts, core_source = "/lib/lrschedule/python"))
  expect_match(numpy_text, "NumPy 2.1.3 cannot exchange arrays with reticulate 1.28", fixed = TRUE)
  expect_match(numpy_text, "/x/bin/python -m pip install 'numpy<2'", fixed = TRUE)
})

test_that("library() quiets TensorFlow's log only when the user has not chosen a level", {
  out <- run_fresh_r(c(
    "suppressPackageStartupMessages(library(lrschedule))",
    "cat('LEVEL', Sys.getenv('TF_CPP_MIN_LOG_LEVEL'), '\\n')"
  ), env = c("TF_CPP_MIN_LOG_LEVEL=0", paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))))
  expect_true("LEVEL 0 " %in% out)
  rscript <- file.path(R.home("bin"), "Rscript")
  unset <- suppressWarnings(system2("env", c("-u", "TF_CPP_MIN_LOG_LEVEL",
    paste0("R_LIBS=", paste(.libPaths(), collapse = ":")), rscript, "-e", shQuote(paste(
      "suppressPackageStartupMessages(library(lrschedule));",
      "cat('LEVEL', Sys.getenv('TF_CPP_MIN_LOG_LEVEL'), '\\n')"))), stdout = TRUE))
  expect_true("LEVEL 2 " %in% unset)
})

test_that("a Python with NumPy 2 is refused before reticulate 1.28 trips over it", {
  skip_on_cran()
  skip_if(utils::packageVersion("reticulate") >= "1.36.0", "this reticulate handles NumPy 2")
  python3 <- Sys.which("python3")
  skip_if(!nzchar(python3), "no python3 to make a virtualenv with")
  venv <- tempfile("numpy2-venv-")
  status <- suppressWarnings(system2(python3, c("-m", "venv", venv), stdout = FALSE, stderr = FALSE))
  skip_if(status != 0, "python3 cannot create a virtualenv")
  python <- file.path(venv, "bin", "python")
  status <- suppressWarnings(system2(python, c("-m", "pip", "install", "-q",
                                               "--disable-pip-version-check", shQuote("numpy>=2")),
                                     stdout = FALSE, stderr = FALSE))
  skip_if(status != 0, "NumPy 2 cannot be installed here (no package index)")
  # Keras and a core of the right version, as far as the checks can tell.
  fakes <- tempfile("fake-modules-")
  for (module in c("keras", "lrschedule")) dir.create(file.path(fakes, module), recursive = TRUE)
  writeLines('__version__ = "3.12.0"', file.path(fakes, "keras", "__init__.py"))
  writeLines(sprintf('__version__ = "%s"', utils::packageVersion("lrschedule")),
             file.path(fakes, "lrschedule", "__init__.py"))
  out <- run_fresh_r(c(
    "suppressPackageStartupMessages(library(lrschedule))",
    "for (i in 1:2) {",
    "  e <- tryCatch(optimizer_adam(), error = identity)",
    "  cat('CLASS', class(e)[[1]], '\\n'); cat(conditionMessage(e), '\\n')",
    "}",
    "cat('STILL', 1 + 1, '\\n')"
  ), env = c(paste0("RETICULATE_PYTHON=", python), paste0("PYTHONPATH=", fakes),
             paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))))
  text <- gsub("\\s+", " ", paste(out, collapse = " "))
  expect_equal(sum(grepl("^CLASS lrschedule_environment_error", out)), 2)
  expect_match(text, "NumPy 2[0-9.]* cannot exchange arrays with reticulate")
  expect_match(text, paste(python, "-m pip install 'numpy<2'"), fixed = TRUE)
  expect_true("STILL 2 " %in% out)
})

test_that("install_lrschedule() asks for Keras 3, TensorFlow, NumPy 1.x and the shipped core", {
  req <- lrschedule:::python_requirements(reticulate = "1.28")
  # The tested ranges: from the versions requirements-dev.txt pins (CI's), below the
  # next minor release (`~=`, the spelling keras3's use_backend() can remove).
  expect_true(all(c("keras~=3.15.1", "tensorflow-cpu~=2.21.0", "numpy<2") %in% req))
  # NumPy 2 wherever reticulate can exchange arrays with it (>= 1.36)
  expect_false("numpy<2" %in% lrschedule:::python_requirements(reticulate = "1.47.0"))
  expect_true("numpy<2" %in% lrschedule:::python_requirements(reticulate = "1.35.0"))
  expect_identical(req[[length(req)]], lrschedule:::shipped_core())
})

test_that("lrschedule_sitrep() names the versions outside the tested ranges", {
  untested <- lrschedule:::untested_versions
  expect_length(untested(list(keras = "3.15.1", tensorflow = "2.21.0")), 0)
  expect_length(untested(list(keras = "3.15.4", tensorflow = "2.21.3", numpy = "1.26.4")), 0)
  out <- untested(list(keras = "3.12.0", tensorflow = "2.22.0rc1"))
  expect_equal(names(out), c("keras", "tensorflow"))
  expect_match(out[["keras"]], "keras 3.12.0 (tested: >= 3.15.1, < 3.16)", fixed = TRUE)
  expect_match(out[["tensorflow"]], "tensorflow 2.22.0rc1", fixed = TRUE)
  expect_length(untested(list(keras = NA_character_, tensorflow = "3.0.0")), 1)
})

test_that("each Python world gets its own remedy for a missing core", {
  env <- list(python = "/cache/uv/env/bin/python", core_source = "/lib/lrschedule/python")
  render <- function(template) {
    conditionMessage(expect_error(cli::cli_abort(template,
                                                 .envir = lrschedule:::problem_env(env))))
  }
  ephemeral <- render(lrschedule:::python_missing_module_problem("lrschedule", "ephemeral"))
  expect_match(ephemeral, "environment reticulate built", fixed = TRUE)
  expect_match(ephemeral, "reticulate::py_require(\"lrschedule @ file://", fixed = TRUE)
  # no pip there: uv's environments have none, and a shared cache is not the place
  expect_false(grepl("pip install", ephemeral, fixed = TRUE))
  virtualenv <- render(lrschedule:::python_missing_module_problem("lrschedule", "virtualenv"))
  expect_match(virtualenv, "install_lrschedule()", fixed = TRUE)
  expect_match(virtualenv, "/cache/uv/env/bin/python -m pip install '/lib/lrschedule/python'",
               fixed = TRUE)
  chosen <- render(lrschedule:::python_missing_module_problem("lrschedule", "RETICULATE_PYTHON"))
  expect_match(chosen, "RETICULATE_PYTHON` names", fixed = TRUE)
})

test_that("reticulate failing to start Python is said as that, in each world", {
  render <- function(chosen) {
    conditionMessage(expect_error(cli::cli_abort(lrschedule:::python_start_problem(chosen),
      .envir = list2env(list(cause = "uv could not download a Python")))))
  }
  for (chosen in c("none", "RETICULATE_PYTHON", "virtualenv")) {
    text <- render(chosen)
    expect_match(text, "reticulate could not start a Python", fixed = TRUE)
    expect_identical(lengths(regmatches(text, gregexpr("uv could not download a Python", text,
                                                       fixed = TRUE))), 1L)
  }
  expect_match(render("RETICULATE_PYTHON"), "correct or unset it", fixed = TRUE)
  expect_match(render("virtualenv"), "install_lrschedule()", fixed = TRUE)
})
