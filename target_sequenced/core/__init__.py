"""The loading core: sequences, versions, checks and buffers; it knows no adapter and no SDK."""
