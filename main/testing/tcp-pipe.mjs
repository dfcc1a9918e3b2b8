// A ProxyCommand for tests: carries stdin/stdout to host:port, as `nc` or `ssh -W` would.
// Usage: node tcp-pipe.mjs HOST PORT [PIDFILE]
import fs from 'node:fs';
import net from 'node:net';

const [host, port, pidFile] = process.argv.slice(2);
if (pidFile) fs.writeFileSync(pidFile, String(process.pid));
const socket = net.connect(Number(port), host);
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('close', () => process.exit(0));
socket.on('error', (e) => {
  process.stderr.write(`tcp-pipe: ${e.message}\n`);
  process.exit(2);
});
