"""The deterministic synthetic sample town: generator and loader."""
