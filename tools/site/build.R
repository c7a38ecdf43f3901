# Builds the documentation site into site/ with pkgdown, offline (`make site`).
#
# Run from the package root with the package installed (R_LIBS) and RETICULATE_PYTHON
# set, as the Makefile does: the reference pages run every example and the article
# runs the vignette, against the installed package and the project's Python.
#
# Offline: CRAN is not reachable. pkgdown asks CRAN whether the package is published
# there only when option pkgdown.internet is TRUE; downlit (which links the functions
# in code to their documentation) looks up packages that are not installed in CRAN's
# package database, with no option to turn that off: it is told that CRAN lists no
# package, so code naming a package that is not installed (keras3 in the README) is
# left unlinked instead of failing the build.
options(pkgdown.internet = FALSE)
no_cran_database <- function() data.frame(Package = character(), URL = character())
utils::assignInNamespace("CRAN_urls", no_cran_database, "downlit")

started <- Sys.time()
pkgdown::build_site(".", examples = TRUE, install = FALSE, new_process = FALSE,
                    devel = FALSE, preview = FALSE)
cat(sprintf("site built in %.0f s\n", as.numeric(Sys.time() - started, units = "secs")))
