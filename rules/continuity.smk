# Year on year: this reporting year beside the earlier years' runs named in previous_years (their derived
# folders), for the "trends" chapter. Stage: cpdeval.stages.continuity; library: cpdeval.continuity.

from cpdeval.config import PREVIOUS_FILES

CONTINUITY = f"{DERIVED}/continuity"
PREVIOUS_YEARS = list(RUN.data.get("previous_years") or [])


rule year_on_year:
    input:
        code=stage_code("year_on_year"),
        measures="config/measures.yaml",
        **{key: f"{DERIVED}/{rel}" for key, rel in PREVIOUS_FILES.items()},
        previous=[f"{folder}/{rel}" for folder in PREVIOUS_YEARS for rel in PREVIOUS_FILES.values()],
    output:
        delivery=f"{CONTINUITY}/delivery.parquet",
        targets=f"{CONTINUITY}/targets.parquet",
        survey_trend=f"{CONTINUITY}/survey_trend.parquet",
        survey_change=f"{CONTINUITY}/survey_change.parquet",
        attainment=f"{CONTINUITY}/attainment.parquet",
        summary=f"{CONTINUITY}/summary.json",
    params:
        previous_years=PREVIOUS_YEARS,
    log:
        f"logs/{RUN.year}/year_on_year.log",
    script:
        RUNNER


CHAPTER_INPUTS["trends"] = {**{name: path for name, path in rules.year_on_year.output.items()},
                            "attainment_summary": f"{DERIVED}/attainment/summary.json"}

# with earlier years named, the delivery, impact and attainment chapters also say how this year compares
if PREVIOUS_YEARS:
    CHAPTER_INPUTS["delivery"]["year_on_year"] = rules.year_on_year.output.delivery
    CHAPTER_INPUTS["delivery"]["targets_year_on_year"] = rules.year_on_year.output.targets
    CHAPTER_INPUTS["impact"]["year_on_year"] = rules.year_on_year.output.survey_change
    CHAPTER_INPUTS["attainment"]["year_on_year"] = rules.year_on_year.output.attainment
