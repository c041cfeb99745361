// lightbox.js: see the header comment once written.
