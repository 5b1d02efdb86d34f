// The AurSwift POS schema, as the app declares it with drizzle-orm.
//
// The history of migrations/ was generated from this one file, stage by stage:
// MW_SCHEMA_STAGE=N (see regenerate.sh) gives the schema as it stood when migration N
// was written. Without the variable it is the current schema.
import { sql } from 'drizzle-orm';
import {
  sqliteTable,
  text,
  integer,
  index,
  uniqueIndex,
  type AnySQLiteColumn,
} from 'drizzle-orm/sqlite-core';

const STAGE = Number(process.env.MW_SCHEMA_STAGE ?? '999');
// MW_SCHEMA_NEXT=1: the next release as a project that regenerates its baseline would
// write it (regenerate-baseline.sh): a table and a column added, a column renamed, a
// foreign key's action changed — the incident the wizard's `adopt` carries data through.
const NEXT = process.env.MW_SCHEMA_NEXT === '1';

const id = () => text('id').primaryKey();
const createdAt = () => integer('created_at', { mode: 'timestamp_ms' }).notNull();
const updatedAt = () => integer('updated_at', { mode: 'timestamp_ms' });

export const businesses = sqliteTable('businesses', {
  id: id(),
  name: text('name').notNull(),
  vatNumber: text('vat_number'),
  addressLine1: text('address_line1'),
  ...(NEXT ? { city: text('city') } : { town: text('town') }),
  postcode: text('postcode'),
  currency: text('currency').notNull().default('GBP'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const roles = sqliteTable('roles', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  permissions: text('permissions', { mode: 'json' }).notNull().default('[]'),
  createdAt: createdAt(),
});

// Stage 3 rebuilds this table: username becomes NOT NULL and is_active gets a default.
// SQLite cannot alter either in place, so drizzle-kit writes a table rebuild — of the
// table most of the shop's trading rows hang off with ON DELETE CASCADE.
export const users = sqliteTable('users', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  roleId: text('role_id').references(() => roles.id, { onDelete: 'set null' }),
  username: STAGE >= 3 ? text('username').notNull() : text('username'),
  firstName: text('first_name').notNull(),
  lastName: text('last_name').notNull(),
  email: text('email'),
  passwordHash: text('password_hash').notNull(),
  pinHash: text('pin_hash'),
  isActive: STAGE >= 3
    ? integer('is_active', { mode: 'boolean' }).notNull().default(true)
    : integer('is_active', { mode: 'boolean' }).notNull(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [uniqueIndex('users_business_username_unique').on(t.businessId, t.username)]);

export const terminals = sqliteTable('terminals', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  deviceId: text('device_id').notNull().unique(),
  lastSeenAt: integer('last_seen_at', { mode: 'timestamp_ms' }),
  createdAt: createdAt(),
});

export const vatCategories = sqliteTable('vat_categories', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  rateBasisPoints: integer('rate_basis_points').notNull(),
  isDefault: integer('is_default', { mode: 'boolean' }).notNull().default(false),
  createdAt: createdAt(),
});

export const categories = sqliteTable('categories', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  parentId: text('parent_id').references((): AnySQLiteColumn => categories.id, { onDelete: 'set null' }),
  name: text('name').notNull(),
  sortOrder: integer('sort_order').notNull().default(0),
  createdAt: createdAt(),
});

export const suppliers = sqliteTable('suppliers', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  contactName: text('contact_name'),
  email: text('email'),
  phone: text('phone'),
  createdAt: createdAt(),
});

export const products = sqliteTable('products', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  categoryId: text('category_id').references(() => categories.id,
                                             { onDelete: NEXT ? 'restrict' : 'set null' }),
  supplierId: text('supplier_id').references(() => suppliers.id, { onDelete: 'set null' }),
  ...(NEXT ? { colour: text('colour') } : {}),
  vatCategoryId: text('vat_category_id').references(() => vatCategories.id, { onDelete: 'set null' }),
  sku: text('sku').notNull(),
  barcode: text('barcode'),
  name: text('name').notNull(),
  pricePence: integer('price_pence').notNull(),
  costPence: integer('cost_pence'),
  stockQuantity: integer('stock_quantity').notNull().default(0),
  minStockLevel: integer('min_stock_level').notNull().default(0),
  ...(STAGE >= 1 ? { ageRestriction: integer('age_restriction').notNull().default(0) } : {}),
  isActive: integer('is_active', { mode: 'boolean' }).notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  uniqueIndex('products_business_sku_unique').on(t.businessId, t.sku),
  index('products_barcode_idx').on(t.barcode),
]);

