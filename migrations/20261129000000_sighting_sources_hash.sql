-- The SHA-256 of a certificate sighting's `sources` as the ingest last wrote them (their JSON
-- text as sent). A changed report compares this rather than parsing every listed
-- certificate's sources again; rows from before it have none and are rewritten once.
alter table certificate_sightings add column sources_sha256 bytea;
