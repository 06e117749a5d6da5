-- 1,000,000 codes for bench/admin_codes.sh on PostgreSQL: the rows of bench/seed_codes.sql.
INSERT INTO codes (app_id, kind, hash, file, page, scene, width, params, content_type, size, created_at)
SELECT
    CASE WHEN i % 20 < 16 THEN 'wx1111111111111111' WHEN i % 20 < 19 THEN 'wx2222222222222222' ELSE 'wx3333333333333333' END,
    CASE WHEN i % 100 < 90 THEN 'unlimited' WHEN i % 100 < 97 THEN 'limited' ELSE 'qrcode' END,
    lpad(to_hex(i), 64, '0'),
    lpad(to_hex(i), 64, '0') || '.png',
    'pages/p' || (i % 20) || '/index',
    'id=' || i,
    430,
    '{"page":"pages/p' || (i % 20) || '/index","scene":"id=' || i || '","width":430,"check_path":true,"env_version":"release"}',
    'image/png',
    12000 + i % 5000,
    1700000000 + i::bigint * 30
FROM generate_series(1, 1000000) AS n(i);
ANALYZE codes;
