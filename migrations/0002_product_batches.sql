CREATE TABLE `product_batches` (
	`id` text PRIMARY KEY NOT NULL,
	`product_id` text NOT NULL,
	`supplier_id` text,
	`batch_number` text NOT NULL,
	`expiry_date` integer,
	`quantity` integer NOT NULL,
	`received_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`supplier_id`) REFERENCES `suppliers`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `product_batches_product_expiry_idx` ON `product_batches` (`product_id`,`expiry_date`);--> statement-breakpoint
CREATE UNIQUE INDEX `product_batches_product_batch_unique` ON `product_batches` (`product_id`,`batch_number`);