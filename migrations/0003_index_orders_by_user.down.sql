-- schemagate: no-transaction
DROP INDEX CONCURRENTLY IF EXISTS orders_user_id_placed_at_idx;
