"""gigawatt: a digital twin of LLM infrastructure.

The Python API is `gigawatt.api` (load_scenario, simulate); it is imported on first use, so that
`import gigawatt` stays light.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gigawatt")  # one source of truth: pyproject.toml, as installed
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
