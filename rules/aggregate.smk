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
        baselines={name: spec["baseline"] for name, spec in config["recommenders"].items()},
        title=f"audiorec results ({config['preset']})",
    log:
        f"{R}/logs/aggregate.log",
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/aggregate.py"
