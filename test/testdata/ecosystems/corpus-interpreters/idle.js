setInterval(() => {}, 60 * 1000);
