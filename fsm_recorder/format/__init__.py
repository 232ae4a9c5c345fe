"""The contract both halves share: the wire format, codebooks and their store, frame encryption.

Runs everywhere (application process, writer thread, drain, readers) and imports no other room but
`config`: what is written here is what the reading half decodes.
"""
