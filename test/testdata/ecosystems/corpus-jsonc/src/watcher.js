// Restarted by PM2 when a file under src/ changes.
setInterval(() => {}, 60 * 1000);
