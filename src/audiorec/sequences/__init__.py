"""Training sequences for sequential recommenders: windows, masks, batches, packing."""
