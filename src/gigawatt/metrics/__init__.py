"""Live Prometheus metrics of a run (`gigawatt run --metrics-port`).

The engine hands an observer each recording interval's rows (`gigawatt.telemetry.Snapshot`); `mapping`
turns a snapshot into metric families named, typed and labelled as dcgm-exporter's (per GPU) plus
`gigawatt_` facility metrics; `server` serves the latest families over HTTP and paces the run.
Needs the optional `prometheus-client` (`pip install 'gigawatt[metrics]'`); `labels` does not.
"""
