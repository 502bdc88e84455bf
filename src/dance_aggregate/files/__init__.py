"""The bottom layer for files: atomic writes, CSV cells safe for spreadsheets, and names and
text safe to publish (identifiers escaped into file names, local folders kept out of reports).

Everything that writes a file (``output/``, ``fetch/``, ``sample/``) and every source that
turns an identifier into a name uses these, and they import nothing of the package but the
errors.
"""
