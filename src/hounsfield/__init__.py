"""Hounsfield: an open-source medical imaging platform."""

__version__ = "0.1.0"
