-- Every API key (without the hashes), for `tsur api-key list`.
SELECT key_id, organisation, scope, created_at, revoked_at
FROM api_keys FINAL
ORDER BY created_at, key_id
