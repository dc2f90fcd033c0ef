"""Stand-ins for SLURM's commands, for testing the cluster path on a machine without SLURM.

Installed (by tests/test_cluster.py) as sbatch, sacct, squeue, scontrol,
srun, sacctmgr and sinfo in a folder put first on PATH; state lives in
$STUB_SLURM_DIR. `sbatch` records its arguments (one JSON line per call in
sbatch.jsonl), then runs the job script in the background as SLURM would,
with SLURM_JOB_ID and friends set, and `sacct`/`squeue` report its state.
A job that asks for a GPU is recorded and then refused (state FAILED, as on
a cluster whose GPU partition this user cannot reach), unless
STUB_SLURM_GPU=run, which runs it like any other; STUB_SLURM_RUN=none
records every job and runs none. `srun` drops its options
and runs the command. The real snakemake-executor-plugin-slurm drives them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

STATE = Path(os.environ["STUB_SLURM_DIR"])


def _job_file(job_id: str) -> Path:
    return STATE / "jobs" / f"{job_id}.json"


def _write_job(job_id: str, **fields) -> None:
    path = _job_file(job_id)
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(fields)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _options(args: list[str]) -> dict:
    """sbatch's options as a dict (flag -> value or True)."""
    out, i = {}, 0
    while i < len(args):
        a = args[i]
        if a.startswith("--") and "=" in a:
            k, v = a.split("=", 1)
            out[k] = v
        elif a.startswith("-") and i + 1 < len(args) and not args[i + 1].startswith("-"):
            out[a] = args[i + 1]
            i += 1
        else:
            out[a] = True
        i += 1
    return out


@contextlib.contextmanager
def _locked():
    """One stub command at a time on the shared state (Snakemake submits in parallel)."""
    with open(STATE / "lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _next_job_id() -> str:
    counter = STATE / "counter"
    with _locked():
        job_id = str(int(counter.read_text()) + 1 if counter.exists() else 1000)
        counter.write_text(job_id)
    return job_id


def sbatch(args: list[str]) -> None:
    (STATE / "jobs").mkdir(parents=True, exist_ok=True)
    job_id = _next_job_id()
    wrap = [i for i, a in enumerate(args) if a == "--wrap" or a.startswith("--wrap=")]
    if wrap:
        i = wrap[0]
        command = args[i][7:] if args[i].startswith("--wrap=") else args[i + 1]
        script = "#!/bin/sh\n" + command + "\n"
        args = args[:i] + args[i + (1 if args[i].startswith("--wrap=") else 2) :]
    else:
        script = sys.stdin.read()
    opts = _options(args)
    gpu = any(k in opts for k in ("--gpus", "--gpus-per-task")) or "gpu" in str(
        opts.get("--gres", "")
    )
    record = {"job_id": job_id, "args": args, "options": opts, "script": script}
    with _locked(), open(STATE / "sbatch.jsonl", "a") as fh:
        fh.write(json.dumps(record) + "\n")
    name = opts.get("--job-name", "job")
    if os.environ.get("STUB_SLURM_RUN") == "none":
        _write_job(job_id, name=name, state="FAILED", reason="recorded only")
        print(job_id)
        return
    if gpu and os.environ.get("STUB_SLURM_GPU") != "run":
        _write_job(job_id, name=name, state="FAILED", reason="no GPU node for this stub")
        print(job_id)
        return
    _write_job(job_id, name=name, state="RUNNING")
    log = str(opts.get("--output", STATE / f"{job_id}.log")).replace("%j", job_id)
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    cpus = str(opts.get("--cpus-per-task", 1))
    env = {
        **os.environ,
        "SLURM_JOB_ID": job_id,
        "SLURM_JOBID": job_id,
        "SLURM_CPUS_PER_TASK": cpus,
        "SLURM_CPUS_ON_NODE": cpus,
        "SLURM_NTASKS": "1",
        "SLURM_JOB_NAME": name,
        "SLURM_NODELIST": "localhost",
        "SLURMD_NODENAME": "localhost",
    }
    runner = (
        f"{shlex.quote(sys.executable)} {shlex.quote(__file__)} _run {job_id} {shlex.quote(log)}"
    )
    subprocess.Popen(
        runner,
        shell=True,
        cwd=opts.get("-D") or os.getcwd(),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    (STATE / "scripts").mkdir(exist_ok=True)
    (STATE / "scripts" / f"{job_id}.sh").write_text(script)
    print(job_id)


def _run(job_id: str, log: str) -> None:
    script = STATE / "scripts" / f"{job_id}.sh"
    for _ in range(100):  # sbatch writes the script right after starting us
        if script.exists():
            break
        import time

        time.sleep(0.05)
    with open(log, "ab") as out:
        rc = subprocess.call(["sh", str(script)], stdout=out, stderr=subprocess.STDOUT)
    _write_job(job_id, state="COMPLETED" if rc == 0 else "FAILED", exit_code=rc)


def _states() -> list[tuple[str, str]]:
    return [
        (p.stem, json.loads(p.read_text())["state"])
        for p in sorted((STATE / "jobs").glob("*.json"))
    ]


def sacct(args: list[str]) -> None:
    if "-o" in args or any(a.startswith("Account") for a in args):
        return  # account guessing: nothing recent
    for job_id, state in _states():
        print(f"{job_id}|{state}")


def squeue(args: list[str]) -> None:
    for job_id, state in _states():
        if state in ("PENDING", "RUNNING"):
            print(f"{job_id}|{state}")


def scontrol(args: list[str]) -> None:
    if args[:2] == ["show", "config"]:
        print("MinJobAge               = 300 sec")


def srun(args: list[str]) -> None:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 1
    os.execvp(args[i], args[i:])


def sacctmgr(args: list[str]) -> None:
    for account in os.environ.get("STUB_SLURM_ACCOUNTS", "").split(","):
        print(account)


def sinfo(args: list[str]) -> None:
    print("PARTITION\ncpu*\ngpu")


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "_run":
        _run(*rest)
    else:
        {
            "sbatch": sbatch,
            "sacct": sacct,
            "squeue": squeue,
            "scontrol": scontrol,
            "srun": srun,
            "sacctmgr": sacctmgr,
            "sinfo": sinfo,
        }[command](rest)
