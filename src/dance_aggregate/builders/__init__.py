"""Sources: one package per source, each knowing only its source's files.

- :mod:`.base`: :class:`~.base.Source` (what a source is) and :class:`~.base.SourceBuilder`
  (what a builder does: parse and plan);
- :mod:`.registry`: the list of sources, and what the rest of the package asks about them;
- :mod:`.annotations`: parsing helpers every source shares (records read one by one);
- :mod:`.youtube`: planning helpers of the sources that list YouTube ids and time ranges;
- :mod:`.ucf101`, :mod:`.activitynet`, :mod:`.kinetics600`, :mod:`.letsdance`,
  :mod:`.youtube8m`: the sources.
"""
