"""The build pipeline: builder plans -> work units -> runners -> shards, reports, card."""
