# One extraction job per (backbone, shard), merged into one Parquet per backbone.
# A backbone's parameters reach only its own jobs, and its `code` param covers
# its module and everything that module imports, so editing either re-runs
# only that backbone's extraction, its trainings and what follows.


rule fetch_weights:
    """Download a checkpoint's weights once, on the host Snakemake runs on (it has network);
    every backbone entry that loads the same weights reads them."""
    wildcard_constraints:
        weights=one_of(WEIGHTS),
    output:
        f"{R}/weights/{{weights}}.json",
    params:
        spec=lambda w: WEIGHTS[w.weights],
        code=weights_code,
    localrule: True
    log:
        f"{R}/logs/fetch_weights/{{weights}}.log",
    conda:
        lambda w: f"../envs/{WEIGHTS[w.weights]['type']}.yaml"
    script:
        "../workflow/scripts/fetch_weights.py"


rule extract:
    """Embed some cache shards with one backbone; failed tracks go to the failures table."""
    input:
        unpack(extract_inputs),
    output:
        embeddings=f"{R}/embeddings/{{backbone}}/shard{{shard}}.parquet",
        failures=f"{R}/embeddings/{{backbone}}/shard{{shard}}.failures.tsv",
    params:
        spec=lambda w: {
            k: BACKBONES[w.backbone][k] for k in ("type", "params", "batch_size", "device")
        },
        code=backbone_code("extract"),
    group:
        lambda w: None if BACKBONES[w.backbone]["resources"]["gpu"] else "extract_cpu"
    threads: lambda w: BACKBONES[w.backbone]["resources"]["threads"]
    resources:
        **resource_directives(lambda w: BACKBONES[w.backbone]["resources"]),
    log:
        f"{R}/logs/extract/{{backbone}}/shard{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/extract/{{backbone}}/shard{{shard}}.tsv"
    conda:
        lambda w: f"../envs/{BACKBONES[w.backbone]['type']}.yaml"
    script:
        "../workflow/scripts/extract.py"


rule merge_embeddings:
    """All shards of one backbone in one file, written shard by shard (memory: one shard)."""
    wildcard_constraints:
        backbone=one_of(AUDIO_BACKBONES),
    input:
        embeddings=merge_inputs("embeddings"),
        failures=merge_inputs("failures"),
    output:
        embeddings=f"{R}/embeddings/{{backbone}}.parquet",
        failures=f"{R}/embeddings/{{backbone}}.failures.tsv",
    params:
        code=code("merge_embeddings"),
    threads: 1
    resources:
        **fixed_resources({"runtime": 60}, mem_mb=scaled_memory(1000, 6, per_file=True)),
    log:
        f"{R}/logs/merge_embeddings/{{backbone}}.log",
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/merge_embeddings.py"


rule import_embeddings:
    """A precomputed backbone's vectors (e.g. a Music4All-Onion feature file), as extraction writes them."""
    wildcard_constraints:
        backbone=one_of(FILE_BACKBONES),
    input:
        catalogue=f"{R}/data/catalogue.parquet",
        vectors=lambda w: os.path.join(DATA["root"], BACKBONES[w.backbone]["params"]["path"]),
    output:
        embeddings=f"{R}/embeddings/{{backbone}}.parquet",
        failures=f"{R}/embeddings/{{backbone}}.failures.tsv",
    params:
        spec=lambda w: {k: BACKBONES[w.backbone][k] for k in ("type", "params")},
        root=DATA["root"],
        code=backbone_code("import_embeddings"),
    threads: 2
    resources:
        **fixed_resources({"runtime": 60}, mem_mb=scaled_memory(2000, 30)),
    log:
        f"{R}/logs/import_embeddings/{{backbone}}.log",
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/import_embeddings.py"
