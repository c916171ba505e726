"""Stitch's Import API: payloads translated, checked with Stitch's rules and wording, and loaded."""
