#' lrschedule: learning-rate schedules and callbacks for Keras 3
#'
#' Learning-rate schedules (one-cycle, cyclic, warmup-stable-decay, inverse
#' square root, warmup and sequence wrappers, R functions tabulated into
#' schedules), Keras's own schedules, optimizers that take them, and
#' learning-rate callbacks, from one Python core reached through reticulate.
#'
#' `library(lrschedule)` starts no Python. The first call that needs Python
#' finds one that has Keras and the matching `lrschedule` core:
#' `RETICULATE_PYTHON` when set, otherwise the virtualenv that
#' [install_lrschedule()] created. [lrschedule_sitrep()] tells which.
#'
#' @keywords internal
"_PACKAGE"

# Module handles, filled in by .onLoad with delay-loaded imports.
lrs_core <- NULL
keras_module <- NULL
np_module <- NULL

.onLoad <- function(libname, pkgname) {
  use_installed_environment()
  lrs_core <<- reticulate::import(
    "lrschedule",
    delay_load = list(on_load = check_python_environment, on_error = core_import_error)
  )
  keras_module <<- reticulate::import("keras", delay_load = TRUE)
  np_module <<- reticulate::import("numpy", convert = FALSE, delay_load = TRUE)
}

# Accessors: touching a delay-loaded module is what starts Python.
lrs <- function() lrs_core
keras <- function() keras_module
np <- function() np_module
