"""Media: cutting and encoding clips (``clip``), torch-free decoding helpers (``decode``)."""
