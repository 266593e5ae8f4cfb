-- Linked users (product §17): a master customer pays for sub-accounts. A sub has one master;
-- a master is never itself a sub. The sub's plan and coverage follow the master's.
CREATE TABLE linked_users (
    sub_customer_id BIGINT PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    master_customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    CHECK (sub_customer_id <> master_customer_id)
);
CREATE INDEX linked_users_master ON linked_users (master_customer_id);
