# Dataset -> catalogue -> resampled audio cache; listening log -> split.

if config["demo"]["enabled"]:

    rule generate_demo:
        """Synthesise the demo dataset in Music4All-Onion's layout."""
        output:
            log=data_file("listening_log"),
            info=data_file("id_information"),
            audio=directory(os.path.join(DATA["root"], DATA["audio_dir"])),
            truth=os.path.join(DATA["root"], "synthetic_truth.tsv"),
            styles=os.path.join(DATA["root"], "synthetic_styles.tsv"),
        params:
            demo=config["demo"],
            code=code("generate_demo"),
        threads: config["demo"]["threads"]
        resources:
            **fixed_resources({"mem_mb": 2000, "runtime": 30}),
        log:
            f"{R}/logs/generate_demo.log",
        benchmark:
            f"{R}/benchmarks/generate_demo.tsv"
        conda:
            "../envs/core.yaml"
        script:
            "../workflow/scripts/generate_demo.py"


rule convert_log:
    """The raw listening log, once, to Parquet: validated, bz2 decompressed in parallel
    (Yambda: its chosen event files, filtered, in DuckDB)."""
    input:
        log_files(config),
    output:
        f"{R}/data/log.parquet",
        f"{R}/data/log_users.parquet",
        f"{R}/data/log_tracks.parquet",
    params:
        dataset={
            k: DATA[k] for k in ("format", "root", "listening_log", "columns", "separator", "yambda")
        },
        code=code("convert_log"),
    threads: DATA["resources"]["threads"]
    resources:
        **fixed_resources(DATA["resources"]),
    log:
        f"{R}/logs/convert_log.log",
    benchmark:
        f"{R}/benchmarks/convert_log.tsv"
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/convert_log.py"


rule catalogue:
    """The tracks to embed and their audio paths, sorted by track id."""
    input:
        unpack(catalogue_inputs),
    output:
        f"{R}/data/catalogue.parquet",
    params:
        dataset={
            k: DATA[k]
            for k in ("format", "root", "audio_dir", "audio_ext", "id_information")
            + ("track_list", "only_listened")
        },
        code=code("catalogue"),
    threads: 1
    resources:
        **fixed_resources({"mem_mb": 4000, "runtime": 60}),
    log:
        f"{R}/logs/catalogue.log",
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/catalogue.py"


rule resample:
    """Decode one shard of the catalogue once per sample rate: mono, 24-bit FLAC in Parquet."""
    input:
        f"{R}/data/catalogue.parquet",
    output:
        cache=f"{R}/audio/{{rate}}hz/shard{{shard}}.parquet",
        failures=f"{R}/audio/{{rate}}hz/shard{{shard}}.failures.tsv",
    params:
        n_shards=N_CACHE_SHARDS,
        offset_seconds=config["audio"]["offset_seconds"],
        max_seconds=config["audio"]["max_seconds"],
        code=code("resample"),
    group:
        "resample"
    threads: 1
    resources:
        **fixed_resources(config["audio"]["resources"]),
    log:
        f"{R}/logs/resample/{{rate}}hz_shard{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/resample/{{rate}}hz_shard{{shard}}.tsv"
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/resample.py"


rule split:
    """The listening log split into train / validation / test pairs."""
    input:
        log=f"{R}/data/log.parquet",
        users=f"{R}/data/log_users.parquet",
        tracks=f"{R}/data/log_tracks.parquet",
        catalogue=f"{R}/data/catalogue.parquet",
    output:
        **split_inputs(),
        stats=f"{R}/split/stats.tsv",
    params:
        dataset={k: DATA[k] for k in ("unknown_tracks",)},
        split=split_settings(),
        code=code("split"),
    threads: config["split"]["resources"]["threads"]
    resources:
        **fixed_resources(config["split"]["resources"]),
    log:
        f"{R}/logs/split.log",
    benchmark:
        f"{R}/benchmarks/split.tsv"
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/split.py"
