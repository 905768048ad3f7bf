"""Telemetry in: nvidia-smi CSV logs and dcgm-exporter scrapes -> the twin's timeseries schema; the power
model fitted to it (calibrate); a run overlaid on it (compare)."""
