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

# Whether the Python side passed check_python_environment() in this session.
python_state <- new.env(parent = emptyenv())

.onLoad <- function(libname, pkgname) {
  use_installed_environment()
  # TensorFlow's C++ start-up chatter buries R's output; quiet it unless the user chose.
  if (is.na(Sys.getenv("TF_CPP_MIN_LOG_LEVEL", unset = NA))) {
    Sys.setenv(TF_CPP_MIN_LOG_LEVEL = "2")
  }
  # No on_load/on_error here: reticulate runs those once only, so a second call after
  # a failed check would go on with a broken environment. ensure_python() checks
  # before any module is touched, on every call until the check passes.
  lrs_core <<- reticulate::import("lrschedule", delay_load = TRUE)
  keras_module <<- reticulate::import("keras", delay_load = TRUE)
  np_module <<- reticulate::import("numpy", convert = FALSE, delay_load = TRUE)
  reticulate::register_class_filter(schedule_class_filter)
}

# Accessors: the first one used checks the environment, then starts the import.
lrs <- function() {
  ensure_python()
  lrs_core
}
keras <- function() {
  ensure_python()
  keras_module
}
np <- function() {
  ensure_python()
  np_module
}

# Every Keras LearningRateSchedule reaching R (ours, Keras's own, one read back from an
# optimizer) gets the stable class the print/format/plot/as.data.frame methods use,
# whatever Keras's private module path is.
schedule_class_filter <- function(classes) {
  if (!"lrschedule_schedule" %in% classes &&
      any(grepl("^keras\\.(.*\\.)?LearningRateSchedule$", classes))) {
    classes <- c("lrschedule_schedule", classes)
  }
  classes
}
