-- A certificate replaced by a renewal keeps working for a grace period, so that an agent that
-- lost the renewal's answer can renew again with the certificate it still has.
alter table agents
    add column previous_certificate_serial text,
    add column previous_certificate_until timestamptz;
