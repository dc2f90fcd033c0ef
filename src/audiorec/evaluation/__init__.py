"""Full-ranking evaluation: batched top-K and per-user metrics from one hit matrix."""
