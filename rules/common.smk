# Paths, per-job settings and resources shared by the rules. Everything a job
# reads from the config is looked up here with plain dict access (cheap enough
# to plan thousands of jobs in seconds), and every job gets a `code` param: a
# fingerprint of the code it runs (audiorec.code_version), so that editing a
# module re-runs exactly the jobs that import it.

import re

from audiorec import backbones as backbone_registry
from audiorec import code_version
from audiorec import recommenders as recommender_registry
from audiorec.planning import (
    NO_BACKBONE,
    audio_backbones,
    backbone_sample_rate,
    backbone_shards,
    cache_shards_of,
    log_files,
    parse_sweep,
    runs,
    sweep_runs,
    weights_jobs,
    weights_key,
    weights_spec,
)

R = config["results_dir"]
DATA = config["dataset"]
N_CACHE_SHARDS = config["audio"]["n_shards"]
BACKBONES = config["backbones"]
RECOMMENDERS = config["recommenders"]
RUNS = runs(config)
SWEEP_RUNS = sweep_runs(config)
DL = config["download"]
DOWNLOADS = DL["files"]
AUDIO_BACKBONES = audio_backbones(config)
FILE_BACKBONES = [b for b in BACKBONES if b not in AUDIO_BACKBONES]
WEIGHTS = weights_jobs(config)  # one fetch job per set of weights, however many entries share it


def one_of(names):
    """A wildcard pattern matching exactly these names (none: nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"

SCRIPTS = os.path.join(workflow.basedir, "workflow", "scripts")

wildcard_constraints:
    backbone=r"[A-Za-z][A-Za-z0-9_-]*",
    recommender=r"[A-Za-z][A-Za-z0-9_-]*",
    variant=r"[a-z]+",
    seed=r"\d+",
    shard=r"\d+",
    sweep=r"(size|layer)\d+",
    rate=r"\d+",

def data_file(key):
    return os.path.join(DATA["root"], DATA[key])

def rate_of(backbone):
    return backbone_sample_rate(BACKBONES[backbone])

def code(stage, plugin=None, script=None):
    """The fingerprint of a stage module, a plug-in module and the wrapper script."""
    modules = (f"audiorec.stages.{stage}",) + ((plugin,) if plugin else ())
    return code_version.fingerprint(
        *modules, scripts=(os.path.join(SCRIPTS, f"{script or stage}.py"),)
    )

def backbone_code(stage, script=None):
    return lambda w: code(stage, backbone_registry.module(BACKBONES[w.backbone]["type"]), script)

def weights_code(w):
    return code("fetch_weights", backbone_registry.module(WEIGHTS[w.weights]["type"]))

def recommender_code(stage):
    return lambda w: code(stage, recommender_registry.module(RECOMMENDERS[w.recommender]["type"]))

def run_dir(backbone, recommender, variant, seed):
    return f"{R}/runs/{backbone}/{recommender}/{variant}/seed{seed}"

RUN_DIR = run_dir("{backbone}", "{recommender}", "{variant}", "{seed}")

def sweep_dir(sweep, backbone, recommender, variant, seed):
    return f"{R}/sweeps/{sweep}/runs/{backbone}/{recommender}/{variant}/seed{seed}"

SWEEP_DIR = sweep_dir("{sweep}", "{backbone}", "{recommender}", "{variant}", "{seed}")

def per_user_files():
    return [f"{run_dir(*r)}/per_user{suffix}.parquet" for r in RUNS for suffix in EVALUATED]

def sweep_per_user_files():
    return [
        f"{sweep_dir(s, *r)}/per_user{suffix}.parquet" for s, r in SWEEP_RUNS for suffix in EVALUATED
    ]

def train_records():
    """Every main run's training record (epochs and losses, for the training curves)."""
    return [f"{run_dir(*r)}/train.json" for r in RUNS]

def training_share(w):
    """{share, seed} of a training-size sweep run, else None."""
    kind, value = parse_sweep(w.sweep)
    if kind != "size":
        return None
    return {"share": value / 100, "seed": config["sweeps"]["training_size"]["seed"]}

def sweep_layer(w):
    kind, value = parse_sweep(w.sweep)
    return value if kind == "layer" else use_layer(w)


def evaluation_settings():
    """What the evaluation jobs read of `evaluation` (cold_ks only where there is a cold block)."""
    keys = ("ks", "part", "user_batch", "popularity_segments") + (("cold_ks",) if HOT_COLD else ())
    return {k: config["evaluation"][k] for k in keys}


