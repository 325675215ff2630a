"""yibao: social medical insurance for Chinese pooling regions."""

__version__ = "0.1.0"
