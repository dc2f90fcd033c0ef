# The probe rules' inputs, outputs and code fingerprints (rules/probes.smk); the
# planning itself is audiorec.probes.planning.

from audiorec import probes as probe_registry
from audiorec.probes import planning as probe_planning

PROBES = config["probes"]
PROBE_TASKS = PROBES["tasks"]
PROBE_JOBS = probe_planning.jobs(config)


def probe_code(stage):
    return lambda w: code(stage, probe_registry.module(PROBE_TASKS[w.task]["type"]))


def probe_clip_inputs(w):
    """The files a task's clips are read from (its downloads, or the dataset's files)."""
    root = probe_planning.task_root(config, w.task)
    return [os.path.join(root, f) for f in probe_planning.task_class(PROBE_TASKS[w.task]).inputs()]


def probe_extract_inputs(w):
    rate = rate_of(w.backbone)
    shards = range(PROBE_TASKS[w.task]["n_shards"])
    folder = f"{R}/probes/{w.task}/audio/{rate}hz"
    inputs = {
        "cache": [f"{folder}/shard{s}.parquet" for s in shards],
        "cache_failures": [f"{folder}/shard{s}.failures.tsv" for s in shards],
    }
    if backbone_registry.get(BACKBONES[w.backbone]["type"]).needs_weights:
        inputs["weights"] = f"{R}/weights/{weights_key(BACKBONES[w.backbone])}.json"
    return inputs


def probe_report_outputs():
    return {
        "csv": table(f"{T}/mir_vs_rec.csv", "mir_vs_rec", subcategory="MIR probes"),
        "markdown": f"{T}/mir_vs_rec.md",
        "html": table(f"{T}/mir_vs_rec.html", "mir_vs_rec", subcategory="MIR probes"),
        "correlations": table(f"{T}/mir_correlations.csv", "mir_correlations", subcategory="MIR probes"),
        "probes": f"{T}/probes.csv",
        "figure": figure(f"{F}/mir_vs_rec.png", "mir_figure", "MIR probes"),
        "layers_figure": figure(f"{F}/mir_layers.png", "mir_layers", "MIR probes"),
    }


PROBE_TARGETS = [str(p) for p in probe_report_outputs().values()] if PROBE_JOBS else []