def evaluation_outputs(folder=RUN_DIR):
    out = {"info": f"{folder}/info.json"}
    for suffix in EVALUATED:
        out[f"per_user{suffix}"] = f"{folder}/per_user{suffix}.parquet"
        out[f"recommendations{suffix}"] = f"{folder}/recommendations{suffix}.parquet"
    return out

def summary_outputs():
    """What `snakemake` builds by default: every aggregate output (rules/aggregate.smk),
    the split's statistics and each backbone's failures table."""
    return [str(p) for p in aggregate_outputs().values()] + [
        f"{R}/split/stats.tsv"
    ] + [f"{R}/embeddings/{b}.failures.tsv" for b in BACKBONES]

def catalogue_inputs(wildcards):
    inputs = {}
    if DATA["audio_dir"]:
        inputs["audio"] = os.path.join(DATA["root"], DATA["audio_dir"])
    if DATA["format"] == "onion" and DATA["id_information"]:
        inputs["info"] = data_file("id_information")
    if DATA["only_listened"]:
        inputs["log"] = f"{R}/data/log.parquet"
        inputs["tracks"] = f"{R}/data/log_tracks.parquet"
    if config["download"]["audio_manifest"]:
        inputs["downloaded"] = f"{R}/data/audio_download.tsv"
    if DATA["track_list"]:
        inputs["track_list"] = (
            DATA["track_list"]
            if os.path.isabs(DATA["track_list"])
            else os.path.join(DATA["root"], DATA["track_list"])
        )
    return inputs

def extract_inputs(w):
    rate = rate_of(w.backbone)
    shards = cache_shards_of(int(w.shard), backbone_shards(config, w.backbone), N_CACHE_SHARDS)
    inputs = {
        "cache": [f"{R}/audio/{rate}hz/shard{s}.parquet" for s in shards],
        "cache_failures": [f"{R}/audio/{rate}hz/shard{s}.failures.tsv" for s in shards],
    }
    if backbone_registry.get(BACKBONES[w.backbone]["type"]).needs_weights:
        inputs["weights"] = f"{R}/weights/{weights_key(BACKBONES[w.backbone])}.json"
    return inputs

def merge_inputs(kind):
    ext = "parquet" if kind == "embeddings" else "failures.tsv"
    return lambda w: [
        f"{R}/embeddings/{w.backbone}/shard{s}.{ext}"
        for s in range(backbone_shards(config, w.backbone))
    ]

def split_settings():
    """The split's params; its memory limit defaults to 3/4 of the job's memory."""
    out = {k: v for k, v in config["split"].items() if k != "resources"}
    out["memory_mb"] = out["memory_mb"] or int(0.75 * config["split"]["resources"]["mem_mb"])
    return out


HOT_COLD = config["split"]["method"] in ("hot_cold", "yambda")  # splits with a cold part
SPLIT_PARTS = ("train", "val", "test") + (("cold",) if HOT_COLD else ())
EVALUATED = ("",) + (("_cold",) if HOT_COLD else ())  # the cold block's files end in _cold


def split_inputs():
    return {p: f"{R}/split/{p}.parquet" for p in SPLIT_PARTS}

def train_inputs(w):
    inputs = split_inputs()
    if w.backbone != NO_BACKBONE:
        inputs["embeddings"] = f"{R}/embeddings/{w.backbone}.parquet"
    return inputs

def recommender_spec(w):
    spec = RECOMMENDERS[w.recommender]
    return {"type": spec["type"], "params": spec["params"], "device": spec["device"]}

def run_group(w):
    """A CPU-only run's training and evaluation share one cluster submission; a GPU
    training's evaluation runs apart, on a CPU node."""
    return None if RECOMMENDERS[w.recommender]["resources"]["gpu"] else "run"


def use_layer(w):
    return BACKBONES[w.backbone]["use_layer"] if w.backbone != NO_BACKBONE else None

# -- resources ----------------------------------------------------------------
# Per job: threads, memory and time from the preset (memory and time grow with
# the attempt on a retry), a GPU only where the preset asks for one, and the
# SLURM account and partition from the preset entry or else the site file
# (profiles/slurm/site.yaml): CPU-only jobs go to the CPU partition.

def cluster_resources(res):
    """Snakemake resources (SLURM keys included) for one entry's `resources`."""
    gpu = res.get("gpu", 0)
    out = {"gpu": gpu or None}
    if gpu:
        out["gpu_model"] = res.get("gpu_model") or SITE["gpu_model"]
    out["slurm_partition"] = res.get("partition") or SITE[
        "gpu_partition" if gpu else "cpu_partition"
    ]
    out["slurm_account"] = res.get("account") or SITE["account"]
    return out