export const productBatches = STAGE >= 2 ? sqliteTable('product_batches', {
  id: id(),
  productId: text('product_id').notNull().references(() => products.id, { onDelete: 'cascade' }),
  supplierId: text('supplier_id').references(() => suppliers.id, { onDelete: 'set null' }),
  batchNumber: text('batch_number').notNull(),
  expiryDate: integer('expiry_date', { mode: 'timestamp_ms' }),
  quantity: integer('quantity').notNull(),
  receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull(),
  createdAt: createdAt(),
}, (t) => [
  index('product_batches_product_expiry_idx').on(t.productId, t.expiryDate),
  uniqueIndex('product_batches_product_batch_unique').on(t.productId, t.batchNumber),
]) : undefined;

export const shifts = sqliteTable('shifts', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  terminalId: text('terminal_id').references(() => terminals.id, { onDelete: 'set null' }),
  startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
  endedAt: integer('ended_at', { mode: 'timestamp_ms' }),
  openingFloatPence: integer('opening_float_pence').notNull().default(0),
  status: text('status').notNull().default('open'),
}, (t) => [index('shifts_user_idx').on(t.userId)]);

export const clockEvents = sqliteTable('clock_events', {
  id: id(),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  shiftId: text('shift_id').references(() => shifts.id, { onDelete: 'cascade' }),
  type: text('type').notNull(),
  createdAt: createdAt(),
});

export const breaks = sqliteTable('breaks', {
  id: id(),
  shiftId: text('shift_id').notNull().references(() => shifts.id, { onDelete: 'cascade' }),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  type: text('type').notNull().default('rest'),
  startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
  endedAt: integer('ended_at', { mode: 'timestamp_ms' }),
});

export const cashDrawerCounts = sqliteTable('cash_drawer_counts', {
  id: id(),
  shiftId: text('shift_id').notNull().references(() => shifts.id, { onDelete: 'cascade' }),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  type: text('type').notNull(),
  expectedPence: integer('expected_pence').notNull(),
  countedPence: integer('counted_pence').notNull(),
  variancePence: integer('variance_pence').notNull(),
  createdAt: createdAt(),
});

export const transactions = sqliteTable('transactions', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  terminalId: text('terminal_id').references(() => terminals.id, { onDelete: 'set null' }),
  shiftId: text('shift_id').references(() => shifts.id, { onDelete: 'set null' }),
  cashierId: text('cashier_id').references(() => users.id, { onDelete: 'set null' }),
  receiptNumber: text('receipt_number').notNull(),
  subtotalPence: integer('subtotal_pence').notNull(),
  vatPence: integer('vat_pence').notNull(),
  discountPence: integer('discount_pence').notNull().default(0),
  totalPence: integer('total_pence').notNull(),
  status: text('status').notNull().default('completed'),
  paymentMethod: text('payment_method').notNull(),
  ...(STAGE >= 6 ? { receiptEmail: text('receipt_email') } : {}),
  createdAt: createdAt(),
}, (t) => [
  index('transactions_created_idx').on(t.createdAt),
  index('transactions_shift_idx').on(t.shiftId),
]);

export const transactionItems = sqliteTable('transaction_items', {
  id: id(),
  transactionId: text('transaction_id').notNull().references(() => transactions.id, { onDelete: 'cascade' }),
  productId: text('product_id').references(() => products.id, { onDelete: 'set null' }),
  name: text('name').notNull(),
  quantity: integer('quantity').notNull(),
  unitPricePence: integer('unit_price_pence').notNull(),
  vatPence: integer('vat_pence').notNull(),
  discountPence: integer('discount_pence').notNull().default(0),
  totalPence: integer('total_pence').notNull(),
}, (t) => [index('transaction_items_transaction_idx').on(t.transactionId)]);

