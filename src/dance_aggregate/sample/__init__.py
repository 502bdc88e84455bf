"""The built-in sample: miniature raw trees of every source, with synthetic media.

:mod:`.makers` writes each source's raw layout; :mod:`.synth` makes the identifiable test
media (H.264/AAC MP4, Xvid/MP3 AVI) they hold.
"""
