"""Kith's browser tracker: the built `loader.min.js` and `liliput.min.js` served at /tracker.

The readable sources are in `src/`; `make tracker` (`python -m kith.tracker.build`)
rebuilds the two shipped files from them with a Python minifier, so installing
or running Kith never needs Node.js."""
