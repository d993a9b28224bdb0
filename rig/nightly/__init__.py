"""The nightly matrix and what it remembers: cells, CI cache keys, the history of
measurements, change points and the trend report. Offers them to the command line."""