def resource_directives(lookup, mem_mb=None):
    """Per-wildcard resource callables for a rule whose entry `lookup(wildcards)` finds.

    `mem_mb`, a callable, replaces the entry's memory (e.g. one that grows with the input).
    """
    cached = {}

    def get(w, key):
        res = lookup(w)
        k = id(res)
        if k not in cached:
            cached[k] = cluster_resources(res)
        return cached[k].get(key)

    return {
        "mem_mb": mem_mb or (lambda w, attempt: lookup(w)["mem_mb"] * attempt),
        "runtime": lambda w, attempt: lookup(w)["runtime"] * attempt,
        **{
            key: (lambda w, key=key: get(w, key))
            for key in ("gpu", "gpu_model", "slurm_partition", "slurm_account")
        },
    }

def fixed_resources(res, mem_mb=None):
    """Resources of a job that is not per backbone or recommender."""
    res = {"threads": 1, "mem_mb": 2000, "runtime": 60, **res}
    return resource_directives(lambda w: res, mem_mb)

def scaled_memory(base_mb, factor, per_file=False):
    """Memory that grows with the job's input (factor x its size in MB), x the attempt.

    `per_file`: with the mean size of its input files instead of their sum,
    for jobs that hold one input file at a time.
    """

    def mem_mb(w, input, attempt):
        size = input.size_mb / max(len(input), 1) if per_file else input.size_mb
        return int(base_mb + factor * size) * attempt

    return mem_mb


def manifest_path():
    """The dataset manifest, relative paths from the workflow's folder."""
    m = DL["manifest"]
    return m if not m or os.path.isabs(m) else os.path.join(workflow.basedir, m)


# -- the aggregate job's outputs (rules/aggregate.smk) ---------------------------
# Each goes into `snakemake --report` under a category; captions are in report/.

T = f"{R}/tables"
F = f"{R}/figures"
SIZES = bool(config["sweeps"]["training_size"]["percents"])
LAYERS = bool(config["sweeps"]["layers"]["backbones"])


def table(path, caption, category="Tables", subcategory=None):
    """An output in the report (its caption in report/<caption>.rst)."""
    return report(path, caption=f"../report/{caption}.rst", category=category, subcategory=subcategory)


def figure(path, caption, subcategory=None):
    return report(path, caption=f"../report/{caption}.rst", category="Figures", subcategory=subcategory)


def breakdown_outputs(key, caption, subcategory):
    return {
        key: f"{T}/{key}.csv",
        f"{key}_markdown": f"{T}/{key}.md",
        f"{key}_html": table(f"{T}/{key}.html", caption, "Breakdowns", subcategory),
        f"{key}_figure": table(f"{F}/{key}.png", caption, "Breakdowns", subcategory),
    }


def aggregate_outputs():
    out = {
        "markdown": f"{T}/summary.md",
        "html": table(f"{T}/summary.html", "summary_page", subcategory="Results"),
        "csv": table(f"{T}/summary.csv", "summary", subcategory="Results"),
        "latex": table(f"{T}/summary.tex", "latex", subcategory="Publication"),
        "tests": table(f"{T}/tests.csv", "tests", subcategory="Significance"),
        "wide_markdown": f"{T}/wide.md",
        "wide_html": table(f"{T}/wide.html", "wide", subcategory="Publication"),
        "wide_latex": table(f"{T}/wide.tex", "latex", subcategory="Publication"),
        "figure": figure(f"{F}/summary.png", "summary_figure", "Results"),
        "significance_figure": figure(f"{F}/significance.png", "significance", "Significance"),
        "training_history": f"{T}/training_history.csv",
        "training_curves": report(
            directory(f"{F}/training"),
            patterns=["{run}.png"],
            caption="../report/training_curves.rst",
            category="Per-configuration details",
            subcategory="Training curves",
        ),
        **breakdown_outputs("activity", "activity", "By user activity"),
        **breakdown_outputs("popularity", "popularity", "By item popularity"),
    }
    if HOT_COLD:
        out |= breakdown_outputs("hot_cold", "hot_cold", "Hot vs cold")
    if SIZES:
        out |= breakdown_outputs("training_size", "training_size", "By training size")
    if LAYERS:
        out |= breakdown_outputs("layers", "layers", "By layer")
    return out
