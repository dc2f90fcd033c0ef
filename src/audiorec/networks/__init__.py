"""Neural networks of the trained recommenders (torch is imported here, not in the plug-in modules)."""
