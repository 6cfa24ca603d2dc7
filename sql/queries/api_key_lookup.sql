-- One API key by its public id (api/keys.py): its organisation, scope, hash and revocation.
-- Parameters: key_id.
SELECT key_id, organisation, scope, secret_sha256, created_at, revoked_at
FROM api_keys FINAL
WHERE key_id = {key_id:String}
