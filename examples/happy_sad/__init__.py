"""The happy/sad example: a declared machine, recorded into the per-host Redis."""
