"""Differentiation: differentials, and the extractions that read layouts off them."""
