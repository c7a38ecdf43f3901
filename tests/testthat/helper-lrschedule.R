skip_if_no_lrschedule <- function() {
  if (!lrschedule:::python_ready()) {
    skip("Python with keras and the matching lrschedule core is not available")
  }
}

# The shared table of reference rates (also read by pytest and the rpy2 tests).
reference_table <- function() {
  path <- test_path("fixtures", "reference-rates.csv")
  utils::read.csv(path, stringsAsFactors = FALSE)
}

# Builds the schedule a table row describes, through the R functions.
build_reference <- function(r_function, args) {
  convert <- function(value) {
    if (is.list(value) && !is.null(value$r_function)) {
      return(build_reference(value$r_function, value$args))
    }
    if (is.list(value) && length(value) > 0 && all(vapply(value, is.numeric, logical(1)))) {
      return(unlist(value))
    }
    if (is.list(value)) return(lapply(value, convert))
    value
  }
  args <- lapply(args, convert)
  if (r_function == "schedule_function") {
    values <- args$values
    return(schedule_function(function(step) values[step + 1], length(values)))
  }
  do.call(r_function, args)
}

py_keras <- function() reticulate::import("keras")
