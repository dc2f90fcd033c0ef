# Paths and per-wildcard lookups shared by the rules.

from audiorec import backbones as backbone_registry
from audiorec.config import NO_BACKBONE, backbone_sample_rate, runs, sample_rates

R = config["results_dir"]
DATA = config["dataset"]
N_SHARDS = config["audio"]["n_shards"]
SHARDS = list(range(N_SHARDS))


wildcard_constraints:
    backbone=r"[A-Za-z][A-Za-z0-9_-]*",
    recommender=r"[A-Za-z][A-Za-z0-9_-]*",
    variant=r"[a-z]+",
    seed=r"\d+",
    shard=r"\d+",
    rate=r"\d+",


def data_file(key):
    return os.path.join(DATA["root"], DATA[key])


def backbone_spec(name):
    return config["backbones"][name]


def rate_of(wildcards):
    return backbone_sample_rate(backbone_spec(wildcards.backbone))


def backbone_resource(key):
    return lambda wildcards: backbone_spec(wildcards.backbone)["resources"][key]


def recommender_resource(key):
    return lambda wildcards: config["recommenders"][wildcards.recommender]["resources"][key]


def run_dir(backbone, recommender, variant, seed):
    return f"{R}/runs/{backbone}/{recommender}/{variant}/seed{seed}"


def per_user_files():
    return [f"{run_dir(*r)}/per_user.parquet" for r in runs(config)]


def summary_outputs():
    return [
        f"{R}/tables/summary.md",
        f"{R}/tables/summary.csv",
        f"{R}/tables/tests.csv",
        f"{R}/figures/summary.png",
        f"{R}/split/stats.tsv",
    ] + [f"{R}/embeddings/{b}.failures.tsv" for b in config["backbones"]]


def catalogue_inputs(wildcards):
    inputs = {"audio": os.path.join(DATA["root"], DATA["audio_dir"])}
    if DATA["format"] == "onion" and DATA["id_information"]:
        inputs["info"] = data_file("id_information")
    if DATA["only_listened"]:
        inputs["log"] = data_file("listening_log")
    if DATA["track_list"]:
        inputs["track_list"] = DATA["track_list"] if os.path.isabs(DATA["track_list"]) else os.path.join(DATA["root"], DATA["track_list"])
    return inputs


def train_inputs(wildcards):
    inputs = {p: f"{R}/split/{p}.parquet" for p in ("train", "val", "test")}
    if wildcards.backbone != NO_BACKBONE:
        inputs["embeddings"] = f"{R}/embeddings/{wildcards.backbone}.parquet"
    return inputs
