"""Data files of the audio pipeline (the abbreviation dictionary), shipped as package data."""