export const payments = sqliteTable('payments', {
  id: id(),
  transactionId: text('transaction_id').notNull().references(() => transactions.id, { onDelete: 'cascade' }),
  method: text('method').notNull(),
  amountPence: integer('amount_pence').notNull(),
  tenderedPence: integer('tendered_pence'),
  changePence: integer('change_pence'),
  cardLast4: text('card_last4'),
  createdAt: createdAt(),
});

export const refunds = STAGE >= 6 ? sqliteTable('refunds', {
  id: id(),
  transactionId: text('transaction_id').notNull().references(() => transactions.id, { onDelete: 'cascade' }),
  userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
  amountPence: integer('amount_pence').notNull(),
  reason: text('reason'),
  createdAt: createdAt(),
}, (t) => [index('refunds_transaction_idx').on(t.transactionId)]) : undefined;

export const stockMovements = sqliteTable('stock_movements', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  productId: text('product_id').notNull().references(() => products.id, { onDelete: 'cascade' }),
  userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
  type: text('type').notNull(),
  quantity: integer('quantity').notNull(),
  reason: text('reason'),
  createdAt: createdAt(),
}, (t) => [index('stock_movements_product_created_idx').on(t.productId, t.createdAt)]);

export const cartSessions = sqliteTable('cart_sessions', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  terminalId: text('terminal_id').references(() => terminals.id, { onDelete: 'set null' }),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  status: text('status').notNull().default('active'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const cartItems = sqliteTable('cart_items', {
  id: id(),
  cartSessionId: text('cart_session_id').notNull().references(() => cartSessions.id, { onDelete: 'cascade' }),
  productId: text('product_id').notNull().references(() => products.id, { onDelete: 'cascade' }),
  quantity: integer('quantity').notNull(),
  unitPricePence: integer('unit_price_pence').notNull(),
  createdAt: createdAt(),
});

export const discounts = sqliteTable('discounts', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  type: text('type').notNull(),
  valuePence: integer('value_pence').notNull(),
  isActive: integer('is_active', { mode: 'boolean' }).notNull().default(true),
  validFrom: integer('valid_from', { mode: 'timestamp_ms' }),
  validUntil: integer('valid_until', { mode: 'timestamp_ms' }),
  createdAt: createdAt(),
});

export const auditLogs = sqliteTable('audit_logs', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
  action: text('action').notNull(),
  entityType: text('entity_type'),
  entityId: text('entity_id'),
  details: text('details', { mode: 'json' }),
  createdAt: createdAt(),
}, (t) => [index('audit_logs_created_idx').on(t.createdAt)]);

export const licences = sqliteTable('licences', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  licenceKey: text('licence_key').notNull().unique(),
  plan: text('plan').notNull(),
  status: text('status').notNull().default('active'),
  expiresAt: integer('expires_at', { mode: 'timestamp_ms' }),
  createdAt: createdAt(),
});

export const licenceActivations = sqliteTable('licence_activations', {
  id: id(),
  licenceId: text('licence_id').notNull().references(() => licences.id, { onDelete: 'cascade' }),
  terminalId: text('terminal_id').notNull().references(() => terminals.id, { onDelete: 'cascade' }),
  machineFingerprint: text('machine_fingerprint').notNull(),
  activatedAt: integer('activated_at', { mode: 'timestamp_ms' }).notNull(),
});

export const appSettings = sqliteTable('app_settings', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  key: text('key').notNull(),
  value: text('value'),
  updatedAt: updatedAt(),
}, (t) => [uniqueIndex('app_settings_business_key_unique').on(t.businessId, t.key)]);

export const loyaltyCards = NEXT ? sqliteTable('loyalty_cards', {
  id: id(),
  businessId: text('business_id').notNull().references(() => businesses.id, { onDelete: 'cascade' }),
  customerEmail: text('customer_email').notNull(),
  points: integer('points').notNull().default(0),
  createdAt: createdAt(),
}) : undefined;
