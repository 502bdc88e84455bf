"""The AIST Dance Video Database (Tsuchida et al., ISMIR 2019) and its AIST++ lists.

Pure modules only (no media, no downloads, no output): :mod:`.names` reads an official
video or sequence name, :mod:`.splits` reads the AIST++ lists and gives every name its split
and group, :mod:`.rows` gives a row's ``source_label`` and its ``aist`` struct. The naming
grammar, the split rules and the label placement are in ``docs/aist.md``.
"""
