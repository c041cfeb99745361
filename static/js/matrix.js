// matrix.js: see the header comment once written.
