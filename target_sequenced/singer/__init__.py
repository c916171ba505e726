"""The Singer adapter: the SDK target, its sink, the line reader and the settings."""
