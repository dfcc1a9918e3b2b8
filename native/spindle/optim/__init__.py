"""AdamW over flat parameter buffers with ZeRO 0/1/2 sharding, and learning-rate schedules."""
