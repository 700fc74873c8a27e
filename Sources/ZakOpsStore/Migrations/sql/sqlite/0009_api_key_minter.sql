-- Who minted each API key: nobody may approve an action proposed with a key they minted.
ALTER TABLE api_keys ADD COLUMN created_by TEXT;
