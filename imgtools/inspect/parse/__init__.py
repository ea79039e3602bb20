"""Pure parsers of guest configuration: text or bytes in, facts models out.

Nothing here touches libguestfs or the host filesystem; the inspection layer
reads the guest's files and hands their contents to these functions, so every
rule can be tested from a snippet.  The guest is untrusted: parsers tolerate
malformed input and never raise on it.
"""
