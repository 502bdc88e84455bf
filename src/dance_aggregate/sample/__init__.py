"""The built-in sample: miniature raw trees of every source, with synthetic media.

:mod:`.makers` asks every source package to write its raw layout (its ``sample.py``) into a
cache folder, once per revision of the generators.
"""
