-- API keys of the Open311 API (api/keys.py, `tsur api-key …`): one row per key and organisation.
-- Only the SHA-256 of the secret is stored; the key itself is shown once when it is created.
-- A revocation is a newer version of the row (ReplacingMergeTree by updated_at): read with FINAL.

CREATE TABLE IF NOT EXISTS api_keys
(
    key_id        String COMMENT 'public part of the key (tsur_<key_id>_<secret>), the lookup key',
    organisation  String COMMENT 'who holds the key: the actor of its status updates',
    scope         LowCardinality(String) COMMENT 'read | write (write includes read)',
    secret_sha256 String COMMENT 'hex SHA-256 of the secret part; the secret is 256 random bits',
    created_at    DateTime64(3, 'UTC'),
    revoked_at    Nullable(DateTime64(3, 'UTC')),
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY key_id;
