-- The demo shop database behind the PostgreSQL connector in evals: customers, their orders and app accounts.
-- Column names follow what the shipped PostgreSQL playbooks query (orders, accounts).
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS accounts;
DROP TABLE IF EXISTS customers;
CREATE TABLE customers (
    id serial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text NOT NULL,
    company text NOT NULL,
    plan text NOT NULL CHECK (plan IN ('starter', 'team', 'enterprise')),
    status text NOT NULL CHECK (status IN ('active', 'paused', 'cancelled')),
    seats integer NOT NULL,
    created_at date NOT NULL
);
CREATE TABLE orders (
    id text PRIMARY KEY,
    customer_email text NOT NULL REFERENCES customers (email),
    item text NOT NULL,
    quantity integer NOT NULL,
    status text NOT NULL CHECK (status IN ('processing', 'shipped', 'delivered', 'cancelled')),
    carrier text,
    tracking_number text,
    placed_at date NOT NULL,
    shipped_at date,
    delivered_at date
);
INSERT INTO customers (email, name, company, plan, status, seats, created_at) VALUES
    ('maria.lopez@brightpath.example', 'Maria Lopez', 'BrightPath Logistics', 'team', 'active', 42, '2025-03-02'),
    ('tom.becker@kesselwerk.example', 'Tom Becker', 'Kesselwerk GmbH', 'starter', 'active', 8, '2025-09-14'),
    ('aiko.tanaka@hinode.example', 'Aiko Tanaka', 'Hinode Design', 'team', 'paused', 15, '2024-11-20'),
    ('sam.okafor@riverbend.example', 'Sam Okafor', 'Riverbend Clinics', 'enterprise', 'active', 310, '2024-05-06'),
    ('lena.fischer@alpenrad.example', 'Lena Fischer', 'Alpenrad', 'starter', 'cancelled', 3, '2025-01-10'),
    ('david.chen@quillworks.example', 'David Chen', 'Quillworks', 'team', 'active', 27, '2025-06-30');
INSERT INTO orders VALUES
    ('NW-10041', 'maria.lopez@brightpath.example', 'YubiKey 5 NFC', 20, 'delivered', 'UPS', '1Z999AA10123456784',
     '2026-10-01', '2026-10-02', '2026-10-06'),
    ('NW-10042', 'maria.lopez@brightpath.example', 'YubiKey 5C', 10, 'shipped', 'UPS', '1Z999AA10123456785',
     '2026-11-16', '2026-11-18', NULL),
    ('NW-10043', 'tom.becker@kesselwerk.example', 'YubiKey 5 NFC', 8, 'processing', NULL, NULL,
     '2026-11-20', NULL, NULL),
    ('NW-10044', 'sam.okafor@riverbend.example', 'YubiKey Bio', 120, 'shipped', 'DHL', 'JD014600006281230851',
     '2026-11-12', '2026-11-13', NULL),
    ('NW-10045', 'david.chen@quillworks.example', 'YubiKey 5C', 5, 'cancelled', NULL, NULL,
     '2026-11-03', NULL, NULL),
    ('NW-10046', 'aiko.tanaka@hinode.example', 'YubiKey 5 NFC', 15, 'delivered', 'FedEx', '449044304137821',
     '2026-09-22', '2026-09-23', '2026-09-29');
CREATE TABLE accounts (
    username text PRIMARY KEY,
    email text NOT NULL,
    plan text NOT NULL,
    status text NOT NULL,
    created_at date NOT NULL,
    last_login_at timestamptz
);
INSERT INTO accounts VALUES
    ('maria.lopez', 'maria.lopez@brightpath.example', 'team', 'active', '2025-03-02', '2026-11-21 08:12+00'),
    ('tom.becker', 'tom.becker@kesselwerk.example', 'starter', 'active', '2025-09-14', '2026-11-20 16:40+00'),
    ('aiko.tanaka', 'aiko.tanaka@hinode.example', 'team', 'suspended', '2024-11-20', '2026-10-30 09:01+00'),
    ('sam.okafor', 'sam.okafor@riverbend.example', 'enterprise', 'active', '2024-05-06', '2026-11-22 06:55+00'),
    ('david.chen', 'david.chen@quillworks.example', 'team', 'active', '2025-06-30', '2026-11-19 11:30+00');
