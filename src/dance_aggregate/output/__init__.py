"""The output folder: its layout, atomic writes, work parts, final shards and reports."""
