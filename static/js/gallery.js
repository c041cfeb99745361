// gallery.js: see the header comment once written.
