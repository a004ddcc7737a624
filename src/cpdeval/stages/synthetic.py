"""Stage of rules/synthetic.smk: the synthetic reporting year, generated when its files are missing."""

from __future__ import annotations

from ..logs import step
from .io import Job


def synthesise(job: Job) -> None:
    from ..config import RunConfig
    from ..synthetic import generate

    p = job.params
    RunConfig.check_synthetic_out_dir(p.out_dir)   # defence in depth: the config check ran when the DAG was built
    with step(job.logger, f"generating the {p.size} synthetic year into {p.out_dir}"):
        generate(p.out_dir, size=p.size, seed=p.seed, config={"years": p.years, "targeted": p.targeted,
                                                               "synthetic": {"size": p.size, "seed": p.seed}})
