'use strict';
// Docker HEALTHCHECK: GET /health/live on this container's own port, exit 0 when it answers 2xx.
// The API answers on SPLEETER_PORT (default 8080). A worker (`node dist/worker.js`) has no HTTP
// port; it answers on its metrics port (SPLEETER_METRICS_PORT), and without one it counts as
// healthy while its process runs. SPLEETER_HEALTHCHECK_PORT overrides the choice.
const fs = require('fs');
const http = require('http');

function runsWorker() {
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dist/worker.js')) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

const env = process.env;
const worker = !env.SPLEETER_HEALTHCHECK_PORT && runsWorker();
const port = env.SPLEETER_HEALTHCHECK_PORT || (worker ? env.SPLEETER_METRICS_PORT : env.SPLEETER_PORT || '8080');
if (!port) process.exit(0);

const req = http.get({ host: '127.0.0.1', port: Number(port), path: '/health/live', timeout: 4000 }, (res) => {
  res.resume();
  process.exit(res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
