"""The runner: plan the matrix, run each case (warm-up, repetitions), record, go on."""
