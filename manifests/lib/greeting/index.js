// The greeting the example's web app answers with: a local package, installed by `npm ci` as a file: dependency.
function greet(who) {
  return `hello ${who}, from the greeting package`;
}

module.exports = { greet };
