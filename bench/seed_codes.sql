-- 1,000,000 codes for the admin list measurement (bench/admin_codes.sh). Apply the
-- migrations first; this only inserts rows. Three apps, mostly unlimited codes, twenty
-- pages, a unique scene each, one code every 30 s for about a year.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
INSERT INTO codes (app_id, kind, hash, file, page, scene, width, params, content_type, size, created_at)
SELECT
    CASE WHEN i % 20 < 16 THEN 'wx1111111111111111' WHEN i % 20 < 19 THEN 'wx2222222222222222' ELSE 'wx3333333333333333' END,
    CASE WHEN i % 100 < 90 THEN 'unlimited' WHEN i % 100 < 97 THEN 'limited' ELSE 'qrcode' END,
    printf('%064x', i),
    printf('%064x.png', i),
    'pages/p' || (i % 20) || '/index',
    'id=' || i,
    430,
    '{"page":"pages/p' || (i % 20) || '/index","scene":"id=' || i || '","width":430,"check_path":true,"env_version":"release"}',
    'image/png',
    12000 + i % 5000,
    1700000000 + i * 30
FROM n;
COMMIT;
