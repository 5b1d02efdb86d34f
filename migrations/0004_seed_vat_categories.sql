-- Hand-written data migration: every business gets the three UK VAT rates, and products
-- without a VAT category are put in the standard one.
INSERT INTO `vat_categories` (`id`, `business_id`, `name`, `rate_basis_points`, `is_default`, `created_at`)
SELECT lower(hex(randomblob(16))), b.`id`, 'Standard rate', 2000, 1,
       CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
FROM `businesses` b
WHERE NOT EXISTS (SELECT 1 FROM `vat_categories` v WHERE v.`business_id` = b.`id` AND v.`rate_basis_points` = 2000);
--> statement-breakpoint
INSERT INTO `vat_categories` (`id`, `business_id`, `name`, `rate_basis_points`, `is_default`, `created_at`)
SELECT lower(hex(randomblob(16))), b.`id`, 'Reduced rate', 500, 0,
       CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
FROM `businesses` b
WHERE NOT EXISTS (SELECT 1 FROM `vat_categories` v WHERE v.`business_id` = b.`id` AND v.`rate_basis_points` = 500);
--> statement-breakpoint
INSERT INTO `vat_categories` (`id`, `business_id`, `name`, `rate_basis_points`, `is_default`, `created_at`)
SELECT lower(hex(randomblob(16))), b.`id`, 'Zero rate', 0, 0,
       CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
FROM `businesses` b
WHERE NOT EXISTS (SELECT 1 FROM `vat_categories` v WHERE v.`business_id` = b.`id` AND v.`rate_basis_points` = 0);
--> statement-breakpoint
UPDATE `products`
SET `vat_category_id` = (SELECT v.`id` FROM `vat_categories` v
                         WHERE v.`business_id` = `products`.`business_id` AND v.`is_default` = 1
                         ORDER BY v.`created_at` LIMIT 1)
WHERE `vat_category_id` IS NULL;
