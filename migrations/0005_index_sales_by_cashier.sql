-- Hand-written, and shipped with a journal "when" older than 0004's (the original
-- app's developers wrote the journal entry by hand). drizzle-orm's high-water-mark rule
-- skips it forever on every shop that already had 0004; Migration Wizard applies it.
CREATE INDEX IF NOT EXISTS `transactions_cashier_created_idx` ON `transactions` (`cashier_id`, `created_at`);
--> statement-breakpoint
UPDATE `products` SET `barcode` = NULL WHERE `barcode` = '';
