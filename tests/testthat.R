library(testthat)
library(lrschedule)

test_check("lrschedule")
