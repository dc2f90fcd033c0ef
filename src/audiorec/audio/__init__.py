"""Audio decoding and the resampled-audio cache."""
