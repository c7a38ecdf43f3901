# Shared by the tests here (testthat sources helper-*.R before them).

# A new Rscript running `code`, with this environment but for `unset` and `env`; its
# output (stderr included) and wall time.
fresh_r <- function(code, env = character(), unset = "RETICULATE_PYTHON") {
  script <- tempfile(fileext = ".R")
  writeLines(code, script)
  args <- c(paste("-u", unset), env, file.path(R.home("bin"), "Rscript"), script)
  started <- Sys.time()
  out <- suppressWarnings(system2("env", args, stdout = TRUE, stderr = TRUE))
  list(out = out, seconds = as.numeric(difftime(Sys.time(), started, units = "secs")),
       status = attr(out, "status") %||% 0L)
}

`%||%` <- function(a, b) if (is.null(a)) b else a
