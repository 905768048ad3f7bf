"""Design-space sweeps: many runs of one scenario over axes of its fields, on Ray or a local process pool,
into one resumable Parquet dataset and a report (`gigawatt sweep`)."""
