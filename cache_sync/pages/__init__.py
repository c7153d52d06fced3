"""Pages: the cached read path (the decorator, one page read, the stored format, what may be stored, rebuilds)."""
