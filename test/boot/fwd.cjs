// QEMU guestfwd helper: `guestfwd=tcp:10.0.2.100:PORT-cmd:node fwd.cjs PORT`. QEMU starts it for
// each connection the guest opens to 10.0.2.100:PORT and speaks that connection on its
// stdin/stdout; this pipes them to 127.0.0.1:PORT (the stand-in API) and nowhere else.
'use strict';
const net = require('node:net');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write(`fwd.cjs: bad port '${process.argv[2]}'\n`);
  process.exit(2);
}
const socket = net.connect({ host: '127.0.0.1', port });
process.stdin.pipe(socket);
socket.pipe(process.stdout);
const end = () => process.exit(0);
socket.on('error', end);
socket.on('close', end);
process.stdin.on('end', () => socket.end());
process.stdin.on('error', end);
process.stdout.on('error', end);
