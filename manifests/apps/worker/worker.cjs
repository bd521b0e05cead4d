// A tiny queue worker: wakes up on an interval and says what it would process.
const queue = process.env.QUEUE || 'default';
const everyMs = Number(process.env.POLL_MS || 5000);

setInterval(() => {
  console.log(`${new Date().toISOString()} worker polled queue ${queue}`);
}, everyMs);

process.on('SIGINT', () => process.exit(0));
