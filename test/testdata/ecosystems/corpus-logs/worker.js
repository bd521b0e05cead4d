setInterval(() => console.log('working'), 30 * 1000);
