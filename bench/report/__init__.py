"""Reports from run folders: Markdown tables (llama-bench-like and per-model comparison),
CSV and JSON; and the comparison of two runs."""
