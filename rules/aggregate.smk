# Every per-user file -> result tables, paired significance tests, a figure.


rule aggregate:
    """Means with t-intervals, paired Wilcoxon and t-tests against baselines, Holm-corrected."""
    input:
        per_user_files(),
    output:
        markdown=f"{R}/tables/summary.md",
        csv=f"{R}/tables/summary.csv",
        tests=f"{R}/tables/tests.csv",
        figure=f"{R}/figures/summary.png",
    params:
        significance=config["significance"],
        baselines={name: spec["baseline"] for name, spec in RECOMMENDERS.items()},
        title=f"audiorec results ({config['preset']})",
        code=code("aggregate"),
    threads: 1
    resources:
        **fixed_resources({"runtime": 60}, mem_mb=scaled_memory(2000, 10)),
    log:
        f"{R}/logs/aggregate.log",
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/aggregate.py"
