-- Delivery payloads are stored compressed (LZ4, src/compress.rs): SQLite's one writer then
-- writes, and its checkpointer copies, about a sixth of the bytes per 28 KB webhook.
-- Rows stored before keep their raw JSON in `payload` and read as 'identity'; new rows leave
-- `payload` empty and hold the compressed body in `payload_compressed` ('lz4').
-- Keep in step with ../sqlite/0010_delivery_payload_compressed.sql (a test compares them).
-- 0009 is taken by another branch; the numbers need not be contiguous.

ALTER TABLE deliveries ADD COLUMN payload_encoding TEXT NOT NULL DEFAULT 'identity';
ALTER TABLE deliveries ADD COLUMN payload_compressed BYTEA;

-- No query looks jobs up by delivery id (the job's own payload names its delivery), and every
-- ingested delivery paid one more B-tree insert for it, at a random page for GitHub's UUIDs.
DROP INDEX IF EXISTS jobs_delivery;
