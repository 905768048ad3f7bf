"""Calibration and validation against measured timings (DESIGN §4.1, §4.4, §6).

`vidur` reads vidur's profiling layout, `predict` times its rows with the twin's own models,
`fit` fits the roofline efficiencies and all-reduce links, `calibrate` renders catalog/calibration.yaml
(via scripts/fit_roofline.py), and `cli` is `gigawatt validate operators DIR`.
"""
