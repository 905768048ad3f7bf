"""gigawatt: a digital twin of LLM infrastructure."""

__version__ = "0.1.0"
