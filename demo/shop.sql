-- A small demo shop: five SKUs in two warehouses, as an ERP sync would send them.
SELECT inventory.set_on_hand(sku, quantity, location, 'initial ERP sync')
  FROM (VALUES
    ('TSHIRT-BLK-M', 12, 'berlin'),  ('TSHIRT-BLK-M', 5,  'hamburg'),
    ('MUG-LOGO',     40, 'berlin'),  ('MUG-LOGO',     0,  'hamburg'),
    ('HOODIE-GRY-L', 3,  'berlin'),  ('HOODIE-GRY-L', 8,  'hamburg'),
    ('CAP-RED',      0,  'berlin'),  ('CAP-RED',      15, 'hamburg'),
    ('SOCKS-3PK',    100,'berlin'),  ('SOCKS-3PK',    60, 'hamburg')
  ) AS erp(sku, quantity, location)
 ORDER BY sku, location;
