"""imgtools: prepare VM disk images from other platforms for import into a public cloud."""

__version__ = "0.1.0"
