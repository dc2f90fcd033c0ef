# Files fetched before anything reads them: dataset files from a published
# record, audio clips from a manifest. Local rules: they run on the host
# Snakemake runs on, which has network where compute nodes may not.


if DOWNLOADS and DL["record"]:

    rule record:
        """The record's API answer: every file's size and MD5, as published."""
        output:
            f"{R}/data/record.json",
        params:
            url=DL["record"],
        localrule: True
        log:
            f"{R}/logs/download/record.log",
        run:
            from audiorec.stages import download
            from audiorec.stages.common import setup_job

            setup_job(log[0])
            download.record(params.url, output[0])


if DOWNLOADS:

    rule download_file:
        """One dataset file, resumable, checked against its published size and MD5."""
        wildcard_constraints:
            file=one_of(DOWNLOADS),
        input:
            record=f"{R}/data/record.json" if DL["record"] else [],
            manifest=manifest_path() or [],
        output:
            os.path.join(DATA["root"], "{file}"),
        params:
            settings={k: DL[k] for k in ("url", "retries")},
        localrule: True
        log:
            f"{R}/logs/download/{{file}}.log",
        run:
            from audiorec.stages import download
            from audiorec.stages.common import setup_job

            setup_job(log[0])
            download.dataset_file(
                wildcards.file,
                params.settings,
                output[0],
                input.record or None,
                input.manifest or None,
            )


if DL["audio_manifest"]:

    rule download_audio:
        """Every clip of the audio manifest into the audio folder; failures in a table."""
        input:
            DL["audio_manifest"],
        output:
            report=f"{R}/data/audio_download.tsv",
            failures=f"{R}/data/audio_download.failures.tsv",
        params:
            audio_root=os.path.join(DATA["root"], DATA["audio_dir"] or "audios"),
            ext=DATA["audio_ext"],
            settings=DL["audio"],
        localrule: True
        log:
            f"{R}/logs/download/audio.log",
        run:
            from audiorec.stages import download
            from audiorec.stages.common import setup_job

            setup_job(log[0])
            download.audio(
                input[0],
                params.audio_root,
                params.ext,
                dict(params.settings),
                output.report,
                output.failures,
            )
