"""The router family; see gigawatt.moe.registry for lookup by name."""
