// exports.js: see the header comment once written.
