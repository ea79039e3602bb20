"""The ``imgtools`` command line: a thin layer that maps library results to text,
JSON and exit codes (0 ok, 1 unsafe image or failed checks, 2 usage or
environment error)."""
