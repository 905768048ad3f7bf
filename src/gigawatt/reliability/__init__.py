"""Failures, silent data corruption, checkpoints and goodput (DESIGN 4.5).

components  the failure catalog (`catalog/failures.yaml`) as `Component`s, with scenario overrides
hazard      Arrhenius acceleration on die/HBM temperature; supply-event damage and aftermath
process     `FailureProcess`: failures tick by tick inside the engine's loop
checkpoint  Young/Daly/Meta intervals and expected ETTR; checkpoint write/read time by storage tier
sdc         silent corruption detectors and the rollback rule
montecarlo  failure histories of a training job, event by event, vectorised over trials
config      scenario models: `ReliabilityConfig`, `CheckpointPolicy`
validation  predicted vs published checks behind `gigawatt validate reliability` (cli)

The package imports nothing here so that `gigawatt.scenario` can import `config` without a cycle through
the rest of it.
"""
