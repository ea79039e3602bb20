"""Batch validation: many images in parallel, on this machine or a Dask cluster, with reports.

manifest → jobs (:mod:`.manifest`) → an executor runs each in its own worker
process (:mod:`.executors`, :mod:`.worker`, :mod:`.jobs`) → reports
(:mod:`.report`, :mod:`.html`).  :func:`run_batch` ties them together.
"""

from .executors import default_workers, make_executor
from .jobs import ImageJob, ImageResult, run_image
from .manifest import Manifest, load_manifest
from .runner import BatchOutcome, run_batch

__all__ = [
    "BatchOutcome", "ImageJob", "ImageResult", "Manifest", "default_workers", "load_manifest", "make_executor",
    "run_batch", "run_image",
]
