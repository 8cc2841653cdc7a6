<?php
// Benchmark page: 1 KiB of text/plain, no session and no cache headers (so fastcgi_cache may store it).
// Not a fixture for behaviour tests (those live in test/fixtures/php).
header('Content-Type: text/plain');
echo str_repeat("0123456789abcde\n", 64);
