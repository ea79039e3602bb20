"""Probe an image file without trusting it (interface; implemented in the probe work).

probe(path, format_hint=None) -> facts.ImageFacts
require_safe(image: facts.ImageFacts) -> None   # raises errors.UnsafeImageError
"""
