"""Track embeddings: extraction over cache shards and the Parquet store."""
