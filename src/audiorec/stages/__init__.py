"""Entry points of the workflow's jobs, one module per rule.

Each takes plain paths and settings (no Snakemake object), so it can be
called from a test, a notebook or the thin wrappers in workflow/scripts/.
"""
