# One job per (backbone, recommender, variant, seed): fit, rank everything, score per user.


rule train_evaluate:
    """Fit one recommender on one backbone's item vectors and evaluate by full ranking."""
    input:
        unpack(train_inputs),
    output:
        per_user=f"{R}/runs/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}/per_user.parquet",
        recommendations=f"{R}/runs/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}/recommendations.parquet",
        info=f"{R}/runs/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}/info.json",
    params:
        type=lookup(dpath="recommenders/{recommender}/type", within=config),
        params=lookup(dpath="recommenders/{recommender}/params", within=config),
        device=lookup(dpath="recommenders/{recommender}/device", within=config),
        evaluation=config["evaluation"],
        use_layer=lambda w: config["backbones"][w.backbone]["use_layer"] if w.backbone != NO_BACKBONE else None,
    threads: recommender_resource("threads")
    resources:
        mem_mb=recommender_resource("mem_mb"),
        runtime=recommender_resource("runtime"),
        gpu=recommender_resource("gpu"),
    log:
        f"{R}/logs/train_evaluate/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train_evaluate/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}.tsv"
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/train_evaluate.py"
