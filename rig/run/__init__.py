"""A run from settings to records: the settings, the plan of boots, the sweep, the
pipeline, the records on disk and their provenance, correctness verdicts, soak. Offers a
completed run folder (its report is written by a writer the caller hands in)."""
