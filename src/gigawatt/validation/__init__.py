"""Predicted against published: the checks every model of the twin answers to (`gigawatt validate`)."""
