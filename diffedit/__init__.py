"Text-driven image editing in the DiffEdit family, built step by step in nbdev notebooks."
__version__ = "0.1.0"
