"""target-sequenced: a Singer target where, per key, the greatest sequence wins."""
