"""Dataset readers, the indexed interaction matrices, and the synthetic demo dataset."""
