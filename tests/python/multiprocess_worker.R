# One process of a two-process JAX training job driven from R (see multiprocess_worker.py).
#
# Usage: Rscript multiprocess_worker.R PROCESS_ID PORT OUT_FILE
#
# KERAS_BACKEND and the coordinator are set before Keras is imported: library(lrschedule)
# starts no Python, so jax.distributed.initialize() comes first. The probe's kernel
# moves by -lr at every step; this process's copy of it is written after every step.

args <- commandArgs(trailingOnly = TRUE)
process_id <- as.integer(args[[1]])
port <- args[[2]]
out_file <- args[[3]]

Sys.setenv(KERAS_BACKEND = "jax", JAX_PLATFORMS = "cpu", XLA_FLAGS = "")
library(lrschedule)
jax <- reticulate::import("jax")
jax$config$update("jax_cpu_collectives_implementation", "gloo")
jax$distributed$initialize(coordinator_address = paste0("127.0.0.1:", port),
                           num_processes = 2L, process_id = process_id,
                           initialization_timeout = 120L)
keras <- reticulate::import("keras")
np <- reticulate::import("numpy", convert = FALSE)
keras$distribution$set_distribution(
  keras$distribution$DataParallel(devices = jax$devices(), auto_shard_dataset = FALSE))

model <- keras$Sequential(list(
  keras$Input(shape = list(1L)),
  keras$layers$Dense(1L, use_bias = FALSE, kernel_initializer = "zeros", name = "probe")
))
model$compile(optimizer = optimizer_sgd(learning_rate = schedule_step_decay(0.4, 3, 0.8)),
              loss = "mean_absolute_error")

# this process's copy of the kernel (the replicated variable spans both processes)
local_kernel <- function() {
  # during fit() Keras's JAX trainer holds the state: bring it back into the variables
  # first (what a Python callback's self.model does)
  model$jax_state_sync()
  value <- model$get_layer("probe")$kernel$value
  as.numeric(reticulate::py_to_r(np$asarray(value$addressable_data(0L))))
}
kernels <- local_kernel()
trace <- keras$callbacks$LambdaCallback(
  on_train_batch_end = function(batch, logs) kernels <<- c(kernels, local_kernel()))

# this process's share of the global batches: target -1000 (process 0) or -500 (process 1)
x <- matrix(1, nrow = 8, ncol = 1)
y <- matrix(-1000 + 500 * process_id, nrow = 8, ncol = 1)
history <- model$fit(x, y, batch_size = 2L, epochs = 4L, shuffle = FALSE, verbose = 0L,
                     callbacks = list(
                       callback_reduce_lr_on_plateau(monitor = "loss", mode = "max",
                                                     factor = 0.5, patience = 0L),
                       trace))
writeLines(c(paste(format(-diff(kernels), digits = 17), collapse = " "),
             paste(format(unlist(history$history$loss), digits = 17), collapse = " ")),
           out_file)
# leave together (a barrier): a process that exits first takes the coordination service
# down under one still polling it, which then aborts (seen under a loaded machine)
jax$distributed$shutdown()
