"""Source builders: one module per source, each knowing only its source's files.

- :mod:`.base`: :class:`~.base.SourceBuilder`, what every builder implements (plan, materialize);
- :mod:`.youtube`: the shared base of sources that list YouTube ids and time ranges;
- :mod:`.ucf101`, :mod:`.activitynet`, :mod:`.kinetics`, :mod:`.letsdance`, :mod:`.youtube8m`;
- :mod:`.tfrecord`: the TensorFlow-free TFRecord reader YouTube-8M needs;
- :mod:`.registry`: every source and config, declared once.
"""
