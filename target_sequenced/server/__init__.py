"""A self-hosted Stitch Import API: HTTP in, the Import API translator, the loading core."""
