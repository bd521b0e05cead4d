// Watched by the api app; a change restarts it.
module.exports = { version: 1 };
