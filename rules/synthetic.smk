# The synthetic reporting year: generated when its files are missing (only for a config with `synthetic`).

if RUN.is_synthetic:

    rule synthesise:
        output:
            files=RUN.configured_input_files(),
            manifest=f"{RUN.data['synthetic']['out_dir']}/manifest.json",
            truth=f"{RUN.data['synthetic']['out_dir']}/truth.json",
        params:
            out_dir=RUN.data["synthetic"]["out_dir"],
            size=RUN.data["synthetic"]["size"],
            seed=RUN.data["synthetic"]["seed"],
            years=RUN.data["years"],
            targeted=RUN.data["targeted"],
        log:
            f"logs/{RUN.year}/synthesise.log",
        script:
            RUNNER
