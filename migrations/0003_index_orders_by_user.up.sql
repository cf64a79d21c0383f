-- schemagate: no-transaction
-- Built concurrently so that writes to orders go on while the index is built.
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_id_placed_at_idx ON orders (user_id, placed_at);
