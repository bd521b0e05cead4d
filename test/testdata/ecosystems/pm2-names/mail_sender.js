// Stays up until stopped.
setInterval(() => {}, 60 * 1000);
