"""Whole region-years at once: a generator, Parquet frames, and the columnar engine that
agrees with the scalar engine to the fen (docs/batch.md)."""
