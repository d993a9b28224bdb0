"""Everything read back from a run folder's records: tables, statistics, plots, the
summary and HTML report, the seed's tables, JUnit and KCIDB exports. Offers one reader
of a run folder (run_reader) and one writer of its report (run_report.write)."""
