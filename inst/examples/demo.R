# lrschedule demo: train a small Keras model from R with learning-rate schedules.
#
#   Rscript inst/examples/demo.R [output-directory]      (or: make demo)
#
# 1. an LR range test (lr_find) on the untrained model picks a peak learning rate;
# 2. the schedule: a linear warmup into cosine decay, peaking at that rate;
# 3. training with optimizer_adam(learning_rate = schedule), a plateau callback that
#    multiplies the schedule when the validation loss stalls, and a logger that puts
#    the rate actually used into the history;
# 4. a per-epoch table, the final result, and PNG plots of the schedule, the rate used
#    beside the rate planned (with the plateau's reductions), the losses and the LR
#    finder.
# The data is R's own iris set: nothing is downloaded.

suppressPackageStartupMessages(library(lrschedule))

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[[1]] else "demo-output"
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

keras <- reticulate::import("keras")
np <- reticulate::import("numpy", convert = FALSE)
keras$utils$set_random_seed(42L)

# --- data: iris, standardized, 120 for training and 30 for validation --------------
set.seed(42)
x_all <- scale(as.matrix(iris[, 1:4]))
y_all <- as.integer(iris$Species) - 1L
train <- sort(sample(nrow(iris), 120))
as_np <- function(m, dtype) np$asarray(m, dtype = dtype)
x_train <- as_np(x_all[train, ], "float32")
y_train <- as_np(y_all[train], "int32")
x_val <- as_np(x_all[-train, ], "float32")
y_val <- as_np(y_all[-train], "int32")

build_model <- function(learning_rate = 1e-3) {
  model <- keras$Sequential(list(
    keras$Input(shape = list(4L)),
    keras$layers$Dense(16L, activation = "relu"),
    keras$layers$Dense(16L, activation = "relu"),
    keras$layers$Dense(3L, activation = "softmax")
  ))
  model$compile(optimizer = optimizer_adam(learning_rate = learning_rate),
                loss = "sparse_categorical_crossentropy", metrics = list("accuracy"))
  model
}

# --- 1. LR range test ---------------------------------------------------------------
cat("== 1. Learning-rate range test (lr_find)\n")
model <- build_model()
finder <- lr_find(model, x_train, y_train, start_lr = 1e-5, end_lr = 1, num_steps = 60,
                  batch_size = 16)
print(finder)
suggested <- finder$suggestions[["valley"]]
if (is.null(suggested) || !is.finite(suggested)) suggested <- finder$suggestions[[1]]
peak_lr <- min(max(suggested, 1e-3), 0.05)
cat(sprintf("Peak learning rate for training: %.3g\n\n", peak_lr))

# --- 2. the schedule ----------------------------------------------------------------
epochs <- 40L
batch_size <- 16L
steps_per_epoch <- as.integer(ceiling(120 / batch_size))
total_steps <- epochs * steps_per_epoch
warmup_steps <- 3L * steps_per_epoch
schedule <- schedule_warmup(
  schedule_cosine_decay(peak_lr, decay_steps = total_steps - warmup_steps, alpha = 0.02),
  warmup_steps = warmup_steps
)
cat("== 2. The schedule\n")
print(schedule)
cat("\n")

# --- 3. training --------------------------------------------------------------------
cat(sprintf("== 3. Training: %d epochs of %d steps, Adam with the schedule, plateau on val_loss\n",
            epochs, steps_per_epoch))
model$compile(optimizer = optimizer_adam(learning_rate = schedule),
              loss = "sparse_categorical_crossentropy", metrics = list("accuracy"))
history <- model$fit(
  x_train, y_train, validation_data = list(x_val, y_val),
  epochs = epochs, batch_size = batch_size, verbose = 0L,
  callbacks = list(
    callback_reduce_lr_on_plateau(monitor = "val_loss", factor = 0.5, patience = 4,
                                  min_delta = 1e-3),
    logger <- callback_lr_logger(per = "batch")
  )
)

h <- lapply(history$history, unlist)
table <- data.frame(
  epoch = seq_along(h$loss),
  learning_rate = signif(h$learning_rate, 4),
  loss = round(h$loss, 4),
  accuracy = round(h$accuracy, 3),
  val_loss = round(h$val_loss, 4),
  val_accuracy = round(h$val_accuracy, 3)
)
print(table, row.names = FALSE)

final <- model$evaluate(x_val, y_val, verbose = 0L)
cat(sprintf("\nFinal validation loss %.4f, accuracy %.3f (%d of 30 flowers)\n",
            final[[1]], final[[2]], round(final[[2]] * 30)))
# The plateau callback keeps its reductions in a multiplier on top of the schedule.
multiplier <- model$optimizer$`_learning_rate`$multiplier
cat(sprintf("ReduceLROnPlateau left the schedule multiplied by %g (%d reduction(s) by 0.5).\n\n",
            multiplier, round(log(multiplier) / log(0.5))))

# --- 4. plots -----------------------------------------------------------------------
png_file <- function(name) file.path(out_dir, name)

grDevices::png(png_file("schedule.png"), width = 800, height = 450)
plot(schedule, steps = 0:(total_steps - 1), main = "Warmup + cosine decay (per step)")
invisible(grDevices::dev.off())

# the rate every step used, beside the schedule's plan: the plateau's reductions show
grDevices::png(png_file("learning_rate.png"), width = 800, height = 450)
plot(logger, schedule = schedule, main = "Learning rate: planned (schedule) and used")
invisible(grDevices::dev.off())

grDevices::png(png_file("training.png"), width = 800, height = 450)
graphics::matplot(table$epoch, cbind(h$loss, h$val_loss), type = "l", lty = 1, col = c(1, 2),
                  xlab = "epoch", ylab = "loss", main = "Loss")
graphics::legend("topright", c("training", "validation"), lty = 1, col = c(1, 2), bty = "n")
invisible(grDevices::dev.off())

grDevices::png(png_file("lr_find.png"), width = 800, height = 450)
plot(finder)
invisible(grDevices::dev.off())

cat("== 4. Plots written:\n")
for (f in c("schedule.png", "learning_rate.png", "training.png", "lr_find.png")) {
  cat("  ", normalizePath(png_file(f)), "\n")
}
