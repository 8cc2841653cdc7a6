<?php
// Portico's demo application: a PHP page behind FastCGI, cached for 30 seconds by fastcgi_cache.
header('Content-Type: text/html; charset=utf-8');
header('Cache-Tag: demo');
$now = date('H:i:s');
$pid = getmypid();
echo "<!DOCTYPE html><html><head><title>Portico demo: PHP behind FastCGI</title></head><body>\n";
echo "<h1>Rendered by php-fpm (pid $pid) at $now</h1>\n";
echo "<p>Reload the page: the time stays the same for 30 seconds because Portico serves it from its disk cache";
echo " (look at the <code>X-Cache-Status</code> response header: MISS, then HIT).</p>\n";
echo "<p>Purge it: <code>curl -k -X PURGE https://localhost:8443/app/</code>, then reload.</p>\n";
echo "</body></html>\n";
