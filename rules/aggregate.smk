# Every per-user file -> result tables, paired significance tests, breakdowns and
# figures; each output also goes into `snakemake --report` (see report/).


rule aggregate:
    """Means with t-intervals, paired tests against baselines (Holm), publication tables,
    breakdowns, sweep curves and figures."""
    input:
        per_user=per_user_files(),
        sweeps=sweep_per_user_files(),
        train_records=train_records(),
    output:
        **aggregate_outputs(),
    params:
        significance=config["significance"],
        report=config["report"],
        baselines={name: spec["baseline"] for name, spec in RECOMMENDERS.items()},
        used_layers={name: spec.get("use_layer") for name, spec in BACKBONES.items()},
        title=f"audiorec results ({config['preset']})",
        code=code("aggregate"),
    threads: 1
    resources:
        **fixed_resources({"runtime": 60}, mem_mb=scaled_memory(2000, 10)),
    log:
        f"{R}/logs/aggregate.log",
    benchmark:
        f"{R}/benchmarks/aggregate.tsv"
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/aggregate.py"
