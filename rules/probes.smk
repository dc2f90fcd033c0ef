# MIR probes on the vectors the recommenders use (docs/probes.md): a task's files
# are downloaded into its root, its clips listed with their split and labels, its
# audio resampled and embedded by the same rules as the catalogue's (`use rule`:
# the same params and code, so a backbone change re-runs both sides), then
# linear and MLP probes per (task, backbone), and one report beside the results.


include: "probe_inputs.smk"

for _task, _files in probe_planning.remote_files_by_task(config).items():

    rule:
        name:
            f"probe_download_{_task}"
        wildcard_constraints:
            file=one_of(_files),
        output:
            os.path.join(probe_planning.task_root(config, _task), "{file}"),
        params:
            spec=PROBE_TASKS[_task],
            retries=PROBES["retries"],
        localrule: True
        log:
            f"{R}/logs/probes/{_task}/download/{{file}}.log",
        run:
            from audiorec.stages import download
            from audiorec.stages.common import setup_job

            setup_job(log[0])
            download.probe_file(dict(params.spec), wildcards.file, output[0], params.retries)


rule probe_clips:
    """A probe task's clips, split and labels (its archives unpacked first)."""
    wildcard_constraints:
        task=one_of(PROBE_TASKS),
    input:
        probe_clip_inputs,
    output:
        f"{R}/probes/{{task}}/clips.parquet",
    params:
        spec=lambda w: PROBE_TASKS[w.task],
        root=lambda w: probe_planning.task_root(config, w.task),
        code=probe_code("probe_clips"),
    threads: 1
    resources:
        **fixed_resources({"mem_mb": 4000, "runtime": 120}),
    log:
        f"{R}/logs/probes/{{task}}/clips.log",
    conda:
        "../envs/core.yaml"
    script:
        "../workflow/scripts/probe_clips.py"


use rule resample as probe_resample with:
    input:
        f"{R}/probes/{{task}}/clips.parquet",
    output:
        cache=f"{R}/probes/{{task}}/audio/{{rate}}hz/shard{{shard}}.parquet",
        failures=f"{R}/probes/{{task}}/audio/{{rate}}hz/shard{{shard}}.failures.tsv",
    params:
        n_shards=lambda w: PROBE_TASKS[w.task]["n_shards"],
        offset_seconds=config["audio"]["offset_seconds"],
        max_seconds=config["audio"]["max_seconds"],
        code=code("resample"),
    log:
        f"{R}/logs/probes/{{task}}/resample/{{rate}}hz_shard{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/probes/{{task}}/resample/{{rate}}hz_shard{{shard}}.tsv"


use rule extract as probe_extract with:
    input:
        unpack(probe_extract_inputs),
    output:
        embeddings=f"{R}/probes/{{task}}/embeddings/{{backbone}}.parquet",
        failures=f"{R}/probes/{{task}}/embeddings/{{backbone}}.failures.tsv",
    log:
        f"{R}/logs/probes/{{task}}/extract/{{backbone}}.log",
    benchmark:
        f"{R}/benchmarks/probes/{{task}}/extract/{{backbone}}.tsv"


rule probe:
    """The linear and MLP probes of one task on one backbone's frozen vectors."""
    input:
        clips=f"{R}/probes/{{task}}/clips.parquet",
        embeddings=lambda w: probe_planning.embeddings_path(config, R, w.task, w.backbone),
    output:
        f"{R}/probes/{{task}}/results/{{backbone}}.tsv",
    params:
        spec=lambda w: PROBE_TASKS[w.task],
        root=lambda w: probe_planning.task_root(config, w.task),
        models=PROBES["models"],
        seeds=PROBES["seeds"],
        settings={k: PROBES[k] for k in ("hidden", "batch_size", "max_epochs", "patience", "grid")},
        code=probe_code("probe"),
    threads: PROBES["resources"]["threads"]
    resources:
        **fixed_resources(PROBES["resources"]),
    log:
        f"{R}/logs/probes/{{task}}/probe/{{backbone}}.log",
    benchmark:
        f"{R}/benchmarks/probes/{{task}}/probe/{{backbone}}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../workflow/scripts/probe.py"


if PROBE_JOBS:

    rule probe_report:
        """Each backbone's probe scores beside its recommendation scores, their rank
        correlations across backbones, and the figure."""
        input:
            results=[f"{R}/probes/{t}/results/{b}.tsv" for t, b in PROBE_JOBS],
            summary=f"{R}/tables/summary.csv",
            layers=[f"{T}/layers.csv"] if LAYERS else [],
        output:
            **probe_report_outputs(),
        params:
            tasks=PROBE_TASKS,
            backbones={name: weights_spec(spec) for name, spec in BACKBONES.items()},
            measure=config["report"]["metric"],
            report_model=PROBES["report_model"],
            confidence=config["significance"]["confidence"],
            title=f"audiorec ({config['preset']})",
            code=code("probe_report"),
        threads: 1
        resources:
            **fixed_resources({"mem_mb": 2000, "runtime": 30}),
        log:
            f"{R}/logs/probes/report.log",
        conda:
            "../envs/core.yaml"
        script:
            "../workflow/scripts/probe_report.py"
