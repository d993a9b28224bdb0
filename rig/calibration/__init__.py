"""Fitting a timed profile's hardware costs to a seed table and checking the fit
against both tables. Offers `calibrate` to the command line."""
