# One extraction job per (backbone, shard), merged into one Parquet per backbone.
# A backbone's parameters reach only its own jobs (lookup into backbones/{backbone}),
# and its module file is an input, so editing either re-runs only that backbone.


rule extract:
    """Embed one cache shard with one backbone; failed tracks go to the failures table."""
    input:
        cache=lambda w: f"{R}/audio/{rate_of(w)}hz/shard{w.shard}.parquet",
        cache_failures=lambda w: f"{R}/audio/{rate_of(w)}hz/shard{w.shard}.failures.tsv",
        code=lambda w: str(backbone_registry.source_file(backbone_spec(w.backbone)["type"])),
    output:
        embeddings=f"{R}/embeddings/{{backbone}}/shard{{shard}}.parquet",
        failures=f"{R}/embeddings/{{backbone}}/shard{{shard}}.failures.tsv",
    params:
        type=lookup(dpath="backbones/{backbone}/type", within=config),
        params=lookup(dpath="backbones/{backbone}/params", within=config),
        batch_size=lookup(dpath="backbones/{backbone}/batch_size", within=config),
        device=lookup(dpath="backbones/{backbone}/device", within=config),
    threads: backbone_resource("threads")
    resources:
        mem_mb=backbone_resource("mem_mb"),
        runtime=backbone_resource("runtime"),
        gpu=backbone_resource("gpu"),
    log:
        f"{R}/logs/extract/{{backbone}}/shard{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/extract/{{backbone}}/shard{{shard}}.tsv"
    conda:
        lambda w: f"../envs/{backbone_spec(w.backbone)['type']}.yaml"
    script:
        "../workflow/scripts/extract.py"


rule merge_embeddings:
    """All shards of one backbone in one file, sorted by track id."""
    input:
        embeddings=expand(f"{R}/embeddings/{{{{backbone}}}}/shard{{shard}}.parquet", shard=SHARDS),
        failures=expand(f"{R}/embeddings/{{{{backbone}}}}/shard{{shard}}.failures.tsv", shard=SHARDS),
    output:
        embeddings=f"{R}/embeddings/{{backbone}}.parquet",
        failures=f"{R}/embeddings/{{backbone}}.failures.tsv",
    log:
        f"{R}/logs/merge_embeddings/{{backbone}}.log",
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/merge_embeddings.py"
