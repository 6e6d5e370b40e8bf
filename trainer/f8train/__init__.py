"""f8train: trains F8Net fixed-point models and writes them as `.f8` files (docs/FORMAT.md)."""
