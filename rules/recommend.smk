# Per run (backbone, recommender, variant, seed): one job fits and saves the
# model, another scores it by full ranking. Evaluation settings reach only the
# evaluation jobs, so changing them re-scores without retraining.


rule train:
    """Fit one recommender on one backbone's item vectors (or none) and save it."""
    input:
        unpack(train_inputs),
    output:
        model=f"{RUN_DIR}/model.pt",
        info=f"{RUN_DIR}/train.json",
    params:
        spec=recommender_spec,
        use_layer=use_layer,
        code=recommender_code("train"),
    group:
        run_group
    threads: lambda w: RECOMMENDERS[w.recommender]["resources"]["threads"]
    resources:
        **resource_directives(lambda w: RECOMMENDERS[w.recommender]["resources"]),
    log:
        f"{R}/logs/train/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../workflow/scripts/train.py"


rule evaluate:
    """Rank every candidate item for every evaluated user; metrics per user."""
    input:
        **split_inputs(),
        model=f"{RUN_DIR}/model.pt",
        train_info=f"{RUN_DIR}/train.json",
    output:
        **evaluation_outputs(),
    params:
        spec=lambda w: {
            "type": RECOMMENDERS[w.recommender]["type"],
            "device": config["evaluation"]["device"],
        },
        evaluation=evaluation_settings(),
        code=recommender_code("evaluate"),
    group:
        run_group
    threads: config["evaluation"]["resources"]["threads"]
    resources:
        **fixed_resources(config["evaluation"]["resources"]),
    log:
        f"{R}/logs/evaluate/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../workflow/scripts/evaluate.py"


# -- sweeps: the same jobs on a share of the train pairs, or on another layer ----
# One training and one evaluation per (sweep, run) of the `sweeps` section, under
# results/sweeps/<sweep>/; the main runs are the 100 % and chosen-layer points.


use rule train as train_sweep with:
    output:
        model=f"{SWEEP_DIR}/model.pt",
        info=f"{SWEEP_DIR}/train.json",
    params:
        spec=recommender_spec,
        use_layer=sweep_layer,
        training_share=training_share,
        code=recommender_code("train"),
    log:
        f"{R}/logs/sweeps/{{sweep}}/train/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/sweeps/{{sweep}}/train/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}.tsv"


use rule evaluate as evaluate_sweep with:
    input:
        **split_inputs(),
        model=f"{SWEEP_DIR}/model.pt",
        train_info=f"{SWEEP_DIR}/train.json",
    output:
        **evaluation_outputs(SWEEP_DIR),
    params:
        spec=lambda w: {
            "type": RECOMMENDERS[w.recommender]["type"],
            "device": config["evaluation"]["device"],
        },
        evaluation=evaluation_settings(),
        training_share=training_share,
        code=recommender_code("evaluate"),
    log:
        f"{R}/logs/sweeps/{{sweep}}/evaluate/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/sweeps/{{sweep}}/evaluate/{{backbone}}/{{recommender}}/{{variant}}/seed{{seed}}.tsv"
